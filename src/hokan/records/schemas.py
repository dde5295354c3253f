"""Response shapes of the records API (documented in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from hokan.kit.clock import iso
from hokan.records.views import CollectionView, RecordView, RevisionView


class RecordOut(BaseModel):
    id: str = Field(description="Record id within the collection")
    collection: str
    revision: int = Field(description="Revision number; the ETag is this number quoted")
    created_at: datetime
    updated_at: datetime
    deleted: bool = False
    data: dict[str, Any] | None = Field(
        description="The record's JSON object (null for a deleted record)"
    )


class RecordPageOut(BaseModel):
    items: list[RecordOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null at the end"
    )


class RevisionOut(BaseModel):
    revision: int
    operation: str = Field(description="create, replace, patch or delete")
    actor: str
    size: int
    created_at: datetime
    data: dict[str, Any] | None = None


class CollectionOut(BaseModel):
    name: str
    json_schema: dict[str, Any] | None
    schema_version: int
    record_count: int | None = None
    created_at: datetime
    updated_at: datetime


def record_json(view: RecordView) -> dict[str, Any]:
    # Built by hand: this is the hot path and the shape is fixed.
    return {
        "id": view.key,
        "collection": view.collection,
        "revision": view.revision,
        "created_at": iso(view.created_at),
        "updated_at": iso(view.updated_at),
        "deleted": view.deleted,
        "data": view.data,
    }


def revision_json(view: RevisionView, with_data: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "revision": view.revision,
        "operation": view.operation,
        "actor": view.actor,
        "size": view.size,
        "created_at": iso(view.created_at),
    }
    if with_data:
        out["data"] = view.data
    return out


def collection_json(view: CollectionView) -> dict[str, Any]:
    return {
        "name": view.name,
        "json_schema": view.json_schema,
        "schema_version": view.schema_version,
        "record_count": view.record_count if view.record_count >= 0 else None,
        "created_at": iso(view.created_at),
        "updated_at": iso(view.updated_at),
    }
