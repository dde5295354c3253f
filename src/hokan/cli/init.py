"""``hokan init``: data directory, master key, databases, optional demo tenant."""

from __future__ import annotations

import os

import typer

from hokan import migrations
from hokan.cli._common import runtime
from hokan.identity import tokens
from hokan.identity.principal import DEFAULT_TOKEN_SCOPES, Scope
from hokan.keyring.master import create_master_key_file
from hokan.models import Product
from hokan.tenants.schemas import TenantCreate


def init(
    demo: bool = typer.Option(False, "--demo", help="Also create a demo tenant and print an API token once."),
) -> None:
    """Prepare a data directory and databases (safe to run again)."""
    with runtime() as rt:
        s = rt.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(s.data_dir, 0o700)
        if s.master_key is None and s.master_key_file is None:
            if create_master_key_file(s.default_master_key_path):
                typer.echo(f"created master key {s.default_master_key_path} (0600) — back it up apart from the data")
        migrations.upgrade("system", rt.db.engine)
        migrations.upgrade("keyring", rt.keyring_db.engine)
        rt.keyring.verify_master(initialise=True)
        typer.echo(f"databases ready in {s.data_dir}")
        if demo:
            with rt.db.session(write=True) as session:
                if rt.tenants.list(session) and any(t.code == "demo" for t in rt.tenants.list(session)):
                    typer.echo("demo tenant exists; create another token with 'hokan tenant token create demo'")
                    return
                tenant = rt.tenants.create(
                    session, TenantCreate(code="demo", name="デモ株式会社", product=Product.staff)
                )
                issued = tokens.issue(
                    session, tenant.id, "demo", [*DEFAULT_TOKEN_SCOPES, Scope.collections_manage],
                    s.token_default_days,
                )
            typer.echo("demo tenant 'demo' created. API token (shown once, keep it safe):")
            typer.echo(issued.secret)
