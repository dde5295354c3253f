"""The tenant's own operation log (AUD-3, UI-1) and each user's own activity.

Pages are newest first, 100 entries, keyset-paged by sequence number (``before``),
so the page costs the same at entry 100 000 as at entry 1. The CSV (UTF-8 with BOM)
and the verifiable bundle are the API's own downloads (``/api/v1/audit/…``), which
take the same session cookie.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from hokan.audit.log import AuditLog, Filters
from hokan.console.guard import ConsoleRoute, form_csrf
from hokan.console.pages import render
from hokan.httpkit.auth import AuthenticatedWork, ReadAudit
from hokan.kit.clock import JST

router = APIRouter(
    prefix="/console",
    route_class=ConsoleRoute,
    include_in_schema=False,
    dependencies=[Depends(form_csrf)],
)
PAGE = 100
RESULTS = ("success", "denied", "error")


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    """A date typed in Japan's calendar → the UTC instant its day starts (or ends)."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    start = datetime.combine(day + timedelta(days=1 if end else 0), time(), JST)
    return start.astimezone(UTC)


def _rows(rows: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "seq": r.seq,
            "occurred_at": r.occurred_at,
            "actor": r.actor_name or r.actor_id,
            "role": r.role,
            "action": r.action,
            "target": f"{r.target_type} {r.target_id}".strip(),
            "result": r.result,
            "source_ip": r.source_ip,
            "detail": r.detail or {},
        }
        for r in rows
    ]


@router.get("/audit")
async def audit_page(
    request: Request,
    work: ReadAudit,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    result: Annotated[str | None, Query(max_length=10)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    log = work.resolve(AuditLog)
    filters = Filters(
        since=_day(since),
        until=_day(until, end=True),
        action=action or None,
        actor_id=actor or None,
        result=result if result in RESULTS else None,
    )
    rows = await work(lambda s: log.newest(s, work.principal, filters, before, PAGE + 1))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    query = {
        k: v
        for k, v in {
            "since": since,
            "until": until,
            "action": action,
            "actor": actor,
            "result": result,
        }.items()
        if v
    }
    api = {
        "since": filters.since.isoformat() if filters.since else None,
        "until": filters.until.isoformat() if filters.until else None,
        "action": filters.action,
        "actor": filters.actor_id,
        "result": filters.result,
    }
    csv_query = urlencode({k: v for k, v in api.items() if v})
    older = urlencode({**query, "before": rows[-1].seq}) if more and rows else None
    context = {
        "entries": _rows(rows),
        "filters": query,
        "results": RESULTS,
        "older": older,
        "newest": urlencode(query) if before else None,
        "csv_href": "/api/v1/audit/events.csv" + (f"?{csv_query}" if csv_query else ""),
    }
    return render(request, "console/audit.html", context)


@router.get("/activity")
async def activity_page(
    request: Request,
    work: AuthenticatedWork,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """What I did: every user sees their own entries (a clerk, their reveals)."""
    log = work.resolve(AuditLog)
    rows = await work(lambda s: log.own(s, work.principal, before, PAGE + 1))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    context = {
        "entries": _rows(rows),
        "older": urlencode({"before": rows[-1].seq}) if more and rows else None,
        "newest": "" if before else None,
    }
    return render(request, "console/activity.html", context)
