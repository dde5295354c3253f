from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base, PortableJSON, UTCDateTime, new_id


class PerformanceSample(Base):
    """The weekly performance sample (§1-4-1 パフォーマンス監視 週に1度): latency quantiles,
    request and error rates and bandwidth over ``period_start``..``period_end``.

    Latencies are in milliseconds (None without requests); rates per second. One row
    per period end (the hour the job ran), so a second run of the same week is skipped.
    """

    __tablename__ = "performance_samples"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime, unique=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    snapshots: Mapped[int] = mapped_column(Integer)
    requests: Mapped[int] = mapped_column(BigInteger)
    request_rate: Mapped[float] = mapped_column(Float)
    error_rate: Mapped[float | None] = mapped_column(Float, default=None)
    p50_ms: Mapped[float | None] = mapped_column(Float, default=None)
    p95_ms: Mapped[float | None] = mapped_column(Float, default=None)
    p99_ms: Mapped[float | None] = mapped_column(Float, default=None)
    bytes_in_per_second: Mapped[float] = mapped_column(Float)
    bytes_out_per_second: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
