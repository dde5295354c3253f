"""The calling tenant's own profile and contacts: ``/api/v1/tenant``.

The contacts routes are for tenant admins (``users:manage``); each runs in one
unit of work (ADR 0014) and the service writes its audit entry, naming the
contact by id, never by address.
"""

from __future__ import annotations

import uuid

from starlette.responses import Response

from hokan.httpkit.auth import AuthenticatedWork, ManageUsers
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.tenants.contacts import Contact, ContactIn
from hokan.tenants.schemas import TenantOut
from hokan.tenants.service import TenantService, to_out

router = Router(prefix="/api/v1/tenant", tags=["tenant"])

_CONTACT_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "invalid_contact: a bad address, an unknown role or language"},
    409: {"description": "too_many_contacts: at most 20 per tenant"},
}


@router.get("", response_model=TenantOut, summary="The calling tenant")
async def get_own_tenant(work: AuthenticatedWork) -> TenantOut:
    """Code, name, product, status, notice contacts and security settings of the
    tenant the credentials belong to."""
    tenants = work.resolve(TenantService)
    return await work(lambda s: to_out(tenants.read_own(s, work.principal)))


@router.get("/contacts", response_model=list[Contact], summary="The tenant's contacts")
async def list_contacts(work: ManageUsers) -> list[Contact]:
    """Who hears the tenant's notices, with their roles (security, notice, billing,
    technical); the README's "Who is notified" says which notice goes to which role."""
    tenants = work.resolve(TenantService)
    return await work(lambda s: tenants.list_contacts(s, work.principal))


@router.post(
    "/contacts",
    status_code=201,
    response_model=Contact,
    summary="Add a contact",
    responses={
        200: {"model": Contact, "description": "merged into the contact with this address"},
        **_CONTACT_ERRORS,
    },
)
async def add_contact(body: ContactIn, work: ManageUsers) -> Response:
    """Add a contact (201), or merge the roles into the contact that has the address (200)."""
    tenants = work.resolve(TenantService)
    contact, merged = await work(lambda s: tenants.add_contact(s, work.principal, body))
    return JsonResponse(contact.model_dump(mode="json"), status_code=200 if merged else 201)


@router.put(
    "/contacts/{contact_id}",
    response_model=Contact,
    summary="Replace a contact",
    responses=_CONTACT_ERRORS,
)
async def update_contact(contact_id: uuid.UUID, body: ContactIn, work: ManageUsers) -> Contact:
    """Replace a contact's address, roles, name and language; its id stays."""
    tenants = work.resolve(TenantService)
    return await work(lambda s: tenants.update_contact(s, work.principal, contact_id, body))


@router.delete("/contacts/{contact_id}", status_code=204, summary="Remove a contact")
async def remove_contact(contact_id: uuid.UUID, work: ManageUsers) -> Response:
    tenants = work.resolve(TenantService)
    await work(lambda s: tenants.remove_contact(s, work.principal, contact_id))
    return Response(status_code=204)
