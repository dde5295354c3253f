from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.clock import utcnow
from hokan.kit.db import Base, PortableJSON, UTCDateTime, new_id


class StoredReport(Base):
    """A generated report (REP-1 weekly, REP-2 availability) in every format, kept for the
    operator API. ``scope`` is ``all`` or the tenant's id (the per-tenant variant holds only
    that tenant's figures); generating the same kind, period and scope again replaces it."""

    __tablename__ = "stored_reports"
    __table_args__ = (
        UniqueConstraint("kind", "period", "scope"),
        Index("ix_stored_reports_created", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))  # weekly, availability
    period: Mapped[str] = mapped_column(String(32))  # 2026-W49, 2026-11, 2026
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    scope: Mapped[str] = mapped_column(String(40))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    summary: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    html: Mapped[bytes] = mapped_column(LargeBinary)
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
