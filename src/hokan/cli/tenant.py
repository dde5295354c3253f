"""``hokan tenant``: create, inspect and change tenants; issue and revoke API tokens."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from hokan.cli._common import echo_json, fail, group, operator, runtime
from hokan.identity import tokens
from hokan.identity.repository import TokenRepository
from hokan.kit.clock import iso, to_jst
from hokan.models import Product, TenantStatus
from hokan.principals.principal import DEFAULT_TOKEN_SCOPES
from hokan.tenants.schemas import Contact, TenantCreate, TenantSettings
from hokan.tenants.service import to_out

app = group("Tenants (customer companies).")
token_app = group("Tenant API tokens.")
app.add_typer(token_app, name="token")


# What each field must be, said the way a person would check it.
_RULES = {
    "code": (
        "--code は 2〜32 文字の英小文字・数字・ハイフン (先頭はハイフン以外) です",
        "--code takes 2-32 characters of a-z, 0-9 and '-', not starting with '-'",
    ),
    "name": ("--name は 1〜200 文字です", "--name takes 1-200 characters"),
    "contacts": (
        "--contact-email はメールアドレス (例: name@example.co.jp)、"
        "--contact-name は 1〜100 文字です",
        "--contact-email takes an e-mail address (e.g. name@example.co.jp), "
        "--contact-name 1-100 characters",
    ),
}


def _rules(exc: ValidationError) -> tuple[str, str]:
    fields = sorted({str(e["loc"][0]) for e in exc.errors()})
    ja = [_RULES.get(f, (f"{f}: 値が正しくありません", ""))[0] for f in fields]
    en = [_RULES.get(f, ("", f"{f}: invalid value"))[1] for f in fields]
    return "; ".join(ja), "; ".join(en)


@app.command("create")
def create(
    code: str = typer.Option(
        ..., help="Short unique code: 2-32 of a-z, 0-9 and '-', not starting with '-' (e.g. acme)"
    ),
    name: str = typer.Option(..., help="Company name (会社名)"),
    product: Product = typer.Option(..., help="staff or guard"),
    contact_email: list[str] = typer.Option(
        [], help="Notice contact e-mail, name@example.co.jp (repeatable)"
    ),
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
        ja, en = _rules(exc)
        fail(f"invalid_tenant: {en}", 2, ja=f"invalid_tenant: {ja}")
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
