from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Integer, String, Uuid
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
    fragment stores; its key only in the keyring.
    """

    __tablename__ = "vault_entries"

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
