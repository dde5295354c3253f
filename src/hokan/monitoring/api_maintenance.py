"""Maintenance windows over HTTP (MON-5).

Operators: ``GET/POST /api/v1/operator/maintenance`` and ``DELETE
/api/v1/operator/maintenance/{window_id}`` (scheduling and cancelling: the
operations manager or the general manager). Tenants: ``GET
/api/v1/tenant/maintenance``, their own and the service-wide windows to come
(tenant administration permission).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.responses import Response

from hokan.httpkit.auth import ManageUsers, OperatorWork, operator_work
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.kit.clock import utcnow
from hokan.monitoring.maintenance import Maintenance, window_json
from hokan.principals.roles import Role

router = Router(tags=["maintenance"])
OPERATOR = "/api/v1/operator/maintenance"

MaintenanceReader = Annotated[
    OperatorWork,
    Depends(
        operator_work(
            Role.general_manager,
            Role.operations_manager,
            Role.auditor,
            Role.incident_response,
            Role.environment_maintenance,
        )
    ),
]
MaintenanceWriter = Annotated[
    OperatorWork, Depends(operator_work(Role.operations_manager, Role.general_manager))
]


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_at: AwareDatetime = Field(description="Start, ISO 8601 with an offset")
    ends_at: AwareDatetime = Field(description="End (exclusive), ISO 8601 with an offset")
    reason_ja: str = Field(min_length=1, max_length=1000, description="理由 (shown and mailed)")
    reason_en: str = Field(default="", max_length=1000, description="Reason in English")
    tenant: str | None = Field(
        default=None, max_length=32, description="A tenant's code; omit for a service-wide window"
    )
    emergency: bool = Field(
        default=False, description="Announced less than 14 days ahead (recorded and shown)"
    )
    reads_allowed: bool = Field(default=True, description="Reads are served during the window")


def _service(work: OperatorWork) -> Maintenance:
    return Maintenance(work.host.settings)


def _changed(request: Request) -> None:
    state = getattr(request.app.state, "service_state", None)
    if state is not None:
        state.invalidate()  # this process's gate follows at once; others within a second


@router.get(OPERATOR, summary="Maintenance windows to come (or all, with include_past)")
async def list_windows(
    work: MaintenanceReader,
    include_past: Annotated[bool, Query(description="Also ended and cancelled ones")] = False,
) -> Response:
    service = _service(work)
    rows = await work(lambda s: service.listing(s, work.principal, include_past=include_past))
    return JsonResponse(rows)


@router.post(OPERATOR, status_code=201, summary="Schedule a maintenance window (announced by mail)")
async def schedule_window(body: WindowIn, work: MaintenanceWriter, request: Request) -> Response:
    """Refused unless announced ``HOKAN_MAINTENANCE_NOTICE_DAYS`` ahead (or an emergency);
    see the error codes ``maintenance_*`` and ``unknown_tenant``."""
    service = _service(work)

    def run(s: Any) -> dict[str, Any]:
        window = service.schedule(
            s,
            work.principal,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            reason_ja=body.reason_ja,
            reason_en=body.reason_en,
            tenant_code=body.tenant,
            emergency=body.emergency,
            reads_allowed=body.reads_allowed,
        )
        return window_json(window, utcnow(), body.tenant)

    out = await work(run)
    _changed(request)
    return JsonResponse(out, status_code=201)


@router.delete(OPERATOR + "/{window_id}", summary="Cancel a maintenance window")
async def cancel_window(window_id: str, work: MaintenanceWriter, request: Request) -> Response:
    service = _service(work)
    window = await work(lambda s: service.cancel(s, work.principal, window_id))
    _changed(request)
    return JsonResponse(window_json(window, utcnow()))


@router.get("/api/v1/tenant/maintenance", summary="Maintenance windows that affect you")
async def tenant_windows(work: ManageUsers) -> Response:
    """Your own and the service-wide windows, current and to come (times in UTC)."""
    service = Maintenance(work.host.settings)
    rows = await work(lambda s: service.listing_for_tenant(s, work.principal), system=True)
    return JsonResponse(rows)
