"""Backups (BAK-1..4): take a generation, list, verify, restore into a new data dir, prune.

A generation of a *system* class holds the keyring database, the system database
and the blob store; the *vault* class holds the keyring database and each vault
fragment store as its own file — system classes never contain fragments (BAK-1).
Every file is sealed by :mod:`hokan.backup.container` under a fresh data key;
the data key is wrapped by the backup key (keyring), except the keyring file's,
which is wrapped by the master key so the keyring is restorable on its own
(KEY-2, ADR 0021). The manifest is signed with the audit checkpoint key.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from hokan import __version__
from hokan.audit import service as audit
from hokan.backup import container, errors, pruning, retention
from hokan.backup.container import FileEntry
from hokan.backup.targets import MANIFEST, FolderTarget, Target
from hokan.blobs import BlobStore
from hokan.blobs.s3 import S3BlobStore
from hokan.blobs.store import FolderBlobStore
from hokan.keyring.master import MasterKeyProvider
from hokan.keyring.service import Keyring
from hokan.kit import crypto
from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.principals.principal import SYSTEM, Principal
from hokan.settings import Settings

FORMAT = "hokan-backup-1"
READ = 1024 * 1024
KEYRING_FILE = "keyring.db.hbk"
SYSTEM_FILE = "system.db.hbk"
BLOBS_FILE = "blobs.pack.hbk"
TLS_FILE = "tls.pack.hbk"
TARGETS = ("local", "remote")
Progress = Callable[[int], None]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text_: str) -> bytes:
    return base64.b64decode(text_)


def canonical(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _stream_file(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while piece := handle.read(READ):
            yield piece


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise ValueError("in-memory SQLite cannot be backed up")
    return Path(database)


def sqlite_snapshot(url: str, into: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API: readers and
    writers go on; the copy is one point in time)."""
    source = sqlite3.connect(f"file:{_sqlite_path(url)}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(into)
        try:
            source.backup(target, pages=4096)
        finally:
            target.close()
    finally:
        source.close()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the password as PGPASSWORD
    (never on a command line other users can read)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    """The PostgreSQL client tool's full path (the server's own major version belongs here)."""
    found = shutil.which(name)
    if found is None:
        raise errors.SnapshotFailed("tool", tool=name, status="not installed")
    return found


def pg_dump(url: str) -> Iterator[bytes]:
    """``pg_dump --format=custom`` of the database, streamed from its stdout."""
    dsn, env = _libpq(url)
    proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--dbname", dsn],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdout is not None
    try:
        while piece := proc.stdout.read(READ):
            yield piece
    finally:
        proc.stdout.close()
        status = proc.wait()
    if status != 0:
        raise errors.SnapshotFailed("tool", tool="pg_dump", status=status)


def pg_restore(dump: Path, url: str) -> None:
    dsn, env = _libpq(url)
    status = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [
            _tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--dbname",
            dsn,
            dump,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        check=False,
    ).returncode
    if status != 0:
        raise errors.SnapshotFailed("tool", tool="pg_restore", status=status)


def psql_apply(script: Path, url: str) -> None:
    """Run a plain SQL archive (a shredded keyring, ``hokan.backup.shred``) in one transaction."""
    dsn, env = _libpq(url)
    status = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [
            _tool("psql"),
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set",
            "ON_ERROR_STOP=1",
            "--dbname",
            dsn,
            "--file",
            str(script),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        check=False,
    ).returncode
    if status != 0:
        raise errors.SnapshotFailed("tool", tool="psql", status=status)


@dataclass
class Facts:
    """What a database snapshot says of itself, for the manifest."""

    row_counts: dict[str, int]
    migration_head: str | None
    chain_heads: dict[str, dict[str, Any]] | None = None
    tenant_counts: dict[str, dict[str, int]] | None = None  # table -> tenant -> rows


NO_TENANT = "system"


def _tenant_label(value: object) -> str:
    """One spelling of a tenant id whatever the engine stored (SQLite: 32 hex digits)."""
    if value is None:
        return NO_TENANT
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)[:64]


def _by_tenant(rows: Iterable[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for tenant, count in rows:
        label = _tenant_label(tenant)
        out[label] = out.get(label, 0) + int(count)
    return out


def sqlite_facts(path: Path, *, chains: bool = False) -> Facts:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " ORDER BY name"
            )
        ]
        # Table names come from the catalogue, never from input.
        counts = {
            n: int(conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0])  # noqa: S608
            for n in names
        }
        head = None
        if "alembic_version" in names:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            head = row[0] if row else None
        heads = None
        if chains and "audit_chains" in names:
            heads = {
                str(c): {"seq": int(s), "head_hash": str(h)}
                for c, s, h in conn.execute("SELECT chain, seq, head_hash FROM audit_chains")
            }
        tenants: dict[str, dict[str, int]] = {}
        for n in names:
            columns = {r[1] for r in conn.execute(f'PRAGMA table_info("{n}")')}
            if "tenant_id" in columns:
                tenants[n] = _by_tenant(
                    conn.execute(f'SELECT tenant_id, count(*) FROM "{n}" GROUP BY tenant_id')  # noqa: S608
                )
        return Facts(counts, head, heads, tenants)
    finally:
        conn.close()


def pg_facts(url: str, *, chains: bool = False) -> Facts:
    """Row counts of the live database in one repeatable-read transaction (the dump is
    its own snapshot: the counts are taken a moment before it, see ADR 0021)."""
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            names = sorted(inspect(conn).get_table_names())
            counts = {
                n: int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one())  # noqa: S608
                for n in names
            }
            head = None
            if "alembic_version" in names:
                head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            heads = None
            if chains and "audit_chains" in names:
                rows = conn.execute(text("SELECT chain, seq, head_hash FROM audit_chains"))
                heads = {str(c): {"seq": int(s), "head_hash": str(h)} for c, s, h in rows}
            tenants: dict[str, dict[str, int]] = {}
            inspector = inspect(conn)
            for n in names:
                if any(c["name"] == "tenant_id" for c in inspector.get_columns(n)):
                    query = f'SELECT tenant_id, count(*) FROM "{n}" GROUP BY tenant_id'  # noqa: S608
                    tenants[n] = _by_tenant(conn.execute(text(query)))
            return Facts(counts, head, heads, tenants)
    finally:
        engine.dispose()


def _dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


class Backups:
    """The backup service of one installation (its settings, keyring and blob store)."""

    def __init__(
        self,
        settings: Settings,
        keyring: Keyring,
        blobs: BlobStore | None = None,
        db: Database | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        actor: Principal = SYSTEM,
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.master: MasterKeyProvider = keyring.master
        self.blobs = blobs
        self.db = db
        self.clock = clock
        self.actor = actor

    # -- targets -------------------------------------------------------------

    def target(self, name: str) -> Target:
        s = self.settings
        if name == "local":
            root = s.resolved_backup_local_dir
        elif name == "remote" and s.backup_remote_url:
            from hokan.backup.s3target import S3Target, client_from_settings, parse_url

            bucket, prefix = parse_url(s.backup_remote_url)
            return S3Target(name, client_from_settings(s), bucket, prefix)
        elif name == "remote":
            root = s.resolved_backup_remote_dir
        else:
            raise errors.TargetUnavailable("target", target=name[:40], cause="unknown")
        if _inside(root, s.data_dir):
            raise errors.TargetUnavailable("inside_data_dir", target=name)
        return FolderTarget(name, root, wait_seconds=s.backup_lock_wait_seconds)

    def targets(self) -> list[Target]:
        return [self.target(n) for n in TARGETS]

    # -- taking a generation -----------------------------------------------------

    def run(
        self, klass: str, target_name: str | None = None, *, now: datetime | None = None
    ) -> dict[str, Any]:
        if klass not in retention.CLASSES:
            raise errors.UnknownClass("known", known=", ".join(retention.CLASSES))
        target = self.target(target_name or retention.DEFAULT_TARGET[klass])
        created = now or self.clock()
        started = time.monotonic()
        try:
            with target.lock():
                cleaned = target.clean_incomplete()
                name = f"{created:%Y%m%dT%H%M%SZ}-{klass}-{secrets.token_hex(3)}"
                manifest = self._write(target, name, klass, created)
                target.publish(name)
        except errors.BackupError as exc:
            self._audit(
                "backup.run",
                target.name,
                result=audit.ERROR,
                detail={
                    "class": klass,
                    "target": target.name,
                    "error": exc.code,
                },
            )
            raise
        summary = {
            "generation": name,
            "class": klass,
            "target": target.name,
            "files": len(manifest["files"]),
            "bytes": sum(f["size"] for f in manifest["files"]),
            "plain_bytes": sum(f["plain_size"] for f in manifest["files"]),
            "expires_at": manifest["expires_at"],
            "cleaned_incomplete": cleaned,
            "seconds": round(time.monotonic() - started, 3),
        }
        self._audit(
            "backup.run",
            name,
            detail={k: summary[k] for k in ("class", "target", "files", "bytes")},
        )
        return summary

    def _write(self, target: Target, name: str, klass: str, created: datetime) -> dict[str, Any]:
        s = self.settings
        kek = self.keyring.backup_kek()  # made before the keyring is copied: the copy holds it
        signer = self.keyring.audit_signing_key()
        keys = {"data": crypto.random_key(), "keyring": crypto.random_key()}
        files: list[FileEntry] = []
        row_counts: dict[str, dict[str, int]] = {}
        tenant_counts: dict[str, dict[str, dict[str, int]]] = {}
        heads: dict[str, Any] = {}
        chain_heads: dict[str, Any] | None = None
        target.begin(name)
        try:
            with tempfile.TemporaryDirectory(prefix="hokan-backup-") as scratch:
                work = Path(scratch)
                sets: list[tuple[str, str, str, str]] = [
                    (KEYRING_FILE, s.resolved_keyring_url, "keyring", "keyring"),
                ]
                if klass == retention.VAULT:
                    for i, url in enumerate(s.resolved_vault_store_urls, 1):
                        sets.append((f"vault-store-{i}.db.hbk", url, "data", "vault"))
                else:
                    sets.append((SYSTEM_FILE, s.resolved_backup_database_url, "data", "system"))
                for file_name, url, key_name, which in sets:
                    entry = FileEntry(file_name, key=key_name)
                    facts = self._database(target, name, entry, url, keys[key_name], work, which)
                    files.append(entry)
                    row_counts[file_name] = facts.row_counts
                    if facts.tenant_counts:
                        tenant_counts[file_name] = facts.tenant_counts
                    heads[which if which != "vault" else file_name] = facts.migration_head
                    if facts.chain_heads is not None:
                        chain_heads = facts.chain_heads
                if klass != retention.VAULT:
                    files.append(self._blobs(target, name, keys["data"]))
                    tls = self._tls(target, name, keys["data"])
                    if tls is not None:
                        files.append(tls)
            expires = retention.expires_at(klass, created)
            manifest: dict[str, Any] = {
                "format": FORMAT,
                "generation": name,
                "class": klass,
                "target": target.name,
                "created_at": created.isoformat(),
                "expires_at": expires.isoformat() if expires else None,
                "keep_newest": retention.KEEP_NEWEST[klass],
                "hokan_version": __version__,
                "migration_heads": heads,
                "row_counts": row_counts,
                "row_counts_by_tenant": tenant_counts,
                "public_url": s.resolved_public_url,
                "audit_chain_heads": chain_heads or {},
                "chunk_bytes": s.backup_chunk_mib * 1024 * 1024,
                "zstd_level": s.backup_zstd_level,
                "keys": {
                    "data": _b64(container.wrap_key(kek, keys["data"], name, "data")),
                    "keyring": _b64(
                        self.master.wrap(keys["keyring"], container.key_aad(name, "keyring"))
                    ),
                    "master_key_id": self.master.key_id,
                },
                "files": [f.as_json() for f in files],
                "signing_key": _b64(
                    signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
                ),
            }
            signature = signer.sign(canonical(manifest))
            document = {"manifest": manifest, "signature": _b64(signature)}
            target.write(name, MANIFEST, [json.dumps(document, indent=1).encode()])
            # BAK-3: read every chunk back before the generation counts as taken.
            for entry in files:
                with target.open(name, entry.name, incomplete=True) as stream:
                    container.check_stored(stream, generation=name, entry=entry)
        except BaseException:
            target.abandon(name)  # a kill -9 leaves the marker instead: the next run cleans it
            raise
        return manifest

    def _database(
        self,
        target: Target,
        name: str,
        entry: FileEntry,
        url: str,
        key: bytes,
        work: Path,
        which: str,
    ) -> Facts:
        s = self.settings
        chains = which == "system"
        if _dialect(url) == "sqlite":
            copy = work / f"{entry.name}.sqlite"
            sqlite_snapshot(url, copy)
            facts = sqlite_facts(copy, chains=chains)
            source: Iterable[bytes] = _stream_file(copy)
            entry.meta = {"format": "sqlite", "database": which}
        else:
            facts = pg_facts(url, chains=chains)
            source = pg_dump(url)
            entry.meta = {"format": "pg_dump_custom", "database": which}
        sealed = container.seal(
            source,
            key=key,
            generation=name,
            entry=entry,
            chunk_bytes=s.backup_chunk_mib * 1024 * 1024,
            level=s.backup_zstd_level,
        )
        target.write(name, entry.name, sealed)
        with contextlib.suppress(FileNotFoundError):
            (work / f"{entry.name}.sqlite").unlink()
        return facts

    def _blob_members(self, root: Path) -> Iterator[tuple[str, int, Iterable[bytes]]]:
        for folder, dirs, names in os.walk(root):
            dirs.sort()
            for file_name in sorted(names):
                if file_name.startswith("."):  # a blob being written
                    continue
                path = Path(folder) / file_name
                key = path.relative_to(root).as_posix()
                yield key, path.stat().st_size, _stream_file(path)

    def _blobs(self, target: Target, name: str, key: bytes) -> FileEntry:
        s = self.settings
        entry = FileEntry(BLOBS_FILE, key="data")
        members: Iterable[tuple[str, int, Iterable[bytes]]] = ()
        if isinstance(self.blobs, FolderBlobStore):
            entry.meta = {"format": "pack", "store": "folder"}
            if self.blobs.root.is_dir():
                members = self._blob_members(self.blobs.root)
        elif isinstance(self.blobs, S3BlobStore):  # streamed object by object (ADR 0023)
            entry.meta = {"format": "pack", "store": "s3"}
            store = self.blobs
            members = ((k, n, store.open(k)) for k, n in store.listing())
        else:
            entry.meta = {"format": "pack", "store": getattr(self.blobs, "name", "none")}
        count = 0

        def counted() -> Iterator[tuple[str, int, Iterable[bytes]]]:
            nonlocal count
            for member in members:
                count += 1
                yield member

        sealed = container.seal(
            container.pack(counted()),
            key=key,
            generation=name,
            entry=entry,
            chunk_bytes=s.backup_chunk_mib * 1024 * 1024,
            level=s.backup_zstd_level,
        )
        target.write(name, entry.name, sealed)
        entry.meta["blobs"] = count
        return entry

    def _tls(self, target: Target, name: str, key: bytes) -> FileEntry | None:
        """The server's certificate and key (``hokan serve --tls``), so a rebuilt machine
        answers with the same certificate (BAK-5, ADR 0023)."""
        s = self.settings
        named = (("server-cert.pem", s.tls_cert_file), ("server-key.pem", s.tls_key_file))
        members = [(n, p.stat().st_size, _stream_file(p)) for n, p in named if p and p.is_file()]
        if not members:
            return None
        entry = FileEntry(TLS_FILE, key="data", meta={"format": "pack", "files": len(members)})
        sealed = container.seal(
            container.pack(members),
            key=key,
            generation=name,
            entry=entry,
            chunk_bytes=s.backup_chunk_mib * 1024 * 1024,
            level=s.backup_zstd_level,
        )
        target.write(name, entry.name, sealed)
        return entry

    def _read_back(
        self,
        target: Target,
        name: str,
        entry: FileEntry,
        key: bytes,
        *,
        incomplete: bool = False,
        progress: Progress | None = None,
    ) -> int:
        total = 0
        with target.open(name, entry.name, incomplete=incomplete) as stream:
            for piece in container.open_sealed(stream, key=key, generation=name, entry=entry):
                total += len(piece)
        if progress:
            progress(entry.size)
        return total

    # -- reading generations ----------------------------------------------------------

    def _find(self, generation: str, target_name: str | None = None) -> Target:
        for target in self.targets():
            if target_name and target.name != target_name:
                continue
            if generation in target.generations():
                return target
        raise errors.GenerationNotFound("generation", generation=generation[:80])

    def manifest(self, target: Target, generation: str) -> tuple[dict[str, Any], bytes]:
        """The manifest as stored and its signature (not yet checked)."""
        try:
            with target.open(generation, MANIFEST) as handle:
                document = json.loads(handle.read())
            return dict(document["manifest"]), _unb64(str(document["signature"]))
        except (ValueError, KeyError, TypeError):
            raise errors.ManifestInvalid("generation", generation=generation) from None

    @staticmethod
    def check_signature(
        generation: str, manifest: dict[str, Any], signature: bytes, public: Ed25519PublicKey
    ) -> None:
        try:
            public.verify(signature, canonical(manifest))
        except InvalidSignature:
            raise errors.ManifestInvalid("generation", generation=generation) from None
        if manifest.get("generation") != generation:
            raise errors.ManifestInvalid("generation", generation=generation)

    def _signed(self, target: Target, generation: str) -> dict[str, Any]:
        manifest, signature = self.manifest(target, generation)
        public = self.keyring.audit_signing_key().public_key()
        self.check_signature(generation, manifest, signature, public)
        return manifest

    def _keys(self, generation: str, manifest: dict[str, Any], kek: bytes) -> dict[str, bytes]:
        wrapped = manifest["keys"]
        try:
            keyring_key = self.master.unwrap(
                _unb64(wrapped["keyring"]), container.key_aad(generation, "keyring")
            )
        except crypto.DecryptionError:
            raise errors.WrongKey("generation", generation=generation) from None
        data = container.unwrap_key(kek, _unb64(wrapped["data"]), generation, "data")
        return {"keyring": keyring_key, "data": data}

    def generations(
        self, *, klass: str | None = None, target_name: str | None = None
    ) -> list[retention.Generation]:
        out: list[retention.Generation] = []
        for target in self.targets():
            if target_name and target.name != target_name:
                continue
            pins = target.pins()
            for name in target.generations():
                try:
                    manifest, _ = self.manifest(target, name)
                except errors.ManifestInvalid:
                    manifest = {"class": "unknown", "created_at": None, "expires_at": None}
                if klass and manifest.get("class") != klass:
                    continue
                out.append(_generation(name, target.name, manifest, name in pins))
        return sorted(out, key=lambda g: (g.created_at, g.name), reverse=True)

    def listing(
        self, *, klass: str | None = None, target_name: str | None = None
    ) -> list[dict[str, Any]]:
        now = self.clock()
        decisions = {
            (d.generation.target, d.generation.name): d for d in pruning.decisions(self, now)
        }
        out = []
        for g in self.generations(klass=klass, target_name=target_name):
            decision = decisions[g.target, g.name]
            shown = decision.as_json()
            shown["action"] = "keep" if decision.keep else "remove_at_next_prune"
            out.append(shown)
        return out

    def show(self, generation: str) -> dict[str, Any]:
        target = self._find(generation)
        manifest = self._signed(target, generation)
        shown = {k: v for k, v in manifest.items() if k not in ("keys", "signing_key")}
        shown["files"] = [
            {k: v for k, v in f.items() if k != "chunks"} | {"chunks": len(f["chunks"])}
            for f in manifest["files"]
        ]
        shown["pinned"] = generation in target.pins()
        shown["signature"] = "valid"
        return shown

    # -- verification (BAK-3) ------------------------------------------------------------

    def verify(self, generation: str | None = None, *, full: bool = True) -> list[dict[str, Any]]:
        """Each generation (or one): signed manifest, every file present with its size and,
        with ``full``, every chunk decrypted and checked."""
        kek = self.keyring.backup_kek()
        out: list[dict[str, Any]] = []
        for target in self.targets():
            for name in target.generations():
                if generation and name != generation:
                    continue
                out.append(self._verify_one(target, name, kek, full=full))
        if generation and not out:
            raise errors.GenerationNotFound("generation", generation=generation[:80])
        return out

    def _verify_one(self, target: Target, name: str, kek: bytes, *, full: bool) -> dict[str, Any]:
        started = time.monotonic()
        checked = 0
        try:
            manifest = self._signed(target, name)
            for data in manifest["files"]:
                size = target.size(name, data["name"])
                if size is None:
                    raise errors.FileMissing("file", generation=name, file=data["name"])
                if size != data["size"] and not full:  # a full read names the chunk
                    raise errors.SizeMismatch("file", generation=name, file=data["name"])
            if full:
                keys = self._keys(name, manifest, kek)
                for data in manifest["files"]:
                    entry = FileEntry.from_json(data)
                    self._read_back(target, name, entry, keys[entry.key])
                    checked += entry.size
        except errors.BackupError as exc:
            return {
                "generation": name,
                "target": target.name,
                "ok": False,
                "error": exc.code,
                "where": exc.params,
            }
        return {
            "generation": name,
            "target": target.name,
            "ok": True,
            "full": full,
            "bytes_verified": checked,
            "seconds": round(time.monotonic() - started, 3),
        }

    # -- restore (BAK-4) ------------------------------------------------------------

    def restore(
        self,
        generation: str,
        to: Path,
        *,
        to_database_url: str | None = None,
        to_keyring_url: str | None = None,
        to_vault_urls: list[str] | None = None,
        to_blobs: BlobStore | None = None,
        target_name: str | None = None,
        progress: Progress | None = None,
        total: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Restore a generation into a new data directory (and, for PostgreSQL dumps, into
        the empty databases named). The running service is not touched (ADR 0023)."""
        from hokan.backup import restoring

        dest = restoring.Destination.new_dir(
            to,
            system=to_database_url,
            keyring=to_keyring_url,
            vault=to_vault_urls,
            blobs=to_blobs,
        )
        with restoring.scratch_dir(to) as scratch:
            result = restoring.restore(
                self,
                generation,
                dest,
                target=target_name,
                progress=progress,
                total=total,
                scratch=scratch,
            )
        result["to"] = str(to)
        with contextlib.suppress(Exception):  # a disaster-recovery host may have no database yet
            self._audit(
                "backup.restore",
                generation,
                detail={"mode": "new_dir", "duration_ms": result["duration_ms"]},
            )
        return result

    # -- retention (BAK-2) ------------------------------------------------------------

    def set_pin(self, generation: str, pinned: bool) -> None:
        target = self._find(generation)
        target.set_pin(generation, pinned)
        self._audit("backup.pin" if pinned else "backup.unpin", generation)

    def prune(self, *, dry_run: bool = False, now: datetime | None = None) -> list[dict[str, Any]]:
        return pruning.prune(self, dry_run=dry_run, now=now)

    # -- audit ------------------------------------------------------------------

    def _audit(
        self,
        action: str,
        target_id: str,
        *,
        result: str = audit.SUCCESS,
        detail: dict[str, Any] | None = None,
    ) -> None:
        if self.db is None:
            return
        with self.db.session(write=True, system=True) as s:
            audit.record(s, self.actor, action, "backup", target_id, result=result, detail=detail)


def _generation(
    name: str, target: str, manifest: dict[str, Any], pinned: bool
) -> retention.Generation:
    created_text = manifest.get("created_at")
    created = (
        datetime.fromisoformat(created_text) if created_text else datetime.min.replace(tzinfo=UTC)
    )
    expires_text = manifest.get("expires_at")
    return retention.Generation(
        name=name,
        klass=str(manifest.get("class", "unknown")),
        target=target,
        created_at=created,
        expires_at=datetime.fromisoformat(expires_text) if expires_text else None,
        pinned=pinned,
        home=str(manifest.get("target") or target),
    )
