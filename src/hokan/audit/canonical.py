"""Canonical serialisation and hashing of audit entries (stable, documented).

An entry's bytes are the UTF-8 JSON of :data:`FIELDS` (in that order, as an
object with sorted keys, no insignificant white space, non-ASCII kept), with
times as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, UUIDs as lower-case strings and
``detail`` limited to strings, integers, booleans, null and flat lists of those
(so every engine round-trips it exactly). The entry hash is::

    sha256(b"hokan-audit-v1\\n" + prev_hash + b"\\n" + canonical_bytes)

hex-encoded; the first entry of a chain has ``prev_hash = "0" * 64``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

GENESIS = "0" * 64
FIELDS = (
    "id",
    "chain",
    "seq",
    "occurred_at",
    "tenant_id",
    "actor_type",
    "actor_id",
    "actor_name",
    "role",
    "action",
    "target_type",
    "target_id",
    "source_ip",
    "cert_fingerprint",
    "request_id",
    "result",
    "detail",
    "prev_hash",
)
_SCALARS = (str, int, bool, type(None))


def check_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """Reject detail values that would not round-trip exactly through every engine."""
    out: dict[str, Any] = {}
    for key, value in detail.items():
        if isinstance(value, float) or not (
            isinstance(value, _SCALARS)
            or (isinstance(value, list | tuple) and all(isinstance(v, _SCALARS) for v in value))
        ):
            raise TypeError(f"audit detail {key!r} must be a string, integer, boolean or null")
        out[str(key)] = list(value) if isinstance(value, list | tuple) else value
    return out


def canonical_value(value: Any) -> Any:
    """A field value as it appears in the canonical form (and in export bundles)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def canonical_bytes(entry: Mapping[Any, Any]) -> bytes:
    # orjson with sorted keys writes exactly what
    # json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) writes
    # for these value types (a property test holds it to that), several times faster.
    body = {name: canonical_value(entry[name]) for name in FIELDS}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def hash_of(prev_hash: str, canonical: bytes) -> str:
    return hashlib.sha256(b"hokan-audit-v1\n" + prev_hash.encode() + b"\n" + canonical).hexdigest()


def entry_hash(entry: Mapping[Any, Any]) -> str:
    return hash_of(str(entry["prev_hash"]), canonical_bytes(entry))
