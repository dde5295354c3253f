from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base, UTCDateTime


class AuditDailyRun(Base):
    """The record that the daily internal audit ran over one JST day (AUD-4)."""

    __tablename__ = "audit_daily_runs"

    audit_date: Mapped[date] = mapped_column(Date, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entries_examined: Mapped[int] = mapped_column(Integer)
    findings: Mapped[int] = mapped_column(Integer)
