from __future__ import annotations

from hokan.kit.errors import HokanError, InvalidParameter, NotFound, because


class JobNotFound(NotFound):
    code = "job_not_found"
    message_ja = "そのジョブはありません。"
    message_en = "No such job."
    reasons = because(
        unknown=("既知のジョブ: {known}", " Known jobs: {known}"),
    )


class InvalidSchedule(InvalidParameter):
    code = "invalid_schedule"
    message_ja = "ジョブのスケジュール設定が正しくありません。"
    message_en = "A job schedule setting is not valid."
    reasons = because(
        syntax=(
            "{setting} = {value!r}: 'every 30s' / 'every 15m' / 'every 1h'、"
            "5 項目の cron 式、または 'off' で指定してください。",
            "{setting} = {value!r}: use 'every 30s' / 'every 15m' / 'every 1h', "
            "a five-field cron expression, or 'off'.",
        ),
        unknown_job=(
            "{setting}: そのジョブはありません。既知のジョブ: {known}",
            "{setting}: no such job. Known jobs: {known}",
        ),
    )


class JobCrashed(HokanError):
    """A job raised something other than a Hokan error: a defect, logged with its traceback."""

    code = "job_crashed"
    message_ja = "ジョブが予期しないエラーで終了しました (ログを確認してください)。"
    message_en = "The job ended with an unexpected error (see the log)."
    reasons = because(exception=(" ({kind})", " ({kind})"))
