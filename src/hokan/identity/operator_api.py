"""Operator routes (OPS): login, operator accounts, temporary investigation accounts.

Every route here needs an operator session from the operations network; what
each may do is the role named in its dependency. Operators reach tenant data
only through the ordinary tenant routes, under a consent grant (``X-Hokan-Tenant``).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.responses import Response

from hokan.audit import service as audit
from hokan.audit.calls import audited
from hokan.edge.context import RuntimeDep
from hokan.httpkit.auth import AnyOperator, OperationsManager, OperatorSupervisor
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.httpkit.waf_marks import EVERY_FAMILY, waf_exclude
from hokan.identity import inventory, operator_auth, operators
from hokan.identity.operators import NewOperator
from hokan.identity.sessions import CSRF_HEADER
from hokan.kit.clock import iso, utcnow
from hokan.models import Operator, OperatorStatus, Tenant
from hokan.settings import HOURS_PATTERN
from hokan.tenants.errors import TenantNotFound

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


@router.post("/auth/login", summary="Operator login (serial, password, TOTP)")
@waf_exclude(
    *EVERY_FAMILY, fields=["json.password", "json.otp"], reason="hashed, never interpreted"
)
async def operator_login(body: OperatorLoginIn, runtime: RuntimeDep) -> Response:
    """Only from the operations network (``HOKAN_OPERATOR_CIDRS``). Every refusal is the
    same 401 ``invalid_credentials``; a request from elsewhere is 403
    ``operator_network_denied``."""
    result = await runtime.call(
        partial(
            operator_auth.login,
            runtime.db,
            runtime.passwords,
            runtime.master_key,
            runtime.settings,
            body.serial,
            body.password,
            body.otp,
        )
    )
    p = result.identity.principal
    response = JsonResponse(
        {
            "operator": {"id": p.id, "name": p.display_name, "roles": sorted(p.roles)},
            "csrf_token": result.csrf_token,
            "expires_at": iso(result.absolute_expires_at),
        }
    )
    response.set_cookie(
        operator_auth.OPERATOR_COOKIE,
        result.session_token,
        expires=result.absolute_expires_at,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/auth/logout", status_code=204, summary="End the operator session")
async def operator_logout(request: Request, who: AnyOperator, runtime: RuntimeDep) -> Response:
    token = request.cookies.get(operator_auth.OPERATOR_COOKIE, "")

    def work() -> None:
        operator_auth.logout(runtime.db, token)
        with runtime.db.session(write=True, system=True) as s:
            audit.record(s, who.principal, "operator.logout", "session", "")

    await runtime.call(work)
    response = Response(status_code=204)
    response.delete_cookie(
        operator_auth.OPERATOR_COOKIE, path="/", secure=True, httponly=True, samesite="strict"
    )
    return response


@router.get("/me", summary="The logged-in operator")
async def me(who: AnyOperator) -> Response:
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
async def list_operators(who: OperatorSupervisor, runtime: RuntimeDep) -> Response:
    def work() -> list[dict[str, Any]]:
        with runtime.db.session(write=True, system=True) as s:
            rows = operators.all_operators(s)
            audit.record(s, who.principal, "operator.list", "operator", "*")
            return [operator_json(o) for o in rows]

    return JsonResponse(
        await audited(runtime, who.principal, "operator.list", "operator", "*", work)
    )


@router.post("/operators", status_code=201, summary="Create an operator (operations manager)")
async def create_operator(
    body: OperatorIn, who: OperationsManager, runtime: RuntimeDep
) -> Response:
    """Returns the generated password and the TOTP ``otpauth://`` URI once."""

    def work() -> dict[str, Any]:
        with runtime.db.session(write=True, system=True) as s:
            new = operators.create(
                s,
                runtime.passwords,
                runtime.master_key,
                body.name,
                body.email,
                body.roles,
                None,
                who.principal,
                permitted_hours=body.permitted_hours,
            )
            return _issued_json(new)

    data = await audited(runtime, who.principal, "operator.create", "operator", "", work)
    return JsonResponse(data, status_code=201)


@router.post(
    "/temporary-accounts",
    status_code=201,
    summary="Issue a temporary investigation account (operations manager)",
)
async def create_temporary(
    body: TemporaryIn, who: OperationsManager, runtime: RuntimeDep
) -> Response:
    """Against a customer's investigation request; valid strictly under 24 hours, bound to
    the request's tenant. The tenant admin receives a usage report at expiry (OPS-2)."""

    def work() -> dict[str, Any]:
        with runtime.db.session(write=True, system=True) as s:
            tenant = s.scalars(
                select(Tenant).where(Tenant.code == body.tenant.strip().lower())
            ).one_or_none()
            if tenant is None:
                raise TenantNotFound
            new = operators.create(
                s,
                runtime.passwords,
                runtime.master_key,
                body.name,
                body.email,
                body.roles,
                None,
                who.principal,
                temporary_for=tenant,
                request_ref=body.request_ref,
                reason=body.reason,
                valid_for=timedelta(hours=body.hours),
            )
            return _issued_json(new)

    data = await audited(runtime, who.principal, "operator.create_temporary", "operator", "", work)
    return JsonResponse(data, status_code=201)


@router.post("/operators/{serial}/disable", summary="Disable an operator (operations manager)")
async def disable_operator(serial: str, who: OperationsManager, runtime: RuntimeDep) -> Response:
    def work() -> dict[str, Any]:
        with runtime.db.session(write=True, system=True) as s:
            o = operators.set_status(s, serial, OperatorStatus.disabled, who.principal)
            return operator_json(o)

    return JsonResponse(
        await audited(runtime, who.principal, "operator.disable", "operator", serial[:20], work)
    )


@router.put("/operators/{serial}/roles", summary="Change an operator's roles (operations manager)")
async def set_operator_roles(
    serial: str, body: RolesIn, who: OperationsManager, runtime: RuntimeDep
) -> Response:
    def work() -> dict[str, Any]:
        with runtime.db.session(write=True, system=True) as s:
            return operator_json(operators.set_roles(s, serial, body.roles, who.principal))

    return JsonResponse(
        await audited(runtime, who.principal, "operator.set_roles", "operator", serial[:20], work)
    )


@router.get("/accounts/inventory", summary="Operator account inventory (棚卸)")
async def operator_inventory(who: OperatorSupervisor, runtime: RuntimeDep) -> Response:
    """Every operator and temporary account: roles, last login, dormant and privileged flags."""

    def work() -> list[dict[str, Any]]:
        with runtime.db.session(write=True, system=True) as s:
            accounts = inventory.operator_inventory(s)
            audit.record(
                s,
                who.principal,
                "accounts.inventory",
                "operator",
                "*",
                detail={"count": len(accounts)},
            )
            return inventory.as_json(accounts)

    return JsonResponse(
        await audited(runtime, who.principal, "accounts.inventory", "operator", "*", work)
    )
