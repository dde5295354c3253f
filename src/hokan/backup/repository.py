"""The repository of a single-tenant restore: the one tenant's collections, records, revisions
and attachments, read from a restored snapshot and put back into the live database.

Every statement is scoped with :func:`hokan.kit.db.tenant_scoped` (TEN-2); on PostgreSQL the
live unit of work is tagged with the tenant too, so row-level security refuses any row of
another tenant (the second wall). The audit trail is never among these tables: it stays
append-only, and the restore adds its own entry.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from hokan.kit.db import tenant_scoped
from hokan.models import Collection, Record, RecordAttachment, RecordRevision, Tenant

# Parents first: inserted in this order, deleted in the reverse one.
MODELS: tuple[Any, ...] = (Collection, Record, RecordRevision, RecordAttachment)
TABLES = tuple(m.__tablename__ for m in MODELS)
_SET_SYSTEM = "SELECT set_config('hokan.scope', 'system', true)"
# Derived columns, never copied: the count triggers on ``records`` (migration 0096, ADR 0027)
# recount the collections' records as the restore inserts them (and older snapshots lack it).
_DERIVED = frozenset({("collections", "record_count")})


def _copied(model: Any) -> list[Any]:
    table = model.__table__
    return [c for c in table.columns if (table.name, c.name) not in _DERIVED]


def read(conn: Connection, tenant_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """The tenant's rows in a restored snapshot (as the snapshot's owner, scope system)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_SET_SYSTEM)
    out: dict[str, list[dict[str, Any]]] = {}
    for model in MODELS:
        stmt = tenant_scoped(select(*_copied(model)), model, tenant_id)
        out[model.__tablename__] = [dict(r) for r in conn.execute(stmt).mappings()]
    return out


def tenant_exists(session: Session, tenant_id: uuid.UUID) -> bool:
    return session.get(Tenant, tenant_id) is not None


def live_blob_keys(session: Session, tenant_id: uuid.UUID) -> set[str]:
    stmt = tenant_scoped(select(RecordAttachment.blob_key), RecordAttachment, tenant_id)
    return set(session.scalars(stmt))


def replace(
    session: Session, tenant_id: uuid.UUID, rows: dict[str, list[dict[str, Any]]]
) -> dict[str, int]:
    """The tenant's live rows of :data:`TABLES` become ``rows``; returns rows removed."""
    removed: dict[str, int] = {}
    for model in reversed(MODELS):
        # tenant_scoped() is typed for selects; the same one condition, on a delete.
        result = session.execute(delete(model).where(model.tenant_id == tenant_id))
        removed[model.__tablename__] = int(getattr(result, "rowcount", 0) or 0)
    for model in MODELS:
        batch = rows.get(model.__tablename__) or []
        if any(r.get("tenant_id") != tenant_id for r in batch):
            raise ValueError("a row of another tenant")  # read() scoped them: never happens
        if batch:
            session.execute(insert(model.__table__), batch)
    session.flush()
    return removed
