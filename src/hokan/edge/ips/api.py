"""Operators' view of the IPS (EDGE-4): the ban list, and lifting a ban (audited).

Served by the process that enforces the bans, so the embedded default's
in-memory bans are visible here too (the CLI needs Redis for that).
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from hokan.audit import service as audit
from hokan.edge.context import RuntimeDep
from hokan.edge.ips.errors import InvalidAddress, NotBanned
from hokan.edge.ips.service import ban_json
from hokan.httpkit.auth import operator_with
from hokan.httpkit.responses import JsonResponse
from hokan.identity.operator_auth import OperatorIdentity
from hokan.principals.roles import Role

router = APIRouter(prefix="/api/v1/operator/ips", tags=["intrusion prevention"])

BanReader = Annotated[
    OperatorIdentity,
    Depends(
        operator_with(
            Role.incident_response, Role.operations_manager, Role.general_manager, Role.auditor
        )
    ),
]
BanLifter = Annotated[
    OperatorIdentity, Depends(operator_with(Role.incident_response, Role.operations_manager))
]


@router.get("/bans", summary="Addresses the IPS bans now")
async def list_bans(who: BanReader, runtime: RuntimeDep) -> Response:
    def work() -> list[dict[str, Any]]:
        bans = [ban_json(b) for b in runtime.ips.bans()]
        with runtime.db.session(write=True, system=True) as s:
            audit.record(s, who.principal, "ips.bans_list", "source_ip", "*")
        return bans

    return JsonResponse(await runtime.call(work))


@router.post("/bans/{address}/lift", summary="Lift a ban before it runs out")
async def lift_ban(address: str, who: BanLifter, runtime: RuntimeDep) -> Response:
    """Audited as ``ips.ban_lifted`` and reviewed by the daily internal audit."""
    try:
        ip = str(ip_address(address))
    except ValueError:
        raise InvalidAddress from None
    lifted = await runtime.call(lambda: runtime.ips.lift(ip, who.principal))
    if not lifted:
        raise NotBanned
    return JsonResponse({"ip": ip, "lifted": True})
