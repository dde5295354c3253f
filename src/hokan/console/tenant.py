"""Tenant console (UI-1): dashboard, users, terminals — each page a thin caller of the
same services as the API, under the same typed dependencies (ADR 0026)."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from hokan.audit.log import AuditLog, Filters
from hokan.certificates.service import TerminalCertificates, as_json
from hokan.console import forms, i18n
from hokan.console.guard import ConsoleRoute, form_csrf
from hokan.console.pages import render
from hokan.httpkit.auth import AuthenticatedWork, ManageUsers
from hokan.httpkit.waf_marks import EVERY_FAMILY, waf_exclude
from hokan.identity.accounts import Accounts
from hokan.kit.clock import utcnow
from hokan.kit.errors import HokanError, InvalidParameter
from hokan.models import User
from hokan.principals import Scope
from hokan.principals.roles import TENANT_ROLES
from hokan.records.service import RecordService

router = APIRouter(
    prefix="/console",
    route_class=ConsoleRoute,
    include_in_schema=False,
    dependencies=[Depends(form_csrf)],
)

ROLE_LABELS = {
    "tenant_admin": "テナント管理者",
    "staff_user": "一般利用者",
    "mynumber_clerk": "マイナンバー事務取扱担当者",
    "api_client": "APIクライアント",
}
MAX_DAYS = 825
USER_FIELDS = {"invalid_email": "email", "weak_password": "password", "invalid_role": "roles"}


def user_view(u: User) -> dict[str, Any]:
    now = utcnow()
    return {
        "serial": u.serial,
        "name": u.display_name,
        "email": u.email,
        "roles": sorted(u.roles),
        "active": u.status.value == "active",
        "locked": bool(u.locked_until and u.locked_until > now),
        "totp": u.totp_enabled,
        "password_change_required": u.password_change_required,
        "last_login_at": u.last_login_at,
    }


@router.get("")
async def dashboard(request: Request, work: AuthenticatedWork) -> Response:
    """Collections and record counts, and the tenant's latest activity."""
    p = work.principal
    collections: list[Any] = []
    recent: list[Any] = []
    if p.has_scope(Scope.records_read):
        records = work.resolve(RecordService)
        collections = await work(lambda s: records.list_collections(s, p))
    if p.has_scope(Scope.audit_read):
        log = work.resolve(AuditLog)
        recent = await work(lambda s: log.newest(s, p, Filters(), None, 10))
    return render(
        request,
        "console/dashboard.html",
        {"collections": collections, "recent": recent, "mfa_missing": not p.scopes},
    )


# -- users ------------------------------------------------------------------------


async def _users_page(
    request: Request,
    work: ManageUsers,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    accounts = work.resolve(Accounts)
    rows = await work(lambda s: [user_view(u) for u in accounts.list_users(s, work.principal)])
    context = {"users": rows, "role_labels": ROLE_LABELS, "roles": sorted(TENANT_ROLES), **extra}
    return render(request, "console/users.html", context, status=status)


@router.get("/users")
async def users_page(request: Request, work: ManageUsers) -> Response:
    return await _users_page(request, work)


@router.post("/users")
@waf_exclude(*EVERY_FAMILY, fields=["form.password"], reason="hashed, never interpreted")
async def create_user(request: Request, work: ManageUsers) -> Response:
    form = await request.form()
    accounts = work.resolve(Accounts)
    roles = [r for r in form.getlist("roles") if isinstance(r, str)]
    password = forms.raw(form, "password") or None
    name, email = forms.text(form, "name", 100), forms.text(form, "email", 254)

    def create(s: Session) -> tuple[dict[str, Any], str | None]:
        user, generated = accounts.create_user(
            s, work.principal, name=name, email=email, roles=roles, password=password
        )
        return user_view(user), generated

    try:
        created = await work(create)
    except HokanError as exc:
        return await _users_page(
            request,
            work,
            status=exc.status,
            errors=forms.field_errors(exc, i18n.language(request), USER_FIELDS),
            values={**forms.values(form, "name", "email"), "roles": roles},
        )
    view, generated = created
    return await _users_page(request, work, created=view, generated=generated, status=201)


@router.post("/users/{serial}/unlock")
async def unlock_user(request: Request, serial: str, work: ManageUsers) -> Response:
    accounts = work.resolve(Accounts)
    await work(lambda s: accounts.unlock(s, work.principal, serial))
    return RedirectResponse("/console/users?done=unlock", status_code=303)


@router.post("/users/{serial}/disable")
async def disable_user(request: Request, serial: str, work: ManageUsers) -> Response:
    accounts = work.resolve(Accounts)
    await work(lambda s: accounts.set_status(s, work.principal, serial, False))
    return RedirectResponse("/console/users?done=disable", status_code=303)


@router.post("/users/{serial}/enable")
async def enable_user(request: Request, serial: str, work: ManageUsers) -> Response:
    accounts = work.resolve(Accounts)
    await work(lambda s: accounts.set_status(s, work.principal, serial, True))
    return RedirectResponse("/console/users?done=enable", status_code=303)


@router.post("/users/{serial}/roles")
async def set_roles(request: Request, serial: str, work: ManageUsers) -> Response:
    form = await request.form()
    roles = [r for r in form.getlist("roles") if isinstance(r, str)]
    seen = [r for r in forms.text(form, "seen_roles", 200).split(",") if r]
    accounts = work.resolve(Accounts)
    try:
        await work(lambda s: accounts.set_roles(s, work.principal, serial, roles, seen))
    except HokanError as exc:
        if exc.status == 404:
            raise
        # A stale form keeps what the user chose and says why it was not saved.
        errors = forms.field_errors(exc, i18n.language(request), {}, default=f"roles-{serial}")
        return await _users_page(
            request,
            work,
            status=exc.status,
            errors=errors,
            kept_roles={serial: roles},
        )
    return RedirectResponse("/console/users?done=roles", status_code=303)


@router.post("/users/{serial}/reset-password")
async def reset_password(request: Request, serial: str, work: ManageUsers) -> Response:
    accounts = work.resolve(Accounts)

    def reset(s: Session) -> tuple[dict[str, Any], str]:
        user, password = accounts.reset_password(s, work.principal, serial)
        return user_view(user), password

    view, password = await work(reset)
    return await _users_page(request, work, reset=view, generated=password)


# -- terminals --------------------------------------------------------------------


async def _terminals_page(
    request: Request, work: ManageUsers, *, status: int = 200, **extra: Any
) -> Response:
    terminals = work.resolve(TerminalCertificates)
    rows = await work(lambda s: [as_json(r) for r in terminals.listing(s, work.principal)])
    return render(request, "console/terminals.html", {"terminals": rows, **extra}, status=status)


@router.get("/terminals")
async def terminals_page(request: Request, work: ManageUsers) -> Response:
    return await _terminals_page(request, work)


@router.post("/terminals")
async def issue_terminal(request: Request, work: ManageUsers) -> Response:
    """Issue a certificate: the PKCS#12 bundle is handed over in this one response
    (a download link carrying it) with its password, and kept nowhere."""
    form = await request.form()
    name = forms.text(form, "terminal", 64)
    try:
        days = int(forms.text(form, "days", 5) or "365")
    except ValueError:
        days = 0
    terminals = work.resolve(TerminalCertificates)
    ca = request.app.state.runtime.ca

    def issue(s: Session) -> tuple[dict[str, Any], bytes, str]:
        done = terminals.issue(s, work.principal, ca, name, days)
        return as_json(done.certificate), done.pkcs12, done.password

    try:
        if not 1 <= days <= MAX_DAYS:
            raise InvalidParameter
        issued = await work(issue)
    except HokanError as exc:
        fields = {"invalid_terminal_name": "terminal", "invalid_parameter": "days"}
        return await _terminals_page(
            request,
            work,
            status=exc.status,
            errors=forms.field_errors(exc, i18n.language(request), fields),
            values=forms.values(form, "terminal", "days"),
        )
    cert, bundle, password = issued
    return await _terminals_page(
        request,
        work,
        status=201,
        issued={
            "cert": cert,
            "password": password,
            "href": "data:application/x-pkcs12;base64," + base64.b64encode(bundle).decode(),
            "filename": f"hokan-{str(cert['serial'])[:8].lower()}.p12",
        },
    )


@router.post("/terminals/{serial}/revoke")
async def revoke_terminal(request: Request, serial: str, work: ManageUsers) -> Response:
    form = await request.form()
    reason = forms.text(form, "reason", 200) or "unspecified"
    terminals = work.resolve(TerminalCertificates)
    await work(lambda s: terminals.revoke(s, work.principal, serial, reason))
    return RedirectResponse("/console/terminals?done=revoke", status_code=303)
