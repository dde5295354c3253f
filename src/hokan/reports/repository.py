"""The reports' reads of other domains' records, and the one place that narrows them to a
tenant (the per-tenant variant: ``tenant_id`` given). Everything runs in a system-scope
session; a tenant variant must never see another tenant's rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, defer

from hokan.models import (
    AuditDailyRun,
    AuditEvent,
    AuditFinding,
    BackupDrill,
    BackupVerification,
    ClockCheck,
    FindingStatus,
    HostSample,
    Incident,
    JobRun,
    MaintenanceWindow,
    MetricsSnapshot,
    MonitorSpan,
    PerformanceSample,
    StoredReport,
)

# Actions that belong to one tenant: the tenant variant counts its own only.
TENANT_ACTIONS = ("auth.lock", "attachments.quarantined", "attachments.upload")


@dataclass(frozen=True)
class Scope:
    """What a report covers: the whole service, or one tenant's own figures."""

    tenant_id: uuid.UUID | None = None
    tenant_code: str = ""
    tenant_name: str = ""

    @property
    def key(self) -> str:
        return "all" if self.tenant_id is None else str(self.tenant_id)

    @property
    def is_tenant(self) -> bool:
        return self.tenant_id is not None


def events(
    s: Session, scope: Scope, actions: Sequence[str], start: datetime, end: datetime
) -> Sequence[AuditEvent]:
    """Audit entries of ``actions`` in [start, end). For a tenant: its own entries of the
    tenant actions, and of the others only the service-wide (system) entries."""
    stmt = select(AuditEvent).where(
        AuditEvent.action.in_(actions),
        AuditEvent.occurred_at >= start,
        AuditEvent.occurred_at < end,
    )
    if scope.tenant_id is not None:
        stmt = stmt.where(
            or_(
                AuditEvent.tenant_id == scope.tenant_id,
                (AuditEvent.tenant_id.is_(None)) & AuditEvent.action.not_in(TENANT_ACTIONS),
            )
        )
    return s.scalars(stmt.order_by(AuditEvent.occurred_at)).all()


def job_runs(s: Session, job: str, start: datetime, end: datetime) -> Sequence[JobRun]:
    return s.scalars(
        select(JobRun)
        .where(JobRun.job == job, JobRun.started_at >= start, JobRun.started_at < end)
        .order_by(JobRun.started_at)
    ).all()


def drills(s: Session, start: datetime, end: datetime) -> Sequence[BackupDrill]:
    return s.scalars(
        select(BackupDrill)
        .where(BackupDrill.requested_at >= start, BackupDrill.requested_at < end)
        .order_by(BackupDrill.requested_at)
    ).all()


def passed_drills(s: Session) -> Sequence[BackupDrill]:
    return s.scalars(
        select(BackupDrill)
        .where(BackupDrill.status == "passed", BackupDrill.seconds.is_not(None))
        .order_by(BackupDrill.finished_at.desc())
    ).all()


def verifications(s: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """(generations fully verified, generations that failed verification) in the period."""
    ok = s.scalar(
        select(func.count())
        .select_from(BackupVerification)
        .where(BackupVerification.verified_at >= start, BackupVerification.verified_at < end)
    )
    bad = s.scalar(
        select(func.count())
        .select_from(BackupVerification)
        .where(BackupVerification.failed_at >= start, BackupVerification.failed_at < end)
    )
    return int(ok or 0), int(bad or 0)


def spans(s: Session, start: datetime, end: datetime) -> Sequence[MonitorSpan]:
    return s.scalars(
        select(MonitorSpan)
        .where(MonitorSpan.start < end, MonitorSpan.end > start)
        .order_by(MonitorSpan.component, MonitorSpan.start)
    ).all()


def host_samples(s: Session, start: datetime, end: datetime) -> Sequence[HostSample]:
    return s.scalars(
        select(HostSample)
        .where(HostSample.taken_at >= start, HostSample.taken_at < end)
        .order_by(HostSample.taken_at)
    ).all()


def snapshots(s: Session, start: datetime, end: datetime) -> Sequence[MetricsSnapshot]:
    return s.scalars(
        select(MetricsSnapshot)
        .where(MetricsSnapshot.taken_at >= start, MetricsSnapshot.taken_at < end)
        .order_by(MetricsSnapshot.taken_at)
    ).all()


def performance_samples(s: Session, start: datetime, end: datetime) -> Sequence[PerformanceSample]:
    return s.scalars(
        select(PerformanceSample)
        .where(PerformanceSample.period_end > start, PerformanceSample.period_end <= end)
        .order_by(PerformanceSample.period_end)
    ).all()


def daily_runs(s: Session, first: date, last: date) -> Sequence[AuditDailyRun]:
    return s.scalars(
        select(AuditDailyRun)
        .where(AuditDailyRun.audit_date >= first, AuditDailyRun.audit_date <= last)
        .order_by(AuditDailyRun.audit_date)
    ).all()


def findings(s: Session, scope: Scope, first: date, last: date) -> Sequence[AuditFinding]:
    stmt = select(AuditFinding).where(
        AuditFinding.audit_date >= first, AuditFinding.audit_date <= last
    )
    if scope.tenant_id is not None:
        stmt = stmt.where(AuditFinding.tenant_id == scope.tenant_id)
    return s.scalars(stmt.order_by(AuditFinding.audit_date, AuditFinding.rule)).all()


def open_findings(s: Session, scope: Scope) -> int:
    stmt = select(func.count()).select_from(AuditFinding)
    stmt = stmt.where(AuditFinding.status == FindingStatus.open)
    if scope.tenant_id is not None:
        stmt = stmt.where(AuditFinding.tenant_id == scope.tenant_id)
    return int(s.scalar(stmt) or 0)


def clock_checks(s: Session, start: datetime, end: datetime) -> Sequence[ClockCheck]:
    return s.scalars(
        select(ClockCheck)
        .where(ClockCheck.checked_at >= start, ClockCheck.checked_at < end)
        .order_by(ClockCheck.checked_at, ClockCheck.server)
    ).all()


def windows(
    s: Session, scope: Scope, start: datetime, end: datetime
) -> Sequence[MaintenanceWindow]:
    """Windows that started in the period, or were announced in it, or are still to come."""
    stmt = select(MaintenanceWindow).where(
        or_(
            (MaintenanceWindow.starts_at >= start) & (MaintenanceWindow.starts_at < end),
            (MaintenanceWindow.announced_at >= start) & (MaintenanceWindow.announced_at < end),
            (MaintenanceWindow.starts_at >= end) & MaintenanceWindow.cancelled_at.is_(None),
        )
    )
    if scope.tenant_id is not None:
        stmt = stmt.where(
            or_(
                MaintenanceWindow.tenant_id.is_(None),
                MaintenanceWindow.tenant_id == scope.tenant_id,
            )
        )
    return s.scalars(stmt.order_by(MaintenanceWindow.starts_at)).all()


def incidents(s: Session, scope: Scope, start: datetime, end: datetime) -> list[Incident]:
    rows = s.scalars(
        select(Incident)
        .where(
            Incident.started_at < end,
            or_(Incident.resolved_at.is_(None), Incident.resolved_at >= start),
        )
        .order_by(Incident.started_at)
    ).all()
    if scope.tenant_id is None:
        return list(rows)
    mine = str(scope.tenant_id)
    # None: every tenant was affected; else only the tenants listed.
    return [r for r in rows if r.tenant_ids is None or mine in r.tenant_ids]


# -- stored reports ----------------------------------------------------------------------


def stored(s: Session, kind: str, period: str, scope: str) -> StoredReport | None:
    return s.scalars(
        select(StoredReport).where(
            StoredReport.kind == kind, StoredReport.period == period, StoredReport.scope == scope
        )
    ).one_or_none()


def stored_list(s: Session, kind: str | None, limit: int) -> Sequence[StoredReport]:
    # The files stay in the database until one is downloaded.
    stmt = select(StoredReport).options(
        defer(StoredReport.html), defer(StoredReport.xlsx), defer(StoredReport.pdf)
    )
    if kind:
        stmt = stmt.where(StoredReport.kind == kind)
    return s.scalars(stmt.order_by(StoredReport.created_at.desc()).limit(limit)).all()
