"""Tenant admins' consent grants for operator access (OPS-1)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import Response

from hokan.httpkit.auth import ManageGrants
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.identity import grants
from hokan.identity.grants import Grants
from hokan.kit.clock import iso, utcnow
from hokan.models import ConsentGrant

router = Router(prefix="/api/v1/consent-grants", tags=["consent grants"])


class GrantIn(BaseModel):
    operator_serial: str | None = Field(default=None, max_length=40, description="one operator")
    team: str | None = Field(default=None, max_length=40, description="or a team (operator role)")
    scopes: list[str] = Field(min_length=1, max_length=8)
    reason: str = Field(min_length=1, max_length=500)
    hours: float = Field(gt=0, le=7 * 24, description="at most 7 days")


def grant_json(g: ConsentGrant) -> dict[str, Any]:
    return {
        "id": str(g.id),
        "operator_id": str(g.grantee_operator_id) if g.grantee_operator_id else None,
        "team": g.grantee_role or None,
        "scopes": g.scopes,
        "reason": g.reason,
        "created_by": g.created_by,
        "created_at": iso(g.created_at),
        "expires_at": iso(g.expires_at),
        "revoked_at": iso(g.revoked_at) if g.revoked_at else None,
        "active": grants.is_active(g, utcnow()),
    }


@router.post("", status_code=201, summary="Grant operators access to this tenant")
async def create_grant(body: GrantIn, work: ManageGrants) -> Response:
    """Scope, reason and expiry (at most 7 days); revocable at any time."""
    service = work.resolve(Grants)
    grant = await work(
        lambda s: service.create(
            s,
            work.principal,
            scopes=body.scopes,
            reason=body.reason,
            valid_for=timedelta(hours=body.hours),
            operator_serial=body.operator_serial,
            team=body.team,
        )
    )
    return JsonResponse(grant_json(grant), status_code=201)


@router.get("", summary="This tenant's consent grants")
async def list_grants(work: ManageGrants) -> Response:
    service = work.resolve(Grants)
    rows = await work(lambda s: [grant_json(g) for g in service.list_grants(s, work.principal)])
    return JsonResponse(rows)


@router.delete("/{grant_id}", summary="Revoke a consent grant")
async def revoke_grant(grant_id: uuid.UUID, work: ManageGrants) -> Response:
    service = work.resolve(Grants)
    return JsonResponse(
        await work(lambda s: grant_json(service.revoke(s, work.principal, grant_id)))
    )
