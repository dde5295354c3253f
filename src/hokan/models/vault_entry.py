from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, Integer, LargeBinary, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.clock import utcnow
from hokan.kit.db import Base, PortableJSON, UTCDateTime


class VaultEntryKind(StrEnum):
    individual = "individual"  # 個人番号
    corporate = "corporate"  # 法人番号
    document = "document"  # 本人確認書類


class DeletionReason(StrEnum):
    purpose_ended = "purpose_ended"  # 利用目的の終了 (退職など)
    retention_expired = "retention_expired"  # 法定保存期間の満了
    registered_in_error = "registered_in_error"  # 誤登録


class VaultEntry(Base):
    """The catalogue row of one vault entry (MYN-3): where its fragments are, never its content.

    The number or document itself exists only as encrypted fragments in the
    fragment stores; its key only in the keyring. A number entry also carries a
    keyed digest (ADR 0007, duplicate check), useless without the tenant's digest
    key, which only the keyring holds.
    """

    __tablename__ = "vault_entries"
    __table_args__ = (
        # One live entry per number, record and kind (rows are deleted when shredded).
        Index(
            "uq_vault_entries_live_number",
            "tenant_id",
            "record_collection",
            "record_key",
            "kind",
            "number_digest",
            unique=True,
            sqlite_where=text("number_digest IS NOT NULL"),
            postgresql_where=text("number_digest IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[VaultEntryKind] = mapped_column(
        Enum(VaultEntryKind, name="vault_entry_kind", native_enum=False, length=16)
    )
    # The staff member's record in the tenant's system data (never a name here).
    record_collection: Mapped[str] = mapped_column(String(64))
    record_key: Mapped[str] = mapped_column(String(128))
    content_type: Mapped[str | None] = mapped_column(String(64), default=None)
    size: Mapped[int] = mapped_column(Integer)
    ciphertext_size: Mapped[int] = mapped_column(Integer)
    k: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    fragment_tags: Mapped[list[str]] = mapped_column(PortableJSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    delete_after: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    deletion_reason: Mapped[DeletionReason | None] = mapped_column(
        Enum(DeletionReason, name="vault_deletion_reason", native_enum=False, length=32),
        default=None,
    )
    deletion_scheduled_by: Mapped[str | None] = mapped_column(String(200), default=None)
    # HMAC-SHA256 of the normalised number under the tenant's digest key (keyring): the
    # duplicate check without decrypting. None for documents and for entries registered
    # before it existed (those are not checked). Never shown, logged or audited.
    number_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
