from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base, PortableJSON, UTCDateTime, new_id


class JobRun(Base):
    """One run of a scheduled job (``hokan worker`` or ``hokan jobs run``), kept as history.

    ``status`` is ``running`` until the run ends as ``ok``, ``failed`` or ``skipped``;
    ``summary`` holds counts and names only, ``error_code`` a stable code, never a message.
    """

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    job: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16))  # schedule, catch_up, retry, manual
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    status: Mapped[str] = mapped_column(String(16), index=True)
    summary: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    worker: Mapped[str] = mapped_column(String(120))
