"""Liveness, incidents, maintenance windows and availability inputs (MON-1..6, REP-2).

The ledger is run-length: one row per component, location and unbroken status,
``start`` inclusive to ``end`` exclusive, both whole UTC minutes. A period the
prober did not run is a row with status ``unknown``, written when it comes back.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hokan.kit.clock import utcnow
from hokan.kit.db import Base, PortableJSON, UTCDateTime, new_id


class MonitorSpan(Base):
    __tablename__ = "monitor_spans"
    __table_args__ = (Index("ix_monitor_spans_component_start", "component", "location", "start"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    component: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # up, down, degraded, unknown
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    probes: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(64), default=None)


class Incident(Base):
    """An outage, opened by the prober or an operator (停止の詳細: cause, response, prevention)."""

    __tablename__ = "incidents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # INC-2026-0001
    origin: Mapped[str] = mapped_column(String(16))  # probe, operator
    outage: Mapped[str] = mapped_column(String(16))  # full, partial
    status: Mapped[str] = mapped_column(String(16), index=True)  # open, acknowledged, resolved
    title_ja: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    components: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    functions: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    # None: every tenant is affected; else the tenant ids (a per-tenant incident).
    tenant_ids: Mapped[list[str] | None] = mapped_column(PortableJSON, default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # first failed probe
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    cause: Mapped[str] = mapped_column(Text, default="")  # 停止理由
    response: Mapped[str] = mapped_column(Text, default="")  # 対応
    prevention: Mapped[str] = mapped_column(Text, default="")  # 予防
    counts_as_outage: Mapped[bool] = mapped_column(Boolean, default=True)


class IncidentUpdate(Base):
    __tablename__ = "incident_updates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))  # detected, acknowledged, update, resolved
    message_ja: Mapped[str] = mapped_column(Text, default="")
    message_en: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100), default="")


class NotificationDelivery(Base):
    """One notice to one channel (mail message, webhook), with its receipt."""

    __tablename__ = "notification_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    subject_type: Mapped[str] = mapped_column(String(16))  # incident, maintenance
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    event: Mapped[str] = mapped_column(String(16))  # opened, updated, resolved, announced, reminder
    channel: Mapped[str] = mapped_column(String(16))  # mail, webhook
    mail_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None, index=True)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending, delivered, given_up
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    receipt: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # From the incident's detection (or the notice's creation) to the receipt.
    latency_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)


class MaintenanceWindow(Base):
    __tablename__ = "maintenance_windows"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True, default=None)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason_ja: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text, default="")
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    reads_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_by: Mapped[str] = mapped_column(String(100), default="")


class ServiceUnits(Base):
    """How many service units the availability counts from a day on ("18 from 2022-07-07")."""

    __tablename__ = "service_units"

    effective_from: Mapped[date] = mapped_column(Date, primary_key=True)
    units: Mapped[int] = mapped_column(Integer)


class AvailabilityImport(Base):
    """A month's unit-minute figures from before Hokan (``hokan availability import``)."""

    __tablename__ = "availability_imports"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM (JST)
    planned_minutes: Mapped[int] = mapped_column(Integer)
    full_minutes: Mapped[int] = mapped_column(Integer)
    partial_minutes: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
