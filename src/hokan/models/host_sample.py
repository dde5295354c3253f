from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base, UTCDateTime, new_id


class HostSample(Base):
    """One host's CPU, memory and disk use at one moment (ハードウェアの健全性, REP-1),
    recorded by ``monitoring.host_sample``. Percentages 0..100; the disk is the data
    directory's file system."""

    __tablename__ = "host_samples"
    __table_args__ = (Index("ix_host_samples_taken", "taken_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    host: Mapped[str] = mapped_column(String(100))
    cpu_percent: Mapped[float] = mapped_column(Float)
    memory_percent: Mapped[float] = mapped_column(Float)
    disk_percent: Mapped[float] = mapped_column(Float)
    disk_free_bytes: Mapped[int] = mapped_column(BigInteger)
    load1: Mapped[float | None] = mapped_column(Float, default=None)
