"""Login, logout, password change, and user administration for tenant admins."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from hokan.audit import service as audit
from hokan.audit.calls import audited
from hokan.edge.binding import admit_principal
from hokan.edge.context import RuntimeDep
from hokan.httpkit.auth import Authenticated, UsersManager
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.httpkit.waf_marks import EVERY_FAMILY, waf_exclude
from hokan.identity import inventory, mfa, sessions, users
from hokan.identity.errors import InvalidCredentials
from hokan.identity.passwords import check_policy
from hokan.kit.clock import iso, utcnow
from hokan.kit.errors import Forbidden, HokanError
from hokan.models import Tenant, User
from hokan.principals.principal import Principal, PrincipalKind
from hokan.tenants.schemas import TenantSettings

router = Router(prefix="/api/v1", tags=["identity"])


class LoginIn(BaseModel):
    serial: str = Field(
        max_length=40, description="16-digit serial number (hyphens/spaces allowed)"
    )
    password: str = Field(max_length=1024)
    otp: str | None = Field(
        default=None, max_length=40, description="TOTP code or a recovery code, when MFA is on"
    )


class OtpIn(BaseModel):
    code: str = Field(max_length=40)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


def _cookie(response: Response, token: str, expires: datetime | None) -> None:
    response.set_cookie(
        sessions.SESSION_COOKIE,
        token,
        expires=expires,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )


def _user_json(user: User) -> dict[str, Any]:
    return {
        "serial": user.serial,
        "name": user.display_name,
        "email": user.email,
        "roles": user.roles,
        "status": user.status.value,
        "locked": bool(user.locked_until and user.locked_until > utcnow()),
        "last_login_at": iso(user.last_login_at) if user.last_login_at else None,
    }


@router.post("/auth/login", summary="Log in with serial number and password")
@waf_exclude(
    *EVERY_FAMILY, fields=["json.password", "json.otp"], reason="hashed, never interpreted"
)
async def login(body: LoginIn, request: Request, runtime: RuntimeDep) -> Response:
    """Open a session (HttpOnly, Secure, SameSite=Strict cookie). Send the returned
    ``csrf_token`` as ``X-CSRF-Token`` on every write made with the cookie."""
    result = await runtime.call(
        partial(
            sessions.login,
            runtime.db,
            runtime.passwords,
            body.serial,
            body.password,
            runtime.spraying,
            runtime.lockout,
            body.otp,
            runtime.keyring,
        )
    )
    p = result.principal
    try:  # the user's tenant must match the terminal and allow the network (EDGE-1/2)
        await admit_principal(runtime, request, p)
    except HokanError:
        await runtime.call(partial(sessions.logout, runtime.db, result.session_token))
        raise
    response = JsonResponse(
        {
            "user": {"id": p.id, "name": p.display_name, "roles": sorted(p.roles)},
            "csrf_token": result.csrf_token,
            # The tenant requires a second factor this user has not set up: the
            # session can only do that (POST /api/v1/auth/totp/setup, then /enable).
            "mfa_setup_required": not p.scopes,
            "expires_at": iso(result.absolute_expires_at),
        }
    )
    _cookie(response, result.session_token, result.absolute_expires_at)
    return response


@router.post("/auth/logout", status_code=204, summary="End the session")
async def logout(request: Request, principal: Authenticated, runtime: RuntimeDep) -> Response:
    token = request.cookies.get(sessions.SESSION_COOKIE)

    def work() -> None:
        if token:
            sessions.logout(runtime.db, token)
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            audit.record(s, principal, "auth.logout", "session", "")

    await audited(runtime, principal, "auth.logout", "session", "", work)
    response = Response(status_code=204)
    response.delete_cookie(
        sessions.SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict"
    )
    return response


@router.post("/auth/password", status_code=204, summary="Change your password")
@waf_exclude(
    *EVERY_FAMILY,
    fields=["json.current_password", "json.new_password"],
    reason="hashed, never interpreted",
)
async def change_password(
    body: PasswordChangeIn, principal: Authenticated, runtime: RuntimeDep
) -> Response:
    """Every session of the user ends; log in again with the new password."""

    def work() -> None:
        if principal.kind is not PrincipalKind.user:
            raise Forbidden("only a logged-in user has a password")
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            user = s.get(User, uuid.UUID(principal.id))
            if user is None or not runtime.passwords.verify(
                user.password_hash, body.current_password
            ):
                raise InvalidCredentials
            tenant = s.get(Tenant, user.tenant_id)
            tenant_settings = TenantSettings.model_validate(tenant.settings if tenant else {})
            value = check_policy(
                body.new_password,
                tenant_settings.password_min_length,
                (user.serial, user.display_name),
            )
            user.password_hash = runtime.passwords.hash(value)
            user.password_changed_at = utcnow()
            sessions.revoke_sessions(s, user.id, utcnow())
            audit.record(s, principal, "auth.password_change", "user", str(user.id))

    await audited(runtime, principal, "auth.password_change", "user", principal.id, work)
    return Response(status_code=204)


@router.get("/users", summary="The tenant's users")
async def list_users(principal: UsersManager, runtime: RuntimeDep) -> Response:
    def work() -> list[dict[str, Any]]:
        assert principal.tenant_id is not None
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            rows = users.for_tenant(s, principal.tenant_id)
            audit.record(s, principal, "user.list", "user", "*", detail={"count": len(rows)})
            return [_user_json(u) for u in rows]

    return JsonResponse(await audited(runtime, principal, "user.list", "user", "*", work))


@router.post("/users/{serial}/unlock", summary="Unlock a locked-out user")
async def unlock_user(
    serial: Annotated[str, "16-digit serial"], principal: UsersManager, runtime: RuntimeDep
) -> Response:
    """Lift a lockout before it runs out (the tenant admin's call, IAM-3)."""

    def work() -> dict[str, Any]:
        assert principal.tenant_id is not None
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            user = users.unlock(s, principal.tenant_id, serial, principal, runtime.lockout)
            s.refresh(user)
            return _user_json(user)

    return JsonResponse(await audited(runtime, principal, "auth.unlock", "user", serial[:20], work))


def _own_user(s: Session, principal: Principal) -> User:
    if principal.kind is not PrincipalKind.user:
        raise Forbidden("only a logged-in user has a second factor")
    user = s.get(User, uuid.UUID(principal.id))
    if user is None:
        raise Forbidden
    return user


@router.post("/auth/totp/setup", summary="Start setting up a TOTP second factor")
async def totp_setup(principal: Authenticated, runtime: RuntimeDep) -> Response:
    """A new secret and its ``otpauth://`` URI for an authenticator app, shown once.
    It takes effect after ``/auth/totp/enable`` with a first code."""

    def work() -> dict[str, str]:
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            secret, uri = mfa.begin(s, runtime.keyring, _own_user(s, principal))
            audit.record(s, principal, "auth.totp_setup", "user", principal.id)
            return {"secret": secret, "otpauth_uri": uri}

    return JsonResponse(
        await audited(runtime, principal, "auth.totp_setup", "user", principal.id, work)
    )


@router.post("/auth/totp/enable", summary="Turn the TOTP second factor on")
async def totp_enable(body: OtpIn, principal: Authenticated, runtime: RuntimeDep) -> Response:
    """Prove the authenticator works with one code; returns ten one-time recovery
    codes, shown once. Other sessions end: log in again with the second factor."""

    def work() -> dict[str, list[str]]:
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            user = _own_user(s, principal)
            codes = mfa.enable(s, runtime.keyring, user, body.code)
            sessions.revoke_sessions(s, user.id, utcnow())
            audit.record(s, principal, "auth.totp_enable", "user", principal.id)
            return {"recovery_codes": codes}

    return JsonResponse(
        await audited(runtime, principal, "auth.totp_enable", "user", principal.id, work)
    )


def _tenant(s: Session, principal: Principal) -> Tenant:
    tenant = s.get(Tenant, principal.tenant_id) if principal.tenant_id else None
    if tenant is None:
        raise Forbidden
    return tenant


@router.get("/accounts/inventory", summary="Account inventory (棚卸)")
async def account_inventory(principal: UsersManager, runtime: RuntimeDep) -> Response:
    """Every user and API token of the tenant, with roles, permissions, last activity,
    and flags for dormant (no activity for ``dormant_days``) and privileged accounts."""

    def work() -> list[dict[str, Any]]:
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            accounts = inventory.inventory(s, _tenant(s, principal))
            audit.record(
                s, principal, "accounts.inventory", "tenant", "", detail={"count": len(accounts)}
            )
            return inventory.as_json(accounts)

    return JsonResponse(await audited(runtime, principal, "accounts.inventory", "tenant", "", work))


@router.post("/accounts/reviews", status_code=201, summary="Record an inventory review")
async def account_review(
    body: inventory.ReviewIn, principal: UsersManager, runtime: RuntimeDep
) -> Response:
    def work() -> dict[str, Any]:
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            row = inventory.record_review(s, _tenant(s, principal), principal, body)
            return {
                "id": str(row.id),
                "reviewed_at": iso(row.reviewed_at),
                "decisions": len(row.decisions),
            }

    data = await audited(runtime, principal, "accounts.review", "tenant", "", work)
    return JsonResponse(data, status_code=201)


@router.post("/accounts/disable-dormant", summary="Disable every dormant account")
async def disable_dormant(principal: UsersManager, runtime: RuntimeDep) -> Response:
    """Dormant users are disabled (their sessions end) and dormant tokens revoked."""

    def work() -> dict[str, list[str]]:
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            return {"disabled": inventory.disable_dormant(s, _tenant(s, principal), principal)}

    return JsonResponse(
        await audited(runtime, principal, "accounts.disable_dormant", "tenant", "", work)
    )
