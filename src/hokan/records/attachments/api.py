"""Attachments API: ``/api/v1/collections/{c}/records/{id}/attachments[/{attachment_id}]``.

Upload as ``multipart/form-data`` (the file in a part named ``file``) or as a
raw body whose ``Content-Type`` is the file's type (name it with
``?filename=`` or ``Content-Disposition``). The content's real type is sniffed
and must match; the file is scanned for malware before it is accepted.
"""

from __future__ import annotations

import base64
import uuid
from typing import Annotated
from urllib.parse import quote

from anyio import to_thread
from fastapi import Query, Request, Response
from fastapi.responses import StreamingResponse

from hokan.httpkit.auth import ReadRecords, WriteRecords
from hokan.httpkit.body import body_limit
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.kit.errors import PayloadTooLarge
from hokan.records.attachments.service import AttachmentService, AttachmentView, Received
from hokan.records.attachments.upload import MULTIPART_OVERHEAD, from_request, pull

router = Router(prefix="/api/v1/collections", tags=["attachments"])
_BASE = "/{collection}/records/{record_id}/attachments"
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _json(view: AttachmentView) -> dict[str, object]:
    return {
        "id": str(view.id),
        "filename": view.filename,
        "content_type": view.content_type,
        "size": view.size,
        "sha256": view.sha256,
        "created_by": view.created_by,
        "created_at": view.created_at.isoformat().replace("+00:00", "Z"),
    }


@router.post(
    _BASE,
    status_code=201,
    summary="Attach a file to a record",
    openapi_extra=_UPLOAD_BODY,
    responses={
        413: {"description": "Larger than HOKAN_ATTACHMENT_MAX_BYTES"},
        415: {"description": "attachment_type_not_allowed / attachment_type_mismatch"},
        422: {"description": "malware_detected: refused and quarantined"},
    },
)
@body_limit("attachment_max_bytes", overhead=MULTIPART_OVERHEAD)
async def upload_attachment(
    collection: str,
    record_id: str,
    request: Request,
    work: WriteRecords,
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    """Stream a file in, check its type, scan it, and store it encrypted with the tenant key."""
    limit = work.host.settings.attachment_max_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
        raise PayloadTooLarge("limit", limit=limit)
    attachments = work.resolve(AttachmentService)
    admission = await work(lambda s: attachments.admit(s, work.principal, collection, record_id))
    stream = request.stream().__aiter__()

    def receive() -> Received:
        upload = from_request(
            pull(stream),
            request.headers.get("content-type"),
            request.headers.get("content-disposition"),
            filename,
            limit,
        )
        return attachments.receive(admission, upload)

    # No transaction is open while the body streams in (SQLite's writer lock stays free).
    received = await work.step(receive, in_thread=True)
    view = await work(lambda s: attachments.store(s, work.principal, received), in_thread=True)
    location = f"/api/v1/collections/{collection}/records/{record_id}/attachments/{view.id}"
    return JsonResponse(_json(view), status_code=201, headers={"Location": location})


@router.get(_BASE, summary="List a record's attachments")
async def list_attachments(collection: str, record_id: str, work: ReadRecords) -> Response:
    attachments = work.resolve(AttachmentService)
    views = await work(lambda s: attachments.listing(s, work.principal, collection, record_id))
    return JsonResponse([_json(v) for v in views])


@router.get(_BASE + "/{attachment_id}", summary="Download an attachment")
async def download_attachment(
    collection: str, record_id: str, attachment_id: uuid.UUID, work: ReadRecords
) -> Response:
    """The file as uploaded, decrypted and integrity-checked as it streams out."""
    attachments = work.resolve(AttachmentService)
    view, stream = await work(
        lambda s: attachments.open(s, work.principal, collection, record_id, attachment_id),
        in_thread=True,
    )
    digest = base64.b64encode(bytes.fromhex(view.sha256)).decode()
    headers = {
        "Content-Length": str(view.size),
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(view.filename, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{view.sha256}"',
        "Repr-Digest": f"sha-256=:{digest}:",
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(stream, media_type=view.content_type, headers=headers)


@router.delete(_BASE + "/{attachment_id}", status_code=204, summary="Delete an attachment")
async def delete_attachment(
    collection: str, record_id: str, attachment_id: uuid.UUID, work: WriteRecords
) -> Response:
    attachments = work.resolve(AttachmentService)
    blob_key = await work(
        lambda s: attachments.delete(s, work.principal, collection, record_id, attachment_id)
    )
    await to_thread.run_sync(attachments.discard, blob_key)
    return Response(status_code=204)
