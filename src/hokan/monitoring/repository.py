"""Monitoring's queries: maintenance windows by tenant (TEN-2: tenant scoping lives
here), the metrics tables (snapshots, performance samples) and the audit-chain statistics
``/metrics`` reads at scrape time (system scope; counts, never tenants)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from hokan.models import (
    AuditChain,
    AuditCheckpoint,
    MaintenanceWindow,
    MetricsSnapshot,
    PerformanceSample,
)

_chains = AuditChain.__table__
_checkpoints = AuditCheckpoint.__table__


def _latest(column: Any) -> Any:
    """The chain's latest checkpoint's ``column`` (one index probe per chain)."""
    return (
        select(column)
        .where(_checkpoints.c.chain == _chains.c.chain)
        .order_by(_checkpoints.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )


_PER_CHAIN = select(
    case((_chains.c.tenant_id.is_(None), literal("system")), else_=literal("tenant")).label(
        "scope"
    ),
    _chains.c.seq,
    func.coalesce(_latest(_checkpoints.c.seq), 0).label("checked_seq"),
    _latest(_checkpoints.c.created_at).label("checked_at"),
).subquery()
_BEHIND = _PER_CHAIN.c.seq > _PER_CHAIN.c.checked_seq
_AUDIT_STATS = select(
    _PER_CHAIN.c.scope,
    func.count().label("chains"),
    func.coalesce(func.sum(_PER_CHAIN.c.seq), 0).label("entries"),
    func.coalesce(func.max(_PER_CHAIN.c.seq), 0).label("head_max"),
    func.count(case((_BEHIND, 1))).label("behind"),
    func.min(case((_BEHIND, _PER_CHAIN.c.checked_at))).label("oldest_checkpoint"),
).group_by(_PER_CHAIN.c.scope)


@dataclass(frozen=True)
class ChainStats:
    scope: str  # system or tenant
    chains: int
    entries: int
    head_max: int
    behind: int  # chains with entries past their latest checkpoint
    oldest_checkpoint: datetime | None  # of those behind that have one


def audit_stats(conn: Connection) -> list[ChainStats]:
    out = []
    for row in conn.execute(_AUDIT_STATS):
        oldest = row.oldest_checkpoint
        if isinstance(oldest, str):  # SQLite: an aggregate loses the column's type
            oldest = datetime.fromisoformat(oldest)
        out.append(
            ChainStats(
                str(row.scope),
                int(row.chains),
                int(row.entries),
                int(row.head_max),
                int(row.behind),
                oldest,
            )
        )
    return out


# ---------------------------------------------------------------------------- snapshots


def add_snapshot(
    s: Session, *, taken_at: datetime, host: str, boot: str, data: dict[str, Any]
) -> None:
    s.execute(insert(MetricsSnapshot).values(taken_at=taken_at, host=host, boot=boot, data=data))


def prune_snapshots(s: Session, before: datetime) -> int:
    result = s.execute(delete(MetricsSnapshot).where(MetricsSnapshot.taken_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def snapshots_between(s: Session, start: datetime, end: datetime) -> Sequence[MetricsSnapshot]:
    return s.scalars(
        select(MetricsSnapshot)
        .where(MetricsSnapshot.taken_at >= start, MetricsSnapshot.taken_at <= end)
        .order_by(MetricsSnapshot.taken_at)
    ).all()


# ---------------------------------------------------------------------------- samples


def sample_for(s: Session, period_end: datetime) -> PerformanceSample | None:
    return s.scalars(
        select(PerformanceSample).where(PerformanceSample.period_end == period_end)
    ).one_or_none()


def add_sample(s: Session, sample: PerformanceSample) -> None:
    s.add(sample)
    s.flush()


def latest_samples(s: Session, limit: int) -> Sequence[PerformanceSample]:
    return s.scalars(
        select(PerformanceSample).order_by(PerformanceSample.period_end.desc()).limit(limit)
    ).all()


def overlapping_windows(
    session: Session, tenant_id: uuid.UUID | None, starts_at: datetime, ends_at: datetime
) -> list[MaintenanceWindow]:
    """Live windows of the same scope (that tenant, or service-wide) overlapping the period."""
    same_scope = (
        MaintenanceWindow.tenant_id.is_(None)
        if tenant_id is None
        else MaintenanceWindow.tenant_id == tenant_id
    )
    return list(
        session.scalars(
            select(MaintenanceWindow)
            .where(
                same_scope,
                MaintenanceWindow.cancelled_at.is_(None),
                MaintenanceWindow.starts_at < ends_at,
                MaintenanceWindow.ends_at > starts_at,
            )
            .order_by(MaintenanceWindow.starts_at)
        )
    )


def windows_for_tenant(
    session: Session, tenant_id: uuid.UUID, now: datetime
) -> list[MaintenanceWindow]:
    """A tenant's own and the service-wide windows not yet over and not cancelled."""
    return list(
        session.scalars(
            select(MaintenanceWindow)
            .where(
                or_(
                    MaintenanceWindow.tenant_id.is_(None), MaintenanceWindow.tenant_id == tenant_id
                ),
                MaintenanceWindow.cancelled_at.is_(None),
                MaintenanceWindow.ends_at > now,
            )
            .order_by(MaintenanceWindow.starts_at)
        )
    )
