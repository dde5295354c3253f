"""Copies of the signed checkpoints outside the system database (ADR 0011).

After each checkpoint run, every chain's latest signed checkpoint is written to
the blob store (``DATA_DIR/blobs`` or S3) as one document,
``audit-checkpoints/heads.json``. Whoever can write the system database can
delete checkpoint rows and truncate a chain behind them; they cannot also roll
this copy back unless they can write the blob store too, and they cannot forge
it (each checkpoint is signed). :func:`write` never lowers a chain's anchor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hokan.audit.canonical import canonical_value
from hokan.blobs import BlobMissing, BlobStore

KEY = "audit-checkpoints/heads.json"
FORMAT = "hokan-audit-anchors-v1"
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


class AnchorsUnreadable(Exception):
    """The blob-store copy exists but cannot be read."""


def as_json(cp: Any) -> dict[str, Any]:
    return {
        "chain": cp.chain,
        "seq": int(cp.seq),
        "head_hash": cp.head_hash,
        "created_at": canonical_value(cp.created_at),
        "key_id": cp.key_id,
        "signature": cp.signature,
    }


def from_json(data: Mapping[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(
        chain=str(data["chain"]),
        seq=int(data["seq"]),
        head_hash=str(data["head_hash"]),
        created_at=datetime.strptime(str(data["created_at"]), _TIME).replace(tzinfo=UTC),
        key_id=str(data["key_id"]),
        signature=str(data["signature"]),
    )


def read_all(blobs: BlobStore) -> dict[str, SimpleNamespace]:
    """Every chain's anchor as stored (signatures not checked); {} when none was written."""
    try:
        raw = b"".join(blobs.open(KEY))
    except BlobMissing:
        return {}
    try:
        doc = orjson.loads(raw)
        if doc.get("format") != FORMAT:
            raise ValueError("unknown format")
        return {str(c): from_json(cp) for c, cp in doc["checkpoints"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AnchorsUnreadable(f"{KEY}: {exc}") from None


def read(blobs: BlobStore, public_key: Ed25519PublicKey) -> dict[str, SimpleNamespace]:
    """The anchors whose signature checks (others are ignored when signing)."""
    from hokan.audit.checkpoints import signature_ok

    try:
        found = read_all(blobs)
    except AnchorsUnreadable:
        return {}
    return {c: cp for c, cp in found.items() if signature_ok(public_key, cp)}


def write(blobs: BlobStore, latest: Iterable[Any], known: Mapping[str, Any]) -> None:
    """Store each chain's latest checkpoint, keeping a higher one already stored."""
    merged = {c: as_json(cp) for c, cp in known.items()}
    for cp in latest:
        current = merged.get(cp.chain)
        if current is None or current["seq"] < cp.seq:
            merged[cp.chain] = as_json(cp)
    doc = {"format": FORMAT, "checkpoints": dict(sorted(merged.items()))}
    blobs.put(KEY, [orjson.dumps(doc, option=orjson.OPT_INDENT_2)])
