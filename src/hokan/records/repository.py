"""The one place that builds record and collection queries, always for one tenant."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Row,
    Select,
    bindparam,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from hokan.kit.db import tenant_scoped
from hokan.models import Collection, Record, RecordRevision

T = TypeVar("T", Collection, Record, RecordRevision)


_TENANT = bindparam("tenant_id", type_=Record.tenant_id.type)
# Built once: on SQLite, building a statement costs more than running it.
_COLLECTION_BY_NAME = tenant_scoped(select(Collection), Collection, _TENANT).where(
    Collection.name == bindparam("name")
)
# What a write needs of its collection, as a plain row (no ORM identity map on the hot path).
_COLLECTION_FOR_WRITE = tenant_scoped(
    select(Collection.id, Collection.json_schema, Collection.schema_version),
    Collection,
    _TENANT,
).where(Collection.name == bindparam("name"))
_RECORD_FOR_WRITE = tenant_scoped(select(Record), Record, _TENANT).where(
    Record.collection_id == bindparam("collection_id", type_=Record.collection_id.type),
    Record.record_key == bindparam("key"),
)
# A point read by the unique key (tenant_id, collection_id, record_key): every column of
# uq_records_* is an equality, so both planners take it whatever their statistics say
# (a join on the collection's name let SQLite walk ix_records_listing by tenant_id).
_COLLECTION_ID = (
    tenant_scoped(select(Collection.id), Collection, _TENANT)
    .where(Collection.name == bindparam("collection"))
    .scalar_subquery()
)
_RECORD_BY_NAME = tenant_scoped(
    select(
        Record.id,
        Record.record_key,
        Record.revision,
        Record.key_version,
        Record.wrapped_dek,
        Record.ciphertext,
        Record.created_at,
        Record.updated_at,
        Record.deleted_at,
    ),
    Record,
    _TENANT,
).where(Record.collection_id == _COLLECTION_ID, Record.record_key == bindparam("key"))


_CAS_COLUMNS = (
    "revision",
    "key_version",
    "wrapped_dek",
    "ciphertext",
    "size",
    "updated_at",
    "deleted_at",
)


def _cas(columns: tuple[str, ...]) -> Any:
    return (
        update(Record)
        .where(
            Record.tenant_id == bindparam("b_tenant", type_=Record.tenant_id.type),
            Record.id == bindparam("b_id", type_=Record.id.type),
            Record.revision == bindparam("b_expected"),
        )
        .values({name: bindparam(name, type_=Record.__table__.c[name].type) for name in columns})
    )


_CAS = _cas(_CAS_COLUMNS)
_CAS_RECREATE = _cas((*_CAS_COLUMNS, "created_at"))
_INSERT_REVISION = insert(RecordRevision)


def record_by_name(
    conn: Connection, tenant_id: uuid.UUID, collection: str, key: str
) -> Row[*tuple[Any, ...]] | None:
    """The hot read path: one prebuilt, tenant-scoped query by collection name and id."""
    params = {"tenant_id": tenant_id, "collection": collection, "key": key}
    return conn.execute(_RECORD_BY_NAME, params).one_or_none()


def page_statement(
    tenant_id: uuid.UUID,
    collection_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, str] | None,
    updated_since: datetime | None,
    include_deleted: bool,
) -> Select[Record]:
    """A keyset page in (updated_at, record_key) order: one range of ``ix_records_listing``."""
    stmt = tenant_scoped(select(Record), Record, tenant_id).where(
        Record.collection_id == collection_id
    )
    if not include_deleted:
        stmt = stmt.where(Record.deleted_at.is_(None))
    if updated_since is not None:
        stmt = stmt.where(Record.updated_at >= updated_since)
    if after is not None:
        # A row-value comparison: an index range on ix_records_listing on both
        # engines (an OR of two conditions was a filter over the whole collection).
        at, key = after
        stmt = stmt.where(
            tuple_(Record.updated_at, Record.record_key)
            > tuple_(literal(at, Record.updated_at.type), literal(key, Record.record_key.type))
        )
    return stmt.order_by(Record.updated_at, Record.record_key).limit(limit)


class RecordRepository:
    def __init__(self, session: Session, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _scoped(self, model: type[T]) -> Select[T]:
        return tenant_scoped(select(model), model, self.tenant_id)

    # -- collections --------------------------------------------------------

    def collection(self, name: str) -> Collection | None:
        params = {"tenant_id": self.tenant_id, "name": name}
        return self.session.scalars(_COLLECTION_BY_NAME, params).one_or_none()

    def collection_for_write(self, name: str) -> Row[*tuple[Any, ...]] | None:
        """``(id, json_schema, schema_version)`` of a collection, or None (Core)."""
        params = {"tenant_id": self.tenant_id, "name": name}
        return self.session.connection().execute(_COLLECTION_FOR_WRITE, params).one_or_none()

    def collections(self) -> list[Collection]:
        """The tenant's collections by name, with their maintained ``record_count``."""
        return list(self.session.scalars(self._scoped(Collection).order_by(Collection.name)))

    def add_collection(self, name: str, now: datetime) -> Collection:
        collection = Collection(
            id=uuid.uuid4(), tenant_id=self.tenant_id, name=name, created_at=now, updated_at=now
        )
        self.session.add(collection)
        self.session.flush()
        return collection

    # -- records ------------------------------------------------------------

    def record(self, collection_id: uuid.UUID, key: str) -> Record | None:
        params = {"tenant_id": self.tenant_id, "collection_id": collection_id, "key": key}
        return self.session.scalars(_RECORD_FOR_WRITE, params).one_or_none()

    def page(
        self,
        collection_id: uuid.UUID,
        *,
        limit: int,
        after: tuple[datetime, str] | None,
        updated_since: datetime | None,
        include_deleted: bool,
    ) -> list[Record]:
        stmt = page_statement(
            self.tenant_id,
            collection_id,
            limit=limit,
            after=after,
            updated_since=updated_since,
            include_deleted=include_deleted,
        )
        return list(self.session.scalars(stmt))

    def add_record(self, record: Record) -> None:
        self.session.add(record)
        self.session.flush()

    def compare_and_set(
        self, record_id: uuid.UUID, expected_revision: int, values: dict[str, Any]
    ) -> bool:
        """Move a record to its next revision only if nobody else did first (REC-2)."""
        stmt = _CAS_RECREATE if "created_at" in values else _CAS
        params = {"b_tenant": self.tenant_id, "b_id": record_id, "b_expected": expected_revision}
        result = self.session.connection().execute(stmt, {**params, **values})
        return int(getattr(result, "rowcount", 0) or 0) == 1

    # -- revisions ------------------------------------------------------------

    def add_revision(self, **values: Any) -> None:
        """Append one revision (Core insert: no unit-of-work flush on the write path)."""
        self.session.connection().execute(
            _INSERT_REVISION, {"id": uuid.uuid4(), "tenant_id": self.tenant_id, **values}
        )

    def revisions(self, record_id: uuid.UUID) -> list[RecordRevision]:
        stmt = (
            self._scoped(RecordRevision)
            .where(RecordRevision.record_id == record_id)
            .order_by(RecordRevision.revision)
        )
        return list(self.session.scalars(stmt))

    def revision(self, record_id: uuid.UUID, number: int) -> RecordRevision | None:
        stmt = self._scoped(RecordRevision).where(
            RecordRevision.record_id == record_id, RecordRevision.revision == number
        )
        return self.session.scalars(stmt).one_or_none()


def stale_sealed_rows(
    session: Session,
    model: type[Record] | type[RecordRevision],
    tenant_id: uuid.UUID,
    active: int,
    limit: int,
) -> list[Any]:
    """A batch of the tenant's sealed rows wrapped under a key version older than ``active``:
    ``(id, record_id, revision, key_version, wrapped_dek, ciphertext)``."""
    record_ref = RecordRevision.record_id if model is RecordRevision else Record.id
    stmt = select(
        model.id, record_ref, model.revision, model.key_version, model.wrapped_dek, model.ciphertext
    )
    stmt = tenant_scoped(stmt, model, tenant_id).where(model.key_version < active).limit(limit)
    return list(session.execute(stmt).all())


def rewrap_row(
    session: Session,
    model: type[Record] | type[RecordRevision],
    row_id: uuid.UUID,
    old_version: int,
    new_version: int,
    wrapped_dek: bytes,
) -> None:
    """Move one sealed row onto a new key version (unless someone moved it meanwhile)."""
    session.execute(
        update(model)
        .where(model.id == row_id, model.key_version == old_version)
        .values(key_version=new_version, wrapped_dek=wrapped_dek)
    )
