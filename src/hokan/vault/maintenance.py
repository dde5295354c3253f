"""``hokan vault check`` and ``repair``: fragment health without decrypting anything.

Both compare every store with the catalogue (system database). Check reports,
per store, fragments that are missing, corrupt (integrity tag mismatch or
misplaced) or orphaned (no catalogue entry). Repair rebuilds missing and
corrupt fragments from any k good ones — re-encoding ciphertext, never opening
it, so it needs no keyring — and removes orphans older than a grace period
(an in-flight registration writes fragments before its catalogue row commits).
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import inspect, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from hokan import migrations
from hokan.kit.clock import utcnow
from hokan.kit.db import Database, make_engine
from hokan.models import VaultDeletion, VaultEntry, VaultFragment
from hokan.vault import erasure
from hokan.vault.stores import FragmentStores, Placement

ORPHAN_GRACE = timedelta(hours=1)
log = logging.getLogger("hokan.vault")


@dataclass
class StoreReport:
    store: int  # 1-based, as operators count
    reachable: bool = True
    ok: int = 0
    missing: int = 0
    corrupt: int = 0
    orphans: int = 0
    lost: bool = False  # answers, but its file or schema is gone: repair recreates it

    @property
    def healthy(self) -> bool:
        return (
            self.reachable and not self.lost and not (self.missing or self.corrupt or self.orphans)
        )


@dataclass
class HealthReport:
    entries: int = 0
    stores: list[StoreReport] = field(default_factory=list)
    unrecoverable: int = 0  # entries with fewer than k good fragments
    repaired: int = 0  # fragments rewritten
    orphans_removed: int = 0

    @property
    def healthy(self) -> bool:
        return all(s.healthy for s in self.stores) and not self.unrecoverable


def _catalogue(db: Database) -> dict[uuid.UUID, Placement]:
    with db.reader(system=True) as conn:
        rows = conn.execute(
            select(
                VaultEntry.id,
                VaultEntry.tenant_id,
                VaultEntry.k,
                VaultEntry.n,
                VaultEntry.ciphertext_size,
                VaultEntry.fragment_tags,
            )
        ).all()
    return {
        r.id: Placement(r.id, r.tenant_id, r.k, r.n, r.ciphertext_size, r.fragment_tags)
        for r in rows
    }


def _survey(
    db: Database, stores: FragmentStores
) -> tuple[
    HealthReport,
    dict[uuid.UUID, Placement],
    dict[uuid.UUID, dict[int, bytes]],
    dict[int, list[uuid.UUID]],
]:
    catalogue = _catalogue(db)
    with db.reader(system=True) as conn:
        deleted = set(conn.scalars(select(VaultDeletion.entry_id)))
    report = HealthReport(entries=len(catalogue))
    good: dict[uuid.UUID, dict[int, bytes]] = {eid: {} for eid in catalogue}
    orphans: dict[int, list[uuid.UUID]] = {}
    cutoff = utcnow() - ORPHAN_GRACE
    for idx in range(stores.n):
        sr = StoreReport(idx + 1)
        report.stores.append(sr)
        seen: set[uuid.UUID] = set()
        try:
            for frag in stores.scan(idx):
                placement = catalogue.get(frag.entry_id)
                if placement is None:
                    # Left by a deletion while this store was down, or an old failed write.
                    if frag.entry_id in deleted or frag.created_at < cutoff:
                        sr.orphans += 1
                        orphans.setdefault(idx, []).append(frag.entry_id)
                    continue
                seen.add(frag.entry_id)
                if frag.valid_for(placement, idx):
                    sr.ok += 1
                    good[frag.entry_id][idx] = frag.data
                else:
                    sr.corrupt += 1
        except SQLAlchemyError:
            if not _reachable_but_empty(stores.dbs[idx], stores.urls[idx]):
                sr.reachable = False
                continue
            sr.lost = True
        sr.missing = sum(1 for eid, p in catalogue.items() if idx < p.n and eid not in seen)
    report.unrecoverable = sum(1 for eid, p in catalogue.items() if len(good[eid]) < p.k)
    return report, catalogue, good, orphans


def _reachable_but_empty(store: Database, url: str) -> bool:
    """A store that answers but has no fragment table (a lost file, a recreated database),
    or a local SQLite file that is gone or unreadable: all of these ``repair`` rebuilds."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        path = Path(parsed.database)
        if not path.exists() or not _sqlite_readable(path):
            return True
    try:
        return not inspect(store.engine).has_table(VaultFragment.__tablename__)
    except SQLAlchemyError:
        return False


def _restore_store(url: str, store: Database) -> None:
    """Give a lost, emptied or unreadable store a fresh schema, for repair to refill.

    A SQLite file that is missing is created; one that is not a database (garbage,
    truncated) is moved aside as ``<name>.broken-<time>`` first, never deleted. A
    server database that is unreachable is left for the survey to report.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        path = Path(parsed.database)
        if path.exists() and not _sqlite_readable(path):
            aside = path.with_name(f"{path.name}.broken-{utcnow():%Y%m%dT%H%M%S}")
            for suffix in ("-wal", "-shm"):  # a journal of the broken file must not replay
                journal = path.with_name(path.name + suffix)
                if journal.exists():
                    journal.rename(aside.with_name(aside.name + suffix))
            path.rename(aside)
            log.warning(
                "unreadable vault store moved aside",
                extra={"fields": {"store": path.name, "moved_to": aside.name}},
            )
        store.engine.dispose()  # no pooled connection to the old file survives
        engine = make_engine(url)  # the one place besides init that may create a store
        try:
            migrations.upgrade("vault", engine)
        finally:
            engine.dispose()
        return
    # A recreated server database gets its schema back (unreachable: the survey says so).
    with suppress(Exception):
        migrations.upgrade("vault", store.engine)


def _sqlite_readable(path: Path) -> bool:
    try:
        with closing(sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)) as conn:
            return bool(conn.execute("PRAGMA quick_check").fetchone() == ("ok",))
    except sqlite3.DatabaseError:
        return False


def check(db: Database, stores: FragmentStores) -> HealthReport:
    """Per-store counts of good, missing, corrupt and orphaned fragments."""
    return _survey(db, stores)[0]


def repair(db: Database, stores: FragmentStores) -> HealthReport:
    """Rebuild what is missing or corrupt, remove old orphans, then report afresh."""
    for idx, store in enumerate(stores.dbs):
        _restore_store(stores.urls[idx], store)
    stores.identify()  # a rebuilt store is given its place in the set
    report, catalogue, good, orphans = _survey(db, stores)
    repaired = removed = 0
    for eid, placement in catalogue.items():
        have = good[eid]
        if len(have) < placement.k or len(have) == placement.n:
            continue
        ciphertext = erasure.decode(have, placement.k, placement.n, placement.size)
        fragments = erasure.encode(ciphertext, placement.k, placement.n)
        for idx in range(placement.n):
            if idx in have or not report.stores[idx].reachable:
                continue
            try:
                stores.put_fragment(placement, idx, fragments[idx])
                repaired += 1
            except SQLAlchemyError:
                continue
    for idx, ids in orphans.items():
        for eid in ids:
            if stores.remove(eid, [idx]):
                removed += 1
                _mark_cleared(db, eid, idx)
    final = check(db, stores)
    final.repaired, final.orphans_removed = repaired, removed
    return final


def _mark_cleared(db: Database, entry_id: uuid.UUID, idx: int) -> None:
    """A deletion that missed a store (it was down) is completed: record it."""
    with db.session(write=True, system=True) as s:
        row = s.scalars(select(VaultDeletion).where(VaultDeletion.entry_id == entry_id)).first()
        if row is None or idx not in row.stores_pending:
            return
        s.execute(
            update(VaultDeletion)
            .where(VaultDeletion.id == row.id)
            .values(
                stores_cleared=sorted({*row.stores_cleared, idx}),
                stores_pending=[i for i in row.stores_pending if i != idx],
            )
        )
