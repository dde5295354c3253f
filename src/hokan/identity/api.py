"""Login, logout, password change, second factor, and user administration for tenant admins.

Every route runs in one unit of work (ADR 0014); the login, before any principal
exists, in the anonymous one. The services (``Logins``, ``Accounts``) declare the
audited actions and write their success entries.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from hokan.httpkit.auth import AnonymousWork, AuthenticatedWork, ManageUsers, PasswordChangeWork
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.httpkit.waf_marks import EVERY_FAMILY, waf_exclude
from hokan.httpkit.work import Work
from hokan.identity import inventory, sessions
from hokan.identity.accounts import Accounts
from hokan.identity.logins import Logins
from hokan.kit.clock import iso, utcnow
from hokan.kit.errors import HokanError
from hokan.models import User

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
        "password_change_required": user.password_change_required,
    }


async def open_session(
    request: Request, work: Work, serial: str, password: str, otp: str | None
) -> sessions.LoginResult:
    """The one login flow of the API and the console: check the password (outside any
    write transaction), decide in the unit of work (refusals recorded and committed,
    then the one answer), then the edge admits the user's tenant from this terminal
    and network (EDGE-1/2), or the new session ends at once."""
    logins = work.resolve(Logins)
    checked = await work.host.call(partial(logins.check, serial, password))
    outcome = await work(lambda s: logins.login(s, work.principal, checked, otp=otp))
    result = outcome.result
    if result is None:  # recorded and committed: now the one answer (and a spraying alarm)
        await work.host.call(partial(logins.refuse, outcome))
    try:
        await work.host.admit(request, result.principal)
    except HokanError:
        await work(lambda s: sessions.end_session(s, result.session_token))
        raise
    return result


def set_session_cookie(response: Response, token: str, expires: datetime | None) -> None:
    _cookie(response, token, expires)


@router.post("/auth/login", summary="Log in with serial number and password")
@waf_exclude(
    *EVERY_FAMILY, fields=["json.password", "json.otp"], reason="hashed, never interpreted"
)
async def login(body: LoginIn, request: Request, work: AnonymousWork) -> Response:
    """Open a session (HttpOnly, Secure, SameSite=Strict cookie). Send the returned
    ``csrf_token`` as ``X-CSRF-Token`` on every write made with the cookie."""
    result = await open_session(request, work, body.serial, body.password, body.otp)
    p = result.principal
    response = JsonResponse(
        {
            "user": {"id": p.id, "name": p.display_name, "roles": sorted(p.roles)},
            "csrf_token": result.csrf_token,
            # The tenant requires a second factor this user has not set up: the
            # session can only do that (POST /api/v1/auth/totp/setup, then /enable).
            "mfa_setup_required": not p.scopes,
            # Someone else set the password (ADR 0019): the session can only change it
            # (POST /api/v1/auth/password, which ends it) or log out.
            "password_change_required": p.password_change_required,
            "expires_at": iso(result.absolute_expires_at),
        }
    )
    _cookie(response, result.session_token, result.absolute_expires_at)
    return response


@router.post("/auth/logout", status_code=204, summary="End the session")
async def logout(request: Request, work: PasswordChangeWork) -> Response:
    token = request.cookies.get(sessions.SESSION_COOKIE)
    accounts = work.resolve(Accounts)
    await work(lambda s: accounts.logout(s, work.principal, token))
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
async def change_password(body: PasswordChangeIn, work: PasswordChangeWork) -> Response:
    """Every session of the user ends; log in again with the new password. The one
    route (with logout) a session that must change its password may use."""
    accounts = work.resolve(Accounts)
    await work(
        lambda s: accounts.change_password(
            s, work.principal, body.current_password, body.new_password
        )
    )
    return Response(status_code=204)


@router.get("/users", summary="The tenant's users")
async def list_users(work: ManageUsers) -> Response:
    accounts = work.resolve(Accounts)
    rows = await work(lambda s: [_user_json(u) for u in accounts.list_users(s, work.principal)])
    return JsonResponse(rows)


@router.post("/users/{serial}/unlock", summary="Unlock a locked-out user")
async def unlock_user(serial: Annotated[str, "16-digit serial"], work: ManageUsers) -> Response:
    """Lift a lockout before it runs out (the tenant admin's call, IAM-3)."""
    accounts = work.resolve(Accounts)
    return JsonResponse(
        await work(lambda s: _user_json(accounts.unlock(s, work.principal, serial)))
    )


@router.post(
    "/users/{serial}/require-password-change",
    summary="Make a user change their password before anything else",
)
async def require_password_change(
    serial: Annotated[str, "16-digit serial"], work: ManageUsers
) -> Response:
    """The user's open sessions and next logins can only change the password (or log
    out) until they do; their API tokens are unaffected."""
    accounts = work.resolve(Accounts)
    return JsonResponse(
        await work(
            lambda s: _user_json(accounts.require_password_change(s, work.principal, serial))
        )
    )


@router.post("/auth/totp/setup", summary="Start setting up a TOTP second factor")
async def totp_setup(work: AuthenticatedWork) -> Response:
    """A new secret and its ``otpauth://`` URI for an authenticator app, shown once.
    It takes effect after ``/auth/totp/enable`` with a first code."""
    accounts = work.resolve(Accounts)
    secret, uri = await work(lambda s: accounts.totp_setup(s, work.principal))
    return JsonResponse({"secret": secret, "otpauth_uri": uri})


@router.post("/auth/totp/enable", summary="Turn the TOTP second factor on")
async def totp_enable(body: OtpIn, work: AuthenticatedWork) -> Response:
    """Prove the authenticator works with one code; returns ten one-time recovery
    codes, shown once. Other sessions end: log in again with the second factor."""
    accounts = work.resolve(Accounts)
    codes = await work(lambda s: accounts.totp_enable(s, work.principal, body.code))
    return JsonResponse({"recovery_codes": codes})


@router.get("/accounts/inventory", summary="Account inventory (棚卸)")
async def account_inventory(work: ManageUsers) -> Response:
    """Every user and API token of the tenant, with roles, permissions, last activity,
    and flags for dormant (no activity for ``dormant_days``) and privileged accounts."""
    accounts = work.resolve(Accounts)
    found = await work(lambda s: accounts.take_inventory(s, work.principal))
    return JsonResponse(inventory.as_json(found))


@router.post("/accounts/reviews", status_code=201, summary="Record an inventory review")
async def account_review(body: inventory.ReviewIn, work: ManageUsers) -> Response:
    accounts = work.resolve(Accounts)
    row = await work(lambda s: accounts.review(s, work.principal, body))
    data = {"id": str(row.id), "reviewed_at": iso(row.reviewed_at), "decisions": len(row.decisions)}
    return JsonResponse(data, status_code=201)


@router.post("/accounts/disable-dormant", summary="Disable every dormant account")
async def disable_dormant(work: ManageUsers) -> Response:
    """Dormant users are disabled (their sessions end) and dormant tokens revoked."""
    accounts = work.resolve(Accounts)
    return JsonResponse(
        {"disabled": await work(lambda s: accounts.disable_dormant(s, work.principal))}
    )
