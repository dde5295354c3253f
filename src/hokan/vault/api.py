"""Vault API for My Number clerks: ``/api/v1/vault`` (MYN-2..7).

Every route needs a tenant user with the My Number clerk role or the tenant's
API token with a vault scope; everyone else gets 403 and the attempt is
audited. Reading a number or a document needs a purpose (利用目的:
``social_security``, ``tax`` or ``disaster``), recorded in the audit trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from hokan.audit.calls import audited
from hokan.edge.context import RuntimeDep
from hokan.httpkit.body import read_body
from hokan.httpkit.responses import JsonResponse
from hokan.kit.errors import PayloadTooLarge
from hokan.models import DeletionReason, VaultEntryKind
from hokan.principals.principal import Principal
from hokan.runtime import Runtime
from hokan.vault.access import TARGET, purpose_label
from hokan.vault.dependencies import VaultReader, VaultWriter
from hokan.vault.schemas import (
    DeletionOut,
    EntryOut,
    EntryPageOut,
    NumberIn,
    PurposeIn,
    RevealOut,
    ScheduleIn,
    deletion_json,
    entry_json,
)
from hokan.vault.views import DeletionView, EntryPage, EntryView, RecordLink

T = TypeVar("T")
router = APIRouter(prefix="/api/v1/vault", tags=["vault"])
_NO_STORE = {"Cache-Control": "no-store"}
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
_DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in _EXTENSIONS},
    }
}


@router.post(
    "/numbers",
    name="vault.number.register",
    status_code=201,
    response_model=EntryOut,
    summary="Register an individual (or corporate) number",
)
async def register_number(body: NumberIn, principal: VaultWriter, runtime: RuntimeDep) -> Response:
    """Validate the check digit and store the number encrypted and split over the fragment stores.

    Linked to the staff member's record id, never to a name. The answer shows it masked.
    """

    def work() -> EntryView:
        link = RecordLink(body.collection, body.record_id)
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            return runtime.vault.register_number(
                s, principal, body.number, body.kind, link, body.delete_after
            )

    view = await audited(
        runtime,
        principal,
        "vault.number.register",
        TARGET,
        "",
        work,
        detail={"kind": body.kind.value},
    )
    return JsonResponse(entry_json(view), status_code=201, headers=_NO_STORE)


@router.post(
    "/documents",
    name="vault.document.register",
    status_code=201,
    response_model=EntryOut,
    summary="Register an identity document (JPEG, PNG or PDF)",
    openapi_extra=_DOCUMENT_BODY,
)
async def register_document(
    request: Request,
    principal: VaultWriter,
    runtime: RuntimeDep,
    record_id: Annotated[str, Query(description="The staff member's record id")],
    collection: Annotated[str, Query()] = "staff",
    delete_after: Annotated[AwareDatetime | None, Query()] = None,
) -> Response:
    """The request body is the file itself. Its type is judged by content; it is scanned for
    malware and refused above ``HOKAN_VAULT_MAX_DOCUMENT_BYTES``."""
    try:
        data: bytes | None = await read_body(request, runtime.settings.vault_max_document_bytes)
    except PayloadTooLarge:
        data = None  # refused (and audited) by the service

    def work() -> EntryView:
        link = RecordLink(collection, record_id)
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            return runtime.vault.register_document(s, principal, data, link, delete_after)

    view = await audited(runtime, principal, "vault.document.register", TARGET, "", work)
    return JsonResponse(entry_json(view), status_code=201, headers=_NO_STORE)


@router.get(
    "/entries", name="vault.number.list", response_model=EntryPageOut, summary="List entries"
)
async def list_entries(
    principal: VaultReader,
    runtime: RuntimeDep,
    record_id: str | None = None,
    collection: str | None = None,
    kind: VaultEntryKind | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    """The tenant's vault entries, numbers masked (``********1234``), oldest first."""

    def work() -> EntryPage:
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            return runtime.vault.list_entries(
                s,
                principal,
                collection=collection,
                record_id=record_id,
                kind=kind,
                limit=limit,
                cursor=cursor,
            )

    page = await audited(runtime, principal, "vault.number.list", TARGET, "*", work)
    return JsonResponse(
        {"items": [entry_json(v) for v in page.items], "next_cursor": page.next_cursor},
        headers=_NO_STORE,
    )


async def _for_purpose(
    runtime: Runtime,
    principal: Principal,
    action: str,
    entry_id: uuid.UUID,
    purpose: str,
    read: Callable[[Session], T],
) -> T:
    """A read of vault contents: its failure is audited with the (known) purpose too."""

    def work() -> T:
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            return read(s)

    detail = {"purpose": purpose_label(purpose)}
    return await audited(runtime, principal, action, TARGET, str(entry_id), work, detail=detail)


@router.post(
    "/entries/{entry_id}/reveal",
    name="vault.number.reveal",
    response_model=RevealOut,
    summary="Show one full number, for a stated purpose",
)
async def reveal(
    entry_id: uuid.UUID, body: PurposeIn, principal: VaultReader, runtime: RuntimeDep
) -> Response:
    """The full number. The purpose (social_security, tax, disaster) is recorded in the audit
    trail with the entry id; nothing else is accepted."""

    view, digits = await _for_purpose(
        runtime,
        principal,
        "vault.number.reveal",
        entry_id,
        body.purpose,
        lambda s: runtime.vault.reveal(s, principal, entry_id, body.purpose),
    )
    return JsonResponse(
        {"entry": entry_json(view), "number": digits, "purpose": body.purpose},
        headers=_NO_STORE,
    )


@router.post(
    "/entries/{entry_id}/download",
    name="vault.document.download",
    summary="Download one identity document, for a stated purpose",
    responses={200: {"content": {t: {} for t in _EXTENSIONS}}},
)
async def download(
    entry_id: uuid.UUID, body: PurposeIn, principal: VaultReader, runtime: RuntimeDep
) -> Response:
    """The document's bytes. The purpose is recorded in the audit trail."""

    view, data = await _for_purpose(
        runtime,
        principal,
        "vault.document.download",
        entry_id,
        body.purpose,
        lambda s: runtime.vault.download(s, principal, entry_id, body.purpose),
    )
    content_type = view.content_type or "application/octet-stream"
    name = f"{view.id}.{_EXTENSIONS.get(content_type, 'bin')}"
    return Response(
        data,
        media_type=content_type,
        headers={
            **_NO_STORE,
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.put(
    "/entries/{entry_id}/deletion",
    name="vault.entry.schedule_deletion",
    response_model=EntryOut,
    summary="Schedule (or cancel) an entry's deletion",
)
async def schedule_deletion(
    entry_id: uuid.UUID, body: ScheduleIn, principal: VaultWriter, runtime: RuntimeDep
) -> Response:
    """When the purpose ends: ``hokan vault purge-due`` deletes the entry after this time."""

    def work() -> EntryView:
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            return runtime.vault.schedule_deletion(
                s, principal, entry_id, body.delete_after, body.reason
            )

    view = await audited(
        runtime, principal, "vault.entry.schedule_deletion", TARGET, str(entry_id), work
    )
    return JsonResponse(entry_json(view))


@router.delete(
    "/entries/{entry_id}",
    name="vault.entry.delete",
    response_model=DeletionOut,
    summary="Delete an entry now",
)
async def delete_entry(
    entry_id: uuid.UUID,
    principal: VaultWriter,
    runtime: RuntimeDep,
    reason: DeletionReason = DeletionReason.purpose_ended,
) -> Response:
    """Destroys the entry's key and removes its fragments from every store; returns the
    deletion record (who, when, why, which stores — never the content)."""

    def work() -> DeletionView:
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            return runtime.vault.delete_now(s, principal, entry_id, reason)

    view = await audited(runtime, principal, "vault.entry.delete", TARGET, str(entry_id), work)
    return JsonResponse(deletion_json(view))


@router.get(
    "/deletions",
    name="vault.deletion.list",
    response_model=list[DeletionOut],
    summary="Deletion records",
)
async def deletions(principal: VaultReader, runtime: RuntimeDep) -> Response:
    """The tenant's deletion records, newest first (MYN-6)."""

    def work() -> list[DeletionView]:
        with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
            return runtime.vault.deletions(s, principal)

    views = await audited(runtime, principal, "vault.deletion.list", TARGET, "*", work)
    return JsonResponse([deletion_json(v) for v in views])
