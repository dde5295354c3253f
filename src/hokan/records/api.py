"""Records API: ``/api/v1/collections/{collection}/records/{id}`` (REC-1..3).

Request bodies are the record's JSON object itself; responses wrap it with its
metadata. Every response for one record carries its revision as ``ETag``;
send it back as ``If-Match`` to write without losing anyone else's change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from anyio import to_thread
from fastapi import Depends, Header, Query, Request, Response

from hokan.httpkit.auth import ManageCollections, ReadRecords, WriteRecords
from hokan.httpkit.body import JSON_TYPES, body_limit, read_json
from hokan.httpkit.params import Revision
from hokan.httpkit.responses import JsonResponse
from hokan.httpkit.routing import Router
from hokan.records.attachments.service import AttachmentService
from hokan.records.schemas import (
    CollectionOut,
    RecordOut,
    RecordPageOut,
    RevisionOut,
    collection_json,
    record_json,
    revision_json,
)
from hokan.records.service import RecordService
from hokan.records.views import RecordView, parse_if_match

router = Router(prefix="/api/v1/collections", tags=["records"])

_JSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}}
        },
    }
}
_PATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/merge-patch+json": {
                "schema": {"type": "object", "additionalProperties": True}
            }
        },
    }
}


SCHEMA_TYPES = frozenset({"application/json", "application/schema+json"})


# Within the route's body limit (``@body_limit``), enforced by the IPS and read_json.
async def _record_body(request: Request) -> Any:
    return await read_json(request, accept=frozenset({"application/json"}))


async def _patch_body(request: Request) -> Any:
    return await read_json(request, accept=JSON_TYPES)


async def _schema_body(request: Request) -> Any:
    return await read_json(
        request, accept=frozenset({"application/json", "application/schema+json"})
    )


RecordBody = Annotated[Any, Depends(_record_body)]
PatchBody = Annotated[Any, Depends(_patch_body)]
SchemaBody = Annotated[Any, Depends(_schema_body)]
IfMatchHeader = Annotated[str | None, Header(alias="If-Match")]
IfNoneMatchHeader = Annotated[str | None, Header(alias="If-None-Match")]


def _one(view: RecordView, status: int = 200, location: str | None = None) -> JsonResponse:
    headers = {"ETag": view.etag}
    if location:
        headers["Location"] = location
    return JsonResponse(record_json(view), status_code=status, headers=headers)


def _location(collection: str, key: str) -> str:
    return f"/api/v1/collections/{collection}/records/{key}"


@router.get("", response_model=list[CollectionOut], summary="List collections")
async def list_collections(work: ReadRecords) -> Response:
    """The tenant's collections with their record counts and schemas."""
    records = work.resolve(RecordService)
    views = await work(lambda s: records.list_collections(s, work.principal))
    return JsonResponse([collection_json(v) for v in views])


@router.get(
    "/{collection}/schema", response_model=CollectionOut, summary="Get a collection's schema"
)
async def get_schema(collection: str, work: ReadRecords) -> Response:
    records = work.resolve(RecordService)
    view = await work(lambda s: records.get_schema(s, work.principal, collection))
    return JsonResponse(collection_json(view))


@router.put(
    "/{collection}/schema",
    response_model=CollectionOut,
    summary="Set a collection's JSON Schema",
    openapi_extra=_JSON_BODY,
)
@body_limit("max_schema_bytes")
async def put_schema(collection: str, work: ManageCollections, body: SchemaBody) -> Response:
    """Set the JSON Schema (draft 2020-12) every later write to the collection must satisfy.

    Existing records are not re-validated.
    """
    records = work.resolve(RecordService)
    view = await work(lambda s: records.set_schema(s, work.principal, collection, body))
    return JsonResponse(collection_json(view))


@router.delete(
    "/{collection}/schema", response_model=CollectionOut, summary="Remove a collection's schema"
)
async def delete_schema(collection: str, work: ManageCollections) -> Response:
    records = work.resolve(RecordService)
    view = await work(lambda s: records.delete_schema(s, work.principal, collection))
    return JsonResponse(collection_json(view))


@router.get("/{collection}/records", response_model=RecordPageOut, summary="List records")
async def list_records(
    collection: str,
    work: ReadRecords,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    updated_since: Annotated[
        datetime | None, Query(description="ISO 8601; records updated at or after")
    ] = None,
    include_deleted: Annotated[
        bool, Query(description="Include tombstones of deleted records")
    ] = False,
) -> Response:
    """Records ordered by (updated time, id), for paging and incremental sync."""
    settings = work.host.settings
    size = min(limit or settings.page_size_default, settings.page_size_max)
    if updated_since is not None and updated_since.tzinfo is None:
        updated_since = updated_since.replace(tzinfo=UTC)
    records = work.resolve(RecordService)
    page = await work(
        lambda s: records.page(
            s,
            work.principal,
            collection,
            limit=size,
            cursor=cursor,
            updated_since=updated_since,
            include_deleted=include_deleted,
        )
    )
    return JsonResponse(
        {"items": [record_json(v) for v in page.items], "next_cursor": page.next_cursor}
    )


@router.post(
    "/{collection}/records",
    status_code=201,
    response_model=RecordOut,
    summary="Create a record",
    openapi_extra=_JSON_BODY,
)
@body_limit("max_record_bytes")
async def create_record(collection: str, work: WriteRecords, body: RecordBody) -> Response:
    """Create a record with a server-chosen id (returned, and in ``Location``)."""
    records = work.resolve(RecordService)
    view = await work(lambda s: records.create(s, work.principal, collection, body))
    return _one(view, 201, _location(collection, view.key))


@router.get("/{collection}/records/{record_id}", response_model=RecordOut, summary="Read a record")
async def get_record(
    collection: str,
    record_id: str,
    work: ReadRecords,
    if_none_match: IfNoneMatchHeader = None,
) -> Response:
    records = work.resolve(RecordService)
    view = await work(lambda s: records.get(s, work.principal, collection, record_id))
    if if_none_match is not None:
        tags = parse_if_match(if_none_match)
        if tags == "*" or (isinstance(tags, set) and view.revision in tags):
            return Response(status_code=304, headers={"ETag": view.etag})
    return _one(view)


@router.put(
    "/{collection}/records/{record_id}",
    response_model=RecordOut,
    summary="Create or replace a record",
    responses={201: {"model": RecordOut}, 412: {"description": "Stale If-Match"}},
    openapi_extra=_JSON_BODY,
)
@body_limit("max_record_bytes")
async def put_record(
    collection: str,
    record_id: str,
    work: WriteRecords,
    body: RecordBody,
    if_match: IfMatchHeader = None,
    if_none_match: IfNoneMatchHeader = None,
) -> Response:
    """Replace the record (201 when it is created). ``If-Match: "<revision>"`` makes it safe
    against concurrent writers; ``If-None-Match: *`` only creates."""
    records = work.resolve(RecordService)
    view, created = await work(
        lambda s: records.put(
            s,
            work.principal,
            collection,
            record_id,
            body,
            if_match=parse_if_match(if_match),
            if_none_match=(if_none_match or "").strip() == "*",
        )
    )
    return _one(
        view, 201 if created else 200, _location(collection, record_id) if created else None
    )


@router.patch(
    "/{collection}/records/{record_id}",
    response_model=RecordOut,
    summary="Merge-patch a record",
    openapi_extra=_PATCH_BODY,
)
@body_limit("max_record_bytes")
async def patch_record(
    collection: str,
    record_id: str,
    work: WriteRecords,
    body: PatchBody,
    if_match: IfMatchHeader = None,
) -> Response:
    """Apply a JSON merge patch (RFC 7396): ``null`` removes a member."""
    records = work.resolve(RecordService)
    view = await work(
        lambda s: records.patch(
            s, work.principal, collection, record_id, body, if_match=parse_if_match(if_match)
        )
    )
    return _one(view)


@router.delete("/{collection}/records/{record_id}", status_code=204, summary="Delete a record")
async def delete_record(
    collection: str,
    record_id: str,
    work: WriteRecords,
    if_match: IfMatchHeader = None,
) -> Response:
    """Delete the record. Its revisions are kept; listings with ``include_deleted`` show it."""
    records = work.resolve(RecordService)
    await work(
        lambda s: records.delete(
            s, work.principal, collection, record_id, if_match=parse_if_match(if_match)
        )
    )
    tenant_id = work.principal.tenant_id
    if tenant_id is not None:  # the shredded attachments' blobs, best effort
        await to_thread.run_sync(work.resolve(AttachmentService).purge_shredded, tenant_id)
    return Response(status_code=204)


@router.get(
    "/{collection}/records/{record_id}/revisions",
    response_model=list[RevisionOut],
    summary="List revisions",
)
async def list_revisions(collection: str, record_id: str, work: ReadRecords) -> Response:
    records = work.resolve(RecordService)
    views = await work(lambda s: records.revisions(s, work.principal, collection, record_id))
    return JsonResponse([revision_json(v, with_data=False) for v in views])


@router.get(
    "/{collection}/records/{record_id}/revisions/{revision}",
    response_model=RevisionOut,
    summary="Read one revision",
)
async def get_revision(
    collection: str, record_id: str, revision: Revision, work: ReadRecords
) -> Response:
    records = work.resolve(RecordService)
    view = await work(
        lambda s: records.revision(s, work.principal, collection, record_id, revision)
    )
    return JsonResponse(revision_json(view, with_data=True))
