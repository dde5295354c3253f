from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.clock import utcnow
from hokan.kit.db import Base, PortableJSON, UTCDateTime, new_id


class ConsentGrant(Base):
    """A tenant's consent for operator access to its environment (OPS-1).

    The grantee is one operator (``grantee_operator_id``) or a whole team (an
    operator role in ``grantee_role``). Scopes are a subset of the tenant-data
    permissions; expiry at most 7 days after creation.
    """

    __tablename__ = "consent_grants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    grantee_operator_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("operators.id", ondelete="CASCADE"), default=None
    )
    grantee_role: Mapped[str] = mapped_column(String(40), default="")
    scopes: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_by: Mapped[str] = mapped_column(String(100), default="")
