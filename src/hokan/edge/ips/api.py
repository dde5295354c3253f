"""Operators' view of the IPS (EDGE-4): the ban list, and lifting a ban (audited).

Served by the process that enforces the bans, so the embedded default's
in-memory bans are visible here too (the CLI needs Redis for that).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.responses import Response

from hokan.edge.ips.service import Ips, ban_json
from hokan.httpkit.auth import OperatorWork, operator_work
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.principals.roles import Role

router = Router(prefix="/api/v1/operator/ips", tags=["intrusion prevention"])

BanReader = Annotated[
    OperatorWork,
    Depends(
        operator_work(
            Role.incident_response, Role.operations_manager, Role.general_manager, Role.auditor
        )
    ),
]
BanLifter = Annotated[
    OperatorWork, Depends(operator_work(Role.incident_response, Role.operations_manager))
]


@router.get("/bans", summary="Addresses the IPS bans now")
async def list_bans(work: BanReader) -> Response:
    ips = work.resolve(Ips)
    bans = await work(lambda s: ips.list_bans(s, work.principal))
    return JsonResponse([ban_json(b) for b in bans])


@router.post("/bans/{address}/lift", summary="Lift a ban before it runs out")
async def lift_ban(address: str, work: BanLifter) -> Response:
    """Audited as ``ips.ban_lifted`` and reviewed by the daily internal audit."""
    ips = work.resolve(Ips)
    ip = await work(lambda s: ips.lift_ban(s, work.principal, address))
    return JsonResponse({"ip": ip, "lifted": True})
