"""``hokan availability``: SLA reports (whitepaper form), service units, carried-over figures."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import typer

from hokan.audit import service as audit
from hokan.cli._common import english, fail, group, operator, runtime, say, writable_file
from hokan.kit.clock import utcnow
from hokan.monitoring import availability as engine
from hokan.monitoring import availability_format as form

app = group("Availability (SLA) reports, service units and carried-over figures (ADR 0018).")
units_app = group("Service units: how many units the availability counts from a day on.")
app.add_typer(units_app, name="units")


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


@app.command("report")
def report(
    year: int | None = typer.Option(None, "--year", help="A calendar year (JST), e.g. 2024"),
    month: str | None = typer.Option(None, "--month", metavar="YYYY-MM", help="One month"),
    since: str | None = typer.Option(
        None, "--since", metavar="YYYY-MM", help="From this month to the current one"
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="table, csv, json or xlsx"),
    out: Path | None = typer.Option(None, "--out", help="Write to this file (xlsx needs it)"),
) -> None:
    """Availability per month and year, the average, the error budget and outage details.

    Planned service time, full and partial outage in unit-minutes (units ×
    minutes), months in JST; a month imported with 'hokan availability import'
    replaces the computation and is marked so. The current month counts to now.
    """
    given = (("--year", year), ("--month", month), ("--since", since))
    chosen = [name for name, value in given if value is not None]
    if len(chosen) != 1:
        fail(
            "give exactly one of --year, --month or --since",
            ja="--year、--month、--since のいずれか1つを指定してください",
        )
    if fmt is Format.xlsx and out is None:
        fail("--format xlsx needs --out FILE", ja="--format xlsx には --out FILE が必要です")
    if out is not None:
        writable_file(out)
    now = utcnow()
    if year is not None:
        first, last = engine.period_of_year(year, now=now)
    elif month is not None:
        first, last = engine.period_of_month(month, now=now)
    else:
        first, last = engine.period_since(since or "", now=now)
    lang = "en" if english() else "ja"
    with runtime() as rt, rt.db.session(system=True) as s:
        result = engine.report(
            s,
            first,
            last,
            now=now,
            slo_percent=rt.settings.slo_percent,
            unknown=rt.settings.availability_unknown,
        )
    if fmt is Format.xlsx:
        assert out is not None
        form.write_xlsx(result, out, lang)
        typer.echo(say(f"{out} に書き出しました", f"written to {out}"))
        return
    if fmt is Format.csv:
        data = form.render_csv(result, lang)
    elif fmt is Format.json:
        import orjson

        data = orjson.dumps(form.render_json(result), option=orjson.OPT_INDENT_2) + b"\n"
    else:
        data = form.render_table(result, lang).encode()
    if out is not None:
        out.write_bytes(data)
        typer.echo(say(f"{out} に書き出しました", f"written to {out}"))
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


@app.command("import")
def import_figures(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="CSV: month,planned_minutes,full_minutes,partial_minutes",
    ),
) -> None:
    """Carry over monthly unit-minute figures from before Hokan (all or nothing).

    One row per past month (YYYY-MM, JST); importing a month again replaces it,
    the same file twice changes nothing. An imported month replaces the
    computation in every report and is marked there.
    """
    rows = engine.parse_import(file.read_bytes(), now=utcnow())
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        done = engine.apply_import(s, rows)
        if done.added or done.replaced:
            audit.record(
                s,
                operator(),
                "availability.import",
                "availability_import",
                f"{rows[0].month}..{rows[-1].month}",
                detail={"added": len(done.added), "replaced": len(done.replaced)},
            )
    typer.echo(
        say(
            f"{len(rows)} か月を取り込みました (追加 {len(done.added)}、置換 {len(done.replaced)}、"
            f"変更なし {len(done.unchanged)})",
            f"{len(rows)} months imported ({len(done.added)} added, {len(done.replaced)} "
            f"replaced, {len(done.unchanged)} unchanged)",
        )
    )


@units_app.command("set")
def units_set(
    effective_from: datetime = typer.Option(
        ...,
        "--from",
        formats=["%Y-%m-%d"],
        metavar="YYYY-MM-DD",
        help="First day (JST) the units apply, YYYY-MM-DD",
    ),
    units: int = typer.Option(
        ..., "--units", metavar="N", help="Service units from that day on (1 or more)"
    ),
) -> None:
    """Count N service units from a day on (until the next change); e.g. 18 from 2022-07-07."""
    day = effective_from.date()
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        engine.set_units(s, effective_from=day, units=units)
        audit.record(
            s,
            operator(),
            "availability.units_set",
            "service_units",
            day.isoformat(),
            detail={"units": units},
        )
    typer.echo(say(f"{day} から {units} ユニット", f"{units} units from {day}"))


@units_app.command("list")
def units_list() -> None:
    """Every change of service units, oldest first."""
    with runtime() as rt, rt.db.session(system=True) as s:
        rows = engine.list_units(s)
    if not rows:
        typer.echo(
            say(
                "未設定です (1 ユニットとして数えます)",
                "none set (availability counts 1 unit)",
            )
        )
    for day, units in rows:
        typer.echo(f"{day}  {units}")
