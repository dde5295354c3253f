"""Checks that need both the edge and the principal (EDGE-1, EDGE-2), called where
the principal is resolved (``identity.dependencies``): a terminal certificate
of tenant A never carries credentials of tenant B, and a tenant's own network
allow-list (``allowed_cidrs``) restricts its callers further.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

from hokan.audit.calls import audited
from hokan.certificates.errors import CertificateTenantMismatch
from hokan.edge.admission import client_ip
from hokan.edge.terminal import terminal_of
from hokan.kit.errors import HokanError
from hokan.principals.principal import Principal, PrincipalKind

if TYPE_CHECKING:
    from hokan.edge.host import EdgeHost


async def admit_principal(runtime: EdgeHost, request: Request, principal: Principal) -> None:
    """Raise (audited, counted) unless this principal may act from this terminal and network.

    Operators (also inside a tenant, under its consent grant) use operator
    terminals (no tenant); everyone else a terminal of their own tenant. Tenants'
    allow-lists apply to the tenant's own callers; the operator network is checked
    by the operator login.
    """
    operator = principal.kind is PrincipalKind.operator
    tenant_id = None if operator else principal.tenant_id
    terminal = terminal_of(request)
    address = client_ip(request)
    if terminal is None and tenant_id is None:
        return

    def check() -> None:
        if terminal is not None and terminal.tenant_id != tenant_id:
            raise CertificateTenantMismatch
        if tenant_id is not None:
            runtime.tenant_networks.check(tenant_id, address)

    try:
        await audited(
            runtime,
            principal,
            "edge.admit",
            "terminal",
            terminal.serial if terminal else "",
            check,
        )
    except HokanError as exc:
        runtime.edge_refusals.count(exc.code)
        raise
