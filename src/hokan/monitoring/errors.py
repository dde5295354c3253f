"""Stable error codes of the monitoring domain."""

from __future__ import annotations

from hokan.kit.errors import (
    Conflict,
    HokanError,
    InvalidParameter,
    InvalidPayload,
    NotFound,
    ServiceUnavailable,
    because,
)

# -- incidents (lead) ---------------------------------------------------------------


class IncidentNotFound(NotFound):
    code = "incident_not_found"
    message_ja = "その障害はありません。"
    message_en = "No such incident."


class IncidentResolved(Conflict):
    code = "incident_resolved"
    message_ja = "この障害はすでに復旧済みです。"
    message_en = "This incident is already resolved."


class InvalidIncident(InvalidParameter):
    code = "invalid_incident"
    message_ja = "障害の内容が正しくありません。"
    message_en = "The incident is not valid."
    reasons = because(
        outage=(
            "区分は full か partial です ({value})。",
            "The class is full or partial ({value}).",
        ),
        functions=("機能は次のいずれかです: {known}", "Functions are among: {known}"),
        title=("件名を入力してください。", "Give a title."),
        message=("内容を入力してください。", "Give a message."),
        future=("発生日時が未来です。", "The start is in the future."),
        resolved_at=(
            "復旧日時は発生日時以後、現在以前にしてください。",
            "The resolution time must be after the start and not in the future.",
        ),
    )


class InvalidProbeTarget(InvalidParameter):
    code = "invalid_probe_target"
    message_ja = "監視先の URL は http:// か https:// で始めてください。"
    message_en = "The probe target URL must start with http:// or https://."


# -- maintenance windows, maintenance mode and the gate (MON-4, MON-5) ---------------


class MaintenanceInPast(InvalidPayload):
    code = "maintenance_in_past"
    message_ja = "メンテナンスの開始日時が過去です。"
    message_en = "The maintenance window starts in the past."


class MaintenanceEndNotAfterStart(InvalidPayload):
    code = "maintenance_end_not_after_start"
    message_ja = "メンテナンスの終了日時は開始日時より後にしてください。"
    message_en = "The maintenance window must end after it starts."


class MaintenanceTooLong(InvalidPayload):
    code = "maintenance_too_long"
    message_ja = "メンテナンスの時間が長すぎます。"
    message_en = "The maintenance window is too long."
    reasons = because(
        max_hours=("{max_hours}時間以内にしてください。", "At most {max_hours} hours."),
    )


class MaintenanceNoticeTooShort(InvalidPayload):
    code = "maintenance_notice_too_short"
    message_ja = "メンテナンスの告知期間が足りません。"
    message_en = "The maintenance window is not announced far enough ahead."
    reasons = because(
        days=(
            "開始の{days}日前までに告知してください。緊急の場合は emergency を指定してください"
            " (例外として記録・表示されます)。",
            "Announce it at least {days} days before it starts, or mark it as an emergency "
            "(recorded and shown as an exception).",
        ),
    )


class MaintenanceReasonMissing(InvalidPayload):
    code = "maintenance_reason_missing"
    message_ja = "メンテナンスの理由 (日本語) を入力してください。"
    message_en = "Give the reason for the maintenance (in Japanese)."


class MaintenanceOverlap(Conflict):
    code = "maintenance_overlap"
    message_ja = "同じ対象のメンテナンスと時間が重なっています。"
    message_en = "The window overlaps another maintenance window for the same scope."
    reasons = because(
        window=("重なるメンテナンス: {window_id}", "Overlapping window: {window_id}"),
    )


class UnknownTenant(InvalidPayload):
    code = "unknown_tenant"
    message_ja = "指定されたテナントは存在しません。"
    message_en = "No such tenant."


class MaintenanceNotFound(NotFound):
    code = "maintenance_not_found"
    message_ja = "メンテナンスが見つかりません。"
    message_en = "No such maintenance window."


class MaintenanceNotCancellable(Conflict):
    code = "maintenance_not_cancellable"
    message_ja = "このメンテナンスは取り消せません。"
    message_en = "This maintenance window cannot be cancelled."
    reasons = because(
        cancelled=("既に取り消されています。", "It is already cancelled."),
        ended=("既に終了しています。", "It has already ended."),
    )


class MaintenanceMode(HokanError):
    """A request refused while a maintenance window runs (Retry-After: its end)."""

    status = 503
    code = "maintenance"
    message_ja = "メンテナンス中のため、この操作は一時的に利用できません。"
    message_en = "This operation is unavailable during scheduled maintenance."
    reasons = because(
        writes=(
            "参照はご利用いただけます。終了予定: {maintenance_end}",
            "Reads are still served. Expected end: {maintenance_end}.",
        ),
        all=(
            "終了予定: {maintenance_end}",
            "Expected end: {maintenance_end}.",
        ),
    )


class ServiceDown(ServiceUnavailable):
    """The gate's answer while an incident takes out what the route needs (MON-4)."""

    reasons = because(
        full=(
            "障害が発生しています ({incident})。状況は /status をご覧ください。",
            "An outage is in progress ({incident}); see /status.",
        ),
        partial=(
            "一部の機能で障害が発生しています ({incident})。状況は /status をご覧ください。",
            "Some functions are down ({incident}); see /status.",
        ),
    )


# -- end of the maintenance/gate block ------------------------------------------------


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
