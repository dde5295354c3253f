"""``hokan report``: the weekly operations report and the availability report as files."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from hokan.cli._common import fail, group, runtime, say, writable_file
from hokan.kit.clock import utcnow
from hokan.monitoring import availability as engine
from hokan.reports import availability as availability_report
from hokan.reports import service
from hokan.reports.period import Week, parse_week

app = group("Reports: the weekly operations report (運用レポート) and the availability report.")


class Format(StrEnum):
    html = "html"
    xlsx = "xlsx"
    pdf = "pdf"


def _write(out: Path, data: bytes) -> None:
    out.write_bytes(data)
    typer.echo(say(f"{out} に書き出しました", f"written to {out}"))


@app.command("weekly")
def weekly(
    week: str | None = typer.Option(
        None, "--week", metavar="YYYY-Www", help="ISO week in JST (default: last week)"
    ),
    tenant: str | None = typer.Option(
        None, "--tenant", metavar="CODE", help="Only this tenant's figures (its own copy)"
    ),
    fmt: Format = typer.Option(Format.html, "--format", help="html, xlsx or pdf"),
    out: Path = typer.Option(..., "--out", help="The file to write"),
) -> None:
    """Every whitepaper category for one JST week (Monday to Sunday): backups, liveness,
    hardware, malware, unauthorised access, load, internal audit, clock, maintenance,
    incidents. A week without records gives a report saying so."""
    writable_file(out)
    now = utcnow()
    chosen = parse_week(week, now=now) if week else Week.last_complete(now)
    with runtime() as rt, rt.db.session(system=True) as s:
        reports = service.Reports(rt.settings)
        scope = service.scope_of(s, tenant)
        doc = reports.weekly_document(s, chosen, scope, now=now)
        data = service.render_one(doc, fmt.value)
    _write(out, data)


@app.command("availability")
def availability(
    year: int | None = typer.Option(None, "--year", help="A calendar year (JST), e.g. 2024"),
    month: str | None = typer.Option(None, "--month", metavar="YYYY-MM", help="One month"),
    since: str | None = typer.Option(
        None, "--since", metavar="YYYY-MM", help="From this month to the current one"
    ),
    fmt: Format = typer.Option(Format.pdf, "--format", help="html, xlsx or pdf"),
    out: Path = typer.Option(..., "--out", help="The file to write"),
) -> None:
    """Availability in the whitepaper's table form (§1-3-2) with 停止の詳細."""
    given = (("--year", year), ("--month", month), ("--since", since))
    if sum(1 for _, v in given if v is not None) != 1:
        fail(
            "give exactly one of --year, --month or --since",
            ja="--year、--month、--since のいずれか1つを指定してください",
        )
    writable_file(out)
    now = utcnow()
    if year is not None:
        first, last = engine.period_of_year(year, now=now)
    elif month is not None:
        first, last = engine.period_of_month(month, now=now)
    else:
        first, last = engine.period_since(since or "", now=now)
    with runtime() as rt, rt.db.session(system=True) as s:
        doc = availability_report.build(s, rt.settings, first, last, now=now)
        data = service.render_one(doc, fmt.value)
    _write(out, data)
