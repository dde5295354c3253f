"""Vault API for My Number clerks: ``/api/v1/vault`` (MYN-2..7).

Every route needs a tenant user with the My Number clerk role or the tenant's
API token with a vault scope; everyone else gets 403 and the attempt is
audited. Reading a number or a document needs a purpose (利用目的:
``social_security``, ``tax`` or ``disaster``), recorded in the audit trail.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response
from pydantic import AwareDatetime

from hokan.httpkit.body import body_limit, read_body
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.kit.errors import PayloadTooLarge
from hokan.models import DeletionReason, VaultEntryKind
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
from hokan.vault.service import VaultService
from hokan.vault.views import RecordLink

router = Router(prefix="/api/v1/vault", tags=["vault"])
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
    responses={
        409: {
            "description": "vault_entry_exists: the number is live for this record and kind; "
            "`entry_id` names that entry"
        }
    },
)
async def register_number(body: NumberIn, work: VaultWriter) -> Response:
    """Validate the check digit and store the number encrypted and split over the fragment stores.

    Linked to the staff member's record id, never to a name. The answer shows it masked.
    The same number already live for the same record and kind is refused (409
    ``vault_entry_exists`` with the entry's id, nothing else).
    """
    vault = work.resolve(VaultService)
    link = RecordLink(body.collection, body.record_id)
    view = await work(
        lambda s: vault.register_number(
            s, work.principal, body.number, body.kind, link, body.delete_after
        )
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
@body_limit("vault_max_document_bytes")
async def register_document(
    request: Request,
    work: VaultWriter,
    record_id: Annotated[str, Query(description="The staff member's record id")],
    collection: Annotated[str, Query()] = "staff",
    delete_after: Annotated[AwareDatetime | None, Query()] = None,
) -> Response:
    """The request body is the file itself. Its type is judged by content; it is scanned for
    malware and refused above ``HOKAN_VAULT_MAX_DOCUMENT_BYTES``."""
    vault = work.resolve(VaultService)
    try:
        data: bytes | None = await read_body(request, vault.max_document_bytes)
    except PayloadTooLarge:
        data = None  # refused (and audited) by the service
    link = RecordLink(collection, record_id)
    view = await work(
        lambda s: vault.register_document(s, work.principal, data, link, delete_after)
    )
    return JsonResponse(entry_json(view), status_code=201, headers=_NO_STORE)


@router.get(
    "/entries", name="vault.number.list", response_model=EntryPageOut, summary="List entries"
)
async def list_entries(
    work: VaultReader,
    record_id: str | None = None,
    collection: str | None = None,
    kind: VaultEntryKind | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    """The tenant's vault entries, numbers masked (``********1234``), oldest first."""
    vault = work.resolve(VaultService)
    page = await work(
        lambda s: vault.list_entries(
            s,
            work.principal,
            collection=collection,
            record_id=record_id,
            kind=kind,
            limit=limit,
            cursor=cursor,
        )
    )
    return JsonResponse(
        {"items": [entry_json(v) for v in page.items], "next_cursor": page.next_cursor},
        headers=_NO_STORE,
    )


@router.post(
    "/entries/{entry_id}/reveal",
    name="vault.number.reveal",
    response_model=RevealOut,
    summary="Show one full number, for a stated purpose",
)
async def reveal(entry_id: uuid.UUID, body: PurposeIn, work: VaultReader) -> Response:
    """The full number. The purpose (social_security, tax, disaster) is recorded in the audit
    trail with the entry id; nothing else is accepted."""
    vault = work.resolve(VaultService)
    view, digits = await work(lambda s: vault.reveal(s, work.principal, entry_id, body.purpose))
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
async def download(entry_id: uuid.UUID, body: PurposeIn, work: VaultReader) -> Response:
    """The document's bytes. The purpose is recorded in the audit trail."""
    vault = work.resolve(VaultService)
    view, data = await work(lambda s: vault.download(s, work.principal, entry_id, body.purpose))
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
async def schedule_deletion(entry_id: uuid.UUID, body: ScheduleIn, work: VaultWriter) -> Response:
    """When the purpose ends: ``hokan vault purge-due`` deletes the entry after this time."""
    vault = work.resolve(VaultService)
    view = await work(
        lambda s: vault.schedule_deletion(
            s, work.principal, entry_id, body.delete_after, body.reason
        )
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
    work: VaultWriter,
    reason: DeletionReason | None = None,
) -> Response:
    """``reason`` is required (400 ``deletion_reason_required`` without it).
    Destroys the entry's key and removes its fragments from every store; returns the
    deletion record (who, when, why, which stores — never the content)."""
    vault = work.resolve(VaultService)
    view = await work(lambda s: vault.delete_now(s, work.principal, entry_id, reason))
    return JsonResponse(deletion_json(view))


@router.get(
    "/deletions",
    name="vault.deletion.list",
    response_model=list[DeletionOut],
    summary="Deletion records",
)
async def deletions(work: VaultReader) -> Response:
    """The tenant's deletion records, newest first (MYN-6)."""
    vault = work.resolve(VaultService)
    views = await work(lambda s: vault.deletions(s, work.principal))
    return JsonResponse([deletion_json(v) for v in views])
