"""Auditors' routes: the daily internal audit and its findings (AUD-4)."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field
from starlette.responses import Response

from hokan.audit.findings import InternalAudit, finding_json, yesterday_jst
from hokan.httpkit.auth import AuditorWork, OperatorSupervisorWork
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.models import FindingStatus

router = Router(prefix="/api/v1/operator/audit", tags=["internal audit"])


class AcknowledgeIn(BaseModel):
    comment: str = Field(min_length=1, max_length=1000)


class DailyIn(BaseModel):
    day: date | None = Field(default=None, alias="date", description="JST day; default yesterday")


@router.get("/findings", summary="Internal-audit findings")
async def list_findings(
    work: OperatorSupervisorWork,
    status: FindingStatus | None = None,
    day: date | None = None,
) -> Response:
    internal = work.resolve(InternalAudit)
    rows = await work(lambda s: internal.findings(s, work.principal, status, day))
    return JsonResponse([finding_json(f) for f in rows])


@router.post("/findings/{finding_id}/acknowledge", summary="Acknowledge a finding (auditor)")
async def acknowledge(finding_id: uuid.UUID, body: AcknowledgeIn, work: AuditorWork) -> Response:
    internal = work.resolve(InternalAudit)
    row = await work(lambda s: internal.acknowledge(s, work.principal, finding_id, body.comment))
    return JsonResponse(finding_json(row))


@router.post("/daily", summary="Run the daily internal audit for one day")
async def run_daily(body: DailyIn, work: OperatorSupervisorWork) -> Response:
    """Normally the scheduler runs it for yesterday (JST); a re-run updates that day."""
    day = body.day or yesterday_jst()
    internal = work.resolve(InternalAudit)
    report = await work(lambda s: internal.run_daily(s, work.principal, day))
    return JsonResponse(report.as_json())
