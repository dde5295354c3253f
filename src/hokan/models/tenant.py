from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.clock import utcnow
from hokan.kit.db import Base, PortableJSON, UTCDateTime, new_id


class TenantStatus(StrEnum):
    active = "active"
    suspended = "suspended"
    terminated = "terminated"
    disposed = "disposed"


class Product(StrEnum):
    staff = "staff"  # スタッフエクスプレス (temp staffing)
    guard = "guard"  # ガードエクスプレス (security guards)


class Tenant(Base):
    """A customer company (TEN-1)."""

    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    product: Mapped[Product] = mapped_column(
        Enum(Product, name="tenant_product", native_enum=False, length=16)
    )
    status: Mapped[TenantStatus] = mapped_column(
        Enum(TenantStatus, name="tenant_status", native_enum=False, length=16),
        default=TenantStatus.active,
    )
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Lifecycle (LIFE-2): when the contract ended, when the grace period ends (export
    # only until then), why disposal must wait (legal hold, a pending restore), when
    # the tenant's data was disposed of.
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    dispose_after: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    legal_hold: Mapped[str | None] = mapped_column(String(200), default=None)
    restore_pending: Mapped[str | None] = mapped_column(String(200), default=None)
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
