"""Operator routes (OPS): login, operator accounts, temporary investigation accounts.

Every route here needs an operator session from the operations network; what
each may do is the role named in its dependency. Operators reach tenant data
only through the ordinary tenant routes, under a consent grant (``X-Hokan-Tenant``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from hokan.httpkit.auth import (
    AnonymousWork,
    AnyOperator,
    AnyOperatorWork,
    OperationsManagerWork,
    OperatorSupervisorWork,
)
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.httpkit.waf_marks import EVERY_FAMILY, waf_exclude
from hokan.httpkit.work import Work
from hokan.identity import inventory, operator_auth, operators
from hokan.identity.logins import Logins
from hokan.identity.operator_accounts import OperatorAccounts
from hokan.identity.operators import NewOperator
from hokan.identity.sessions import CSRF_HEADER
from hokan.kit.clock import iso, utcnow
from hokan.models import Operator
from hokan.settings import HOURS_PATTERN

router = Router(prefix="/api/v1/operator", tags=["operators"])


class OperatorLoginIn(BaseModel):
    serial: str = Field(max_length=40)
    password: str = Field(max_length=1024)
    otp: str = Field(max_length=40, description="TOTP code: always required for operators")


class OperatorIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    roles: list[str] = Field(min_length=1, max_length=6)
    permitted_hours: str = Field(default="", pattern=HOURS_PATTERN + "|^$")


class TemporaryIn(BaseModel):
    tenant: str = Field(max_length=64, description="tenant code of the customer's request")
    request_ref: str = Field(min_length=1, max_length=100, description="the customer's request")
    reason: str = Field(min_length=1, max_length=500)
    hours: float = Field(gt=0, description="validity; strictly under 24")
    name: str = Field(min_length=1, max_length=100)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    roles: list[str] = Field(default_factory=lambda: ["incident_response"], max_length=3)


class RolesIn(BaseModel):
    roles: list[str] = Field(min_length=1, max_length=6)


def operator_json(o: Operator) -> dict[str, Any]:
    now = utcnow()
    return {
        "serial": o.serial,
        "name": o.display_name,
        "email": o.email,
        "roles": o.roles,
        "kind": o.kind.value,
        "status": o.status.value,
        "expired": operators.is_expired(o.kind, o.expires_at, now),
        "locked": bool(o.locked_until and o.locked_until > now),
        "tenant_id": str(o.tenant_id) if o.tenant_id else None,
        "request_ref": o.request_ref or None,
        "expires_at": iso(o.expires_at) if o.expires_at else None,
        "permitted_hours": o.permitted_hours or None,
        "last_login_at": iso(o.last_login_at) if o.last_login_at else None,
        "created_at": iso(o.created_at),
        "created_by": o.created_by,
    }


def _issued_json(new: NewOperator) -> dict[str, Any]:
    return {
        **operator_json(new.operator),
        "password": new.password,  # shown once
        "totp_uri": new.totp_uri,  # shown once
    }


async def open_operator_session(
    work: Work, serial: str, password: str, otp: str
) -> operator_auth.OperatorLogin:
    """The one operator login flow of the API and the console: the operations network
    first, the password outside any write transaction, the decision in the unit of
    work (refusals recorded and committed), then the one answer every refusal gets."""
    logins = work.resolve(Logins)
    checked = await work.host.call(partial(logins.check_operator, serial, password))
    result = await work(lambda s: logins.operator_login(s, work.principal, checked, otp=otp))
    if result is None:  # recorded and committed: now the one answer every refusal gets
        logins.refuse_operator()
    return result


def set_operator_cookie(response: Response, token: str, expires: datetime) -> None:
    response.set_cookie(
        operator_auth.OPERATOR_COOKIE,
        token,
        expires=expires,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )


@router.post("/auth/login", summary="Operator login (serial, password, TOTP)")
@waf_exclude(
    *EVERY_FAMILY, fields=["json.password", "json.otp"], reason="hashed, never interpreted"
)
async def operator_login(body: OperatorLoginIn, work: AnonymousWork) -> Response:
    """Only from the operations network (``HOKAN_OPERATOR_CIDRS``). Every refusal is the
    same 401 ``invalid_credentials``; a request from elsewhere is 403
    ``operator_network_denied``."""
    result = await open_operator_session(work, body.serial, body.password, body.otp)
    p = result.identity.principal
    response = JsonResponse(
        {
            "operator": {"id": p.id, "name": p.display_name, "roles": sorted(p.roles)},
            "csrf_token": result.csrf_token,
            "expires_at": iso(result.absolute_expires_at),
        }
    )
    set_operator_cookie(response, result.session_token, result.absolute_expires_at)
    return response


@router.post("/auth/logout", status_code=204, summary="End the operator session")
async def operator_logout(request: Request, work: AnyOperatorWork) -> Response:
    token = request.cookies.get(operator_auth.OPERATOR_COOKIE, "")
    accounts = work.resolve(OperatorAccounts)
    await work(lambda s: accounts.logout(s, work.principal, token))
    response = Response(status_code=204)
    response.delete_cookie(
        operator_auth.OPERATOR_COOKIE, path="/", secure=True, httponly=True, samesite="strict"
    )
    return response


@router.get("/me", summary="The logged-in operator")
async def me(who: AnyOperator) -> Response:
    """No unit of work: nothing is read or written beyond the session check."""
    p = who.principal
    return JsonResponse(
        {
            "id": p.id,
            "name": p.display_name,
            "roles": sorted(p.roles),
            "kind": who.kind.value,
            "expires_at": iso(who.expires_at) if who.expires_at else None,
            "csrf_header": CSRF_HEADER,
        }
    )


@router.get("/operators", summary="Every operator account")
async def list_operators(work: OperatorSupervisorWork) -> Response:
    accounts = work.resolve(OperatorAccounts)
    rows = await work(
        lambda s: [operator_json(o) for o in accounts.list_operators(s, work.principal)]
    )
    return JsonResponse(rows)


@router.post("/operators", status_code=201, summary="Create an operator (operations manager)")
async def create_operator(body: OperatorIn, work: OperationsManagerWork) -> Response:
    """Returns the generated password and the TOTP ``otpauth://`` URI once."""
    accounts = work.resolve(OperatorAccounts)
    new = await work(
        lambda s: accounts.create(
            s,
            work.principal,
            body.name,
            body.email,
            roles=body.roles,
            permitted_hours=body.permitted_hours,
        )
    )
    return JsonResponse(_issued_json(new), status_code=201)


@router.post(
    "/temporary-accounts",
    status_code=201,
    summary="Issue a temporary investigation account (operations manager)",
)
async def create_temporary(body: TemporaryIn, work: OperationsManagerWork) -> Response:
    """Against a customer's investigation request; valid strictly under 24 hours, bound to
    the request's tenant. The tenant admin receives a usage report at expiry (OPS-2)."""
    accounts = work.resolve(OperatorAccounts)
    new = await work(
        lambda s: accounts.create_temporary(
            s,
            work.principal,
            body.tenant,
            request_ref=body.request_ref,
            reason=body.reason,
            valid_for=timedelta(hours=body.hours),
            name=body.name,
            email=body.email,
            roles=body.roles,
        )
    )
    return JsonResponse(_issued_json(new), status_code=201)


@router.post("/operators/{serial}/disable", summary="Disable an operator (operations manager)")
async def disable_operator(serial: str, work: OperationsManagerWork) -> Response:
    accounts = work.resolve(OperatorAccounts)
    return JsonResponse(
        await work(lambda s: operator_json(accounts.disable(s, work.principal, serial)))
    )


@router.put("/operators/{serial}/roles", summary="Change an operator's roles (operations manager)")
async def set_operator_roles(serial: str, body: RolesIn, work: OperationsManagerWork) -> Response:
    accounts = work.resolve(OperatorAccounts)
    return JsonResponse(
        await work(
            lambda s: operator_json(accounts.set_roles(s, work.principal, serial, body.roles))
        )
    )


@router.get("/accounts/inventory", summary="Operator account inventory (棚卸)")
async def operator_inventory(work: OperatorSupervisorWork) -> Response:
    """Every operator and temporary account: roles, last login, dormant and privileged flags."""
    accounts = work.resolve(OperatorAccounts)
    return JsonResponse(
        inventory.as_json(await work(lambda s: accounts.take_inventory(s, work.principal)))
    )
