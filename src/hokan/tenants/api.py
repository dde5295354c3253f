"""The calling tenant's own profile: ``GET /api/v1/tenant``."""

from __future__ import annotations

from hokan.httpkit.auth import AuthenticatedWork
from hokan.httpkit.routing import Router
from hokan.tenants.schemas import TenantOut
from hokan.tenants.service import TenantService, to_out

router = Router(prefix="/api/v1/tenant", tags=["tenant"])


@router.get("", response_model=TenantOut, summary="The calling tenant")
async def get_own_tenant(work: AuthenticatedWork) -> TenantOut:
    """Code, name, product, status, notice contacts and security settings of the
    tenant the credentials belong to."""
    tenants = work.resolve(TenantService)
    return await work(lambda s: to_out(tenants.read_own(s, work.principal)))
