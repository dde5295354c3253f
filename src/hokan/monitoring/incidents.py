"""Incidents (MON-2): opened by the prober after K consecutive failed probes, resolved
after M consecutive successes; opened, updated, acknowledged and resolved by hand too.

An incident's class follows the component map (``components.py``): a failed
component that makes the service unusable opens a **full** outage, any other a
**partial** outage of the functions it carries. The prober keeps at most one open
incident of its own and widens it (and its class) as more components fail.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hokan.audit.actions import action, succeeded
from hokan.kit.clock import to_jst
from hokan.models import Incident, IncidentUpdate, MonitorSpan
from hokan.monitoring import components as c
from hokan.monitoring.errors import IncidentNotFound, IncidentResolved, InvalidIncident
from hokan.monitoring.ledger import latest
from hokan.monitoring.probes import DEGRADED, DOWN, UP
from hokan.monitoring.views import incident_json
from hokan.principals.principal import Principal

OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"
PROBE, OPERATOR = "probe", "operator"

# The components whose state opens incidents (single vault stores count through "vault").
WATCHED: dict[str, c.Component] = {
    x.name: x for x in (c.API, c.SYSTEM_DB, c.KEYRING_DB, c.BLOB_STORE, c.REDIS, c.SMTP, c.VAULT)
}


@dataclass(frozen=True)
class Change:
    """What the evaluation did: an incident opened, widened or resolved (for the notices)."""

    incident: Incident
    event: str  # opened, updated, resolved


def _component(name: str) -> c.Component | None:
    if name in WATCHED:
        return WATCHED[name]
    if name.startswith("backup_"):
        return c.backup_target(name.removeprefix("backup_"))
    return None


def _functions(component: c.Component, span: MonitorSpan) -> tuple[str, ...]:
    if component.name == c.VAULT.name and span.status == DOWN:
        return ("vault_read", "vault_write")  # fewer than k stores: reads fail too
    return component.functions


def next_number(session: Session, when: datetime) -> str:
    year = to_jst(when).year
    prefix = f"INC-{year}-"
    count = session.scalar(
        select(func.count()).select_from(Incident).where(Incident.number.like(f"{prefix}%"))
    )
    return f"{prefix}{(count or 0) + 1:04d}"


def open_probe_incident(session: Session) -> Incident | None:
    found: Incident | None = session.scalars(
        select(Incident)
        .where(Incident.origin == PROBE, Incident.status != RESOLVED)
        .order_by(Incident.detected_at.desc())
        .limit(1)
    ).first()
    return found


def _title(components: list[str]) -> tuple[str, str]:
    known = [WATCHED.get(n) or _component(n) for n in components]
    ja = "、".join(x.label_ja for x in known if x) or "サービス"
    en = ", ".join(x.label_en for x in known if x) or "service"
    return f"{ja}の障害", f"Outage: {en}"


def evaluate(
    session: Session,
    now: datetime,
    *,
    locations: list[str],
    quorum: int,
    fail_after: int,
    recover_after: int,
    fresh_seconds: float,
) -> list[Change]:
    """Open, widen or resolve the prober's incident from the ledger's current spans."""
    failing: dict[str, tuple[c.Component, MonitorSpan]] = {}
    recovered: dict[str, MonitorSpan] = {}
    names = set(WATCHED) | set(
        session.scalars(
            select(MonitorSpan.component).where(MonitorSpan.component.like("backup_%")).distinct()
        )
    )
    for name in sorted(names):
        component = _component(name)
        if component is None:
            continue
        bad, good = [], []
        for location in locations:
            span = latest(session, name, location)
            if span is None or (now - span.end).total_seconds() > fresh_seconds:
                continue  # this location has not watched it lately: no vote
            if span.status in (DOWN, DEGRADED) and span.probes >= fail_after:
                bad.append(span)
            elif span.status == UP and span.probes >= recover_after:
                good.append(span)
        if len(bad) >= quorum:
            failing[name] = (component, min(bad, key=lambda s: s.start))
        elif good and not bad:
            recovered[name] = max(good, key=lambda s: s.start)

    changes: list[Change] = []
    current = open_probe_incident(session)
    if failing:
        added = [n for n in failing if current is None or n not in current.components]
        if added:
            full = any(comp.outage == c.FULL for comp, _ in failing.values())
            functions = sorted(
                {f for comp, span in failing.values() for f in _functions(comp, span)}
            )
            if current is None:
                started = min(span.start for _, span in failing.values())
                names_now = sorted(failing)
                title_ja, title_en = _title(names_now)
                current = Incident(
                    number=next_number(session, now),
                    origin=PROBE,
                    outage=c.FULL if full else c.PARTIAL,
                    status=OPEN,
                    title_ja=title_ja,
                    title_en=title_en,
                    components=names_now,
                    functions=functions,
                    tenant_ids=None,
                    started_at=started,
                    detected_at=now,
                )
                session.add(current)
                session.flush()
                note(session, current, "detected", now, *_detected(names_now))
                changes.append(Change(current, "opened"))
            else:
                current.components = sorted({*current.components, *added})
                current.functions = sorted({*current.functions, *functions})
                if full:
                    current.outage = c.FULL
                current.title_ja, current.title_en = _title(current.components)
                note(session, current, "update", now, *_detected(added))
                changes.append(Change(current, "updated"))
    elif current is not None and all(n in recovered for n in current.components):
        current.status = RESOLVED
        current.resolved_at = max(recovered[n].start for n in current.components)
        note(
            session,
            current,
            "resolved",
            now,
            "監視で復旧を確認しました。",
            "Monitoring confirmed the recovery.",
        )
        changes.append(Change(current, "resolved"))
    return changes


def _detected(names: list[str]) -> tuple[str, str]:
    title_ja, title_en = _title(names)
    return f"監視で検知しました: {title_ja}", f"Detected by monitoring: {title_en}"


def note(
    session: Session,
    incident: Incident,
    kind: str,
    at: datetime,
    message_ja: str,
    message_en: str,
    actor: str = "monitoring",
) -> IncidentUpdate:
    row = IncidentUpdate(
        incident_id=incident.id,
        at=at,
        kind=kind,
        message_ja=message_ja[:4000],
        message_en=message_en[:4000],
        actor=actor[:100],
    )
    session.add(row)
    return row


def timeline(session: Session, incident_id: uuid.UUID) -> list[IncidentUpdate]:
    return list(
        session.scalars(
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id == incident_id)
            .order_by(IncidentUpdate.at, IncidentUpdate.id)
        )
    )


def _number(number: str, *_: object, **__: object) -> str:
    return number[:20]


class Incidents:
    """Operators' entry points (API and CLI): each declares and writes its audit entry.

    Opening, updating and resolving queue the notices in the same transaction
    (``announce``, given by the composition root); the caller dispatches them after
    commit.
    """

    def __init__(self, announce: Callable[[Session, Incident, str], object]) -> None:
        self.announce = announce

    @action("incident.list", "incident", "*")
    def listing(
        self, session: Session, principal: Principal, *, open_only: bool = False, limit: int = 50
    ) -> list[Incident]:
        query = select(Incident).order_by(Incident.detected_at.desc()).limit(limit)
        if open_only:
            query = query.where(Incident.status != RESOLVED)
        rows = list(session.scalars(query))
        succeeded(session, principal, detail={"count": len(rows)})
        return rows

    @action("incident.read", "incident", _number)
    def detail(self, session: Session, principal: Principal, number: str) -> dict[str, object]:
        row = self.get(session, number)
        out = incident_json(row, timeline(session, row.id))
        succeeded(session, principal)
        return out

    def get(self, session: Session, number: str) -> Incident:
        row = session.scalars(select(Incident).where(Incident.number == number)).first()
        if row is None:
            raise IncidentNotFound()
        return row

    @action("incident.open", "incident", "")
    def open(
        self,
        session: Session,
        principal: Principal,
        *,
        outage: str,
        title_ja: str,
        title_en: str,
        functions: list[str],
        started_at: datetime,
        now: datetime,
        message_ja: str = "",
        message_en: str = "",
    ) -> Incident:
        if outage not in (c.FULL, c.PARTIAL):
            raise InvalidIncident("outage", value=outage[:20])
        unknown = [f for f in functions if f not in c.FUNCTIONS]
        if unknown:
            raise InvalidIncident("functions", known=", ".join(sorted(c.FUNCTIONS)))
        if not title_ja.strip():
            raise InvalidIncident("title")
        if started_at > now:
            raise InvalidIncident("future")
        row = Incident(
            number=next_number(session, now),
            origin=OPERATOR,
            outage=outage,
            status=OPEN,
            title_ja=title_ja.strip()[:200],
            title_en=(title_en.strip() or title_ja.strip())[:200],
            components=[],
            functions=sorted(set(functions)) or ["api"],
            tenant_ids=None,
            started_at=started_at,
            detected_at=now,
        )
        session.add(row)
        session.flush()
        note(
            session,
            row,
            "detected",
            now,
            message_ja or row.title_ja,
            message_en or row.title_en,
            principal.display_name,
        )
        self.announce(session, row, "opened")
        succeeded(session, principal, target_id=row.number, detail={"outage": outage})
        return row

    @action("incident.update", "incident", _number)
    def update(
        self,
        session: Session,
        principal: Principal,
        number: str,
        *,
        now: datetime,
        message_ja: str,
        message_en: str = "",
        acknowledge: bool = False,
    ) -> Incident:
        row = self.get(session, number)
        if row.status == RESOLVED:
            raise IncidentResolved()
        if not message_ja.strip():
            raise InvalidIncident("message")
        kind = "update"
        if acknowledge and row.status == OPEN:
            row.status, row.acknowledged_at, kind = ACKNOWLEDGED, now, "acknowledged"
        note(
            session,
            row,
            kind,
            now,
            message_ja.strip(),
            message_en.strip() or message_ja.strip(),
            principal.display_name,
        )
        self.announce(session, row, "updated")
        succeeded(session, principal, detail={"kind": kind})
        return row

    @action("incident.resolve", "incident", _number)
    def resolve(
        self,
        session: Session,
        principal: Principal,
        number: str,
        *,
        now: datetime,
        resolved_at: datetime | None = None,
        message_ja: str = "",
        message_en: str = "",
    ) -> Incident:
        row = self.get(session, number)
        if row.status == RESOLVED:
            raise IncidentResolved()
        end = resolved_at or now
        if end < row.started_at or end > now:
            raise InvalidIncident("resolved_at")
        row.status, row.resolved_at = RESOLVED, end
        note(
            session,
            row,
            "resolved",
            now,
            message_ja.strip() or "復旧しました。",
            message_en.strip() or "Resolved.",
            principal.display_name,
        )
        self.announce(session, row, "resolved")
        succeeded(session, principal)
        return row

    @action("incident.edit", "incident", _number)
    def edit_details(
        self,
        session: Session,
        principal: Principal,
        number: str,
        *,
        cause: str | None = None,
        response: str | None = None,
        prevention: str | None = None,
        counts_as_outage: bool | None = None,
    ) -> Incident:
        """停止の詳細 (停止理由, 対応, 予防), edited after the fact; the edit is audited."""
        row = self.get(session, number)
        changed = []
        for field, value in (("cause", cause), ("response", response), ("prevention", prevention)):
            if value is not None:
                setattr(row, field, value.strip()[:4000])
                changed.append(field)
        if counts_as_outage is not None:
            row.counts_as_outage = counts_as_outage
            changed.append("counts_as_outage")
        succeeded(session, principal, detail={"fields": changed})
        return row
