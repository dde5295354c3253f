"""Reports over HTTP, for operators (REP-1, REP-2).

Tenants: ``GET /api/v1/tenant/reports/weekly`` gives a tenant administrator the
week's report with only the tenant's own figures (generated on request).

``GET /api/v1/operator/reports`` lists the stored reports (the weekly job's and those
generated on request); ``POST …/weekly`` and ``POST …/availability`` generate one now
(the operations manager or the general manager); ``GET …/{report_id}/download?format=``
returns it as HTML, XLSX or PDF. Every call is audited (``reports.*``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from hokan.httpkit.auth import ManageUsers, OperatorWork, operator_work
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.kit.clock import utcnow
from hokan.monitoring import availability as engine
from hokan.principals.roles import Role
from hokan.reports.period import Week, parse_week
from hokan.reports.service import FORMATS, Reports, file_name, report_json

PREFIX = "/api/v1/operator/reports"
router = Router(prefix=PREFIX, tags=["reports"])
tenant_router = Router(tags=["reports"])

ReportReader = Annotated[
    OperatorWork,
    Depends(
        operator_work(
            Role.general_manager,
            Role.operations_manager,
            Role.auditor,
            Role.environment_maintenance,
            Role.incident_response,
        )
    ),
]
ReportWriter = Annotated[
    OperatorWork, Depends(operator_work(Role.operations_manager, Role.general_manager))
]


class WeeklyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    week: str | None = Field(
        default=None, max_length=10, description="ISO week in JST, YYYY-Www; default last week"
    )
    tenant: str | None = Field(
        default=None, max_length=32, description="A tenant's code: only that tenant's figures"
    )


class AvailabilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str | None = Field(default=None, max_length=7, description="YYYY-MM (JST)")
    year: int | None = Field(default=None, description="A calendar year (JST)")


_FILES: dict[int | str, dict[str, Any]] = {
    200: {"content": {t.split(";")[0]: {} for t in FORMATS.values()}}
}


def _service(work: OperatorWork) -> Reports:
    return Reports(work.host.settings)


@router.get("", summary="Stored reports, newest first")
async def list_reports(
    work: ReportReader,
    kind: Annotated[Literal["weekly", "availability"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    service = _service(work)
    rows = await work(
        lambda s: [report_json(r) for r in service.listing(s, work.principal, kind, limit)]
    )
    return JsonResponse(rows)


@router.post("/weekly", status_code=201, summary="Generate a weekly operations report now")
async def generate_weekly(body: WeeklyIn, work: ReportWriter) -> Response:
    """Every whitepaper category for the JST week (``tenant``: that tenant's own figures);
    the week's stored report of the same scope is replaced. Codes: ``invalid_week``,
    ``report_unknown_tenant``."""
    service = _service(work)
    now = utcnow()

    def run(s: Any) -> dict[str, Any]:
        week = parse_week(body.week, now=now) if body.week else Week.last_complete(now)
        return report_json(service.generate_weekly(s, work.principal, week, body.tenant, now=now))

    return JsonResponse(await work(run, in_thread=True), status_code=201)


@router.post("/availability", status_code=201, summary="Generate an availability report now")
async def generate_availability(body: AvailabilityIn, work: ReportWriter) -> Response:
    """The whitepaper's availability tables with 停止の詳細, for one month or one year
    (default: the current year to date)."""
    service = _service(work)
    now = utcnow()

    def run(s: Any) -> dict[str, Any]:
        if body.month is not None:
            first, last = engine.period_of_month(body.month, now=now)
        else:
            year = body.year if body.year is not None else engine.Month.of(now).year
            first, last = engine.period_of_year(year, now=now)
        return report_json(service.generate_availability(s, work.principal, first, last, now=now))

    return JsonResponse(await work(run, in_thread=True), status_code=201)


@router.get(
    "/{report_id}/download",
    summary="Download a stored report (html, xlsx or pdf)",
    responses=_FILES,
)
async def download(
    report_id: str,
    work: ReportReader,
    format: Annotated[str, Query(description="html, xlsx or pdf")] = "pdf",
) -> Response:
    service = _service(work)

    def run(s: Any) -> tuple[str, bytes]:
        row, data = service.download(s, work.principal, report_id, format)
        return file_name(row, format), data

    name, data = await work(run)
    return Response(
        data,
        media_type=FORMATS[format],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}"},
    )


@tenant_router.get(
    "/api/v1/tenant/reports/weekly",
    summary="Your own weekly operations report",
    responses=_FILES,
)
async def tenant_weekly(
    work: ManageUsers,
    week: Annotated[str | None, Query(description="ISO week in JST, YYYY-Www")] = None,
    format: Annotated[str, Query(description="html, xlsx or pdf")] = "pdf",
) -> Response:
    """The week's operations report with only your own figures (lockouts, malware,
    findings, the incidents and maintenance that affected you) and the service-wide
    ones (backups, liveness, load), for tenant administrators. Default: last week."""
    service = Reports(work.host.settings)
    now = utcnow()

    def run(s: Any) -> tuple[str, bytes]:
        chosen = parse_week(week, now=now) if week else Week.last_complete(now)
        return service.tenant_weekly(s, work.principal, chosen, format, now=now)

    name, data = await work(run, system=True, in_thread=True)
    return Response(
        data,
        media_type=FORMATS[format],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}"},
    )
