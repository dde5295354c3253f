"""Tenant admins' view of their terminals: list certificates, revoke one at once."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field
from starlette.responses import Response

from hokan.certificates.service import TerminalCertificates, as_json
from hokan.httpkit.auth import ManageUsers
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router

router = Router(prefix="/api/v1/terminals", tags=["terminals"])


class RevokeIn(BaseModel):
    reason: str = Field(
        default="unspecified", max_length=200, description="e.g. lost, stolen, retired"
    )


@router.get("", summary="The tenant's terminal certificates")
async def list_terminals(work: ManageUsers) -> Response:
    """Every terminal certificate issued to the tenant, with its status
    (``valid``, ``expired``, ``not_yet_valid``, ``revoked``)."""
    terminals = work.resolve(TerminalCertificates)
    rows = await work(lambda s: terminals.listing(s, work.principal))
    return JsonResponse([as_json(r) for r in rows])


@router.post("/{serial}/revoke", summary="Revoke a terminal certificate")
async def revoke_terminal(
    serial: Annotated[str, "certificate serial (hex)"], body: RevokeIn, work: ManageUsers
) -> Response:
    """Revoke one of the tenant's terminal certificates (a lost or retired terminal).
    The app refuses it from the next request on; the operator's CRL publication
    brings the front up to date."""
    terminals = work.resolve(TerminalCertificates)
    row = await work(lambda s: terminals.revoke(s, work.principal, serial, body.reason))
    return JsonResponse(as_json(row))
