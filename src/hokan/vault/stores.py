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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError

from hokan.kit.clock import utcnow
from hokan.kit.db import Database, make_engine
from hokan.models import VaultFragment
from hokan.vault.errors import VaultUnavailable

log = logging.getLogger("hokan.vault")


def fragment_tag(entry_id: uuid.UUID, idx: int, k: int, n: int, size: int, data: bytes) -> str:
    """The integrity tag of one fragment: SHA-256 over its identity, code and bytes.

    It covers ciphertext only, so it says nothing about the number.
    """
    head = f"hokan-vault-fragment-v1|{entry_id}|{idx}|{k}|{n}|{size}|".encode()
    return hashlib.sha256(head + data).hexdigest()


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
    def __init__(self, urls: Sequence[str], *, pool_size: int, busy_timeout_ms: int) -> None:
        self.urls = list(urls)
        self.dbs = [
            Database(
                make_engine(
                    url,
                    pool_size=pool_size,
                    busy_timeout_ms=busy_timeout_ms,
                    secure_delete=True,  # removed fragments are overwritten in SQLite files
                )
            )
            for url in self.urls
        ]

    @property
    def n(self) -> int:
        return len(self.dbs)

    def dispose(self) -> None:
        for db in self.dbs:
            db.dispose()

    # -- writes -------------------------------------------------------------

    def _put(self, idx: int, rows: Sequence[VaultFragment]) -> None:
        with self.dbs[idx].session(write=True) as s:
            ids = [r.entry_id for r in rows]
            s.execute(delete(VaultFragment).where(VaultFragment.entry_id.in_(ids)))
            s.add_all(rows)

    def write(
        self, placement: Placement, fragments: Sequence[bytes], now: datetime | None = None
    ) -> None:
        """Store fragment i in store i, in every store, or in none (:class:`VaultUnavailable`)."""
        now = now or utcnow()
        written: list[int] = []
        for idx, data in enumerate(fragments):
            row = VaultFragment(
                entry_id=placement.entry_id,
                tenant_id=placement.tenant_id,
                idx=idx,
                k=placement.k,
                n=placement.n,
                size=placement.size,
                data=data,
                tag=placement.tags[idx],
                created_at=now,
            )
            try:
                self._put(idx, [row])
            except SQLAlchemyError as exc:
                self._unavailable(idx, "write", exc)
                self.remove(placement.entry_id, written)
                raise VaultUnavailable(f"fragment store {idx + 1} is unavailable") from None
            written.append(idx)

    def put_fragment(self, placement: Placement, idx: int, data: bytes) -> None:
        """Write (or overwrite) one fragment: the repair path."""
        self._put(
            idx,
            [
                VaultFragment(
                    entry_id=placement.entry_id,
                    tenant_id=placement.tenant_id,
                    idx=idx,
                    k=placement.k,
                    n=placement.n,
                    size=placement.size,
                    data=data,
                    tag=placement.tags[idx],
                    created_at=utcnow(),
                )
            ],
        )

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
        stmt = select(VaultFragment).where(VaultFragment.entry_id.in_(list(ids)))
        if tenant_id is not None:
            stmt = stmt.where(VaultFragment.tenant_id == tenant_id)
        with self.dbs[idx].session() as s:
            return [_stored(row) for row in s.scalars(stmt)]

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
            stmt = select(VaultFragment).order_by(VaultFragment.entry_id).limit(batch)
            if last is not None:
                stmt = stmt.where(VaultFragment.entry_id > last)
            with self.dbs[idx].session() as s:
                rows = [_stored(r) for r in s.scalars(stmt)]
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


def _stored(row: VaultFragment) -> StoredFragment:
    return StoredFragment(
        row.entry_id,
        row.tenant_id,
        row.idx,
        row.k,
        row.n,
        row.size,
        row.tag,
        row.data,
        row.created_at,
    )
