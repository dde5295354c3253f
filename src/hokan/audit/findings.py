"""The daily internal audit (AUD-4): run the rules over one JST day, keep the findings,
let an auditor acknowledge each with a comment.

``hokan audit daily`` (and the scheduler) runs it for yesterday; a re-run of a
day updates its findings in place and keeps their acknowledgements.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.audit.actions import action, succeeded
from hokan.audit.daily_rules import VAULT_REVEALS, DayReview, Finding, OperatorInfo, is_data_read
from hokan.audit.errors import FindingAlreadyAcknowledged, FindingNotFound
from hokan.kit.clock import JST, iso, to_jst, utcnow
from hokan.models import (
    AuditDailyRun,
    AuditEvent,
    AuditFinding,
    FindingStatus,
    Operator,
    OperatorKind,
)
from hokan.principals.principal import Principal
from hokan.settings import Settings

BASELINE_DAYS = 14


@dataclass(frozen=True)
class DailyReport:
    audit_date: date
    entries_examined: int
    findings: dict[str, int]  # per rule, this day
    open_total: int  # open findings over all days

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.audit_date.isoformat(),
            "entries_examined": self.entries_examined,
            "findings": self.findings,
            "open_findings": self.open_total,
        }


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), JST).astimezone(UTC)
    return start, start + timedelta(days=1)


def yesterday_jst() -> date:
    return to_jst(utcnow()).date() - timedelta(days=1)


def _operators(session: Session) -> dict[str, OperatorInfo]:
    rows = session.execute(
        select(
            Operator.id,
            Operator.permitted_hours,
            Operator.kind,
            Operator.tenant_id,
            Operator.expires_at,
        )
    )
    return {
        str(r.id): OperatorInfo(
            r.permitted_hours, r.kind is OperatorKind.temporary, r.tenant_id, r.expires_at
        )
        for r in rows
    }


@dataclass(frozen=True)
class Baselines:
    """Each actor's mean per day over the previous days: entries, reads of tenant data,
    My Number reveals (what the volume rules measure a day against)."""

    entries: dict[str, float]
    reads: dict[str, float]
    reveals: dict[str, float]


def _baselines(session: Session, start: datetime) -> Baselines:
    no_tenant = AuditEvent.tenant_id.is_(None).label("no_tenant")
    grouping = (AuditEvent.actor_type, AuditEvent.actor_id, AuditEvent.action, AuditEvent.result)
    rows = session.execute(
        select(*grouping, no_tenant, func.count())
        .where(
            AuditEvent.occurred_at >= start - timedelta(days=BASELINE_DAYS),
            AuditEvent.occurred_at < start,
        )
        .group_by(*grouping, no_tenant)
    )
    entries: dict[str, float] = defaultdict(float)
    reads: dict[str, float] = defaultdict(float)
    reveals: dict[str, float] = defaultdict(float)
    for actor_type, actor_id, name, result, without_tenant, n in rows:
        actor, per_day = f"{actor_type}:{actor_id}", n / BASELINE_DAYS
        entries[actor] += per_day
        if result != "success":
            continue
        if is_data_read(name) and not without_tenant:
            reads[actor] += per_day
        if name in VAULT_REVEALS:
            reveals[actor] += per_day
    return Baselines(dict(entries), dict(reads), dict(reveals))


_DAY_COLUMNS = (
    AuditEvent.id,
    AuditEvent.occurred_at,
    AuditEvent.tenant_id,
    AuditEvent.actor_type,
    AuditEvent.actor_id,
    AuditEvent.role,
    AuditEvent.action,
    AuditEvent.source_ip,
    AuditEvent.result,
    AuditEvent.detail,
)


def run_daily(session: Session, settings: Settings, day: date, actor: Principal) -> DailyReport:
    """Review one JST day's entries and record the findings (idempotent per day)."""
    started = utcnow()
    start, end = day_bounds(day)
    normal = _baselines(session, start)
    review = DayReview(
        operator_cidrs=settings.operator_cidrs,
        global_hours=settings.operator_hours,
        bulk_threshold=settings.audit_bulk_threshold,
        anomaly_factor=settings.audit_anomaly_factor,
        anomaly_min_events=settings.audit_anomaly_min_events,
        operators=_operators(session),
        baseline=normal.entries,
        read_baseline=normal.reads,
        reveal_baseline=normal.reveals,
        reveal_min_events=settings.audit_reveal_min_events,
    )
    rows = session.execute(
        select(*_DAY_COLUMNS)
        .where(AuditEvent.occurred_at >= start, AuditEvent.occurred_at < end)
        .order_by(AuditEvent.occurred_at)
        .execution_options(yield_per=5000)
    )
    for row in rows:
        review.feed(row._mapping)
    per_rule: dict[str, int] = {}
    for finding in review.findings():
        _upsert(session, day, finding)
        per_rule[finding.rule] = per_rule.get(finding.rule, 0) + 1
    run = session.get(AuditDailyRun, day) or AuditDailyRun(audit_date=day)
    run.started_at, run.finished_at = started, utcnow()
    run.entries_examined, run.findings = review.examined, sum(per_rule.values())
    session.add(run)
    session.flush()
    open_total = session.scalar(
        select(func.count())
        .select_from(AuditFinding)
        .where(AuditFinding.status == FindingStatus.open)
    )
    audit.record(
        session,
        actor,
        "audit.daily_review",
        "audit_day",
        day.isoformat(),
        detail={"entries": review.examined, "findings": run.findings, "open": open_total or 0},
    )
    return DailyReport(day, review.examined, per_rule, int(open_total or 0))


def _upsert(session: Session, day: date, f: Finding) -> None:
    row = session.scalars(
        select(AuditFinding).where(
            AuditFinding.audit_date == day,
            AuditFinding.rule == f.rule,
            AuditFinding.subject == f.subject[:200],
        )
    ).one_or_none()
    if row is None:
        row = AuditFinding(audit_date=day, rule=f.rule, subject=f.subject[:200])
        session.add(row)
    row.severity, row.actor, row.tenant_id = f.severity, f.actor[:100], f.tenant_id
    row.summary, row.entry_ids, row.entry_count = f.summary[:500], f.entry_ids, f.entry_count


def list_findings(
    session: Session, status: FindingStatus | None = None, day: date | None = None
) -> list[AuditFinding]:
    stmt = select(AuditFinding).order_by(AuditFinding.audit_date.desc(), AuditFinding.rule)
    if status is not None:
        stmt = stmt.where(AuditFinding.status == status)
    if day is not None:
        stmt = stmt.where(AuditFinding.audit_date == day)
    return list(session.scalars(stmt.limit(1000)))


def acknowledge(
    session: Session, finding_id: uuid.UUID, comment: str, actor: Principal
) -> AuditFinding:
    row = session.get(AuditFinding, finding_id)
    if row is None:
        raise FindingNotFound
    if row.status is FindingStatus.acknowledged:
        raise FindingAlreadyAcknowledged
    row.status = FindingStatus.acknowledged
    row.acknowledged_by, row.acknowledged_at = actor.actor[:100], utcnow()
    row.comment = comment.strip()[:1000]
    audit.record(
        session,
        actor,
        "audit.finding_acknowledge",
        "audit_finding",
        str(row.id),
        detail={"rule": row.rule},
    )
    return row


def finding_json(f: AuditFinding) -> dict[str, Any]:
    return {
        "id": str(f.id),
        "date": f.audit_date.isoformat(),
        "rule": f.rule,
        "severity": f.severity,
        "subject": f.subject,
        "actor": f.actor,
        "tenant_id": str(f.tenant_id) if f.tenant_id else None,
        "summary": f.summary,
        "entry_count": f.entry_count,
        "entry_ids": f.entry_ids,
        "status": f.status.value,
        "acknowledged_by": f.acknowledged_by or None,
        "acknowledged_at": iso(f.acknowledged_at) if f.acknowledged_at else None,
        "comment": f.comment or None,
    }


def _finding_target(finding_id: uuid.UUID, *_: Any) -> str:
    return str(finding_id)


def _day_target(day: date) -> str:
    return day.isoformat()


class InternalAudit:
    """Operators' unit-of-work entry points to the daily internal audit (AUD-4)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @action("audit.findings_list", "audit_finding", "*")
    def findings(
        self,
        session: Session,
        principal: Principal,
        status: FindingStatus | None = None,
        day: date | None = None,
    ) -> list[AuditFinding]:
        rows = list_findings(session, status, day)
        succeeded(session, principal)
        return rows

    @action("audit.finding_acknowledge", "audit_finding", _finding_target)
    def acknowledge(
        self, session: Session, principal: Principal, finding_id: uuid.UUID, comment: str
    ) -> AuditFinding:
        return acknowledge(session, finding_id, comment, principal)  # audits its success

    @action("audit.daily_review", "audit_day", _day_target)
    def run_daily(self, session: Session, principal: Principal, day: date) -> DailyReport:
        return run_daily(session, self.settings, day, principal)  # audits its success
