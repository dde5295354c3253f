"""Cryptographic erase of one tenant in every backup generation (KEY-2, LIFE-2).

A generation's system data holds the tenant's records only as ciphertext under the
tenant's keys, and those keys live only in the generation's *keyring file* (ADR 0021).
Shredding rewrites that file without the tenant's rows (``tenant_keys``,
``vault_entry_keys``), seals it under a fresh data key (the old key is dropped
with the old manifest), and re-signs the manifest; every other file of the
generation is left as it is. Once done, no generation can decrypt the tenant, and
:func:`probe` proves it by trying a sample ciphertext against each generation's keyring.

Keyring files are SQLite copies or, on PostgreSQL, ``pg_dump`` custom archives; the
latter are rewritten as plain SQL (``pg_restore -f -`` filtered), which the restore
applies with ``psql`` (``meta.format = "pg_sql"``).
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from hokan.backup import container, errors
from hokan.backup.container import FileEntry
from hokan.backup.service import KEYRING_FILE, Backups, _stream_file, _tool, canonical
from hokan.backup.targets import MANIFEST, FolderTarget
from hokan.keyring.errors import DecryptionFailed, TenantKeyMissing, TenantKeysDestroyed
from hokan.keyring.service import Keyring, Sealed
from hokan.kit import crypto
from hokan.kit.clock import utcnow
from hokan.kit.db import Database, KeyringBase, make_engine
from hokan.models import KeyStatus, TenantKey

# The keyring tables that hold a tenant's keys (both have a tenant_id column).
_TENANT_TABLES = ("tenant_keys", "vault_entry_keys")


@dataclass(frozen=True)
class Sample:
    """A ciphertext of the tenant and how to open it (a record revision)."""

    tenant_id: uuid.UUID
    purpose: str
    context: dict[str, str | int]
    sealed: Sealed


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _folder(target: Any) -> FolderTarget:
    if not isinstance(target, FolderTarget):  # S3 targets: not in this slice (ADR 0024)
        raise errors.TargetUnavailable("target", target=target.name, cause="not_a_folder")
    return target


def _replace(target: FolderTarget, generation: str, name: str, data: Iterator[bytes]) -> Path:
    """Write ``name`` of a published generation beside the old file; returns the temp path."""
    folder = target.root / generation
    part = folder / f".{name}.shred-part"
    with part.open("wb") as out:
        for piece in data:
            out.write(piece)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(part, 0o600)
    return part


def _keyring_file(
    backups: Backups, target: FolderTarget, generation: str, into: Path
) -> tuple[dict[str, Any], FileEntry]:
    """Decrypt a generation's keyring file into ``into``; the (signed) manifest and its entry."""
    manifest = backups._signed(target, generation)
    data = next(f for f in manifest["files"] if f["name"] == KEYRING_FILE)
    entry = FileEntry.from_json(data)
    try:
        key = backups.master.unwrap(
            base64.b64decode(manifest["keys"]["keyring"]), container.key_aad(generation, "keyring")
        )
    except (crypto.DecryptionError, KeyError, ValueError):
        raise errors.WrongKey("generation", generation=generation) from None
    with target.open(generation, KEYRING_FILE) as stream, into.open("wb") as out:
        for piece in container.open_sealed(stream, key=key, generation=generation, entry=entry):
            out.write(piece)
    return manifest, entry


def _pg_sql(path: Path, fmt: str) -> str:
    """The keyring archive as plain SQL."""
    if fmt == "pg_sql":
        return path.read_text(encoding="utf-8")
    out = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [
            _tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--clean",  # the script replaces what it restores: in place and into a new db
            "--if-exists",
            "-f",
            "-",
            str(path),
        ],
        capture_output=True,
        check=False,
    )
    if out.returncode != 0:
        raise errors.SnapshotFailed("tool", tool="pg_restore", status=out.returncode)
    return out.stdout.decode("utf-8")


def _filter_sql(sql: str, tenant_id: uuid.UUID) -> tuple[str, int]:
    """Drop the tenant's rows from the COPY blocks of its key tables."""
    needle = str(tenant_id)
    kept: list[str] = []
    removed = 0
    inside = False
    for line in sql.splitlines(keepends=True):
        if line.startswith("COPY ") and any(f".{t} " in line for t in _TENANT_TABLES):
            inside = True
        elif inside and line.rstrip("\n") == "\\.":
            inside = False
        elif inside and needle in line:
            removed += 1
            continue
        kept.append(line)
    return "".join(kept), removed


def _shred_sqlite(path: Path, tenant_id: uuid.UUID) -> int:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA secure_delete = ON")
        removed = 0
        for table in _TENANT_TABLES:
            # Table names are constants; the tenant id is a bound parameter.
            cur = conn.execute(f"DELETE FROM {table} WHERE tenant_id = ?", (tenant_id.hex,))  # noqa: S608
            removed += cur.rowcount
            cur = conn.execute(f"DELETE FROM {table} WHERE tenant_id = ?", (str(tenant_id),))  # noqa: S608
            removed += cur.rowcount
        conn.commit()
        conn.execute("VACUUM")  # no free page keeps the old bytes
    finally:
        conn.close()
    return removed


def shred_generation(
    backups: Backups, target: FolderTarget, generation: str, tenant_id: uuid.UUID
) -> dict[str, Any]:
    """Rewrite one generation's keyring file without the tenant; re-sign its manifest."""
    s = backups.settings
    with tempfile.TemporaryDirectory(prefix="hokan-shred-") as scratch:
        plain = Path(scratch) / "keyring"
        manifest, old = _keyring_file(backups, target, generation, plain)
        fmt = str(old.meta.get("format", "sqlite"))
        meta = dict(old.meta)
        if fmt == "sqlite":
            removed = _shred_sqlite(plain, tenant_id)
        else:
            sql, removed = _filter_sql(_pg_sql(plain, fmt), tenant_id)
            plain.write_text(sql, encoding="utf-8")
            meta["format"] = "pg_sql"
        new_key = crypto.random_key()
        entry = FileEntry(KEYRING_FILE, key="keyring", meta=meta)
        sealed = container.seal(
            _stream_file(plain),
            key=new_key,
            generation=generation,
            entry=entry,
            chunk_bytes=s.backup_chunk_mib * 1024 * 1024,
            level=s.backup_zstd_level,
        )
        part = _replace(target, generation, KEYRING_FILE, sealed)
    manifest["files"] = [
        entry.as_json() if f["name"] == KEYRING_FILE else f for f in manifest["files"]
    ]
    manifest["keys"]["keyring"] = _b64(
        backups.master.wrap(new_key, container.key_aad(generation, "keyring"))
    )
    manifest.setdefault("shredded", []).append(
        {"tenant": str(tenant_id), "at": utcnow().isoformat(), "rows": removed}
    )
    signer = backups.keyring.audit_signing_key()
    document = {"manifest": manifest, "signature": _b64(signer.sign(canonical(manifest)))}
    manifest_part = _replace(
        target, generation, MANIFEST, iter([json.dumps(document, indent=1).encode()])
    )
    folder = target.root / generation
    os.replace(part, folder / KEYRING_FILE)
    os.replace(manifest_part, folder / MANIFEST)
    return {
        "generation": generation,
        "target": target.name,
        "class": manifest.get("class"),
        "created_at": manifest.get("created_at"),
        "rows_removed": removed,
    }


def shred_tenant(backups: Backups, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """Shred the tenant in every generation of every target."""
    out = []
    for target in backups.targets():
        folder = _folder(target)
        with folder.lock():
            for generation in folder.generations():
                out.append(shred_generation(backups, folder, generation, tenant_id))
    return out


# -- proof ---------------------------------------------------------------------------


def _unescape_copy(value: str) -> str | None:
    return None if value == "\\N" else value


def _sqlite_from_sql(sql: str, into: Path) -> None:
    """A SQLite keyring holding the ``tenant_keys`` rows of a plain SQL keyring archive
    (enough to try a tenant's ciphertext against it)."""
    engine = make_engine(f"sqlite:///{into}")
    KeyringBase.metadata.create_all(engine)
    rows: list[TenantKey] = []
    columns: list[str] | None = None
    for line in sql.splitlines():
        if line.startswith("COPY public.tenant_keys "):
            columns = [c.strip() for c in line.split("(", 1)[1].split(")", 1)[0].split(",")]
            continue
        if columns is None:
            continue
        if line == "\\.":
            break
        row = dict(zip(columns, (_unescape_copy(v) for v in line.split("\t")), strict=False))
        wrapped = row.get("wrapped_key")
        rows.append(
            TenantKey(
                tenant_id=uuid.UUID(str(row["tenant_id"])),
                purpose=str(row["purpose"]),
                version=int(str(row["version"])),
                status=KeyStatus(str(row["status"])),
                wrapped_key=bytes.fromhex(wrapped.removeprefix("\\\\x")) if wrapped else None,
                master_key_id=str(row["master_key_id"]),
            )
        )
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()
    engine.dispose()


def _try(keyring_url: str, backups: Backups, sample: Sample) -> str:
    keyring = Keyring(
        Database(make_engine(keyring_url, pool_size=1, create=False)), backups.master, 0
    )
    try:
        keyring.open(sample.tenant_id, sample.purpose, sample.context, sample.sealed)
    except (TenantKeyMissing, TenantKeysDestroyed):
        return "no_key"
    except DecryptionFailed:
        return "does_not_open"
    finally:
        keyring.db.dispose()
    return "decrypts"


def probe(
    backups: Backups, sample: Sample, *, on_generation: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Try the sample ciphertext against every generation's keyring: each result must be
    ``no_key`` (the generation holds no key of the tenant) for the erase to be proven."""
    out = []
    for target in backups.targets():
        folder = _folder(target)
        for generation in folder.generations():
            with tempfile.TemporaryDirectory(prefix="hokan-probe-") as scratch:
                plain = Path(scratch) / "keyring"
                _, entry = _keyring_file(backups, folder, generation, plain)
                fmt = str(entry.meta.get("format", "sqlite"))
                if fmt == "sqlite":
                    db_path = plain
                else:
                    db_path = Path(scratch) / "keyring.db"
                    _sqlite_from_sql(_pg_sql(plain, fmt), db_path)
                result = _try(f"sqlite:///{db_path}", backups, sample)
            out.append(
                {
                    "generation": generation,
                    "target": folder.name,
                    "result": result,
                    "ok": result != "decrypts",
                }
            )
            if on_generation:
                on_generation(generation)
    return out
