"""Restore one tenant's data from a generation into the live service (BAK-4, ADR 0023).

The generation's system database is restored into a scratch area (a SQLite file, or on
PostgreSQL a scratch database made and dropped by the backup role); the tenant's
collections, records, revisions and attachments are read from it and replace the tenant's
live rows in *one* transaction, which also writes the audit entry (the audit trail itself
is kept: append-only). The attachments' blobs are put back first (each blob key is unique
to its attachment, so putting one back changes nothing another row refers to); blobs of
attachments the restore removed are deleted after the commit. Other tenants' rows, blobs and
keys are never read for writing, and on PostgreSQL the unit of work is tagged with the
tenant, so row-level security would refuse any other tenant's row.

The keyring is *not* restored: the tenant's live keys must still open the restored rows
(a tenant whose keys were destroyed stays unreadable — crypto-shredding wins).
"""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hokan.audit import service as audit
from hokan.backup import errors, restoring
from hokan.backup import repository as tenant_rows
from hokan.backup.service import BLOBS_FILE, SYSTEM_FILE, Backups, _dialect, pg_restore
from hokan.models import KeyStatus

Progress = Callable[[int], None]


@contextlib.contextmanager
def _scratch_database(owner_url: str) -> Iterator[str]:
    """An empty PostgreSQL database beside the live one, dropped afterwards."""
    base = make_url(owner_url)
    name = f"{base.database}_tr_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _snapshot_rows(
    backups: Backups,
    opened: restoring.Opened,
    key: bytes,
    tenant_id: uuid.UUID,
    scratch: Path,
    progress: Progress | None,
) -> dict[str, list[dict[str, Any]]]:
    entry = next(f for f in opened.files if f.name == SYSTEM_FILE)
    chunks = restoring.plaintext(opened.target, opened.generation, entry, key, progress)
    if entry.meta.get("format") != "pg_dump_custom":
        path = scratch / "system.db"
        restoring.write_file(chunks, path)
        engine = create_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as conn:
                return tenant_rows.read(conn, tenant_id)
        finally:
            engine.dispose()
    dump = scratch / "system.dump"
    restoring.write_file(chunks, dump)
    owner = backups.settings.resolved_backup_database_url
    if _dialect(owner) != "postgresql":
        raise errors.RestoreRefused("engine", file=entry.name)
    with _scratch_database(owner) as url:
        pg_restore(dump, url)
        dump.unlink()
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                return tenant_rows.read(conn, tenant_id)
        finally:
            engine.dispose()


def restore_tenant(
    backups: Backups,
    generation: str,
    tenant_id: uuid.UUID,
    *,
    target: str | None = None,
    progress: Progress | None = None,
    total: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Put ``tenant_id``'s rows and attachment blobs back as they were in ``generation``."""
    if backups.db is None or backups.blobs is None:
        raise errors.RestoreRefused("tenant_unknown", tenant=str(tenant_id))
    db, blobs = backups.db, backups.blobs
    started = time.monotonic()
    opened = restoring.open_generation(backups, generation, target)
    if SYSTEM_FILE not in {f.name for f in opened.files}:
        raise errors.RestoreRefused("tenant_absent", generation=generation, tenant=str(tenant_id))
    with db.session(tenant=tenant_id) as s:
        if not tenant_rows.tenant_exists(s, tenant_id):
            raise errors.RestoreRefused("tenant_unknown", tenant=str(tenant_id))
    # The live keyring vouches for the manifest and unwraps the data key (same installation).
    key = restoring.data_key(backups, opened, backups.keyring)
    used = [f for f in opened.files if f.name in (SYSTEM_FILE, BLOBS_FILE)]
    if total:
        total(sum(f.size for f in used))
    with restoring.scratch_dir(backups.settings.data_dir) as scratch:
        rows = _snapshot_rows(backups, opened, key, tenant_id, scratch, progress)
    if not any(rows.values()):
        raise errors.RestoreRefused("tenant_absent", generation=generation, tenant=str(tenant_id))
    usable = {
        k.version
        for k in backups.keyring.list_keys(tenant_id)
        if k.status is not KeyStatus.destroyed
    }
    needed = {
        int(r["key_version"])
        for table in rows.values()
        for r in table
        if r.get("key_version") is not None and r.get("ciphertext", b"") is not None
    }
    if needed - usable:
        versions = ", ".join(str(v) for v in sorted(needed - usable))
        raise errors.RestoreRefused("tenant_keys", tenant=str(tenant_id), versions=versions)
    wanted = {str(r["blob_key"]) for r in rows["record_attachments"]}
    entry = next((f for f in opened.files if f.name == BLOBS_FILE), None)
    put = 0
    if entry is not None:
        chunks = restoring.plaintext(opened.target, generation, entry, key, progress)
        put = restoring.blobs_into(chunks, blobs, only=wanted)
    with db.session(write=True, tenant=tenant_id) as s:
        before = tenant_rows.live_blob_keys(s, tenant_id)
        removed = tenant_rows.replace(s, tenant_id, rows)
        restored = {name: len(found) for name, found in rows.items()}
        duration_ms = int((time.monotonic() - started) * 1000)
        audit.record(
            s,
            backups.actor,
            "backup.restore_tenant",
            "backup",
            generation,
            detail={**restored, "blobs": put, "duration_ms": duration_ms},
            tenant_id=tenant_id,
        )
    for stale in sorted(before - wanted):  # after the commit: the rows no longer name them
        with contextlib.suppress(Exception):
            blobs.delete(stale)
    expected = opened.manifest.get("row_counts_by_tenant", {}).get(SYSTEM_FILE, {})
    label = str(tenant_id)
    return {
        "generation": generation,
        "tenant": label,
        "rows": restored,
        "rows_in_manifest": {t: int(expected.get(t, {}).get(label, 0)) for t in restored},
        "rows_replaced": removed,
        "blobs": put,
        "seconds": round(duration_ms / 1000, 3),
        "duration_ms": duration_ms,
    }
