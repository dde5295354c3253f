"""Record jobs: re-wrapping sealed rows onto the active tenant key (KEY-3, ``hokan keys``);
``records.analyze`` keeps the planner statistics of the record tables current."""

from __future__ import annotations

import uuid

from hokan.keyring.service import RECORDS, Keyring, Sealed
from hokan.kit.db import Database
from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.models import Record, RecordRevision
from hokan.records.attachments.service import rewrap_attachments
from hokan.records.repository import rewrap_row, stale_sealed_rows
from hokan.records.service import record_context

BATCH = 500


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
                rows = stale_sealed_rows(s, model, tenant_id, active, BATCH)
                for row_id, record_id, revision, version, wrapped, ciphertext in rows:
                    sealed = Sealed(version, wrapped, ciphertext)
                    new = keyring.rewrap(
                        tenant_id, RECORDS, record_context(record_id, revision), sealed
                    )
                    if new is None:
                        continue
                    rewrap_row(s, model, row_id, version, new.key_version, new.wrapped_dek)
                    moved += 1
            if len(rows) < BATCH:
                break
    return moved + rewrap_attachments(db, keyring, tenant_id, BATCH)


# The tables whose statistics decide the hot paths' plans (ADR 0027).
STATISTICS_TABLES = ("collections", "records", "record_revisions", "record_attachments")


def _analyze(host: JobHost) -> JobResult:
    result = host.db.analyze(STATISTICS_TABLES)
    return JobResult({"analyzed": len(result["analyzed"]), "skipped": result["skipped"]})


ANALYZE = Job(
    "records.analyze",
    "every 6h",
    _analyze,
    "レコード関連テーブルの統計情報を更新 (件数が増えても検索計画を一定に保つ)",
    "Refresh the planner statistics of the record tables (plans stay flat as data grows)",
)

JOBS = (ANALYZE,)
