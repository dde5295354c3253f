"""Operator console (UI-2): incidents, maintenance (the 14-day rule shown), the daily
audit's findings, jobs and IPS bans. Only an operator's own session opens these pages
(so only from the operations network and an operator terminal); every page takes the
operator API's own dependencies and services (ADR 0026)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from hokan.audit.findings import InternalAudit, finding_json
from hokan.console import forms, i18n
from hokan.console.guard import ConsoleRoute, form_csrf
from hokan.console.pages import render
from hokan.edge.ips.api import BanLifter, BanReader
from hokan.edge.ips.service import Ips, ban_json
from hokan.httpkit.auth import AnyOperatorWork, AuditorWork, OperatorSupervisorWork
from hokan.jobs.api import JobReader
from hokan.jobs.service import JobsView
from hokan.kit.clock import JST, to_jst, utcnow
from hokan.kit.errors import HokanError, InvalidParameter
from hokan.models import FindingStatus
from hokan.monitoring import notices
from hokan.monitoring.api import Reader, Responder
from hokan.monitoring.api_maintenance import MaintenanceReader, MaintenanceWriter
from hokan.monitoring.incidents import Incidents
from hokan.monitoring.maintenance import Maintenance, window_json
from hokan.monitoring.views import incident_json

router = APIRouter(
    prefix="/console/ops",
    route_class=ConsoleRoute,
    include_in_schema=False,
    dependencies=[Depends(form_csrf)],
)
WINDOW_FIELDS = {
    "maintenance_in_past": "starts_at",
    "maintenance_notice_too_short": "starts_at",
    "maintenance_overlap": "starts_at",
    "maintenance_end_not_after_start": "ends_at",
    "maintenance_too_long": "ends_at",
    "maintenance_reason_missing": "reason_ja",
    "unknown_tenant": "tenant",
    "invalid_parameter": "starts_at",
}
INCIDENT_FIELDS = {"invalid_incident": "outage"}


def _local(value: str) -> datetime:
    """A ``datetime-local`` input, read as Japan time."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=JST)
    except ValueError:
        raise InvalidParameter from None


def _changed(request: Request) -> None:
    state = getattr(request.app.state, "service_state", None)
    if state is not None:
        state.invalidate()  # the banner and the gate follow at once


async def _dispatch(work: Any) -> None:
    db, settings = work.host.db, work.host.settings
    await work.step(lambda: notices.dispatch(db, settings, utcnow()), in_thread=True)


@router.get("")
async def dashboard(request: Request, work: AnyOperatorWork) -> Response:
    return render(request, "console/ops/dashboard.html")


# -- incidents ----------------------------------------------------------------------


async def _incidents(request: Request, work: Any, status: int = 200, **extra: Any) -> Response:
    svc = work.resolve(Incidents)
    rows = await work(
        lambda s: [incident_json(r) for r in svc.listing(s, work.principal, limit=100)]
    )
    return render(request, "console/ops/incidents.html", {"incidents": rows, **extra}, status)


@router.get("/incidents")
async def incidents_page(request: Request, work: Reader) -> Response:
    return await _incidents(request, work)


@router.post("/incidents")
async def open_incident(request: Request, work: Responder) -> Response:
    form = await request.form()
    svc = work.resolve(Incidents)
    now = utcnow()
    functions = [f for f in form.getlist("functions") if isinstance(f, str)]

    def run(s: Session) -> str:
        row = svc.open(
            s,
            work.principal,
            outage=forms.text(form, "outage", 10),
            title_ja=forms.text(form, "title_ja", 200),
            title_en=forms.text(form, "title_en", 200),
            functions=functions,
            started_at=now,
            now=now,
            message_ja=forms.text(form, "message_ja", 4000),
            message_en=forms.text(form, "message_en", 4000),
        )
        return row.number

    try:
        number = await work(run)
    except HokanError as exc:
        return await _incidents(
            request,
            work,
            exc.status,
            errors=forms.field_errors(exc, i18n.language(request), INCIDENT_FIELDS),
            values=forms.values(form, "outage", "title_ja", "title_en", "message_ja"),
        )
    await _dispatch(work)
    _changed(request)
    return RedirectResponse(f"/console/ops/incidents/{number}", status_code=303)


@router.get("/incidents/{number}")
async def incident_page(request: Request, number: str, work: Reader) -> Response:
    svc = work.resolve(Incidents)
    incident = await work(lambda s: svc.detail(s, work.principal, number))
    return render(request, "console/ops/incident.html", {"incident": incident})


@router.post("/incidents/{number}/updates")
async def update_incident(request: Request, number: str, work: Responder) -> Response:
    form = await request.form()
    svc = work.resolve(Incidents)
    now = utcnow()

    def run(s: Session) -> None:
        svc.update(
            s,
            work.principal,
            number,
            now=now,
            message_ja=forms.text(form, "message_ja", 4000),
            message_en=forms.text(form, "message_en", 4000),
            acknowledge=forms.text(form, "acknowledge", 5) == "1",
        )

    await work(run)
    await _dispatch(work)
    return RedirectResponse(f"/console/ops/incidents/{number}", status_code=303)


@router.post("/incidents/{number}/resolve")
async def resolve_incident(request: Request, number: str, work: Responder) -> Response:
    form = await request.form()
    svc = work.resolve(Incidents)
    now = utcnow()

    def run(s: Session) -> None:
        svc.resolve(
            s,
            work.principal,
            number,
            now=now,
            resolved_at=None,
            message_ja=forms.text(form, "message_ja", 4000),
            message_en=forms.text(form, "message_en", 4000),
        )
        svc.edit_details(
            s,
            work.principal,
            number,
            cause=forms.text(form, "cause", 4000) or None,
            response=forms.text(form, "response", 4000) or None,
            prevention=forms.text(form, "prevention", 4000) or None,
            counts_as_outage=None,
        )

    await work(run)
    await _dispatch(work)
    _changed(request)
    return RedirectResponse(f"/console/ops/incidents/{number}", status_code=303)


# -- maintenance --------------------------------------------------------------------


async def _maintenance(request: Request, work: Any, status: int = 200, **extra: Any) -> Response:
    service = Maintenance(work.host.settings)
    rows = await work(lambda s: service.listing(s, work.principal, include_past=False))
    days = work.host.settings.maintenance_notice_days
    context = {
        "windows": rows,
        "notice_days": days,
        "earliest": to_jst(utcnow() + timedelta(days=days)),
        **extra,
    }
    return render(request, "console/ops/maintenance.html", context, status)


@router.get("/maintenance")
async def maintenance_page(request: Request, work: MaintenanceReader) -> Response:
    return await _maintenance(request, work)


@router.post("/maintenance")
async def schedule_window(request: Request, work: MaintenanceWriter) -> Response:
    form = await request.form()
    service = Maintenance(work.host.settings)
    tenant = forms.text(form, "tenant", 32) or None

    def run(s: Session) -> dict[str, Any]:
        window = service.schedule(
            s,
            work.principal,
            starts_at=_local(forms.text(form, "starts_at", 20)),
            ends_at=_local(forms.text(form, "ends_at", 20)),
            reason_ja=forms.text(form, "reason_ja", 1000),
            reason_en=forms.text(form, "reason_en", 1000),
            tenant_code=tenant,
            emergency=forms.text(form, "emergency", 5) == "1",
            reads_allowed=forms.text(form, "reads_allowed", 5) == "1",
        )
        return window_json(window, utcnow(), tenant)

    try:
        await work(run)
    except HokanError as exc:
        names = ("starts_at", "ends_at", "reason_ja", "reason_en", "tenant", "emergency")
        return await _maintenance(
            request,
            work,
            exc.status,
            errors=forms.field_errors(exc, i18n.language(request), WINDOW_FIELDS),
            values=forms.values(form, *names, "reads_allowed"),
        )
    _changed(request)
    return RedirectResponse("/console/ops/maintenance?done=schedule", status_code=303)


@router.post("/maintenance/{window_id}/cancel")
async def cancel_window(request: Request, window_id: str, work: MaintenanceWriter) -> Response:
    service = Maintenance(work.host.settings)
    await work(lambda s: service.cancel(s, work.principal, window_id))
    _changed(request)
    return RedirectResponse("/console/ops/maintenance?done=cancel", status_code=303)


# -- findings, jobs, IPS ---------------------------------------------------------------


async def _findings(
    request: Request, work: Any, wanted: str = "open", status: int = 200, **extra: Any
) -> Response:
    internal = work.resolve(InternalAudit)
    which = FindingStatus(wanted) if wanted in FindingStatus.__members__ else None
    rows = await work(
        lambda s: [finding_json(f) for f in internal.findings(s, work.principal, which, None)]
    )
    context = {
        "findings": rows,
        "status": wanted,
        "statuses": list(FindingStatus.__members__),
        **extra,
    }
    return render(request, "console/ops/findings.html", context, status)


@router.get("/findings")
async def findings_page(request: Request, work: OperatorSupervisorWork) -> Response:
    return await _findings(request, work, request.query_params.get("status", "open"))


@router.post("/findings/{finding_id}/acknowledge")
async def acknowledge(request: Request, finding_id: uuid.UUID, work: AuditorWork) -> Response:
    form = await request.form()
    comment = forms.text(form, "comment", 1000)
    internal = work.resolve(InternalAudit)
    try:
        if not comment:
            raise InvalidParameter
        await work(lambda s: internal.acknowledge(s, work.principal, finding_id, comment))
    except HokanError as exc:
        if exc.status == 404:
            raise
        where = f"comment-{finding_id}"
        errors = forms.field_errors(exc, i18n.language(request), {}, default=where)
        return await _findings(request, work, status=exc.status, errors=errors)
    return RedirectResponse("/console/ops/findings?done=acknowledge", status_code=303)


@router.get("/jobs")
async def jobs_page(request: Request, work: JobReader) -> Response:
    view = work.resolve(JobsView)
    jobs = await work(lambda s: view.listing(s, work.principal))
    return render(request, "console/ops/jobs.html", {"jobs": jobs})


@router.get("/ips")
async def ips_page(request: Request, work: BanReader) -> Response:
    ips = work.resolve(Ips)
    bans = await work(lambda s: [ban_json(b) for b in ips.list_bans(s, work.principal)])
    return render(request, "console/ops/ips.html", {"bans": bans})


@router.post("/ips/{address}/lift")
async def lift_ban(request: Request, address: str, work: BanLifter) -> Response:
    ips = work.resolve(Ips)
    await work(lambda s: ips.lift_ban(s, work.principal, address))
    return RedirectResponse("/console/ops/ips?done=lift", status_code=303)
