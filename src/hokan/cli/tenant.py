"""``hokan tenant``: create, inspect and change tenants and their contacts; API tokens."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from hokan.cli._common import echo_json, fail, group, operator, runtime, say
from hokan.identity import tokens
from hokan.identity.repository import TokenRepository
from hokan.kit.clock import iso, to_jst
from hokan.kit.errors import HokanError
from hokan.models import Product, TenantStatus
from hokan.principals.principal import DEFAULT_TOKEN_SCOPES
from hokan.tenants import contacts
from hokan.tenants.contacts import ContactIn, ContactRole
from hokan.tenants.schemas import TenantCreate, TenantSettings
from hokan.tenants.service import to_out

app = group("Tenants (customer companies).")
token_app = group("Tenant API tokens.")
app.add_typer(token_app, name="token")
contacts_app = group("A tenant's contacts: who hears its notices (README: Who is notified).")
app.add_typer(contacts_app, name="contacts")

_ROLES = ", ".join(r.value for r in ContactRole)


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
        [],
        help="Contact e-mail, name@example.co.jp (repeatable); told of security and "
        "service notices (roles security, notice)",
    ),
    contact_name: str = typer.Option("担当者", help="Name for the contacts"),
) -> None:
    """Create a tenant and its encryption keys."""
    # The sole contact must hear security notices too, not only service notices.
    given = [
        ContactIn(email=e, name=contact_name, roles=[ContactRole.security, ContactRole.notice])
        for e in contact_email
    ]
    try:
        data = TenantCreate(code=code, name=name, product=product, contacts=given)
        for contact in given:
            contacts.checked(contact)
    except ValidationError as exc:
        ja, en = _rules(exc)
        fail(f"invalid_tenant: {en}", 2, ja=f"invalid_tenant: {ja}")
    except HokanError as exc:
        _refused(exc)
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


def _refused(exc: HokanError) -> None:
    fail(f"{exc.code}: {exc.message('en')}", 2, ja=f"{exc.code}: {exc.message('ja')}")


def _contact_line(c: contacts.Contact) -> str:
    roles = ",".join(r.value for r in c.roles)
    return f"{c.id}  {c.email:<32} {roles:<28} {c.language}  {c.name or ''}".rstrip()


@contacts_app.command("list")
def contacts_list(
    tenant: str = typer.Argument(..., help="Tenant code or id"),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of lines"),
) -> None:
    """List a tenant's contacts: id, e-mail, roles, language, name."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        found = rt.tenants.list_contacts(s, operator(), tenant=tenant)
        if as_json:
            echo_json([c.model_dump(mode="json") for c in found])
            return
        if not found:
            typer.echo(say("連絡先はありません", "no contacts"))
        for c in found:
            typer.echo(_contact_line(c))


@contacts_app.command("add")
def contacts_add(
    tenant: str = typer.Argument(..., help="Tenant code or id"),
    email: str = typer.Option(..., help="E-mail address, e.g. name@example.co.jp"),
    role: list[str] = typer.Option(..., "--role", metavar="ROLE", help=f"{_ROLES} (repeatable)"),
    name: str | None = typer.Option(None, help="Name (担当者名), up to 100 characters"),
    lang: str | None = typer.Option(
        None, "--lang", metavar="LANG", help="ja or en (new contacts: ja; a merge keeps it)"
    ),
) -> None:
    """Add a contact, or add roles to the contact with that address."""
    try:
        given = ContactIn(email=email, roles=role, name=name, language=lang)
        contacts.checked(given)
    except ValidationError:
        fail(
            "invalid_contact: --email takes up to 254 characters, --name up to 100",
            2,
            ja="invalid_contact: --email は 254 文字まで、--name は 100 文字までです",
        )
    except HokanError as exc:
        _refused(exc)
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        contact, merged = rt.tenants.add_contact(s, operator(), given, tenant=tenant)
        roles = ",".join(r.value for r in contact.roles)
        if merged:
            typer.echo(
                say(
                    f"連絡先 {contact.id} の役割: {roles}",
                    f"contact {contact.id} now has roles {roles}",
                )
            )
        else:
            typer.echo(
                say(
                    f"連絡先 {contact.id} を追加しました ({roles})",
                    f"added contact {contact.id} ({roles})",
                )
            )


@contacts_app.command("remove")
def contacts_remove(
    tenant: str = typer.Argument(..., help="Tenant code or id"),
    email: str = typer.Option(..., help="The contact's e-mail address"),
) -> None:
    """Remove the contact with that address."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        gone = rt.tenants.remove_contact(s, operator(), email, tenant=tenant)
        typer.echo(say(f"連絡先 {gone.id} を削除しました", f"removed contact {gone.id}"))


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
        if name == "contacts":
            fail(
                "contacts are not a setting: use 'hokan tenant contacts add|remove|list'",
                2,
                ja="連絡先は設定ではありません: 'hokan tenant contacts add|remove|list' を使います",
            )
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
