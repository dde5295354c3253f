"""Backup operations (BAK-3, ADR 0022): verification coverage per generation, restore
drills with their measured RTO, operators' restore requests, and the maintenance
windows a backup was taken for. Operations data: no tenant scope ever sees it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.db import Base, PortableJSON, UTCDateTime, new_id


class BackupVerification(Base):
    """What is known of one stored generation: its last existence/size check and the
    last full cryptographic read (``verified_at``: the coverage date)."""

    __tablename__ = "backup_verifications"
    __table_args__ = (UniqueConstraint("target", "generation"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    target: Mapped[str] = mapped_column(String(16))
    generation: Mapped[str] = mapped_column(String(64))
    klass: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    checked_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)


class BackupDrill(Base):
    """A restore drill: a random generation and tenant restored into a scratch area and
    checked; ``seconds`` is the measured recovery time (RTO)."""

    __tablename__ = "backup_drills"
    __table_args__ = (Index("ix_backup_drills_requested", "requested_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(16))  # schedule, request
    status: Mapped[str] = mapped_column(String(16), index=True)  # requested … passed, failed
    generation: Mapped[str | None] = mapped_column(String(64), default=None)
    target: Mapped[str | None] = mapped_column(String(16), default=None)
    tenant_code: Mapped[str | None] = mapped_column(String(32), default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    seconds: Mapped[float | None] = mapped_column(Float, default=None)
    result: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)


class BackupRestoreRequest(Base):
    """An operations manager's request to restore a generation (whole or one tenant)."""

    __tablename__ = "backup_restore_requests"
    __table_args__ = (Index("ix_backup_restore_requests_requested", "requested_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(100))
    generation: Mapped[str] = mapped_column(String(64))
    tenant_code: Mapped[str | None] = mapped_column(String(32), default=None)
    mode: Mapped[str] = mapped_column(String(16))  # new_directory, tenant, in_place
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))  # requested, done, cancelled


class BackupWindowRun(Base):
    """The maintenance backup taken when a maintenance window started (one per window)."""

    __tablename__ = "backup_window_runs"

    window_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    generation: Mapped[str] = mapped_column(String(64))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
