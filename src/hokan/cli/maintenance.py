"""``hokan maintenance``: schedule, list and cancel planned maintenance windows (MON-5)."""

from __future__ import annotations

from datetime import datetime

import typer
from sqlalchemy.orm import Session

from hokan.cli._common import echo_json, fail, group, operator, runtime, say
from hokan.httpkit.work import Work
from hokan.kit.actions import Declared
from hokan.kit.clock import parse_timestamp, to_jst, utcnow
from hokan.monitoring.maintenance import Maintenance, window_json
from hokan.runtime import Runtime

app = group("Planned maintenance windows (announced 14 days ahead; mail to tenants).")


def _when(text: str, option: str) -> datetime:
    try:
        if "T" not in text and " " not in text:
            raise ValueError
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(
            f"{option} takes an ISO 8601 time with an offset, e.g. 2027-01-16T01:00+09:00",
            2,
            ja=f"{option} は ISO 8601 の日時 (時差付き) です。例: 2027-01-16T01:00+09:00",
        )
    if moment.tzinfo is None:
        fail(
            f"{option} needs an offset (+09:00 for JST, Z for UTC)",
            2,
            ja=f"{option} には時差 (日本時間なら +09:00、UTC なら Z) を付けてください",
        )
    return parse_timestamp(moment.isoformat())


def _work(rt: Runtime, action: str) -> Work:
    """The CLI operator's unit of work: refusals are audited like the API's."""
    return Work(rt, operator(), Declared(action, "maintenance"), system=True)


@app.command("schedule")
def schedule(
    start: str = typer.Option(..., help="Start, ISO 8601 with offset (2027-01-16T01:00+09:00)"),
    end: str = typer.Option(..., help="End, ISO 8601 with offset"),
    reason: str = typer.Option(..., help="Reason in Japanese (shown on /status and mailed)"),
    reason_en: str = typer.Option("", help="Reason in English"),
    tenant: str = typer.Option("", help="A tenant's code; omit for a service-wide window"),
    emergency: bool = typer.Option(
        False, "--emergency", help="Less than 14 days' notice: recorded and shown as emergency"
    ),
    writes_only: bool = typer.Option(
        True,
        "--writes-only/--all-requests",
        help="Refuse only writes during the window (default), or reads too",
    ),
) -> None:
    """Schedule a window and mail the announcement to the affected tenants' contacts."""
    starts_at, ends_at = _when(start, "--start"), _when(end, "--end")
    with runtime() as rt:
        service = Maintenance(rt.settings)

        def run(s: Session) -> dict[str, object]:
            window = service.schedule(
                s,
                operator(),
                starts_at=starts_at,
                ends_at=ends_at,
                reason_ja=reason,
                reason_en=reason_en,
                tenant_code=tenant or None,
                emergency=emergency,
                reads_allowed=writes_only,
            )
            return window_json(window, utcnow(), tenant or None)

        out = _work(rt, "maintenance.schedule").bind(run, system=True)()
    when = f"{to_jst(starts_at):%Y-%m-%d %H:%M} - {to_jst(ends_at):%Y-%m-%d %H:%M} JST"
    typer.echo(
        say(
            f"メンテナンスを登録しました: {out['id']} ({when})",
            f"maintenance scheduled: {out['id']} ({when})",
        )
    )


@app.command("list")
def list_(
    include_past: bool = typer.Option(False, "--all", help="Also ended and cancelled windows"),
) -> None:
    """List maintenance windows to come (JSON)."""
    with runtime() as rt:
        service = Maintenance(rt.settings)
        rows = _work(rt, "maintenance.list").bind(
            lambda s: service.listing(s, operator(), include_past=include_past), system=True
        )()
    echo_json(rows)


@app.command("cancel")
def cancel(window_id: str = typer.Argument(..., help="The window's id")) -> None:
    """Cancel a window (the affected tenants are told by mail)."""
    with runtime() as rt:
        service = Maintenance(rt.settings)
        window = _work(rt, "maintenance.cancel").bind(
            lambda s: service.cancel(s, operator(), window_id), system=True
        )()
        out = window_json(window, utcnow())
    typer.echo(say(f"取り消しました: {out['id']}", f"cancelled: {out['id']}"))
