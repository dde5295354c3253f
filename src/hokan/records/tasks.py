"""Record jobs: ``records.rewrap_keys`` moves sealed rows onto the active tenant key (KEY-3)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select, update

from hokan.keyring.service import RECORDS, Keyring, Sealed
from hokan.kit.db import Database, tenant_scoped
from hokan.models import Record, RecordRevision
from hokan.records.attachments.service import rewrap_attachments
from hokan.records.service import record_context

BATCH = 500


def _stale(
    model: type[Record] | type[RecordRevision], tenant_id: uuid.UUID, active: int
) -> Select[*tuple[Any, ...]]:
    record_ref = RecordRevision.record_id if model is RecordRevision else Record.id
    stmt = select(
        model.id, record_ref, model.revision, model.key_version, model.wrapped_dek, model.ciphertext
    )
    return tenant_scoped(stmt, model, tenant_id).where(model.key_version < active).limit(BATCH)


def rewrap_tenant(db: Database, keyring: Keyring, tenant_id: uuid.UUID) -> int:
    """Re-wrap every data key of a tenant's records under its active key version.

    Runs in batches of short transactions while the service keeps serving: a
    row written meanwhile already uses the active version and is skipped. Only
    the wrapped data key changes; payloads are not re-encrypted. Returns the
    number of rows moved.
    """
    active = keyring.active_version(tenant_id, RECORDS)
    moved = 0
    for model in (Record, RecordRevision):
        while True:
            with db.session(write=True, tenant=tenant_id) as s:
                rows = s.execute(_stale(model, tenant_id, active)).all()
                for row_id, record_id, revision, version, wrapped, ciphertext in rows:
                    sealed = Sealed(version, wrapped, ciphertext)
                    new = keyring.rewrap(
                        tenant_id, RECORDS, record_context(record_id, revision), sealed
                    )
                    if new is None:
                        continue
                    s.execute(
                        update(model)
                        .where(model.id == row_id, model.key_version == version)
                        .values(key_version=new.key_version, wrapped_dek=new.wrapped_dek)
                    )
                    moved += 1
            if len(rows) < BATCH:
                break
    return moved + rewrap_attachments(db, keyring, tenant_id, BATCH)
