"""``hokan backup`` and ``hokan restore``: encrypted generational backups (BAK-1..4, ADR 0021).

Generations are sealed chunk by chunk (zstd, then AES-256-GCM under a fresh data
key per generation), signed, read back before they count, and kept by class
against the wall clock. Nothing here prints data: only names, sizes and counts.
"""

from __future__ import annotations

import typer

from hokan.backup import coverage, drills, operations, retention
from hokan.backup.service import Backups
from hokan.cli._common import echo_json, fail, group, operator, runtime, say
from hokan.runtime import Runtime

app = group("Encrypted backups: run, list, show, verify, pin, prune (restore: 'hokan restore').")

_CLASSES = ", ".join(retention.CLASSES)


def _service(rt: Runtime) -> Backups:
    return Backups(rt.settings, rt.keyring, rt.blobs, rt.db, actor=operator())


@app.command("run")
def run(
    klass: str = typer.Option(..., "--class", help=f"One of: {_CLASSES}"),
    target: str | None = typer.Option(
        None, "--target", help="local or remote (default: the class's own)"
    ),
) -> None:
    """Take one generation now: snapshot, seal, write, read every chunk back, publish."""
    if klass not in retention.CLASSES:
        fail(f"--class must be one of: {_CLASSES}", ja=f"--class は次のいずれか: {_CLASSES}")
    if target not in (None, "local", "remote"):
        fail("--target must be local or remote", ja="--target は local か remote です")
    with runtime() as rt:
        echo_json(_service(rt).run(klass, target))


@app.command("list")
def listing(
    klass: str | None = typer.Option(None, "--class", help="Only this class"),
    target: str | None = typer.Option(None, "--target", help="Only this target"),
) -> None:
    """Every generation, newest first, with its expiry, why retention keeps it and its
    verification coverage date."""
    with runtime() as rt:
        service = _service(rt)
        known = {
            (c["target"], c["generation"]): c
            for c in coverage.coverage(service, rt.settings.backup_verify_days)
        }
        shown = service.listing(klass=klass, target_name=target)
        for row in shown:
            found = known.get((row["target"], row["generation"]))
            row["verified_at"] = found["verified_at"] if found else None
        echo_json(shown)


@app.command("show")
def show(generation: str = typer.Argument(..., help="Generation name")) -> None:
    """A generation's signed manifest: files, sizes, row counts, chain heads, expiry."""
    with runtime() as rt:
        echo_json(_service(rt).show(generation))


@app.command("verify")
def verify(
    generation: str | None = typer.Argument(None, help="One generation (default: all)"),
    quick: bool = typer.Option(
        False, "--quick", help="Existence and sizes only (no decryption of every chunk)"
    ),
) -> None:
    """Check generations: signed manifest, every file and size, every chunk decrypted
    (exit 1 if any is bad)."""
    with runtime() as rt:
        service = _service(rt)
        results = service.verify(generation, full=not quick)
        coverage.record(service, results)  # a full read is coverage too
        echo_json(results)
        if any(not r["ok"] for r in results):
            raise typer.Exit(1)


@app.command("requests")
def requests() -> None:
    """Open restore requests filed by the operations manager (API), oldest first."""
    with runtime() as rt:
        echo_json(operations.open_requests(_service(rt)))


@app.command("request-close")
def request_close(
    request_id: str = typer.Argument(..., help="The restore request's id"),
    cancel: bool = typer.Option(False, "--cancel", help="Cancelled instead of done"),
) -> None:
    """Mark a restore request done (after 'hokan restore') or cancelled (audited)."""
    with runtime() as rt:
        echo_json(
            operations.close_request(_service(rt), request_id, "cancelled" if cancel else "done")
        )


@app.command("coverage")
def coverage_report() -> None:
    """Each generation's verification coverage: last check, last full read (the coverage
    date) and whether it is within HOKAN_BACKUP_VERIFY_DAYS (from the nightly verify)."""
    with runtime() as rt:
        echo_json(coverage.coverage(_service(rt), rt.settings.backup_verify_days))


@app.command("drill")
def drill() -> None:
    """Run a restore drill now: a random generation and tenant restored into a scratch
    area and checked; prints the checks and the measured RTO (exit 1 if it failed)."""
    with runtime() as rt:
        echo_json(drills.run(_service(rt), requested_by=operator().display_name, trigger="cli"))


@app.command("pin")
def pin(generation: str = typer.Argument(..., help="Generation name")) -> None:
    """Put a generation on legal hold: never pruned until unpinned."""
    with runtime() as rt:
        _service(rt).set_pin(generation, True)
        typer.echo(say(f"固定しました: {generation}", f"pinned: {generation}"))


@app.command("unpin")
def unpin(generation: str = typer.Argument(..., help="Generation name")) -> None:
    """Release a generation's legal hold (retention applies again)."""
    with runtime() as rt:
        _service(rt).set_pin(generation, False)
        typer.echo(say(f"固定を解除しました: {generation}", f"unpinned: {generation}"))


@app.command("prune")
def prune(
    dry_run: bool = typer.Option(False, "--dry-run", help="Explain, remove nothing"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """Remove generations retention no longer keeps, explaining every decision: the rule
    and counter that keep it (``daily #3 of 7``) or why it goes (audited). Policies:
    HOKAN_BACKUP_POLICIES. Exit 1 if a removal failed."""
    with runtime() as rt:
        decisions = _service(rt).prune(dry_run=dry_run)
    if as_json:
        echo_json(decisions)
    else:
        for d in decisions:
            why = say(str(d["why_ja"]), str(d["why"]))
            action = "would-remove" if dry_run and d["action"] == "remove" else d["action"]
            typer.echo(f"{action:<12} {d['generation']}  [{d['target']}] {d['rule']}: {why}")
    if any(d["action"] == "failed" for d in decisions):
        raise typer.Exit(1)
