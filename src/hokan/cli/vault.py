"""``hokan vault``: fragment-store health and scheduled deletions (MYN-3, MYN-6).

None of these commands reads, decrypts or prints vault contents: operators
have no way to see a My Number from here (MYN-4). Output is counts only.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from hokan.audit import service as audit
from hokan.cli._common import echo_json, group, operator, runtime
from hokan.runtime import Runtime
from hokan.vault import maintenance, tasks
from hokan.vault.maintenance import HealthReport

app = group("My Number vault maintenance (never shows contents).")


def _audit(rt: Runtime, action: str, detail: dict[str, int | bool]) -> None:
    with rt.db.session(write=True, system=True) as s:
        audit.record(s, operator(), action, "vault_store", "*", detail=detail)


def _show(report: HealthReport, as_json: bool) -> None:
    if as_json:
        echo_json(
            {
                "healthy": report.healthy,
                "entries": report.entries,
                "unrecoverable": report.unrecoverable,
                "repaired": report.repaired,
                "orphans_removed": report.orphans_removed,
                "stores": [vars(s) | {"healthy": s.healthy} for s in report.stores],
            }
        )
        return
    typer.echo(f"entries: {report.entries}")
    for s in report.stores:
        if not s.reachable:
            typer.echo(
                f"store {s.store}: UNREACHABLE  (its server does not answer: bring it back,"
                " then run 'hokan vault repair' / サーバーを復旧してから repair を実行)"
            )
            continue
        state = "ok" if s.healthy else "NEEDS REPAIR"
        if s.lost:
            state += " (store file or schema lost / ストアのファイルまたはスキーマがありません)"
        typer.echo(
            f"store {s.store}: {state}  good {s.ok}  missing {s.missing}  corrupt {s.corrupt}"
            f"  orphans {s.orphans}"
        )
    if report.repaired or report.orphans_removed:
        typer.echo(
            f"repaired {report.repaired} fragments, removed {report.orphans_removed} orphans"
        )
    if any(s.reachable and not s.healthy for s in report.stores) and not report.repaired:
        typer.echo("run 'hokan vault repair' to rebuild / 'hokan vault repair' で修復できます")
    if report.unrecoverable:
        typer.echo(
            f"UNRECOVERABLE: {report.unrecoverable} entries have fewer than k good fragments"
        )


def _detail(report: HealthReport) -> dict[str, int | bool]:
    return {
        "healthy": report.healthy,
        "entries": report.entries,
        "unrecoverable": report.unrecoverable,
        "repaired": report.repaired,
        "orphans_removed": report.orphans_removed,
    }


def _run(action: str, survey: Callable[[Runtime], HealthReport], as_json: bool) -> None:
    with runtime() as rt:
        report = survey(rt)
        _audit(rt, action, _detail(report))
        _show(report, as_json)
    if not report.healthy:
        raise typer.Exit(1)


@app.command("check")
def check(as_json: bool = typer.Option(False, "--json")) -> None:
    """Report missing, corrupt and orphaned fragments per store (decrypts nothing)."""
    _run("vault.check", lambda rt: maintenance.check(rt.db, rt.vault_stores), as_json)


@app.command("repair")
def repair(as_json: bool = typer.Option(False, "--json")) -> None:
    """Rebuild lost or corrupt fragments from any k good ones; remove old orphans."""
    _run("vault.repair", lambda rt: maintenance.repair(rt.db, rt.vault_stores), as_json)


@app.command("purge-due")
def purge_due() -> None:
    """Carry out every scheduled deletion that is due (the scheduler runs this)."""
    with runtime() as rt:
        done = tasks.purge_due(rt.db, rt.vault, operator())
        typer.echo(f"deleted {len(done)} entries")
