from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, Enum, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.clock import utcnow
from hokan.kit.db import Base, PortableJSON, UTCDateTime, new_id


class FindingStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"


class AuditFinding(Base):
    """One finding of the daily internal audit (AUD-4), for an auditor to acknowledge.

    ``subject`` identifies what the finding is about (actor, tenant …) so a
    re-run of the same day updates rather than duplicates it.
    """

    __tablename__ = "audit_findings"
    __table_args__ = (UniqueConstraint("audit_date", "rule", "subject"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    audit_date: Mapped[date] = mapped_column(Date, index=True)
    rule: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(100))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    summary: Mapped[str] = mapped_column(String(500))
    entry_ids: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[FindingStatus] = mapped_column(
        Enum(FindingStatus, name="finding_status", native_enum=False, length=16),
        default=FindingStatus.open,
    )
    acknowledged_by: Mapped[str] = mapped_column(String(100), default="")
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    comment: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
