"""``hokan operator``: Hokan's operator accounts and temporary investigation accounts.

Run on the server by whoever administers it (bootstrap of the first operations
manager; afterwards the operator API does the same under role checks). Every
command is audited as the CLI user.
"""

from __future__ import annotations

import sys
from datetime import timedelta

import typer

from hokan.cli._common import echo_json, group, operator, role_option, runtime
from hokan.identity import operators
from hokan.identity.operator_api import operator_json
from hokan.identity.operators import NewOperator
from hokan.models import OperatorStatus
from hokan.principals.roles import OPERATOR_ROLES, Role

app = group("Operator accounts (Hokan's own staff).")


def _password(password_stdin: bool) -> str | None:
    return sys.stdin.readline().rstrip("\n") if password_stdin else None


def _shown_once(new: NewOperator) -> None:
    typer.echo(f"serial: {new.operator.serial}")
    if new.password:
        typer.echo(f"initial password (shown once): {new.password}")
    typer.echo(f"TOTP (add to the authenticator app, shown once): {new.totp_uri}")
    if new.operator.expires_at:
        typer.echo(f"expires: {new.operator.expires_at.isoformat()}")


@app.command("create")
def create(
    name: str = typer.Option(..., help="Display name"),
    email: str = typer.Option(..., help="E-mail (name@example.co.jp)"),
    role: list[str] = role_option(OPERATOR_ROLES, ..., "Operator role (repeatable)"),
    hours: str = typer.Option("", help="Permitted working hours in JST, HH:MM-HH:MM"),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
) -> None:
    """Create an operator; prints the serial, a generated password and the TOTP URI once."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        new = operators.create(
            s,
            rt.passwords,
            rt.master_key,
            name=name,
            email=email,
            roles=list(role),
            password=_password(password_stdin),
            actor=operator(),
            permitted_hours=hours,
        )
        _shown_once(new)


@app.command("create-temporary")
def create_temporary(
    tenant: str = typer.Option(..., help="Tenant code or id of the customer's request"),
    request: str = typer.Option(..., "--request", help="The customer's investigation request"),
    reason: str = typer.Option(..., help="Why the investigation needs access"),
    hours: float = typer.Option(8.0, help="Validity in hours, strictly under 24"),
    name: str = typer.Option(..., help="Display name of the investigating operator"),
    email: str = typer.Option(..., help="E-mail (name@example.co.jp)"),
    role: list[str] = role_option(
        operators.TEMPORARY_ROLES, [Role.incident_response.value], "Role (repeatable)"
    ),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
) -> None:
    """Issue a temporary investigation account (OPS-2): one tenant, one request, under 24 h."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        new = operators.create(
            s,
            rt.passwords,
            rt.master_key,
            name=name,
            email=email,
            roles=list(role),
            password=_password(password_stdin),
            actor=operator(),
            temporary_for=rt.tenants.get(s, tenant),
            request_ref=request,
            reason=reason,
            valid_for=timedelta(hours=hours),
        )
        _shown_once(new)


@app.command("list")
def list_() -> None:
    """Every operator account with roles, kind, status and expiry."""
    with runtime() as rt, rt.db.session(system=True) as s:
        echo_json([operator_json(o) for o in operators.all_operators(s)])


@app.command("disable")
def disable(serial: str) -> None:
    """Disable an operator and end their sessions."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        operators.set_status(s, serial, OperatorStatus.disabled, operator())
        typer.echo("disabled")


@app.command("enable")
def enable(serial: str) -> None:
    """Enable a disabled operator again (an expired temporary account stays dead)."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        operators.set_status(s, serial, OperatorStatus.active, operator())
        typer.echo("enabled")


@app.command("set-roles")
def set_roles(
    serial: str,
    role: list[str] = role_option(OPERATOR_ROLES, ..., "Operator role (repeatable)"),
) -> None:
    """Replace an operator's roles (a privileged action, reviewed in the daily audit)."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        operators.set_roles(s, serial, role, operator())
        typer.echo("roles set")


@app.command("expire")
def expire() -> None:
    """Disable expired temporary accounts and mail each tenant its usage report (job)."""
    with runtime() as rt, rt.db.session(write=True, system=True) as s:
        done = operators.expire_temporary(s, operator())
        typer.echo(f"expired: {len(done)}")
