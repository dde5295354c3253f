from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base, PortableJSON, UTCDateTime, new_id
from hokan.models.vault_entry import DeletionReason, VaultEntryKind


class VaultDeletion(Base):
    """The record that a vault entry was deleted (MYN-6): who, when, why, where — no content."""

    __tablename__ = "vault_deletions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    kind: Mapped[VaultEntryKind] = mapped_column(
        Enum(VaultEntryKind, name="vault_entry_kind", native_enum=False, length=16)
    )
    reason: Mapped[DeletionReason] = mapped_column(
        Enum(DeletionReason, name="vault_deletion_reason", native_enum=False, length=32)
    )
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_by: Mapped[str] = mapped_column(String(200))
    scheduled_by: Mapped[str | None] = mapped_column(String(200), default=None)
    # Fragment store indexes the fragments were removed from / still to be removed
    # from (a store that was down; `hokan vault repair` finishes it).
    stores_cleared: Mapped[list[int]] = mapped_column(PortableJSON)
    stores_pending: Mapped[list[int]] = mapped_column(PortableJSON)
    key_destroyed: Mapped[bool] = mapped_column(Boolean)
