"""``hokan accounts``: the account inventory (棚卸, IAM-7)."""

from __future__ import annotations

import typer

from hokan.cli._common import echo_json, group, operator, runtime
from hokan.identity import inventory

app = group("Account inventory.")


@app.command("inventory")
def inventory_cmd(
    tenant: str = typer.Option(None, help="Tenant code or id (default: Hokan's operators)"),
) -> None:
    """Every account with roles, last activity, dormant and privileged flags (JSON)."""
    with runtime() as rt, rt.db.session(system=True) as s:
        accounts = (
            inventory.inventory(s, rt.tenants.get(s, tenant))
            if tenant
            else inventory.operator_inventory(s)
        )
        echo_json(inventory.as_json(accounts))


@app.command("disable-dormant")
def disable_dormant(tenant: str = typer.Option(..., help="Tenant code or id")) -> None:
    """Disable dormant users and revoke dormant tokens (audited)."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        done = inventory.disable_dormant(s, rt.tenants.get(s, tenant), operator())
        typer.echo(
            f"{len(done)} dormant accounts disabled" + (f": {', '.join(done)}" if done else "")
        )
