"""A tenant's own data, exported before termination (LIFE-4).

The export is a folder, written under a temporary name in the destination and renamed
into place only when complete (atomic: a reader never sees half an export)::

    collections/<name>.jsonl             current records (one JSON object a line)
    collections/<name>.revisions.jsonl   every revision of every record
    attachments/<id>                     each attachment's bytes (decrypted, SHA-256 checked)
    attachments.jsonl                    attachment metadata with its SHA-256
    audit-bundle.json                    the tenant's audit chain, verifiable offline
                                         (``hokan audit verify --bundle``)
    users.jsonl, terminals.jsonl         people and terminals, never a secret
    manifest.json                        counts, and the SHA-256 of every file above

Records are decrypted one at a time and attachments streamed: memory stays small.
The vault is not part of it (see :mod:`hokan.lifecycle.vault_export`).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import orjson

from hokan import __version__
from hokan.audit import bundle
from hokan.audit import service as audit
from hokan.blobs import BlobStore
from hokan.keyring.service import RECORDS, Keyring, Sealed
from hokan.kit.clock import iso, utcnow
from hokan.kit.db import Database
from hokan.lifecycle import repository
from hokan.models import AttachmentStatus, Tenant
from hokan.principals.principal import Principal
from hokan.records.attachments.sealing import open_stream
from hokan.records.service import record_context

FORMAT = "hokan-tenant-export-1"
Progress = Callable[[str, int], None]  # (what, how many more)


def _line(out: IO[bytes], value: dict[str, Any]) -> None:
    out.write(orjson.dumps(value, option=orjson.OPT_SORT_KEYS) + b"\n")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while piece := handle.read(1024 * 1024):
            digest.update(piece)
    return digest.hexdigest()


def _attachment_context(
    tenant_id: uuid.UUID, record_id: uuid.UUID, attachment_id: uuid.UUID
) -> dict[str, str]:
    # As hokan.records.attachments.service seals them.
    return {
        "object": "attachment",
        "tenant": str(tenant_id),
        "record": str(record_id),
        "attachment": str(attachment_id),
    }


class Exporter:
    def __init__(
        self, db: Database, keyring: Keyring, blobs: BlobStore, archive_dir: Path | None
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.blobs = blobs
        self.archive_dir = archive_dir

    def _open(self, tenant_id: uuid.UUID, record_id: uuid.UUID, row: Any) -> Any:
        if row.ciphertext is None or row.wrapped_dek is None or row.key_version is None:
            return None
        sealed = Sealed(row.key_version, row.wrapped_dek, row.ciphertext)
        context = record_context(record_id, row.revision)
        return orjson.loads(self.keyring.open(tenant_id, RECORDS, context, sealed))

    def export(
        self,
        tenant_id: uuid.UUID,
        out_dir: Path,
        actor: Principal,
        *,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Write the export into a new folder under ``out_dir``; returns its manifest."""
        tick = progress or (lambda what, n: None)
        out_dir.mkdir(parents=True, exist_ok=True)
        started = utcnow()
        with self.db.session(system=True) as s:
            tenant = s.get(Tenant, tenant_id)
            assert tenant is not None
            code = tenant.code
        name = f"{code}-export-{started:%Y%m%dT%H%M%SZ}"
        work = out_dir / f".{name}.part-{secrets.token_hex(3)}"
        work.mkdir(mode=0o700)
        try:
            counts = self._write(tenant_id, work, tick)
            files = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
            manifest = {
                "format": FORMAT,
                "tenant": {"id": str(tenant_id), "code": code},
                "exported_at": iso(started),
                "hokan_version": __version__,
                "counts": counts,
                "files": {f: _sha256(work / f) for f in files},
            }
            (work / "manifest.json").write_text(
                json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8"
            )
            final = out_dir / name
            os.replace(work, final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        with self.db.session(write=True, system=True) as s:
            audit.record(
                s,
                actor,
                "lifecycle.export",
                "tenant",
                code,
                detail={k: v for k, v in counts.items() if isinstance(v, int)},
                tenant_id=tenant_id,
            )
        manifest["path"] = str(final)
        return manifest

    def _write(self, tenant_id: uuid.UUID, work: Path, tick: Progress) -> dict[str, Any]:
        counts: dict[str, Any] = {"records": 0, "revisions": 0, "attachments": 0}
        (work / "collections").mkdir()
        with self.db.session(tenant=tenant_id) as s:
            collections = repository.collections(s, tenant_id)
            for coll in collections:
                current = work / "collections" / f"{coll.name}.jsonl"
                history = work / "collections" / f"{coll.name}.revisions.jsonl"
                with current.open("wb") as cur, history.open("wb") as hist:
                    for rec in repository.records_of(s, tenant_id, coll.id):
                        if rec.deleted_at is None:
                            _line(
                                cur,
                                {
                                    "key": rec.record_key,
                                    "revision": rec.revision,
                                    "created_at": iso(rec.created_at),
                                    "updated_at": iso(rec.updated_at),
                                    "data": self._open(tenant_id, rec.id, rec),
                                },
                            )
                            counts["records"] += 1
                        for rev in repository.revisions_of(s, tenant_id, rec.id):
                            _line(
                                hist,
                                {
                                    "key": rec.record_key,
                                    "revision": rev.revision,
                                    "operation": rev.operation,
                                    "actor": rev.actor,
                                    "created_at": iso(rev.created_at),
                                    "data": self._open(tenant_id, rec.id, rev),
                                },
                            )
                            counts["revisions"] += 1
                        tick("records", 1)
            counts["collections"] = len(collections)
            attachments = [
                a
                for a in repository.attachments_of(s, tenant_id)
                if a.status is AttachmentStatus.active
            ]
            users = repository.users_of(s, tenant_id)
            terminals = repository.terminals(s, tenant_id)
        (work / "attachments").mkdir()
        with (work / "attachments.jsonl").open("wb") as meta:
            for row in attachments:
                self._attachment(tenant_id, row, work / "attachments" / str(row.id))
                _line(
                    meta,
                    {
                        "id": str(row.id),
                        "record_id": str(row.record_id),
                        "filename": row.filename,
                        "content_type": row.content_type,
                        "size": row.size,
                        "sha256": row.sha256,
                        "created_at": iso(row.created_at),
                    },
                )
                counts["attachments"] += 1
                tick("attachments", 1)
        with (work / "users.jsonl").open("wb") as out:
            for user in users:
                _line(
                    out,
                    {
                        "serial": user.serial,
                        "name": user.display_name,
                        "email": user.email,
                        "roles": user.roles,
                        "status": user.status.value,
                        "created_at": iso(user.created_at),
                    },
                )
        with (work / "terminals.jsonl").open("wb") as out:
            for cert in terminals:
                _line(
                    out,
                    {
                        "serial": cert.serial,
                        "terminal": cert.terminal,
                        "fingerprint": cert.fingerprint,
                        "not_before": iso(cert.not_before),
                        "not_after": iso(cert.not_after),
                        "revoked_at": iso(cert.revoked_at) if cert.revoked_at else None,
                    },
                )
        counts["users"], counts["terminals"] = len(users), len(terminals)
        (work / "audit-bundle.json").write_bytes(
            bundle.export(self.db, self.keyring, tenant_id, self.archive_dir)
        )
        tick("audit", 1)
        return counts

    def _attachment(self, tenant_id: uuid.UUID, row: Any, dest: Path) -> None:
        context = _attachment_context(tenant_id, row.record_id, row.id)
        dek = self.keyring.open_data_key(
            tenant_id, RECORDS, context, row.key_version, row.wrapped_dek
        )
        digest = hashlib.sha256()
        with dest.open("wb") as out:
            stream: Iterable[bytes] = open_stream(dek, context, self.blobs.open(row.blob_key))
            for piece in stream:
                digest.update(piece)
                out.write(piece)
        if digest.hexdigest() != row.sha256:
            raise ValueError(f"attachment {row.id} does not match its SHA-256")
