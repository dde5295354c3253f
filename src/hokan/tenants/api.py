"""The calling tenant's own profile: ``GET /api/v1/tenant``."""

from __future__ import annotations

from hokan.audit import service as audit
from hokan.audit.calls import audited
from hokan.edge.context import RuntimeDep
from hokan.httpkit.auth import Authenticated
from hokan.httpkit.routing import Router
from hokan.tenants.schemas import TenantOut
from hokan.tenants.service import to_out

router = Router(prefix="/api/v1/tenant", tags=["tenant"])


@router.get("", response_model=TenantOut, summary="The calling tenant")
async def get_own_tenant(principal: Authenticated, runtime: RuntimeDep) -> TenantOut:
    """Code, name, product, status, notice contacts and security settings of the
    tenant the credentials belong to."""

    def work() -> TenantOut:
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            tenant = runtime.tenants.get_by_id(s, principal.tenant_id)
            audit.record(s, principal, "tenant.read", "tenant", tenant.code)
            return to_out(tenant)

    return await audited(runtime, principal, "tenant.read", "tenant", "", work)
