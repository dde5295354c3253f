from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.clock import utcnow
from hokan.kit.db import Base, PortableJSON, UTCDateTime, new_id


class TenantDisposal(Base):
    """The record of one tenant's disposal (LIFE-2) and its erasure certificate (LIFE-3).

    Kept after the tenant's data is gone, like the audit trail: it holds ids, counts,
    key ids, backup generation names and verification results, never data.
    """

    __tablename__ = "tenant_disposals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="RESTRICT"), unique=True
    )
    tenant_code: Mapped[str] = mapped_column(String(32))
    tenant_name: Mapped[str] = mapped_column(String(200))
    certificate_number: Mapped[str] = mapped_column(String(40), unique=True)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    operator: Mapped[str] = mapped_column(String(200))
    verified: Mapped[bool] = mapped_column(default=False)
    report: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    certificate_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    certificate_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
