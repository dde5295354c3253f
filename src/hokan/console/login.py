"""Console login and logout (the API's login flow, ``identity.api.open_session``), the
operator login (``operator_api.open_operator_session``), the password change and
the language switch."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from hokan.console import forms, i18n
from hokan.console.guard import (
    CSRF_COOKIE,
    OPERATOR_CSRF_COOKIE,
    ConsoleRoute,
    form_csrf,
    safe_next,
)
from hokan.console.pages import render
from hokan.httpkit.auth import AnonymousWork, AnyOperatorWork, PasswordChangeWork
from hokan.httpkit.waf_marks import EVERY_FAMILY, waf_exclude
from hokan.identity import operator_auth, sessions
from hokan.identity.accounts import Accounts
from hokan.identity.api import open_session, set_session_cookie
from hokan.identity.operator_accounts import OperatorAccounts
from hokan.identity.operator_api import open_operator_session, set_operator_cookie
from hokan.kit.errors import HokanError

router = APIRouter(
    prefix="/console",
    route_class=ConsoleRoute,
    include_in_schema=False,
    dependencies=[Depends(form_csrf)],
)

_SECRETS = ["form.password", "form.otp", "form.current_password", "form.new_password"]


def _secret_cookie(response: Response, name: str, value: str, expires: datetime) -> None:
    response.set_cookie(
        name, value, expires=expires, path="/", secure=True, httponly=True, samesite="strict"
    )


def _forget(response: Response, *names: str) -> None:
    for name in names:
        response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="strict")


@router.get("/login")
async def login_page(
    request: Request,
    next_: Annotated[str | None, Query(alias="next", max_length=500)] = None,
    expired: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    return render(
        request,
        "console/login.html",
        {"next": safe_next(next_), "expired": bool(expired), "action": "/console/login"},
    )


@router.post("/login")
@waf_exclude(*EVERY_FAMILY, fields=_SECRETS, reason="hashed, never interpreted")
async def login(request: Request, work: AnonymousWork) -> Response:
    form = await request.form()
    target = safe_next(forms.text(form, "next", 500))
    serial = forms.text(form, "serial", 40)
    try:
        result = await open_session(
            request,
            work,
            serial,
            forms.raw(form, "password"),
            forms.text(form, "otp", 40) or None,
        )
    except HokanError as exc:
        # Every refused login gets the same words (a locked account included).
        return render(
            request,
            "console/login.html",
            {
                "next": target,
                "action": "/console/login",
                "values": {"serial": serial},
                "failure": exc.message(i18n.language(request)),
            },
            status=exc.status,
        )
    p = result.principal
    if p.password_change_required:
        target = "/console/password"
    elif not p.scopes:
        target = "/console/mfa"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, result.session_token, result.absolute_expires_at)
    _secret_cookie(response, CSRF_COOKIE, result.csrf_token, result.absolute_expires_at)
    return response


@router.post("/logout")
async def logout(request: Request, work: PasswordChangeWork) -> Response:
    accounts = work.resolve(Accounts)
    token = request.cookies.get(sessions.SESSION_COOKIE)
    await work(lambda s: accounts.logout(s, work.principal, token))
    response = RedirectResponse("/console/login", status_code=303)
    _forget(response, sessions.SESSION_COOKIE, CSRF_COOKIE)
    return response


@router.get("/password")
async def password_page(request: Request, work: PasswordChangeWork) -> Response:
    return render(request, "console/password.html")


@router.post("/password")
@waf_exclude(*EVERY_FAMILY, fields=_SECRETS, reason="hashed, never interpreted")
async def change_password(request: Request, work: PasswordChangeWork) -> Response:
    form = await request.form()
    accounts = work.resolve(Accounts)
    current, new = forms.raw(form, "current_password"), forms.raw(form, "new_password")
    if new != forms.raw(form, "confirm_password"):
        message = {
            "code": "mismatch",
            "message": i18n.gettext(i18n.language(request))("確認用のパスワードが一致しません。"),
        }
        return render(
            request, "console/password.html", {"errors": {"confirm_password": message}}, 422
        )
    try:
        await work(lambda s: accounts.change_password(s, work.principal, current, new))
    except HokanError as exc:
        fields = {"invalid_credentials": "current_password", "weak_password": "new_password"}
        errors = forms.field_errors(exc, i18n.language(request), fields)
        return render(request, "console/password.html", {"errors": errors}, exc.status)
    # Every session ended with the change: log in again with the new password.
    response = RedirectResponse("/console/login?changed=1", status_code=303)
    _forget(response, sessions.SESSION_COOKIE, CSRF_COOKIE)
    return response


@router.post("/language")
async def language(request: Request) -> Response:
    """The user's language setting (kept in a cookie of its own, no session needed)."""
    form = await request.form()
    lang = forms.text(form, "lang", 5)
    response = RedirectResponse(safe_next(forms.text(form, "back", 500)), status_code=303)
    if lang in i18n.LANGUAGES:
        response.set_cookie(
            i18n.LANG_COOKIE, lang, max_age=400 * 86400, path="/", secure=True, samesite="strict"
        )
    return response


# -- operators --------------------------------------------------------------------


@router.get("/ops/login")
async def operator_login_page(
    request: Request,
    next_: Annotated[str | None, Query(alias="next", max_length=500)] = None,
    expired: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    return render(
        request,
        "console/login.html",
        {
            "next": safe_next(next_, "/console/ops"),
            "expired": bool(expired),
            "action": "/console/ops/login",
            "otp_required": True,
        },
    )


@router.post("/ops/login")
@waf_exclude(*EVERY_FAMILY, fields=_SECRETS, reason="hashed, never interpreted")
async def operator_login(request: Request, work: AnonymousWork) -> Response:
    form = await request.form()
    target = safe_next(forms.text(form, "next", 500), "/console/ops")
    if not target.startswith("/console/ops"):
        target = "/console/ops"
    serial = forms.text(form, "serial", 40)
    try:
        result = await open_operator_session(
            work, serial, forms.raw(form, "password"), forms.text(form, "otp", 40)
        )
    except HokanError as exc:
        return render(
            request,
            "console/login.html",
            {
                "next": target,
                "action": "/console/ops/login",
                "otp_required": True,
                "values": {"serial": serial},
                "failure": exc.message(i18n.language(request)),
            },
            status=exc.status,
        )
    response = RedirectResponse(target, status_code=303)
    set_operator_cookie(response, result.session_token, result.absolute_expires_at)
    _secret_cookie(response, OPERATOR_CSRF_COOKIE, result.csrf_token, result.absolute_expires_at)
    return response


@router.post("/ops/logout")
async def operator_logout(request: Request, work: AnyOperatorWork) -> Response:
    accounts = work.resolve(OperatorAccounts)
    token = request.cookies.get(operator_auth.OPERATOR_COOKIE, "")
    await work(lambda s: accounts.logout(s, work.principal, token))
    response = RedirectResponse("/console/ops/login", status_code=303)
    _forget(response, operator_auth.OPERATOR_COOKIE, OPERATOR_CSRF_COOKIE)
    return response
