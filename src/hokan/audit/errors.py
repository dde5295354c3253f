from __future__ import annotations

from hokan.kit.errors import Conflict, HokanError, NotFound


class AuditWriteFailed(HokanError):
    """The audit entry could not be written, so the action it records did not happen."""

    status = 503
    code = "audit_unavailable"
    message_ja = "監査ログを記録できないため、操作を実行しませんでした。"
    message_en = "The operation was not performed because it could not be audited."


class FindingNotFound(NotFound):
    code = "finding_not_found"
    message_ja = "監査指摘が見つかりません。"
    message_en = "Audit finding not found."


class FindingAlreadyAcknowledged(Conflict):
    code = "finding_acknowledged"
    message_ja = "この監査指摘は確認済みです。"
    message_en = "This finding has already been acknowledged."
