"""Tenant admins' view of their terminals: list certificates, revoke one at once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from hokan.audit import service as audit
from hokan.audit.calls import audited
from hokan.certificates import service
from hokan.certificates.repository import CertificateRepository
from hokan.edge.context import RuntimeDep
from hokan.httpkit.auth import UsersManager
from hokan.httpkit.responses import JsonResponse

router = APIRouter(prefix="/api/v1/terminals", tags=["terminals"])


class RevokeIn(BaseModel):
    reason: str = Field(
        default="unspecified", max_length=200, description="e.g. lost, stolen, retired"
    )


@router.get("", summary="The tenant's terminal certificates")
async def list_terminals(principal: UsersManager, runtime: RuntimeDep) -> Response:
    """Every terminal certificate issued to the tenant, with its status
    (``valid``, ``expired``, ``not_yet_valid``, ``revoked``)."""

    def work() -> list[dict[str, Any]]:
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            rows = CertificateRepository(s, principal.tenant_id).all()
            audit.record(
                s,
                principal,
                "certificate.list",
                "terminal_certificate",
                "*",
                detail={"count": len(rows)},
            )
            return [service.as_json(r) for r in rows]

    return JsonResponse(
        await audited(runtime, principal, "certificate.list", "terminal_certificate", "*", work)
    )


@router.post("/{serial}/revoke", summary="Revoke a terminal certificate")
async def revoke_terminal(
    serial: Annotated[str, "certificate serial (hex)"],
    body: RevokeIn,
    principal: UsersManager,
    runtime: RuntimeDep,
) -> Response:
    """Revoke one of the tenant's terminal certificates (a lost or retired terminal).
    The app refuses it from the next request on; the operator's CRL publication
    brings the front up to date."""

    def work() -> dict[str, Any]:
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            row = service.get(s, serial, principal.tenant_id)
            return service.as_json(service.revoke(s, row, principal, body.reason))

    return JsonResponse(
        await audited(
            runtime, principal, "certificate.revoke", "terminal_certificate", serial[:40], work
        )
    )
