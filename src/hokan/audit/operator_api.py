"""Auditors' routes: the daily internal audit and its findings (AUD-4)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from hokan.audit import findings
from hokan.audit import service as audit
from hokan.audit.calls import audited
from hokan.edge.context import RuntimeDep
from hokan.httpkit.auth import Auditor, OperatorSupervisor
from hokan.httpkit.responses import JsonResponse
from hokan.models import FindingStatus

router = APIRouter(prefix="/api/v1/operator/audit", tags=["internal audit"])


class AcknowledgeIn(BaseModel):
    comment: str = Field(min_length=1, max_length=1000)


class DailyIn(BaseModel):
    day: date | None = Field(default=None, alias="date", description="JST day; default yesterday")


@router.get("/findings", summary="Internal-audit findings")
async def list_findings(
    who: OperatorSupervisor,
    runtime: RuntimeDep,
    status: FindingStatus | None = None,
    day: date | None = None,
) -> Response:
    def work() -> list[dict[str, Any]]:
        with runtime.db.session(write=True, system=True) as s:
            rows = findings.list_findings(s, status, day)
            audit.record(s, who.principal, "audit.findings_list", "audit_finding", "*")
            return [findings.finding_json(f) for f in rows]

    return JsonResponse(
        await audited(runtime, who.principal, "audit.findings_list", "audit_finding", "*", work)
    )


@router.post("/findings/{finding_id}/acknowledge", summary="Acknowledge a finding (auditor)")
async def acknowledge(
    finding_id: uuid.UUID, body: AcknowledgeIn, who: Auditor, runtime: RuntimeDep
) -> Response:
    def work() -> dict[str, Any]:
        with runtime.db.session(write=True, system=True) as s:
            row = findings.acknowledge(s, finding_id, body.comment, who.principal)
            return findings.finding_json(row)

    return JsonResponse(
        await audited(
            runtime,
            who.principal,
            "audit.finding_acknowledge",
            "audit_finding",
            str(finding_id),
            work,
        )
    )


@router.post("/daily", summary="Run the daily internal audit for one day")
async def run_daily(body: DailyIn, who: OperatorSupervisor, runtime: RuntimeDep) -> Response:
    """Normally the scheduler runs it for yesterday (JST); a re-run updates that day."""
    day = body.day or findings.yesterday_jst()

    def work() -> dict[str, Any]:
        with runtime.db.session(write=True, system=True) as s:
            return findings.run_daily(s, runtime.settings, day, who.principal).as_json()

    return JsonResponse(
        await audited(
            runtime, who.principal, "audit.daily_review", "audit_day", day.isoformat(), work
        )
    )
