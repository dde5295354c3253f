"""Tables of the keyring database (never the system database; KEY-2)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.clock import utcnow
from hokan.kit.db import KeyringBase, UTCDateTime


class KeyStatus(StrEnum):
    active = "active"  # newest version: new writes use it
    retired = "retired"  # still decrypts; a re-wrap moves objects off it
    destroyed = "destroyed"  # wrapped key erased: what it protected is gone


class KeyringMeta(KeyringBase):
    __tablename__ = "keyring_meta"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)


class TenantKey(KeyringBase):
    """One version of one tenant key, wrapped by the master key."""

    __tablename__ = "tenant_keys"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[KeyStatus] = mapped_column(
        Enum(KeyStatus, name="key_status", native_enum=False, length=16)
    )
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
