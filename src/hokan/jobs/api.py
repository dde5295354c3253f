"""``/api/v1/operator/jobs``: the scheduled controls and their history, for operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from starlette.responses import Response

from hokan.httpkit.auth import OperatorWork, operator_work
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.jobs import runs
from hokan.jobs.service import JobsView
from hokan.principals.roles import Role

router = Router(prefix="/api/v1/operator/jobs", tags=["jobs"])

JobReader = Annotated[
    OperatorWork,
    Depends(
        operator_work(
            Role.general_manager,
            Role.operations_manager,
            Role.auditor,
            Role.incident_response,
        )
    ),
]


@router.get("", summary="Every scheduled job: schedule, next run, last success and failure")
async def list_jobs(work: JobReader) -> Response:
    view = work.resolve(JobsView)
    return JsonResponse(await work(lambda s: view.listing(s, work.principal)))


@router.get("/{name}/runs", summary="A job's recorded runs, newest first")
async def job_runs(
    name: str,
    work: JobReader,
    failed: Annotated[bool, Query(description="Only failed runs")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Response:
    view = work.resolve(JobsView)
    rows = await work(
        lambda s: view.history(s, work.principal, name, failed_only=failed, limit=limit)
    )
    return JsonResponse([runs.run_json(r) for r in rows])
