"""Record rules: sealed payloads, revisions, optimistic concurrency, schemas.

Every write seals the payload under a fresh data key bound to (tenant, record,
revision) and moves the record from revision n to n+1 with a compare-and-set,
so two writers racing on the same revision produce one success and one
``412 stale_revision`` and the revision history never has a gap (REC-2).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from hokan.audit.actions import action, succeeded
from hokan.keyring.service import RECORDS, Keyring, Sealed
from hokan.kit.actions import declare
from hokan.kit.clock import iso, parse_timestamp, utcnow
from hokan.kit.errors import Forbidden, PayloadTooLarge, PreconditionFailed
from hokan.kit.jsonmerge import merge_patch
from hokan.kit.pagination import InvalidCursor, decode_cursor, encode_cursor
from hokan.models import Collection, Record
from hokan.principals.principal import Principal
from hokan.records.attachments.repository import AttachmentRepository
from hokan.records.errors import (
    CollectionNotFound,
    InvalidSchema,
    RecordExists,
    RecordNotFound,
    RecordNotObject,
    RevisionNotFound,
    SchemaViolation,
    StaleRevision,
)
from hokan.records.repository import RecordRepository, record_by_name
from hokan.records.views import (
    CollectionView,
    IfMatch,
    RecordPage,
    RecordRow,
    RecordView,
    RevisionView,
    SealedRow,
    check_names,
)

_UNCONDITIONAL_RETRIES = 8
_VALIDATOR_CACHE_MAX = 512


def _tenant(principal: Principal) -> uuid.UUID:
    if principal.tenant_id is None:
        raise Forbidden("this principal has no tenant")
    return principal.tenant_id


def _name(name: str, *_: Any, **__: Any) -> str:
    return name


def _record(collection: str, key: str, *_: Any, **__: Any) -> str:
    return f"{collection}/{key}"


def record_context(record_id: uuid.UUID, revision: int) -> dict[str, str | int]:
    return {"kind": "record", "record": str(record_id), "revision": revision}


class RecordService:
    def __init__(self, keyring: Keyring, max_record_bytes: int) -> None:
        self.keyring = keyring
        self.max_record_bytes = max_record_bytes
        self._validators: dict[tuple[uuid.UUID, int], Draft202012Validator] = {}
        self._validators_lock = threading.Lock()

    # -- sealing --------------------------------------------------------------

    def _seal(
        self, tenant_id: uuid.UUID, record_id: uuid.UUID, revision: int, data: Mapping[str, Any]
    ) -> tuple[Sealed, int]:
        raw = orjson.dumps(data)
        if len(raw) > self.max_record_bytes:
            raise PayloadTooLarge("limit", limit=self.max_record_bytes)
        return self.keyring.seal(tenant_id, RECORDS, record_context(record_id, revision), raw), len(
            raw
        )

    def _open(
        self, tenant_id: uuid.UUID, row: SealedRow, record_id: uuid.UUID
    ) -> dict[str, Any] | None:
        if row.ciphertext is None or row.wrapped_dek is None or row.key_version is None:
            return None
        sealed = Sealed(row.key_version, row.wrapped_dek, row.ciphertext)
        data: dict[str, Any] = orjson.loads(
            self.keyring.open(tenant_id, RECORDS, record_context(record_id, row.revision), sealed)
        )
        return data

    def _view(
        self, tenant_id: uuid.UUID, collection: str, rec: RecordRow, data: dict[str, Any] | None
    ) -> RecordView:
        return RecordView(
            key=rec.record_key,
            collection=collection,
            revision=rec.revision,
            created_at=rec.created_at,
            updated_at=rec.updated_at,
            deleted=rec.deleted_at is not None,
            data=data,
        )

    # -- schemas ---------------------------------------------------------------

    def _validator(self, collection: Any) -> Draft202012Validator | None:
        """``collection``: a Collection or a row with its id, json_schema, schema_version."""
        if collection.json_schema is None:
            return None
        cache_key = (collection.id, collection.schema_version)
        validator = self._validators.get(cache_key)
        if validator is None:
            validator = Draft202012Validator(
                collection.json_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            with self._validators_lock:
                if len(self._validators) >= _VALIDATOR_CACHE_MAX:
                    self._validators.clear()
                self._validators[cache_key] = validator
        return validator

    def _validate(self, collection: Any, data: Any) -> None:
        if not isinstance(data, dict):
            raise RecordNotObject
        validator = self._validator(collection)
        if validator is None:
            return
        error = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.path))), None)
        if error is not None:
            path = "".join(f"/{p}" for p in error.absolute_path) or "/"
            # The keyword, never the value: payloads may hold personal data.
            raise SchemaViolation(
                "keyword",
                path=path,
                keyword=str(error.validator),
                schema_path="".join(f"/{p}" for p in error.absolute_schema_path),
            )

    # -- collections -----------------------------------------------------------

    def _collection(self, repo: RecordRepository, name: str, *, create: bool) -> Collection:
        collection = repo.collection(name)
        if collection is None:
            if not create:
                raise CollectionNotFound
            try:
                with repo.session.begin_nested():
                    collection = repo.add_collection(name, utcnow())
            except IntegrityError:  # created concurrently
                collection = repo.collection(name)
                if collection is None:
                    raise
        return collection

    @action("collections.list", "collection", "*")
    def list_collections(self, session: Session, principal: Principal) -> list[CollectionView]:
        repo = RecordRepository(session, _tenant(principal))
        views = [
            CollectionView(
                c.name, c.json_schema, c.schema_version, c.record_count, c.created_at, c.updated_at
            )
            for c in repo.collections()
        ]
        succeeded(session, principal, detail={"count": len(views)})
        return views

    @action("collections.schema_read", "collection", _name)
    def get_schema(self, session: Session, principal: Principal, name: str) -> CollectionView:
        check_names(name)
        c = self._collection(RecordRepository(session, _tenant(principal)), name, create=False)
        succeeded(session, principal)
        return CollectionView(
            c.name, c.json_schema, c.schema_version, -1, c.created_at, c.updated_at
        )

    @action("collections.schema_delete", "collection", _name)
    def delete_schema(self, session: Session, principal: Principal, name: str) -> CollectionView:
        """Remove a collection's JSON Schema (the collection must exist)."""
        check_names(name)
        self._collection(RecordRepository(session, _tenant(principal)), name, create=False)
        return self._store_schema(session, principal, name, None)

    @action("collections.schema_set", "collection", _name)
    def set_schema(
        self, session: Session, principal: Principal, name: str, schema: dict[str, Any]
    ) -> CollectionView:
        """Set a collection's JSON Schema; later writes are checked against it."""
        check_names(name)
        return self._store_schema(session, principal, name, schema)

    def _store_schema(
        self, session: Session, principal: Principal, name: str, schema: dict[str, Any] | None
    ) -> CollectionView:
        if schema is not None:
            if not isinstance(schema, dict):
                raise InvalidSchema("not_object")
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as exc:
                where = "".join(f"/{p}" for p in exc.absolute_path) or "/"
                raise InvalidSchema("keyword", path=where, keyword=str(exc.validator)) from None
        repo = RecordRepository(session, _tenant(principal))
        c = self._collection(repo, name, create=True)
        c.json_schema = schema
        c.schema_version += 1
        c.updated_at = utcnow()
        session.flush()
        succeeded(session, principal, detail={"schema_version": c.schema_version})
        return CollectionView(
            c.name, c.json_schema, c.schema_version, -1, c.created_at, c.updated_at
        )

    # -- reads ----------------------------------------------------------------

    def _live(self, repo: RecordRepository, collection: str, key: str) -> tuple[Collection, Record]:
        check_names(collection, key)
        c = repo.collection(collection)
        rec = repo.record(c.id, key) if c is not None else None
        if c is None or rec is None or rec.deleted_at is not None:
            raise RecordNotFound
        return c, rec

    @action("records.read", "record", _record)
    def get(self, session: Session, principal: Principal, collection: str, key: str) -> RecordView:
        """One record; the read is audited (AUD-1: reads of customer data too)."""
        check_names(collection, key)
        tenant_id = _tenant(principal)
        rec = record_by_name(session.connection(), tenant_id, collection, key)
        if rec is None or rec.deleted_at is not None:
            raise RecordNotFound
        view = self._view(tenant_id, collection, rec, self._open(tenant_id, rec, rec.id))
        succeeded(session, principal, detail={"revision": view.revision})
        return view

    @action("records.list", "collection", _name)
    def page(
        self,
        session: Session,
        principal: Principal,
        collection: str,
        *,
        limit: int,
        cursor: str | None = None,
        updated_since: datetime | None = None,
        include_deleted: bool = False,
    ) -> RecordPage:
        """A page of records ordered by (updated time, id); follow ``next_cursor``."""
        check_names(collection)
        tenant_id = _tenant(principal)
        after = None
        if cursor:
            at, key = decode_cursor(cursor, 2)
            if not isinstance(at, str) or not isinstance(key, str):
                raise InvalidCursor
            try:
                after = (parse_timestamp(at), key)
            except ValueError:
                raise InvalidCursor from None
        repo = RecordRepository(session, tenant_id)
        c = repo.collection(collection)
        if c is None:
            succeeded(session, principal, detail={"count": 0})
            return RecordPage([], None)
        rows = repo.page(
            c.id,
            limit=limit + 1,
            after=after,
            updated_since=updated_since,
            include_deleted=include_deleted,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [self._view(tenant_id, collection, r, self._open(tenant_id, r, r.id)) for r in rows]
        next_cursor = encode_cursor(iso(rows[-1].updated_at), rows[-1].record_key) if more else None
        succeeded(session, principal, detail={"count": len(items)})
        return RecordPage(items, next_cursor)

    @staticmethod
    def _any_state(repo: RecordRepository, collection: str, key: str) -> Record:
        """The record live or deleted: history outlives deletion."""
        check_names(collection, key)
        c = repo.collection(collection)
        rec = repo.record(c.id, key) if c else None
        if rec is None:
            raise RecordNotFound
        return rec

    @action("records.history", "record", _record)
    def revisions(
        self, session: Session, principal: Principal, collection: str, key: str
    ) -> list[RevisionView]:
        repo = RecordRepository(session, _tenant(principal))
        rec = self._any_state(repo, collection, key)
        views = [
            RevisionView(r.revision, r.operation, r.actor, r.size, r.created_at)
            for r in repo.revisions(rec.id)
        ]
        succeeded(session, principal)
        return views

    @action("records.revision_read", "record", _record)
    def revision(
        self, session: Session, principal: Principal, collection: str, key: str, number: int
    ) -> RevisionView:
        tenant_id = _tenant(principal)
        repo = RecordRepository(session, tenant_id)
        rec = self._any_state(repo, collection, key)
        r = repo.revision(rec.id, number)
        if r is None:
            raise RevisionNotFound
        data = self._open(tenant_id, r, rec.id)
        succeeded(session, principal, detail={"revision": number})
        return RevisionView(r.revision, r.operation, r.actor, r.size, r.created_at, data)

    # -- writes ---------------------------------------------------------------

    def _advance(
        self,
        repo: RecordRepository,
        principal: Principal,
        rec: Record,
        operation: str,
        data: dict[str, Any] | None,
    ) -> bool:
        """Compare-and-set ``rec`` to its next revision and log that revision."""
        now = utcnow()
        revision = rec.revision + 1
        sealed, size = (
            (None, 0) if data is None else self._seal(repo.tenant_id, rec.id, revision, data)
        )
        values: dict[str, Any] = {
            "revision": revision,
            "key_version": sealed.key_version if sealed else None,
            "wrapped_dek": sealed.wrapped_dek if sealed else None,
            "ciphertext": sealed.ciphertext if sealed else None,
            "size": size,
            "updated_at": now,
            "deleted_at": now if operation == "delete" else None,
        }
        if rec.deleted_at is not None:  # re-created after a delete
            values["created_at"] = now
        if not repo.compare_and_set(rec.id, rec.revision, values):
            return False
        repo.add_revision(
            record_id=rec.id,
            revision=revision,
            operation=operation,
            actor=principal.actor,
            key_version=values["key_version"],
            wrapped_dek=values["wrapped_dek"],
            ciphertext=values["ciphertext"],
            size=size,
            created_at=now,
        )
        for name, value in values.items():
            # The row is already written: update the object without making it dirty,
            # or the commit would flush a second, unconditional UPDATE.
            set_committed_value(rec, name, value)
        return True

    def _insert(
        self,
        repo: RecordRepository,
        principal: Principal,
        c: Any,
        key: str,
        data: dict[str, Any],
    ) -> Record | None:
        """Insert revision 1 of a new record; None if someone created it first."""
        now = utcnow()
        record_id = uuid.uuid4()
        sealed, size = self._seal(repo.tenant_id, record_id, 1, data)
        rec = Record(
            id=record_id,
            tenant_id=repo.tenant_id,
            collection_id=c.id,
            record_key=key,
            revision=1,
            key_version=sealed.key_version,
            wrapped_dek=sealed.wrapped_dek,
            ciphertext=sealed.ciphertext,
            size=size,
            created_at=now,
            updated_at=now,
        )
        try:
            with repo.session.begin_nested():
                repo.add_record(rec)
        except IntegrityError:
            return None
        repo.add_revision(
            record_id=record_id,
            revision=1,
            operation="create",
            actor=principal.actor,
            key_version=sealed.key_version,
            wrapped_dek=sealed.wrapped_dek,
            ciphertext=sealed.ciphertext,
            size=size,
            created_at=now,
        )
        return rec

    @staticmethod
    def _check_preconditions(rec: Record | None, if_match: IfMatch, if_none_match: bool) -> None:
        current = rec.revision if rec is not None and rec.deleted_at is None else None
        if if_none_match and current is not None:
            raise RecordExists(current_revision=current)
        if if_match == "*" and current is None:
            raise PreconditionFailed("If-Match: * but the record does not exist")
        if isinstance(if_match, set) and (current is None or current not in if_match):
            raise StaleRevision(current_revision=current)

    @action("records.replace", "record", _record)
    def put(
        self,
        session: Session,
        principal: Principal,
        collection: str,
        key: str,
        data: Any,
        *,
        if_match: IfMatch = None,
        if_none_match: bool = False,
    ) -> tuple[RecordView, bool]:
        """Create or replace a record; returns the new view and whether it was created."""
        view, created = self._put(
            session,
            principal,
            collection,
            key,
            data,
            if_match=if_match,
            if_none_match=if_none_match,
        )
        succeeded(session, principal, detail={"revision": view.revision})
        return view, created

    def _put(
        self,
        session: Session,
        principal: Principal,
        collection: str,
        key: str,
        data: Any,
        *,
        if_match: IfMatch,
        if_none_match: bool,
    ) -> tuple[RecordView, bool]:
        check_names(collection, key)
        repo = RecordRepository(session, _tenant(principal))
        c: Any = repo.collection_for_write(collection)
        if c is None:  # the first write creates the collection
            c = self._collection(repo, collection, create=True)
        for attempt in range(_UNCONDITIONAL_RETRIES):
            rec = repo.record(c.id, key)
            creating = rec is None or rec.deleted_at is not None
            # What this PUT is, for its audit entry whether it succeeds or fails.
            declare(
                session,
                "records.create" if creating else "records.replace",
                "record",
                f"{collection}/{key}",
            )
            if attempt == 0:
                self._validate(c, data)
            self._check_preconditions(rec, if_match, if_none_match)
            if rec is None:
                created = self._insert(repo, principal, c, key, data)
                if created is not None:
                    return self._view(repo.tenant_id, collection, created, data), True
                continue
            was_deleted = rec.deleted_at is not None
            if self._advance(repo, principal, rec, "create" if was_deleted else "replace", data):
                return self._view(repo.tenant_id, collection, rec, data), was_deleted
            session.expire_all()
            if if_match is not None:
                current = repo.record(c.id, key)
                raise StaleRevision(current_revision=current.revision if current else None)
        raise StaleRevision("too much contention on this record; retry")

    @action("records.create", "collection", _name)
    def create(
        self, session: Session, principal: Principal, collection: str, data: Any
    ) -> RecordView:
        """Create a record with a server-chosen id."""
        view, _ = self.put(
            session, principal, collection, uuid.uuid4().hex, data, if_none_match=True
        )
        return view

    @action("records.patch", "record", _record)
    def patch(
        self,
        session: Session,
        principal: Principal,
        collection: str,
        key: str,
        patch: Any,
        *,
        if_match: IfMatch = None,
    ) -> RecordView:
        """Apply a JSON merge patch (RFC 7396) to the current revision."""
        check_names(collection, key)
        tenant_id = _tenant(principal)
        repo = RecordRepository(session, tenant_id)
        for _ in range(_UNCONDITIONAL_RETRIES):
            c, rec = self._live(repo, collection, key)
            self._check_preconditions(rec, if_match, False)
            data = merge_patch(self._open(tenant_id, rec, rec.id) or {}, patch)
            self._validate(c, data)
            if self._advance(repo, principal, rec, "patch", data):
                view = self._view(tenant_id, collection, rec, data)
                succeeded(session, principal, detail={"revision": view.revision})
                return view
            session.expire_all()
            if if_match is not None:
                raise StaleRevision
        raise StaleRevision("too much contention on this record; retry")

    @action("records.delete", "record", _record)
    def delete(
        self,
        session: Session,
        principal: Principal,
        collection: str,
        key: str,
        *,
        if_match: IfMatch = None,
    ) -> None:
        """Delete a record; its revisions are kept and a tombstone stays for sync clients."""
        check_names(collection, key)
        repo = RecordRepository(session, _tenant(principal))
        for _ in range(_UNCONDITIONAL_RETRIES):
            _, rec = self._live(repo, collection, key)
            self._check_preconditions(rec, if_match, False)
            if self._advance(repo, principal, rec, "delete", None):
                # Crypto-shredding: the attachments' data keys go with the record.
                shredded = AttachmentRepository(session, repo.tenant_id).shred_record(rec.id)
                succeeded(
                    session,
                    principal,
                    detail={"revision": rec.revision, "attachments_shredded": shredded},
                )
                return
            session.expire_all()
            if if_match is not None:
                raise StaleRevision
        raise StaleRevision("too much contention on this record; retry")
