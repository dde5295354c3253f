from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.clock import utcnow
from hokan.kit.db import Base, PortableJSON, UTCDateTime, new_id


class OperatorStatus(StrEnum):
    active = "active"
    disabled = "disabled"


class OperatorKind(StrEnum):
    regular = "regular"
    temporary = "temporary"  # an investigation account (OPS-2), valid under 24 hours


class Operator(Base):
    """A Hokan operator (OPS): not a tenant user; serial + password + TOTP, operator roles.

    Temporary investigation accounts are operators bound to one tenant and one
    customer request, with a hard expiry.
    """

    __tablename__ = "operators"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    serial: Mapped[str] = mapped_column(String(16), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    roles: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    kind: Mapped[OperatorKind] = mapped_column(
        Enum(OperatorKind, name="operator_kind", native_enum=False, length=16),
        default=OperatorKind.regular,
    )
    password_hash: Mapped[str] = mapped_column(String(200))
    # TOTP is required for operators; the secret is wrapped by the master key.
    totp_wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[OperatorStatus] = mapped_column(
        Enum(OperatorStatus, name="operator_status", native_enum=False, length=16),
        default=OperatorStatus.active,
    )
    # Permitted working hours in JST, "HH:MM-HH:MM"; empty: the global setting (AUD-4).
    permitted_hours: Mapped[str] = mapped_column(String(11), default="")
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    # Temporary accounts only: the tenant and customer request they were issued for.
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), default=None, index=True
    )
    request_ref: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    report_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
