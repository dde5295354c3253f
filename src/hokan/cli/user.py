"""``hokan user``: tenant users (bootstrap the first tenant admin, unlock, force a
password change, disable)."""

from __future__ import annotations

import sys

import typer

from hokan.cli._common import echo_json, group, operator, role_option, runtime, say
from hokan.identity import users
from hokan.kit.clock import iso, utcnow
from hokan.models import UserStatus
from hokan.principals.roles import TENANT_ROLES, Role

app = group("Tenant users.")


@app.command("create")
def create(
    tenant: str = typer.Option(..., help="Tenant code or id"),
    name: str = typer.Option(..., help="Display name (氏名)"),
    email: str = typer.Option(..., help="E-mail for notices (lockouts …), name@example.co.jp"),
    role: list[str] = role_option(TENANT_ROLES, [Role.staff_user.value], "Role (repeatable)"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input"
    ),
) -> None:
    """Create a user. Prints the serial number; without --password-stdin also a
    generated initial password, once. The user must change it at first login."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        t = rt.tenants.get(s, tenant)
        user, generated = users.create(
            s,
            rt.passwords,
            t,
            name=name,
            email=email,
            roles=list(role),
            password=password,
            actor=operator(),
        )
        typer.echo(f"serial: {user.serial}")
        if generated:
            typer.echo(f"initial password (shown once): {generated}")


@app.command("list")
def list_(tenant: str = typer.Option(..., help="Tenant code or id")) -> None:
    """List a tenant's users."""
    with runtime() as rt, rt.db.session(system=True) as s:
        t = rt.tenants.get(s, tenant)
        now = utcnow()
        echo_json(
            [
                {
                    "serial": u.serial,
                    "name": u.display_name,
                    "roles": u.roles,
                    "status": u.status.value,
                    "locked": bool(u.locked_until and u.locked_until > now),
                    "last_login_at": iso(u.last_login_at) if u.last_login_at else None,
                    "password_change_required": u.password_change_required,
                }
                for u in users.for_tenant(s, t.id)
            ]
        )


@app.command("unlock")
def unlock(tenant: str, serial: str) -> None:
    """Lift a lockout now."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        users.unlock(s, rt.tenants.get(s, tenant).id, serial, operator(), rt.lockout)
        typer.echo("unlocked")


@app.command("require-password-change")
def require_password_change(tenant: str, serial: str) -> None:
    """Make a user change their password before anything else (open sessions too)."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        users.require_password_change(s, rt.tenants.get(s, tenant).id, serial, operator())
        typer.echo(
            say(
                "パスワードの変更が必要になりました (次の操作から)",
                "password change required (from the next request)",
            )
        )


@app.command("disable")
def disable(tenant: str, serial: str) -> None:
    """Disable a user and end all their sessions."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        users.set_status(s, rt.tenants.get(s, tenant).id, serial, UserStatus.disabled, operator())
        typer.echo("disabled")


@app.command("enable")
def enable(tenant: str, serial: str) -> None:
    """Enable a disabled user again."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        users.set_status(s, rt.tenants.get(s, tenant).id, serial, UserStatus.active, operator())
        typer.echo("enabled")
