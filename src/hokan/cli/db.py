"""``hokan db``: schema migrations of the system and keyring databases."""

from __future__ import annotations

import typer

from hokan import migrations
from hokan.cli._common import runtime

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations to the system and the keyring database."""
    with runtime() as rt:
        migrations.upgrade("system", rt.db.engine, revision)
        migrations.upgrade("keyring", rt.keyring_db.engine, revision)
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


@app.command("check")
def check() -> None:
    """Fail if the models and the migrations disagree (model drift)."""
    with runtime() as rt:
        migrations.check("system", rt.db.engine)
        migrations.check("keyring", rt.keyring_db.engine)
        typer.echo("no drift")
