"""``hokan init``: data directory, master key, databases, optional demo tenant."""

from __future__ import annotations

import os

import typer

from hokan import migrations
from hokan.cli._common import operator, runtime
from hokan.identity import tokens
from hokan.keyring.master import create_master_key_file
from hokan.models import Product
from hokan.principals.principal import ALL_TOKEN_SCOPES
from hokan.tenants.schemas import TenantCreate


def init(
    demo: bool = typer.Option(
        False, "--demo", help="Also create a demo tenant and print an API token once."
    ),
) -> None:
    """Prepare a data directory and databases (safe to run again)."""
    with runtime(create=True) as rt:
        s = rt.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(s.data_dir, 0o700)
        explicit_key = s.master_key is not None or s.master_key_file is not None
        if not explicit_key and create_master_key_file(s.default_master_key_path):
            typer.echo(f"created master key {s.default_master_key_path} (0600)")
            typer.echo("back it up apart from the data: without it nothing can be decrypted")
        migrations.upgrade("system", rt.db.engine)
        migrations.upgrade("keyring", rt.keyring_db.engine)
        rt.vault_stores.migrate()  # creates the stores and writes their identities
        rt.keyring.verify_master(initialise=True)
        typer.echo(f"databases ready in {s.data_dir}")
        if demo:
            with rt.db.session(write=True, system=True) as session:
                if any(t.code == "demo" for t in rt.tenants.all(session)):
                    typer.echo("demo tenant exists; 'hokan tenant token create demo' makes a token")
                    return
                demo_tenant = TenantCreate(code="demo", name="デモ株式会社", product=Product.staff)
                tenant = rt.tenants.create(session, demo_tenant, operator())
                issued = tokens.issue(
                    session,
                    tenant.id,
                    "demo",
                    scopes=sorted(ALL_TOKEN_SCOPES),
                    days=s.token_default_days,
                    actor=operator(),
                )
            typer.echo("demo tenant 'demo' created. API token (shown once, keep it safe):")
            typer.echo(issued.secret)
