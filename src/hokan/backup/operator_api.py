"""``/api/v1/operator/backups``: generations with their verification coverage, restore
drills and restore requests, for operators (ADR 0022).

Reading: the general manager, the operations manager, the auditor and incident response.
Requesting a drill: the operations or general manager. Filing a restore request: the
operations manager only (運用責任者) — audited like every route here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from hokan.backup.operations import BackupOperations
from hokan.backup.service import Backups
from hokan.blobs import BlobStore
from hokan.httpkit.auth import OperationsManagerWork, OperatorWork, operator_work
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.keyring.service import Keyring
from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.principals.roles import Role
from hokan.settings import Settings

router = Router(prefix="/api/v1/operator/backups", tags=["backups"])

BackupReader = Annotated[
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
DrillRequester = Annotated[
    OperatorWork, Depends(operator_work(Role.operations_manager, Role.general_manager))
]


class RestoreRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    generation: str = Field(min_length=1, max_length=64, description="Generation name")
    mode: Literal["new_directory", "tenant", "in_place"] = Field(
        default="new_directory",
        description="new_directory: a new data dir; tenant: one tenant's rows; in_place",
    )
    tenant: str | None = Field(default=None, max_length=32, description="Tenant code")
    reason: str = Field(min_length=1, max_length=2000, description="Why (kept in the audit)")


def _service(work: OperatorWork) -> BackupOperations:
    blobs: BlobStore = work.resolve(BlobStore)  # type: ignore[type-abstract]
    backups = Backups(
        work.resolve(Settings),
        work.resolve(Keyring),
        blobs,
        work.resolve(Database),
        actor=work.principal,
    )
    return BackupOperations(backups)


@router.get("", summary="Backup generations: retention decision and verification coverage")
async def list_generations(
    work: BackupReader,
    klass: Annotated[str | None, Query(alias="class", max_length=16)] = None,
    target: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    service = _service(work)
    rows = await work(lambda s: service.listing(s, work.principal, klass=klass, target=target))
    return JsonResponse(rows)


@router.get("/drills", summary="Restore drills, newest first, with their measured RTO")
async def list_drills(
    work: BackupReader, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> Response:
    service = _service(work)
    return JsonResponse(await work(lambda s: service.drills(s, work.principal, limit=limit)))


@router.post("/drills", status_code=202, summary="Request a restore drill (run within a minute)")
async def request_drill(work: DrillRequester) -> Response:
    service = _service(work)
    out = await work(lambda s: service.request_drill(s, work.principal, now=utcnow()))
    return JsonResponse(out, status_code=202)


@router.get("/restore-requests", summary="Restore requests, newest first")
async def list_restore_requests(
    work: BackupReader, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> Response:
    service = _service(work)
    return JsonResponse(
        await work(lambda s: service.restore_requests(s, work.principal, limit=limit))
    )


@router.post(
    "/restore-requests", status_code=201, summary="File a restore request (operations manager)"
)
async def request_restore(body: RestoreRequestIn, work: OperationsManagerWork) -> Response:
    """Refused with ``backup_generation_not_found`` (404), ``unknown_tenant`` or
    ``backup_restore_refused``; the request is audited (``backup.restore_request``)."""
    service = _service(work)

    def run(s: Any) -> dict[str, Any]:
        return service.request_restore(
            s,
            work.principal,
            generation=body.generation,
            mode=body.mode,
            reason=body.reason,
            tenant_code=body.tenant,
            now=utcnow(),
        )

    return JsonResponse(await work(run), status_code=201)


@router.get("/{generation}", summary="One generation: manifest summary, coverage, drills")
async def show_generation(generation: str, work: BackupReader) -> Response:
    service = _service(work)
    return JsonResponse(await work(lambda s: service.detail(s, work.principal, generation)))
