"""Consent grants for operators (OPS-1) in the tenant console: create with scope and an
expiry of at most seven days, revoke, and what each grant was used for (the audit trail)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from hokan.audit.log import AuditLog
from hokan.console import forms, i18n
from hokan.console.guard import ConsoleRoute, form_csrf
from hokan.console.pages import render
from hokan.httpkit.auth import ManageGrants
from hokan.identity import grants
from hokan.identity.errors import GrantNotFound, InvalidValidity
from hokan.identity.grants import GRANTABLE, MAX_GRANT, Grants
from hokan.kit.clock import utcnow
from hokan.kit.errors import HokanError
from hokan.models import ConsentGrant
from hokan.principals.roles import OPERATOR_ROLES

router = APIRouter(
    prefix="/console",
    route_class=ConsoleRoute,
    include_in_schema=False,
    dependencies=[Depends(form_csrf)],
)

SCOPE_LABELS = {
    "records:read": "レコードの閲覧",
    "records:write": "レコードの更新",
    "collections:manage": "コレクションの管理",
    "audit:read": "操作ログの閲覧",
}
GRANT_FIELDS = {
    "invalid_scope": "scopes",
    "operator_not_found": "operator_serial",
    "invalid_role": "team",
}
MAX_HOURS = int(MAX_GRANT.total_seconds() // 3600)


def grant_view(g: ConsentGrant) -> dict[str, Any]:
    return {
        "id": str(g.id),
        "operator_id": str(g.grantee_operator_id) if g.grantee_operator_id else None,
        "team": g.grantee_role or None,
        "scopes": list(g.scopes),
        "reason": g.reason,
        "created_by": g.created_by,
        "created_at": g.created_at,
        "expires_at": g.expires_at,
        "revoked_at": g.revoked_at,
        "active": grants.is_active(g, utcnow()),
    }


async def _page(request: Request, work: ManageGrants, status: int = 200, **extra: Any) -> Response:
    service = work.resolve(Grants)
    rows = await work(lambda s: [grant_view(g) for g in service.list_grants(s, work.principal)])
    context = {
        "grants": rows,
        "scopes": sorted(str(s) for s in GRANTABLE),
        "scope_labels": SCOPE_LABELS,
        "teams": sorted(OPERATOR_ROLES),
        "max_hours": MAX_HOURS,
        **extra,
    }
    return render(request, "console/grants.html", context, status=status)


@router.get("/grants")
async def grants_page(request: Request, work: ManageGrants) -> Response:
    return await _page(request, work)


@router.post("/grants")
async def create_grant(request: Request, work: ManageGrants) -> Response:
    form = await request.form()
    service = work.resolve(Grants)
    scopes = [v for v in form.getlist("scopes") if isinstance(v, str)]
    who = forms.text(form, "grantee", 10)
    serial = forms.text(form, "operator_serial", 40) if who != "team" else ""
    team = forms.text(form, "team", 40) if who == "team" else ""
    reason = forms.text(form, "reason", 500)
    try:
        hours = float(forms.text(form, "hours", 10) or "0")
    except ValueError:
        hours = -1
    try:
        if not 0 < hours <= MAX_HOURS:
            raise InvalidValidity
        await work(
            lambda s: service.create(
                s,
                work.principal,
                scopes=scopes,
                reason=reason,
                valid_for=timedelta(hours=hours),
                operator_serial=serial or None,
                team=team or None,
            )
        )
    except HokanError as exc:
        fields = dict(GRANT_FIELDS)
        if exc.code == "invalid_validity":
            fields["invalid_validity"] = "hours" if not 0 < hours <= MAX_HOURS else "reason"
        values = forms.values(form, "grantee", "operator_serial", "team", "reason", "hours")
        return await _page(
            request,
            work,
            status=exc.status,
            errors=forms.field_errors(exc, i18n.language(request), fields),
            values={**values, "scopes": scopes},
        )
    return RedirectResponse("/console/grants?done=create", status_code=303)


@router.post("/grants/{grant_id}/revoke")
async def revoke_grant(request: Request, grant_id: uuid.UUID, work: ManageGrants) -> Response:
    service = work.resolve(Grants)
    await work(lambda s: service.revoke(s, work.principal, grant_id))
    return RedirectResponse("/console/grants?done=revoke", status_code=303)


@router.get("/grants/{grant_id}")
async def grant_usage(request: Request, grant_id: uuid.UUID, work: ManageGrants) -> Response:
    """One grant and every audited action taken under it."""
    service = work.resolve(Grants)
    rows = await work(lambda s: [grant_view(g) for g in service.list_grants(s, work.principal)])
    grant = next((g for g in rows if g["id"] == str(grant_id)), None)
    if grant is None:
        raise GrantNotFound
    log = work.resolve(AuditLog)
    until = grant["revoked_at"] or grant["expires_at"]
    used = await work(
        lambda s: log.grant_usage(s, work.principal, grant["id"], grant["created_at"], until)
    )
    context = {"grant": grant, "entries": used, "scope_labels": SCOPE_LABELS}
    return render(request, "console/grant.html", context)
