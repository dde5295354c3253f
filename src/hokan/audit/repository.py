"""Audit tables: the chain head lock, the append, and ordered reads for verification."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, RowMapping, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from hokan.audit.canonical import GENESIS
from hokan.models import AuditChain, AuditCheckpoint, AuditEvent, AuditSegment, Tenant

_HEAD_FOR_UPDATE = (
    select(AuditChain.seq, AuditChain.head_hash)
    .where(AuditChain.chain == bindparam("chain"))
    .with_for_update()
)
_NEW_HEAD = insert(AuditChain)
_MOVE_HEAD = (
    update(AuditChain)
    .where(AuditChain.chain == bindparam("b_chain"))
    .values(seq=bindparam("seq"), head_hash=bindparam("head_hash"), updated_at=bindparam("now"))
)
_APPEND = insert(AuditEvent)
EVENT_COLUMNS = list(AuditEvent.__table__.c)


def lock_head(
    conn: Connection, chain: str, tenant_id: uuid.UUID | None, now: datetime
) -> tuple[int, str]:
    """Lock a chain's head row for this transaction (creating it on first use)."""
    row = conn.execute(_HEAD_FOR_UPDATE, {"chain": chain}).one_or_none()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(
                    _NEW_HEAD,
                    {
                        "chain": chain,
                        "tenant_id": tenant_id,
                        "seq": 0,
                        "head_hash": GENESIS,
                        "updated_at": now,
                    },
                )
        except IntegrityError:  # another writer created it first; its row lock orders us
            pass
        row = conn.execute(_HEAD_FOR_UPDATE, {"chain": chain}).one()
    return int(row.seq), str(row.head_hash)


def append(conn: Connection, entry: dict[str, Any], now: datetime) -> None:
    conn.execute(_APPEND, entry)
    conn.execute(
        _MOVE_HEAD,
        {
            "b_chain": entry["chain"],
            "seq": entry["seq"],
            "head_hash": entry["entry_hash"],
            "now": now,
        },
    )


def chains(conn: Connection, chain: str | None = None) -> list[Row[Any]]:
    stmt = select(
        AuditChain.chain, AuditChain.seq, AuditChain.head_hash, AuditChain.tenant_id
    ).order_by(AuditChain.chain)
    if chain is not None:
        stmt = stmt.where(AuditChain.chain == chain)
    return list(conn.execute(stmt))


@dataclass
class ChainSources:
    """Where a chain is named: its head row, entries, checkpoints, segments, tenant."""

    head: bool = False
    entries: bool = False
    checkpoints: bool = False
    tenant_code: str = ""
    anchor: Any = None  # its checkpoint copy in the blob store, if any


def chain_sources(conn: Connection) -> dict[str, ChainSources]:
    """Every chain any table names (so a chain dropped from one table is still verified)."""
    found: dict[str, ChainSources] = {}

    def at(chain: str) -> ChainSources:
        return found.setdefault(str(chain), ChainSources())

    for (chain,) in conn.execute(select(AuditChain.chain)):
        at(chain).head = True
    for table in (AuditEvent, AuditSegment):
        for (chain,) in conn.execute(select(table.chain).distinct()):
            at(chain).entries = True
    for (chain,) in conn.execute(select(AuditCheckpoint.chain).distinct()):
        at(chain).checkpoints = True
    for tenant_id, code in conn.execute(select(Tenant.id, Tenant.code)):
        at(str(tenant_id)).tenant_code = code
    return found


def checkpoints(conn: Connection, chain: str) -> list[Row[Any]]:
    stmt = (
        select(*AuditCheckpoint.__table__.c)
        .where(AuditCheckpoint.chain == chain)
        .order_by(AuditCheckpoint.seq)
    )
    return list(conn.execute(stmt))


def page(
    conn: Connection,
    chain: str,
    *,
    after_seq: int,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
    action: str | None = None,
    actor_id: str | None = None,
    result: str | None = None,
    before_seq: int | None = None,
) -> list[Row[Any]]:
    """One tenant's entries in chain order, filtered (AUD-3); with ``before_seq``, the
    newest entries before it, newest first (the console's pages; keyset either way)."""
    stmt = select(*EVENT_COLUMNS).where(AuditEvent.chain == chain, AuditEvent.seq > after_seq)
    if before_seq is not None:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    if since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < until)
    if action:
        stmt = stmt.where(
            AuditEvent.action.startswith(action, autoescape=True)
            if action.endswith(".")
            else AuditEvent.action == action
        )
    if actor_id:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if result:
        stmt = stmt.where(AuditEvent.result == result)
    order = AuditEvent.seq.desc() if before_seq is not None else AuditEvent.seq
    return list(conn.execute(stmt.order_by(order).limit(limit)))


def entries(
    conn: Connection, chain: str, batch: int = 2000, *, after: int = 0
) -> Iterator[RowMapping]:
    """The chain's entries after ``after`` in stored sequence order, read in batches."""
    while True:
        rows = (
            conn.execute(
                select(*EVENT_COLUMNS)
                .where(AuditEvent.chain == chain, AuditEvent.seq > after)
                .order_by(AuditEvent.seq)
                .limit(batch)
            )
            .mappings()
            .all()
        )
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1]["seq"]


def has_mac(conn: Connection, chain: str, seq: int) -> bool:
    """Whether entry ``seq`` of the chain carries a MAC (False if absent or archived)."""
    stmt = select(AuditEvent.entry_mac).where(AuditEvent.chain == chain, AuditEvent.seq == seq)
    return conn.execute(stmt).scalar() is not None
