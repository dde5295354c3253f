from __future__ import annotations

from hokan.kit.errors import HokanError


class AuditWriteFailed(HokanError):
    """The audit entry could not be written, so the action it records did not happen."""

    status = 503
    code = "audit_unavailable"
    message_ja = "監査ログを記録できないため、操作を実行しませんでした。"
    message_en = "The operation was not performed because it could not be audited."
