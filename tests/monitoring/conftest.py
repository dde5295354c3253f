"""Helpers of the monitoring tests: incidents, windows and ledger rows written directly,
the gate's cache flushed; ``/metrics`` read as Prometheus would (the instruments are
process-wide, so other tests' counts are there too: compare before and after)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from hokan.kit.clock import utcnow
from hokan.models import Incident, IncidentUpdate, MaintenanceWindow, MonitorSpan
from hokan.monitoring.exposition import parse
from hokan.runtime import Runtime


def minute(delta: timedelta = timedelta()) -> datetime:
    return (utcnow() + delta).replace(second=0, microsecond=0)


def add_incident(
    runtime: Runtime,
    *,
    outage: str = "full",
    functions: Iterable[str] = ("api",),
    tenant_ids: list[str] | None = None,
    status: str = "open",
    title_ja: str = "API が応答しません",
    title_en: str = "The API does not answer",
    updates: Iterable[tuple[str, str, str]] = (),
    cause: str = "",
) -> Incident:
    now = utcnow()
    number = f"INC-{now.year}-{uuid.uuid4().int % 10000:04d}"
    with runtime.db.session(write=True, system=True) as s:
        row = Incident(
            number=number,
            origin="probe",
            outage=outage,
            status=status,
            title_ja=title_ja,
            title_en=title_en,
            components=["api"],
            functions=list(functions),
            tenant_ids=tenant_ids,
            started_at=now - timedelta(minutes=2),
            detected_at=now - timedelta(minutes=1),
            resolved_at=now if status == "resolved" else None,
            cause=cause,
        )
        s.add(row)
        s.flush()
        for kind, ja, en in updates:
            s.add(IncidentUpdate(incident_id=row.id, kind=kind, message_ja=ja, message_en=en))
        s.expunge(row)
    return row


def add_window(
    runtime: Runtime,
    *,
    tenant_id: uuid.UUID | None = None,
    start: timedelta = timedelta(minutes=-5),
    length: timedelta = timedelta(hours=1),
    reads_allowed: bool = True,
    reason_ja: str = "データベースの更新",
) -> MaintenanceWindow:
    """A window written as it would be after scheduling (it may already be running)."""
    starts = minute(start)
    with runtime.db.session(write=True, system=True) as s:
        row = MaintenanceWindow(
            tenant_id=tenant_id,
            starts_at=starts,
            ends_at=starts + length,
            reason_ja=reason_ja,
            reason_en="database upgrade",
            reads_allowed=reads_allowed,
            announced_at=starts - timedelta(days=15),
        )
        s.add(row)
        s.flush()
        s.expunge(row)
    return row


def add_span(
    runtime: Runtime,
    component: str,
    status: str,
    *,
    ago: timedelta = timedelta(),
    last_error: str | None = None,
) -> None:
    end = minute(-ago) + timedelta(minutes=1)
    with runtime.db.session(write=True, system=True) as s:
        s.add(
            MonitorSpan(
                component=component,
                location="main",
                status=status,
                start=end - timedelta(minutes=10),
                end=end,
                probes=20,
                last_error=last_error,
            )
        )


def flush_state(client: TestClient) -> None:
    """The gate reads what is down at most once a second; tests need it now."""
    client.app.state.service_state.invalidate()  # type: ignore[attr-defined]


Labels = Mapping[str, str]


def scrape(client: TestClient) -> list[tuple[str, dict[str, str], float]]:
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return list(parse(r.text))


def value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when none)."""
    return sum(
        v
        for n, ls, v in samples
        if n == name and all(ls.get(k) == want for k, want in labels.items())
    )
