from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base, PortableJSON, UTCDateTime, new_id


class MetricsSnapshot(Base):
    """The cumulative request counters of one host at one moment (``monitoring.metrics_snapshot``).

    ``boot`` names the counters' life (the process or the multiprocess directory):
    when it changes the counters started again from zero. ``data`` holds totals
    over every route — the latency buckets, counts by status class, bytes —
    never a path, an id or an address.
    """

    __tablename__ = "metrics_snapshots"
    __table_args__ = (Index("ix_metrics_snapshots_taken", "taken_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    host: Mapped[str] = mapped_column(String(100))
    boot: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
