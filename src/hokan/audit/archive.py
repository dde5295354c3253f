"""Archival of old audit entries into compressed, still-verifiable segment files.

Retention is indefinite by default. ``hokan audit archive --older-than-days N``
moves, per chain, the run of entries older than N days that follows the last
segment into ``<archive dir>/<chain>/<first>-<last>.jsonl.gz`` (one canonical
entry per line, as in export bundles), records the segment (file SHA-256, last
entry hash) and only then deletes those entries: the database triggers refuse
to delete an entry no segment covers. Verification reads the segments first and
continues the chain into the database.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select

from hokan.audit import repository
from hokan.audit.canonical import FIELDS, canonical_value
from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.models import AuditEvent, AuditSegment


class SegmentMissing(Exception):
    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True)
class Archived:
    chain: str
    first_seq: int
    last_seq: int
    path: Path


def exported_entry(row: Any) -> dict[str, Any]:
    """An entry in canonical form plus its hash and MAC: the line format of segments and
    bundles (``entry_mac`` is null on entries written before ADR 0011)."""
    return {
        **{name: canonical_value(row[name]) for name in FIELDS},
        "entry_hash": row["entry_hash"],
        "entry_mac": row.get("entry_mac"),
    }


def segments(conn: Connection, chain: str) -> list[Any]:
    stmt = select(AuditSegment).where(AuditSegment.chain == chain).order_by(AuditSegment.first_seq)
    return list(conn.execute(stmt).mappings())


def chain_entries(conn: Connection, chain: str, archive_dir: Path | None) -> Iterator[Any]:
    """The whole chain in order: archived segments, then the entries still in the database.

    Raises :class:`SegmentMissing` when a recorded segment file is absent or altered.
    """
    for seg in segments(conn, chain):
        path = (archive_dir or Path("/nonexistent")) / seg["file_name"]
        try:
            data = path.read_bytes()
        except OSError:
            raise SegmentMissing(
                seg["first_seq"], f"archived segment {seg['file_name']} is missing"
            ) from None
        if hashlib.sha256(data).hexdigest() != seg["file_sha256"]:
            raise SegmentMissing(
                seg["first_seq"], f"archived segment {seg['file_name']} was altered"
            )
        for line in gzip.decompress(data).splitlines():
            yield orjson.loads(line)
    yield from repository.entries(conn, chain)


def _write(path: Path, lines: list[bytes]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = gzip.compress(b"\n".join(lines) + b"\n", mtime=0)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


def archive(db: Database, archive_dir: Path, before: datetime) -> list[Archived]:
    """Move every chain's entries older than ``before`` into segment files."""
    done: list[Archived] = []
    with db.reader(system=True) as conn:
        heads = repository.chains(conn)
    for head in heads:
        with db.session(write=True, system=True) as s:
            conn = s.connection()
            last = (
                conn.execute(
                    select(func.max(AuditSegment.last_seq)).where(AuditSegment.chain == head.chain)
                ).scalar()
                or 0
            )
            rows = list(
                conn.execute(
                    select(*AuditEvent.__table__.c)
                    .where(
                        AuditEvent.chain == head.chain,
                        AuditEvent.seq > last,
                        AuditEvent.occurred_at < before,
                    )
                    .order_by(AuditEvent.seq)
                ).mappings()
            )
            # Only a contiguous run that continues the archive.
            run = [r for i, r in enumerate(rows) if r["seq"] == last + 1 + i]
            if not run:
                continue
            first_seq, last_seq = run[0]["seq"], run[-1]["seq"]
            name = f"{head.chain}/{first_seq:012d}-{last_seq:012d}.jsonl.gz"
            digest = _write(archive_dir / name, [orjson.dumps(exported_entry(r)) for r in run])
            conn.execute(
                insert(AuditSegment).values(
                    id=uuid.uuid4(),
                    chain=head.chain,
                    tenant_id=run[0]["tenant_id"],
                    first_seq=first_seq,
                    last_seq=last_seq,
                    last_hash=run[-1]["entry_hash"],
                    file_name=name,
                    file_sha256=digest,
                    created_at=utcnow(),
                )
            )
            conn.execute(
                delete(AuditEvent).where(
                    AuditEvent.chain == head.chain,
                    AuditEvent.seq >= first_seq,
                    AuditEvent.seq <= last_seq,
                )
            )
            done.append(Archived(head.chain, first_seq, last_seq, archive_dir / name))
    return done
