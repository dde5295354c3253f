"""``hokan db``: schema migrations of the system and keyring databases."""

from __future__ import annotations

import typer

from hokan import migrations
from hokan.backup import automatic
from hokan.backup.service import Backups
from hokan.cli._common import fail, group, operator, runtime
from hokan.kit.errors import HokanError
from hokan.runtime import Runtime

app = group("Database migrations.")


def _pending(rt: Runtime, revision: str) -> list[str]:
    """The databases a migration to ``revision`` would change (an empty database has
    nothing to back up yet)."""
    out = []
    for which, engine in (("system", rt.db.engine), ("keyring", rt.keyring_db.engine)):
        now = migrations.current(which, engine)  # type: ignore[arg-type]
        wanted = migrations.head(which) if revision == "head" else revision  # type: ignore[arg-type]
        if now is not None and now != wanted:
            out.append(f"{which}:{now}->{wanted}")
    return out


@app.command("upgrade")
def upgrade(
    revision: str = typer.Argument("head"),
    no_backup: bool = typer.Option(
        False,
        "--no-backup",
        help="Do not take the 'upgrade' backup first (recorded in the audit log)",
    ),
) -> None:
    """Apply migrations to the system, keyring and vault fragment-store databases.

    When a migration is pending, an 'upgrade' backup (kept one month) is taken first;
    if it fails nothing is migrated (exit 1) unless --no-backup is given."""
    with runtime() as rt:
        pending = _pending(rt, revision)
        backups = Backups(rt.settings, rt.keyring, rt.blobs, rt.db, actor=operator())
        try:
            taken = automatic.before_upgrade(backups, operator(), pending=pending, skip=no_backup)
        except HokanError as exc:
            fail(
                f"not migrated: the upgrade backup failed ({exc.code}: {exc.message('en')}); "
                "fix it, or give --no-backup (recorded in the audit log)",
                ja=f"移行していません: 更新前のバックアップに失敗しました ({exc.code}: "
                f"{exc.message('ja')})。原因を直すか --no-backup を指定してください "
                "(監査ログに記録)",
            )
        if taken is not None:
            typer.echo(f"upgrade backup: {taken['generation']} ({taken['target']})")
        elif pending and no_backup:
            typer.echo("upgrade backup skipped (--no-backup, recorded in the audit log)")
        migrations.upgrade("system", rt.db.engine, revision)
        migrations.upgrade("keyring", rt.keyring_db.engine, revision)
        adopted = rt.vault_stores.migrate(revision)  # identities written where missing
        if adopted:
            typer.echo(f"vault stores identified: {', '.join(map(str, adopted))}")
        typer.echo(
            f"system: {migrations.current('system', rt.db.engine)}; "
            f"keyring: {migrations.current('keyring', rt.keyring_db.engine)}"
        )


@app.command("current")
def current() -> None:
    """Show the applied revision of each database."""
    with runtime() as rt:
        typer.echo(f"system: {migrations.current('system', rt.db.engine)}")
        typer.echo(f"keyring: {migrations.current('keyring', rt.keyring_db.engine)}")
        for i, store in enumerate(rt.vault_stores.dbs, start=1):
            typer.echo(f"vault store {i}: {migrations.current('vault', store.engine)}")


@app.command("check")
def check() -> None:
    """Fail if the models and the migrations disagree (model drift)."""
    with runtime() as rt:
        migrations.check("system", rt.db.engine)
        migrations.check("keyring", rt.keyring_db.engine)
        for store in rt.vault_stores.dbs:
            migrations.check("vault", store.engine)
        typer.echo("no drift")
