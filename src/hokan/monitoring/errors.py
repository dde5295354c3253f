"""Monitoring's errors (probes, incidents, maintenance windows, availability).

Each helper's classes sit in their own marked block, so that merges stay easy.
"""

from __future__ import annotations

from hokan.kit.errors import InvalidParameter, InvalidPayload, because

# --- availability (MON-6, REP-2; ADR 0018) ---------------------------------------------


class MonthOutOfRange(InvalidParameter):
    code = "month_out_of_range"
    message_ja = "月の指定が正しくありません。"
    message_en = "The month is not valid."
    reasons = because(
        malformed=(
            "YYYY-MM の形式で指定してください ({given})。",
            "Give it as YYYY-MM ({given}).",
        ),
        month=("月は 01〜12 です ({given})。", "Months run from 01 to 12 ({given})."),
        year=(
            "年は {first}〜{last} の範囲で指定してください ({given})。",
            "Years run from {first} to {last} ({given}).",
        ),
        future=(
            "{given} はまだ始まっていません。",
            "{given} has not begun yet.",
        ),
    )


class YearOutOfRange(InvalidParameter):
    code = "year_out_of_range"
    message_ja = "年の指定が正しくありません。"
    message_en = "The year is not valid."
    reasons = because(
        range=(
            "年は {first}〜{last} の範囲で指定してください ({given})。",
            "Years run from {first} to {last} ({given}).",
        ),
    )


class SinceInFuture(InvalidParameter):
    code = "since_in_future"
    message_ja = "--since に未来の月は指定できません。"
    message_en = "--since cannot name a month in the future."
    reasons = because(
        month=(
            "{given} は今月 ({current}) より後です。",
            "{given} is after this month ({current}).",
        ),
    )


class UnitsInvalid(InvalidParameter):
    code = "service_units_invalid"
    message_ja = "サービスユニット数が正しくありません。"
    message_en = "The number of service units is not valid."
    reasons = because(
        not_positive=(
            "1 以上を指定してください ({given})。",
            "It must be 1 or more ({given}).",
        ),
        too_many=(
            "{limit} 以下を指定してください ({given})。",
            "It must be at most {limit} ({given}).",
        ),
    )


class AvailabilityImportInvalid(InvalidPayload):
    """A CSV of carried-over figures with a bad line: nothing of the file is imported."""

    code = "availability_import_invalid"
    message_ja = "稼働率の取込ファイルに誤りがあるため、何も取り込みませんでした。"
    message_en = "The availability import file has an error; nothing was imported."
    reasons = because(
        header=(
            "{line}行目: 見出しは {expected} にしてください。",
            "Line {line}: the header must be {expected}.",
        ),
        columns=(
            "{line}行目: 列の数が {expected} ではありません ({found})。",
            "Line {line}: expected {expected} columns, found {found}.",
        ),
        month=(
            "{line}行目: 月は YYYY-MM の形式の過去の月にしてください。",
            "Line {line}: the month must be a past month as YYYY-MM.",
        ),
        duplicate=(
            "{line}行目: 月 {month} が {first}行目と重複しています。",
            "Line {line}: month {month} repeats line {first}.",
        ),
        number=(
            "{line}行目: {column} は 0 以上の整数にしてください。",
            "Line {line}: {column} must be a whole number, 0 or more.",
        ),
        planned=(
            "{line}行目: planned_minutes は 1 以上にしてください。",
            "Line {line}: planned_minutes must be 1 or more.",
        ),
        exceeds=(
            "{line}行目: 停止時間の合計が計画サービス時間を超えています。",
            "Line {line}: the outage minutes exceed the planned minutes.",
        ),
        empty=("データ行がありません。", "The file has no data rows."),
        encoding=(
            "UTF-8 (BOM 可) の CSV にしてください。",
            "The file must be UTF-8 CSV (a BOM is fine).",
        ),
    )


# --- end availability --------------------------------------------------------------------
