"""What the records domain hands to its callers: views of records, revisions and
collections, name rules, and ``If-Match`` parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from hokan.records.errors import InvalidName

COLLECTION_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
RECORD_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")

IfMatch = set[int] | Literal["*"] | None


class SealedRow(Protocol):
    """A stored revision: an ORM row or a Core row with these columns."""

    revision: int
    key_version: int | None
    wrapped_dek: bytes | None
    ciphertext: bytes | None


class RecordRow(SealedRow, Protocol):
    record_key: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecordView:
    key: str
    collection: str
    revision: int
    created_at: datetime
    updated_at: datetime
    deleted: bool
    data: dict[str, Any] | None

    @property
    def etag(self) -> str:
        return f'"{self.revision}"'


@dataclass(frozen=True, slots=True)
class RecordPage:
    items: list[RecordView]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class RevisionView:
    revision: int
    operation: str
    actor: str
    size: int
    created_at: datetime
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CollectionView:
    name: str
    json_schema: dict[str, Any] | None
    schema_version: int
    record_count: int
    created_at: datetime
    updated_at: datetime


def parse_if_match(header: str | None) -> IfMatch:
    """Parse ``If-Match``: ``*``, or a list of (weak or strong) revision ETags."""
    if header is None:
        return None
    header = header.strip()
    if header == "*":
        return "*"
    revisions: set[int] = set()
    for part in header.split(","):
        tag = part.strip().removeprefix("W/").strip('"')
        if tag.isdigit() and len(tag) < 10:
            revisions.add(int(tag))
    # An unparseable tag can never match: the write must fail, not go through.
    return revisions or {-1}


def check_names(collection: str, key: str | None = None) -> None:
    if not COLLECTION_NAME.match(collection):
        raise InvalidName("collection", pattern=COLLECTION_NAME.pattern)
    if key is not None and not RECORD_KEY.match(key):
        raise InvalidName("record_id", pattern=RECORD_KEY.pattern)
