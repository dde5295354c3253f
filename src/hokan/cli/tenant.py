"""``hokan tenant``: create, inspect and change tenants; issue and revoke API tokens."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from hokan.cli._common import echo_json, fail, operator, runtime
from hokan.identity import tokens
from hokan.identity.repository import TokenRepository
from hokan.kit.clock import iso, to_jst
from hokan.models import Product, TenantStatus
from hokan.principals.principal import DEFAULT_TOKEN_SCOPES
from hokan.tenants.schemas import Contact, TenantCreate, TenantSettings
from hokan.tenants.service import to_out

app = typer.Typer(help="Tenants (customer companies).", no_args_is_help=True)
token_app = typer.Typer(help="Tenant API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@app.command("create")
def create(
    code: str = typer.Option(..., help="Short unique code, e.g. 'acme' ([a-z0-9-])"),
    name: str = typer.Option(..., help="Company name (会社名)"),
    product: Product = typer.Option(..., help="staff or guard"),
    contact_email: list[str] = typer.Option([], help="Notice contact e-mail (repeatable)"),
    contact_name: str = typer.Option("担当者", help="Name for the contacts"),
) -> None:
    """Create a tenant and its encryption keys."""
    try:
        data = TenantCreate(
            code=code,
            name=name,
            product=product,
            contacts=[Contact(name=contact_name, email=e) for e in contact_email],
        )
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors()})
        fail(f"invalid_tenant: check {', '.join(fields)}")
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        tenant = rt.tenants.create(s, data, operator())
        typer.echo(f"created tenant {tenant.code} ({tenant.id})")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """List tenants."""
    with runtime() as rt, rt.db.session(system=True) as s:
        rows = rt.tenants.all(s)
        if as_json:
            echo_json([to_out(t).model_dump(mode="json") for t in rows])
            return
        for t in rows:
            typer.echo(f"{t.code:<20} {t.status.value:<11} {t.product.value:<6} {t.name}")


@app.command("show")
def show(tenant: str = typer.Argument(..., help="Tenant code or id")) -> None:
    """Show one tenant with its settings (times in JST)."""
    with runtime() as rt, rt.db.session(system=True) as s:
        out = to_out(rt.tenants.get(s, tenant)).model_dump(mode="json")
        out["created_at_jst"] = to_jst(rt.tenants.get(s, tenant).created_at).isoformat()
        echo_json(out)


def _status(tenant: str, status: TenantStatus) -> None:
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        t = rt.tenants.set_status(s, tenant, status, operator())
        typer.echo(f"tenant {t.code} is now {t.status.value}")


@app.command("set")
def set_settings(
    tenant: str,
    setting: list[str] = typer.Option(..., "--setting", "-s", help="NAME=VALUE (repeatable)"),
) -> None:
    """Change security settings, e.g. ``-s lockout_threshold=3 -s allowed_cidrs=203.0.113.0/24``.

    List values are comma-separated; the result is validated as a whole.
    """
    changes: dict[str, object] = {}
    for item in setting:
        name, sep, value = item.partition("=")
        if not sep:
            fail(f"--setting takes NAME=VALUE, got {name!r}", 2)
        known = TenantSettings.model_fields.get(name)
        if known is None:
            fail(f"unknown setting {name!r}; known: {', '.join(TenantSettings.model_fields)}", 2)
        is_list = "list" in str(known.annotation)
        changes[name] = [v for v in value.split(",") if v] if is_list else value
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        t = rt.tenants.update_settings(s, tenant, changes, operator())
        echo_json(t.settings)


@app.command("suspend")
def suspend(tenant: str) -> None:
    """Suspend a tenant: its tokens stop working until it is resumed."""
    _status(tenant, TenantStatus.suspended)


@app.command("resume")
def resume(tenant: str) -> None:
    """Make a suspended tenant active again."""
    _status(tenant, TenantStatus.active)


@app.command("terminate")
def terminate(tenant: str) -> None:
    """Mark the contract ended (the step before disposal)."""
    _status(tenant, TenantStatus.terminated)


@token_app.command("create")
def token_create(
    tenant: str,
    name: str = typer.Option("integration", help="What the token is for"),
    scope: list[str] = typer.Option(sorted(DEFAULT_TOKEN_SCOPES), help="Scope (repeatable)"),
    days: int = typer.Option(
        None, min=1, max=3650, help="Days until expiry (default HOKAN_TOKEN_DEFAULT_DAYS)"
    ),
) -> None:
    """Issue an API token. The token is printed once and never stored in clear."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        t = rt.tenants.get(s, tenant)
        issued = tokens.issue(
            s,
            t.id,
            name,
            scopes=scope,
            days=days or rt.settings.token_default_days,
            actor=operator(),
        )
        expires = iso(issued.token.expires_at)
        typer.echo(f"token {issued.token.prefix} ({issued.token.id}) expires {expires}", err=True)
        typer.echo(issued.secret)


@token_app.command("list")
def token_list(tenant: str) -> None:
    """List a tenant's tokens (prefixes only)."""
    with runtime() as rt, rt.db.session(system=True) as s:
        t = rt.tenants.get(s, tenant)
        for tok in TokenRepository(s).for_tenant(t.id):
            state = "revoked" if tok.revoked_at else "active"
            scopes = ",".join(tok.scopes)
            expires = iso(tok.expires_at)
            typer.echo(
                f"{tok.prefix}  {tok.id}  {state:<8} {scopes:<40} expires {expires}  {tok.name}"
            )


@token_app.command("revoke")
def token_revoke(tenant: str, token: str = typer.Argument(..., help="Token id or prefix")) -> None:
    """Revoke a token at once."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        t = rt.tenants.get(s, tenant)
        tok = tokens.revoke(s, t.id, token, operator())
        typer.echo(f"revoked {tok.prefix}")
