"""Request and response models of the vault API."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hokan.kit.clock import iso
from hokan.models import DeletionReason
from hokan.vault.numbers import NumberKind
from hokan.vault.views import DeletionView, EntryView


class NumberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(
        max_length=64,
        description="12 digits (13 if corporate); hyphens, spaces, full-width digits accepted",
    )
    kind: NumberKind = NumberKind.individual
    collection: str = Field(
        default="staff", description="The collection of the staff member's record"
    )
    record_id: str = Field(description="The staff member's record id in the tenant's system data")
    delete_after: AwareDatetime | None = Field(
        default=None, description="Scheduled deletion (purpose end)"
    )

    def __repr__(self) -> str:  # never the number
        return f"NumberIn(kind={self.kind.value!r})"

    __str__ = __repr__


class PurposeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(
        description="利用目的: social_security (社会保障), tax (税) or disaster (災害対策)",
        json_schema_extra={"enum": ["social_security", "tax", "disaster"]},
    )


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delete_after: AwareDatetime | None = Field(description="When to delete; null cancels")
    reason: DeletionReason = DeletionReason.purpose_ended


class EntryOut(BaseModel):
    id: str
    kind: str
    collection: str
    record_id: str
    masked: str | None = Field(description="********1234 (numbers); null for documents")
    content_type: str | None
    size: int
    created_at: str
    created_by: str
    delete_after: str | None
    deletion_reason: str | None


class EntryPageOut(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None


class RevealOut(BaseModel):
    entry: EntryOut
    number: str
    purpose: str


class DeletionOut(BaseModel):
    entry_id: str
    kind: str
    reason: str
    registered_at: str
    deleted_at: str
    deleted_by: str
    scheduled_by: str | None
    stores_cleared: list[int]
    stores_pending: list[int]
    key_destroyed: bool


def entry_json(view: EntryView) -> dict[str, Any]:
    return {
        "id": str(view.id),
        "kind": view.kind.value,
        "collection": view.collection,
        "record_id": view.record_id,
        "masked": view.masked,
        "content_type": view.content_type,
        "size": view.size,
        "created_at": iso(view.created_at),
        "created_by": view.created_by,
        "delete_after": iso(view.delete_after) if view.delete_after else None,
        "deletion_reason": view.deletion_reason.value if view.deletion_reason else None,
    }


def deletion_json(view: DeletionView) -> dict[str, Any]:
    return {
        "entry_id": str(view.entry_id),
        "kind": view.kind.value,
        "reason": view.reason.value,
        "registered_at": iso(view.registered_at),
        "deleted_at": iso(view.deleted_at),
        "deleted_by": view.deleted_by,
        "scheduled_by": view.scheduled_by,
        "stores_cleared": [i + 1 for i in view.stores_cleared],
        "stores_pending": [i + 1 for i in view.stores_pending],
        "key_destroyed": view.key_destroyed,
    }
