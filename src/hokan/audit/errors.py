from __future__ import annotations

from hokan.kit.errors import AuditWriteFailed, Conflict, HokanError, NotFound, because

__all__ = ["AuditWriteFailed", "CheckpointRefused", "FindingAlreadyAcknowledged", "FindingNotFound"]


class FindingNotFound(NotFound):
    code = "finding_not_found"
    message_ja = "監査指摘が見つかりません。"
    message_en = "Audit finding not found."


class FindingAlreadyAcknowledged(Conflict):
    code = "finding_acknowledged"
    message_ja = "この監査指摘は確認済みです。"
    message_en = "This finding has already been acknowledged."


class CheckpointRefused(HokanError):
    """A chain head was not signed because its new entries did not verify (ADR 0011)."""

    code = "audit_checkpoint_refused"
    message_ja = "検証に失敗したため、監査チェーンの先頭に署名しませんでした。"
    message_en = "An audit chain head was not signed because its new entries did not verify."
    reasons = because(chains=("({count} チェーン)", "({count} chains)"))
