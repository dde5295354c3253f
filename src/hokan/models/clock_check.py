from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Double, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base, UTCDateTime, new_id


class ClockCheck(Base):
    """One NTP server's answer in one clock check (MON-8, ``clock.check``).

    The rows of a check share ``check_id``, ``checked_at``, ``result`` (``ok``,
    ``offset_exceeded`` or ``unreachable``) and the threshold it was judged by;
    ``chosen`` marks the answer the verdict rests on (the answering server with
    the shortest round trip). Offsets are the server's time minus ours, in seconds.
    """

    __tablename__ = "clock_checks"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    check_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    server: Mapped[str] = mapped_column(String(300))  # host:port as configured
    answered: Mapped[bool] = mapped_column(Boolean)
    offset_seconds: Mapped[float | None] = mapped_column(Double, default=None)
    delay_seconds: Mapped[float | None] = mapped_column(Double, default=None)
    stratum: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(String(32), default=None)  # timeout, dns, bogus, …
    chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[str] = mapped_column(String(32))
    max_offset_ms: Mapped[int] = mapped_column(Integer)
