"""``hokan incident``: operators open, update, resolve and document incidents (MON-2)."""

from __future__ import annotations

from datetime import datetime

import typer

from hokan.cli._common import echo_json, fail, group, operator, runtime
from hokan.kit.clock import parse_timestamp, utcnow
from hokan.monitoring import notices
from hokan.monitoring.incidents import timeline
from hokan.monitoring.views import incident_json
from hokan.runtime import Runtime

app = group("Incidents: list, open, update, resolve, document (notices go out at once).")


def _when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        fail(
            f"{option} must be an ISO 8601 time",
            2,
            ja=f"{option} は ISO 8601 形式で指定してください",
        )


def _dispatch(rt: Runtime) -> None:
    notices.dispatch(rt.db, rt.settings, utcnow())


@app.command("list")
def list_(
    open_only: bool = typer.Option(False, "--open", help="Only incidents not resolved"),
) -> None:
    """Incidents, newest first."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        rows = rt.incidents.listing(s, operator(), open_only=open_only)
        echo_json([incident_json(r) for r in rows])


@app.command("show")
def show(number: str) -> None:
    """One incident with its timeline."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        echo_json(rt.incidents.detail(s, operator(), number))


@app.command("open")
def open_(
    title: str = typer.Option(..., help="Title (Japanese)"),
    title_en: str = typer.Option("", help="Title (English)"),
    outage: str = typer.Option(..., help="full or partial"),
    function: list[str] = typer.Option([], "--function", help="Affected function (repeatable)"),
    started: str = typer.Option(None, help="When it began (ISO 8601; default now)"),
    message: str = typer.Option("", help="First update (Japanese)"),
) -> None:
    """Open an incident by hand; the notices go out at once."""
    now = utcnow()
    with runtime() as rt:
        with rt.db.session(write=True, system=True) as s:
            row = rt.incidents.open(
                s,
                operator(),
                outage=outage,
                title_ja=title,
                title_en=title_en,
                functions=function,
                started_at=_when(started, "--started") or now,
                now=now,
                message_ja=message,
            )
            out = incident_json(row, timeline(s, row.id))
        _dispatch(rt)
    echo_json(out)


@app.command("update")
def update(
    number: str,
    message: str = typer.Option(..., help="What happened / what is being done (Japanese)"),
    message_en: str = typer.Option("", help="The same in English"),
    acknowledge: bool = typer.Option(False, "--acknowledge", help="Acknowledge the incident"),
) -> None:
    """Post an update (notices go out)."""
    with runtime() as rt:
        with rt.db.session(write=True, system=True) as s:
            row = rt.incidents.update(
                s,
                operator(),
                number,
                now=utcnow(),
                message_ja=message,
                message_en=message_en,
                acknowledge=acknowledge,
            )
            out = incident_json(row, timeline(s, row.id))
        _dispatch(rt)
    echo_json(out)


@app.command("resolve")
def resolve(
    number: str,
    at: str = typer.Option(None, help="When service was restored (ISO 8601; default now)"),
    message: str = typer.Option("", help="Resolution note (Japanese)"),
) -> None:
    """Resolve an incident (the resolution notice goes out)."""
    with runtime() as rt:
        with rt.db.session(write=True, system=True) as s:
            row = rt.incidents.resolve(
                s,
                operator(),
                number,
                now=utcnow(),
                resolved_at=_when(at, "--at"),
                message_ja=message,
            )
            out = incident_json(row, timeline(s, row.id))
        _dispatch(rt)
    echo_json(out)


@app.command("edit")
def edit(
    number: str,
    cause: str = typer.Option(None, help="停止理由"),
    response: str = typer.Option(None, help="対応"),
    prevention: str = typer.Option(None, help="予防"),
    counts: bool = typer.Option(None, "--counts/--does-not-count", help="Counts as outage"),
) -> None:
    """Document 停止の詳細 after the fact (audited)."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        row = rt.incidents.edit_details(
            s,
            operator(),
            number,
            cause=cause,
            response=response,
            prevention=prevention,
            counts_as_outage=counts,
        )
        echo_json(incident_json(row))
