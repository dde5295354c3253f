"""Stable error codes of the monitoring domain."""

from __future__ import annotations

from hokan.kit.errors import Conflict, InvalidParameter, NotFound, because

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
