"""The n fragment stores: separate databases holding one fragment of every entry each.

Store ``i`` holds fragment ``i``. A store that cannot be reached, lost its
file or its tables, or holds a fragment whose integrity tag does not match the
catalogue simply contributes nothing: reads need any k good fragments. Writes
need every store, so no entry is born with less than full redundancy.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from hokan.kit.clock import utcnow
from hokan.kit.db import Database, make_engine
from hokan.kit.prepared import PreparedInsert
from hokan.models import VaultFragment, VaultStoreIdentity
from hokan.vault import repository
from hokan.vault.errors import VaultUnavailable
from hokan.vault.wal import AUTOCHECKPOINT_PAGES, BackgroundCheckpointer

log = logging.getLogger("hokan.vault")


def fragment_tag(entry_id: uuid.UUID, idx: int, k: int, n: int, size: int, data: bytes) -> str:
    """The integrity tag of one fragment: SHA-256 over its identity, code and bytes.

    It covers ciphertext only, so it says nothing about the number.
    """
    digest = hashlib.sha256(f"hokan-vault-fragment-v1|{entry_id}|{idx}|{k}|{n}|{size}|".encode())
    digest.update(data)  # not head + data: no copy of a fragment that may be 512 KiB
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Placement:
    """What the catalogue knows about an entry's fragments."""

    entry_id: uuid.UUID
    tenant_id: uuid.UUID
    k: int
    n: int
    size: int  # ciphertext bytes
    tags: Sequence[str]


@dataclass(frozen=True, slots=True)
class StoredFragment:
    entry_id: uuid.UUID
    tenant_id: uuid.UUID
    idx: int
    k: int
    n: int
    size: int
    tag: str
    data: bytes
    created_at: datetime

    def valid_for(self, placement: Placement, idx: int) -> bool:
        """Placed where it belongs, with a tag that matches its bytes and the catalogue."""
        if (self.idx, self.k, self.n, self.size) != (idx, placement.k, placement.n, placement.size):
            return False
        if self.tenant_id != placement.tenant_id or idx >= len(placement.tags):
            return False
        actual = fragment_tag(self.entry_id, idx, self.k, self.n, self.size, self.data)
        return actual == self.tag == placement.tags[idx]


class FragmentStores:
    def __init__(
        self, urls: Sequence[str], *, pool_size: int, busy_timeout_ms: int, parallel: bool = False
    ) -> None:
        self.urls = list(urls)
        self._pool = (
            ThreadPoolExecutor(len(self.urls) + 1, thread_name_prefix="vault-store")
            if parallel and len(self.urls) > 1
            else None
        )
        self._checkpoints = BackgroundCheckpointer()
        self.dbs = [
            Database(
                make_engine(
                    url,
                    pool_size=pool_size,
                    busy_timeout_ms=busy_timeout_ms,
                    secure_delete=True,  # removed fragments are overwritten in SQLite files
                    wal_autocheckpoint=AUTOCHECKPOINT_PAGES,  # see hokan.vault.wal
                    create=False,  # a lost file stays lost: only init/migrate/repair create
                )
            )
            for url in self.urls
        ]

    @property
    def n(self) -> int:
        return len(self.dbs)

    # -- identity and health (ADR 0012) ----------------------------------------

    def migrate(self, revision: str = "head") -> list[int]:
        """Create or upgrade every store, then write each one's identity where missing.

        The one place besides ``repair`` where a store may be created (the stores'
        own engines never create a file). Stores of a data dir made before store
        identities existed are adopted: given the id of the set they are found in.
        Returns the stores (1-based) that got their identity now.
        """
        from hokan import migrations

        for url in self.urls:
            engine = make_engine(url)
            try:
                migrations.upgrade("vault", engine, revision)
            finally:
                engine.dispose()
        for db in self.dbs:
            db.dispose()  # no pooled connection from before the upgrade
        return self.identify() if revision == "head" else []

    def _fresh(self, idx: int) -> None:
        """Look at a SQLite store's file as it is on disk now, not through pooled
        connections to a file that has since been deleted or replaced."""
        url = make_url(self.urls[idx])
        if url.get_backend_name() == "sqlite":
            self.dbs[idx].engine.dispose()

    def _identity(self, idx: int) -> VaultStoreIdentity | None:
        with self.dbs[idx].session() as s:
            row = s.get(VaultStoreIdentity, 1)
            if row is not None:
                s.expunge(row)
            return row

    def identify(self) -> list[int]:
        """Write the identity of every store that has none; the stores (1-based) written."""
        found: list[VaultStoreIdentity | Exception | None] = []
        for idx in range(self.n):
            try:
                found.append(self._identity(idx))
            except SQLAlchemyError as exc:  # unreachable: identified when it is back
                found.append(exc)
        known = Counter(row.set_id for row in found if isinstance(row, VaultStoreIdentity))
        set_id = known.most_common(1)[0][0] if known else uuid.uuid4()
        written = []
        for idx, row in enumerate(found):
            if row is None:
                with self.dbs[idx].session(write=True) as s:
                    s.add(VaultStoreIdentity(id=1, set_id=set_id, store_index=idx + 1))
                written.append(idx + 1)
        if written and known:
            log.info(
                "vault stores adopted",
                extra={"fields": {"stores": written, "set_id": str(set_id)}},
            )
        return written

    def states(self) -> list[str]:
        """Each store's state: ``ok``; ``unavailable`` (unreachable, or no fragment table:
        a lost or emptied database); ``no_identity`` (run ``hokan db upgrade``); or
        ``wrong_store`` (another store's or another installation's database)."""
        states: list[str] = []
        identities: list[VaultStoreIdentity | None] = []
        for idx in range(self.n):
            try:
                self._fresh(idx)
                with self.dbs[idx].reader() as conn:
                    conn.execute(select(VaultFragment.entry_id).limit(1)).all()
                row = self._identity(idx)
            except SQLAlchemyError as exc:
                self._unavailable(idx, "probe", exc)
                states.append("unavailable")
                identities.append(None)
                continue
            identities.append(row)
            if row is None:
                states.append("no_identity")
            elif row.store_index != idx + 1:
                states.append("wrong_store")
            else:
                states.append("ok")
        sets = Counter(row.set_id for row in identities if row is not None)
        if sets:
            [(expected, _)] = sets.most_common(1)
            for idx, row in enumerate(identities):
                if row is not None and row.set_id != expected:
                    states[idx] = "wrong_store"
        for idx, state in enumerate(states):
            if state in ("no_identity", "wrong_store"):
                log.warning(
                    "vault fragment store is not the expected store",
                    extra={"fields": {"store": idx + 1, "state": state}},
                )
        return states

    def dispose(self) -> None:
        self._checkpoints.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for db in self.dbs:
            db.dispose()

    # -- writes -------------------------------------------------------------

    def _put(self, idx: int, row: dict[str, Any], replace: bool = False) -> None:
        db = self.dbs[idx]
        if replace:
            with db.writer() as conn:
                conn.execute(_DELETE, {"entry_id": row["entry_id"]})
                conn.execute(_INSERT.statement, row)
        else:
            _INSERT(db, row)
        self._checkpoints.wrote(db, len(row["data"]))

    def write(
        self,
        placement: Placement,
        fragments: Sequence[bytes],
        alongside: Callable[[], None] | None = None,
    ) -> None:
        """Store fragment i in store i, in every store, or in none (:class:`VaultUnavailable`).

        ``alongside`` (saving the entry's key in the keyring) runs concurrently with
        the store writes; if it fails, the fragments are removed and its error raised.
        """
        now = utcnow()
        rows = [_row(placement, idx, data, now) for idx, data in enumerate(fragments)]
        if self._pool is None:
            if alongside is not None:
                alongside()
            outcomes = [_attempt(self._put, idx, row) for idx, row in enumerate(rows)]
        else:  # the stores are separate servers: write to all (and the keyring) at once
            side = self._pool.submit(alongside) if alongside is not None else None
            futures = [self._pool.submit(_attempt, self._put, i, r) for i, r in enumerate(rows)]
            outcomes = [f.result() for f in futures]
            if side is not None and side.exception() is not None:
                self.remove(placement.entry_id, [i for i, e in enumerate(outcomes) if e is None])
                side.result()
        failed = [(idx, exc) for idx, exc in enumerate(outcomes) if exc is not None]
        for idx, exc in failed:
            self._unavailable(idx, "write", exc)
        if failed:
            self.remove(placement.entry_id, [i for i, e in enumerate(outcomes) if e is None])
            raise VaultUnavailable(f"fragment store {failed[0][0] + 1} is unavailable")

    def put_fragment(self, placement: Placement, idx: int, data: bytes) -> None:
        """Write (or overwrite) one fragment: the repair path."""
        self._put(idx, _row(placement, idx, data, utcnow()), replace=True)

    def remove(self, entry_id: uuid.UUID, stores: Sequence[int] | None = None) -> list[int]:
        """Delete an entry's fragment from these stores (all by default); the stores reached."""
        reached: list[int] = []
        for idx in range(self.n) if stores is None else stores:
            try:
                with self.dbs[idx].session(write=True) as s:
                    s.execute(delete(VaultFragment).where(VaultFragment.entry_id == entry_id))
                reached.append(idx)
            except SQLAlchemyError as exc:
                self._unavailable(idx, "delete", exc)
        return reached

    # -- reads --------------------------------------------------------------

    def _fetch(
        self, idx: int, tenant_id: uuid.UUID | None, ids: Sequence[uuid.UUID]
    ) -> list[StoredFragment]:
        with self.dbs[idx].reader() as conn:
            if len(ids) == 1 and tenant_id is not None:  # the hot path: one prepared statement
                params = {"entry_id": ids[0], "tenant_id": tenant_id}
                rows = conn.execute(repository.FRAGMENT, params)
                return [StoredFragment(*row) for row in rows]
            stmt = repository.fragments(tenant_id, ids)
            return [StoredFragment(*row) for row in conn.execute(stmt)]

    def gather(
        self, placements: Mapping[uuid.UUID, Placement]
    ) -> dict[uuid.UUID, dict[int, bytes]]:
        """Good fragments of each entry, store by store until each has k (or stores run out)."""
        found: dict[uuid.UUID, dict[int, bytes]] = {eid: {} for eid in placements}
        tenants = {p.tenant_id for p in placements.values()}
        tenant = next(iter(tenants)) if len(tenants) == 1 else None
        for idx in range(self.n):
            short = [eid for eid, frags in found.items() if len(frags) < placements[eid].k]
            if not short:
                break
            try:
                rows = self._fetch(idx, tenant, short)
            except SQLAlchemyError as exc:
                self._unavailable(idx, "read", exc)
                continue
            for row in rows:
                placement = placements.get(row.entry_id)
                if placement is None:
                    continue
                if row.valid_for(placement, idx):
                    found[row.entry_id][idx] = row.data
                else:
                    log.warning(
                        "vault fragment failed its integrity check",
                        extra={"fields": {"store": idx + 1, "entry_id": str(row.entry_id)}},
                    )
        return found

    def scan(self, idx: int, batch: int = 200) -> Iterator[StoredFragment]:
        """Every fragment of one store (raises SQLAlchemyError if the store is unusable)."""
        last: uuid.UUID | None = None
        while True:
            stmt = (
                select(*repository.FRAGMENT_COLUMNS).order_by(VaultFragment.entry_id).limit(batch)
            )
            if last is not None:
                stmt = stmt.where(VaultFragment.entry_id > last)
            with self.dbs[idx].reader() as conn:
                rows = [StoredFragment(*r) for r in conn.execute(stmt)]
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1].entry_id

    @staticmethod
    def _unavailable(idx: int, op: str, exc: Exception) -> None:
        # The exception type only: driver messages can carry connection details.
        log.warning(
            "vault fragment store unavailable",
            extra={"fields": {"store": idx + 1, "op": op, "exc_type": type(exc).__name__}},
        )


def _attempt(
    put: Callable[[int, dict[str, Any]], None], idx: int, row: dict[str, Any]
) -> SQLAlchemyError | None:
    try:
        put(idx, row)
    except SQLAlchemyError as exc:
        return exc
    return None


_INSERT = PreparedInsert(VaultFragment)
_DELETE = delete(VaultFragment).where(VaultFragment.entry_id == bindparam("entry_id"))


def _row(placement: Placement, idx: int, data: bytes, now: datetime) -> dict[str, Any]:
    return {
        "entry_id": placement.entry_id,
        "tenant_id": placement.tenant_id,
        "idx": idx,
        "k": placement.k,
        "n": placement.n,
        "size": placement.size,
        "data": data,
        "tag": placement.tags[idx],
        "created_at": now,
    }
