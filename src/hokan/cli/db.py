"""``hokan db``: schema migrations of the system and keyring databases."""

from __future__ import annotations

import typer

from hokan import migrations
from hokan.cli._common import group, runtime

app = group("Database migrations.")


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations to the system, keyring and vault fragment-store databases."""
    with runtime() as rt:
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
