from __future__ import annotations

from hokan.kit.errors import AuditWriteFailed, Conflict, NotFound

__all__ = ["AuditWriteFailed", "FindingAlreadyAcknowledged", "FindingNotFound"]


class FindingNotFound(NotFound):
    code = "finding_not_found"
    message_ja = "監査指摘が見つかりません。"
    message_en = "Audit finding not found."


class FindingAlreadyAcknowledged(Conflict):
    code = "finding_acknowledged"
    message_ja = "この監査指摘は確認済みです。"
    message_en = "This finding has already been acknowledged."
