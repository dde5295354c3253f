"""``hokan keys``: tenant key rotation, re-wrap and destruction (KEY-1..3)."""

from __future__ import annotations

import uuid

import typer

from hokan.audit import service as audit
from hokan.cli._common import fail, group, operator, runtime
from hokan.models import TenantStatus
from hokan.records.tasks import rewrap_tenant
from hokan.runtime import Runtime


def _audit(rt: Runtime, action: str, tenant_id: uuid.UUID, detail: dict[str, int]) -> None:
    # The keyring is another database: the entry follows the key operation it records.
    with rt.db.session(write=True, system=True) as s:
        audit.record(
            s, operator(), action, "tenant_keys", str(tenant_id), detail=detail, tenant_id=tenant_id
        )


app = group("Encryption keys.")


@app.command("list")
def list_(tenant: str = typer.Option(None, help="Tenant code or id")) -> None:
    """List key versions (never key material)."""
    with runtime() as rt:
        tenant_id = None
        if tenant:
            with rt.db.session(system=True) as s:
                tenant_id = rt.tenants.get(s, tenant).id
        for k in rt.keyring.list_keys(tenant_id):
            state = f"v{k.version:<3} {k.status.value:<9}"
            typer.echo(f"{k.tenant_id}  {k.purpose:<8} {state} master {k.master_key_id}")


@app.command("rotate")
def rotate(
    tenant: str = typer.Option(None, help="Tenant code or id"),
    all_tenants: bool = typer.Option(False, "--all", help="Rotate every active tenant"),
    rewrap: bool = typer.Option(True, help="Re-wrap existing data keys under the new version"),
) -> None:
    """Rotate tenant keys without downtime: new writes use the new version at once."""
    if not tenant and not all_tenants:
        fail("name --tenant T or --all", 2)
    with runtime() as rt:
        with rt.db.session(system=True) as s:
            targets = (
                [rt.tenants.get(s, tenant)]
                if tenant
                else [t for t in rt.tenants.all(s) if t.status is TenantStatus.active]
            )
        for t in targets:
            version = rt.keyring.rotate(t.id)
            moved = rewrap_tenant(rt.db, rt.keyring, t.id) if rewrap else 0
            _audit(rt, "keys.rotate", t.id, {"version": version, "rewrapped": moved})
            typer.echo(f"{t.code}: now v{version}; re-wrapped {moved} data keys")


@app.command("rewrap")
def rewrap_cmd(tenant: str) -> None:
    """Move a tenant's data keys onto its active key version."""
    with runtime() as rt:
        with rt.db.session(system=True) as s:
            t = rt.tenants.get(s, tenant)
        typer.echo(f"{t.code}: re-wrapped {rewrap_tenant(rt.db, rt.keyring, t.id)} data keys")


@app.command("destroy")
def destroy(
    tenant: str,
    confirm: str = typer.Option(..., help="Repeat the tenant code to confirm"),
) -> None:
    """Destroy every key of a terminated tenant: its data becomes unreadable for good."""
    with runtime() as rt:
        with rt.db.session(system=True) as s:
            t = rt.tenants.get(s, tenant)
        if confirm != t.code:
            fail("--confirm must repeat the tenant code", 2)
        if t.status not in (TenantStatus.terminated, TenantStatus.disposed):
            fail(
                "only a terminated tenant's keys can be destroyed ('hokan tenant terminate' first)"
            )
        count = rt.keyring.destroy_tenant(t.id)
        _audit(rt, "keys.destroy", t.id, {"versions": count})
        typer.echo(f"{t.code}: destroyed {count} key versions")
