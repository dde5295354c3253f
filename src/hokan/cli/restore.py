"""``hokan restore`` and ``hokan dr restore``: a generation back into service (BAK-4, BAK-5,
ADR 0023).

Three ways: ``--to DIR`` into a new data directory (the running service is not touched),
``--in-place --yes`` over the stopped service's own data (what it replaces is moved aside),
``--tenant T`` one tenant's rows and attachments into the live service. A Rich progress bar
(bytes, rate, time left) goes to stderr; the report (JSON) to stdout, with the measured
duration, which is also recorded in the audit trail in integer milliseconds.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import create_engine

from hokan.backup.service import Backups
from hokan.cli._common import echo_json, fail, group, operator, say, settings_or_exit
from hokan.keyring.master import load_master_key
from hokan.keyring.service import Keyring
from hokan.kit.db import Database
from hokan.runtime import Runtime
from hokan.settings import Settings

Work = Callable[[Callable[[int], None], Callable[[int], None]], dict[str, Any]]

dr_app = group("Disaster recovery: rebuild this installation from a backup target (BAK-5).")


@contextlib.contextmanager
def _bar() -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn(say("復元中", "restoring")),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("restore", total=None)
        yield (lambda n: bar.advance(task, n)), (lambda n: bar.update(task, total=n))


def _offline(settings: Settings) -> Backups:
    """A backup service that never reads the live keyring: each generation's own keyring is
    restored first (a fresh machine has none)."""
    unused = Database(create_engine("sqlite://"))
    return Backups(settings, Keyring(unused, load_master_key(settings), 0), actor=operator())


def _record(rt: Runtime, action: str, generation: str, detail: dict[str, Any]) -> None:
    from hokan.audit import service as audit

    with rt.db.session(write=True, system=True) as s:
        audit.record(s, operator(), action, "backup", generation, detail=detail)


def _done(result: dict[str, Any], what_ja: str, what_en: str) -> None:
    echo_json(result)
    seconds = result.get("seconds", round(result.get("duration_ms", 0) / 1000, 3))
    typer.echo(
        say(f"{what_ja} ({seconds} 秒)", f"{what_en} in {seconds} s"),
        err=True,
    )


def restore(
    generation: str = typer.Option(..., "--generation", help="Generation name"),
    to: Path | None = typer.Option(None, "--to", help="A new, empty data directory"),
    in_place: bool = typer.Option(
        False, "--in-place", help="Replace this installation's data (stop the service first)"
    ),
    tenant: str | None = typer.Option(
        None, "--tenant", help="Only this tenant's rows and attachments (tenant id or code)"
    ),
    yes: bool = typer.Option(False, "--yes", help="Confirm replacing live data"),
    target: str | None = typer.Option(None, "--target", help="local or remote (default: any)"),
    to_database_url: str | None = typer.Option(
        None, "--to-database-url", help="With --to and PostgreSQL dumps: an empty system database"
    ),
    to_keyring_url: str | None = typer.Option(
        None, "--to-keyring-url", help="With --to and PostgreSQL dumps: an empty keyring database"
    ),
    to_vault_url: list[str] = typer.Option(
        [], "--to-vault-url", help="With --to: an empty database per vault store (repeat)"
    ),
) -> None:
    """Restore a generation: into a new data dir (--to), over this installation (--in-place
    --yes) or one tenant into the live service (--tenant T --yes). Shows progress; prints
    and records the measured duration."""
    if sum(bool(x) for x in (to, in_place, tenant)) != 1:
        fail(
            "give exactly one of --to DIR, --in-place, --tenant T",
            ja="--to DIR、--in-place、--tenant T のいずれか一つを指定してください",
        )
    if target not in (None, "local", "remote"):
        fail("--target must be local or remote", ja="--target は local か remote です")
    if (in_place or tenant) and not yes:
        fail(
            "this replaces live data: add --yes",
            ja="稼働中のデータを置き換えます: --yes を付けてください",
        )
    settings = settings_or_exit()
    if to is not None:
        service = _offline(settings)
        with _bar() as (advance, total):
            result = service.restore(
                generation,
                to,
                to_database_url=to_database_url,
                to_keyring_url=to_keyring_url,
                to_vault_urls=to_vault_url or None,
                target_name=target,
                progress=advance,
                total=total,
            )
        # Recorded by the live service when there is one.
        with contextlib.suppress(Exception), _runtime(settings) as rt:
            _record(rt, "backup.restore", generation, _audited(result, "new_dir"))
        _done(result, f"復元しました: {generation} → {to}", f"restored {generation} into {to}")
    elif in_place:
        from hokan.backup import disaster

        service = _offline(settings)
        with _bar() as (advance, total):
            result = disaster.in_place(
                service, generation, target=target, progress=advance, total=total
            )
        with _runtime(settings) as rt:  # the restored installation records its own restore
            _record(rt, "backup.restore", generation, _audited(result, "in_place"))
        _done(result, f"置き換えました: {generation}", f"restored {generation} in place")
    else:
        from hokan.backup.tenant_restore import restore_tenant

        assert tenant is not None
        with _runtime(settings) as rt:
            rt.keyring.verify_master()
            tenant_id = _tenant_id(rt, tenant)
            service = Backups(settings, rt.keyring, rt.blobs, rt.db, actor=operator())
            with _bar() as (advance, total):
                result = restore_tenant(
                    service, generation, tenant_id, target=target, progress=advance, total=total
                )
        _done(
            result,
            f"テナント {tenant} を復元しました: {generation}",
            f"restored tenant {tenant} from {generation}",
        )


def _audited(result: dict[str, Any], mode: str) -> dict[str, Any]:
    return {"mode": mode, "duration_ms": int(result["duration_ms"]), "bytes": int(result["bytes"])}


def _tenant_id(rt: Runtime, given: str) -> uuid.UUID:
    with rt.db.session(system=True) as s:
        return uuid.UUID(str(rt.tenants.get(s, given).id))


@contextlib.contextmanager
def _runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(settings)
    try:
        yield rt
    finally:
        rt.close()


@dr_app.command("restore")
def dr_restore(
    source: str = typer.Option("remote", "--from", help="The target to rebuild from"),
    generation: str | None = typer.Option(
        None, "--generation", help="A system generation (default: the newest there)"
    ),
    vault_generation: str | None = typer.Option(
        None, "--vault-generation", help="A vault generation (default: the newest there)"
    ),
    no_vault: bool = typer.Option(False, "--no-vault", help="Do not restore the vault stores"),
) -> None:
    """Rebuild this (fresh) installation from a backup target: keyring, system database, blob
    store, TLS files and vault stores into the empty places the settings name; then check
    the master key, the row counts and the audit trail, and record the duration."""
    from hokan.backup import disaster

    if source not in ("local", "remote"):
        fail("--from must be local or remote", ja="--from は local か remote です")
    settings = settings_or_exit()
    service = _offline(settings)
    with _bar() as (advance, total):
        started = _now()
        result = disaster.recover(
            service,
            source=source,
            generation=generation,
            vault_generation=vault_generation,
            with_vault=not no_vault,
            progress=advance,
            total=total,
        )
    with _runtime(settings) as rt:
        rt.keyring.verify_master()
        result["audit"] = _verify_audit(rt)
        result["duration_ms"] = int((_now() - started) * 1000)
        result["seconds"] = round(result["duration_ms"] / 1000, 3)
        detail = {
            "mode": "disaster_recovery",
            "source": source,
            "duration_ms": result["duration_ms"],
            "bytes": int(result["bytes"]),
        }
        _record(rt, "backup.dr_restore", result["generation"], detail)
    _done(
        result,
        f"再構築しました: {result['generation']} ({source})",
        f"rebuilt from {result['generation']} ({source})",
    )
    if result["row_counts"]["differ"] or not result["audit"]["ok"]:
        raise typer.Exit(1)


def _now() -> float:
    import time

    return time.monotonic()


def _verify_audit(rt: Runtime) -> dict[str, Any]:
    from hokan.audit import service as audit

    report = audit.verify(
        rt.db,
        public_key=rt.keyring.audit_signing_key().public_key(),
        mac_key=rt.keyring.audit_mac_key(),
        blobs=rt.blobs,
    )
    return {"ok": not report.problems, "problems": len(report.problems)}
