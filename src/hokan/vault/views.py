"""What the vault service hands back: views of entries and deletion records, no content."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from hokan.models import DeletionReason, VaultDeletion, VaultEntry, VaultEntryKind
from hokan.records.views import COLLECTION_NAME, RECORD_KEY
from hokan.vault.errors import InvalidRecordLink


@dataclass(frozen=True, slots=True)
class RecordLink:
    collection: str
    record_id: str

    def __post_init__(self) -> None:
        if not COLLECTION_NAME.match(self.collection) or not RECORD_KEY.match(self.record_id):
            raise InvalidRecordLink


@dataclass(frozen=True, slots=True)
class EntryView:
    id: uuid.UUID
    kind: VaultEntryKind
    collection: str
    record_id: str
    masked: str | None  # ********1234 for numbers that could be opened
    content_type: str | None
    size: int
    created_at: datetime
    created_by: str
    delete_after: datetime | None
    deletion_reason: DeletionReason | None


@dataclass(frozen=True, slots=True)
class EntryPage:
    items: list[EntryView]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class DeletionView:
    entry_id: uuid.UUID
    kind: VaultEntryKind
    reason: DeletionReason
    registered_at: datetime
    deleted_at: datetime
    deleted_by: str
    scheduled_by: str | None
    stores_cleared: list[int]
    stores_pending: list[int]
    key_destroyed: bool


def entry_view(entry: VaultEntry, masked: str | None = None) -> EntryView:
    return EntryView(
        entry.id,
        entry.kind,
        entry.record_collection,
        entry.record_key,
        masked,
        entry.content_type,
        entry.size,
        entry.created_at,
        entry.created_by,
        entry.delete_after,
        entry.deletion_reason,
    )


def deletion_view(row: VaultDeletion) -> DeletionView:
    return DeletionView(
        row.entry_id,
        row.kind,
        row.reason,
        row.registered_at,
        row.deleted_at,
        row.deleted_by,
        row.scheduled_by,
        list(row.stores_cleared),
        list(row.stores_pending),
        row.key_destroyed,
    )
