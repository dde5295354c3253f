"""Restore a whole generation (BAK-4, ADR 0023): into a new data directory, in place, or as
the first step of disaster recovery.

Order: the generation's keyring file opens under the master key alone; the restored keyring
then vouches for the manifest (its audit signing key) and holds the backup key that unwraps
the data key of the other files. Every chunk is checked as it streams (a bad one stops the
restore with a code naming the generation, file and chunk, and the half-written file is
removed). A SQLite destination is written beside its final name and renamed into place; in
place, the files it replaces are moved aside first (never deleted). A PostgreSQL destination
is ``pg_restore``'d into an empty database (or ``--clean`` in place).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from hokan.backup import container, errors
from hokan.backup.container import FileEntry
from hokan.backup.service import (
    BLOBS_FILE,
    KEYRING_FILE,
    SYSTEM_FILE,
    TLS_FILE,
    Backups,
    _dialect,
    _libpq,
    _sqlite_path,
    _tool,
    _unb64,
    pg_restore,
    psql_apply,
)
from hokan.backup.targets import Target
from hokan.blobs import BlobStore
from hokan.blobs.store import FolderBlobStore, check_key
from hokan.keyring.service import Keyring
from hokan.kit import crypto
from hokan.kit.db import Database, make_engine

Progress = Callable[[int], None]


@dataclass
class Destination:
    """Where each part of a generation goes: SQLAlchemy URLs (``sqlite:///file`` or
    PostgreSQL), a blob store, and a folder for the server's TLS files."""

    system: str
    keyring: str
    vault: list[str]
    blobs: BlobStore | None
    tls_dir: Path | None = None
    in_place: bool = False
    aside: Path | None = None  # in place: where replaced SQLite files are moved
    grant_to: dict[str, str] = field(default_factory=dict)  # url -> app role (PostgreSQL)

    @classmethod
    def new_dir(
        cls,
        to: Path,
        *,
        system: str | None = None,
        keyring: str | None = None,
        vault: list[str] | None = None,
        blobs: BlobStore | None = None,
    ) -> Destination:
        if to.exists() and any(to.iterdir()):
            raise errors.RestoreRefused("not_empty", path=str(to))
        to.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(
            system=system or f"sqlite:///{to / 'hokan.db'}",
            keyring=keyring or f"sqlite:///{to / 'keyring.db'}",
            vault=vault or [],
            blobs=blobs or FolderBlobStore(to / "blobs"),
            tls_dir=to / "tls",
        )

    def vault_url(self, index: int, fallback_dir: Path | None) -> str:
        if index <= len(self.vault):
            return self.vault[index - 1]
        if fallback_dir is None:
            raise errors.RestoreRefused("vault", store=index)
        return f"sqlite:///{fallback_dir / 'vault' / f'store-{index}.db'}"


@dataclass
class Opened:
    """A generation whose manifest was read and whose keyring key was unwrapped."""

    target: Target
    generation: str
    manifest: dict[str, Any]
    signature: bytes
    files: list[FileEntry]


def open_generation(backups: Backups, generation: str, target: str | None = None) -> Opened:
    found = backups._find(generation, target)
    manifest, signature = backups.manifest(found, generation)
    files = [FileEntry.from_json(f) for f in manifest["files"]]
    return Opened(found, generation, manifest, signature, files)


def keyring_key(backups: Backups, opened: Opened) -> bytes:
    try:
        return backups.master.unwrap(
            _unb64(opened.manifest["keys"]["keyring"]),
            container.key_aad(opened.generation, "keyring"),
        )
    except (crypto.DecryptionError, KeyError, ValueError):
        raise errors.WrongKey("generation", generation=opened.generation) from None


def data_key(backups: Backups, opened: Opened, keyring: Keyring) -> bytes:
    """Check the manifest's signature with ``keyring``'s audit key, then unwrap the data key
    with its backup key."""
    public = keyring.audit_signing_key().public_key()
    backups.check_signature(opened.generation, opened.manifest, opened.signature, public)
    wrapped = _unb64(opened.manifest["keys"]["data"])
    return container.unwrap_key(keyring.backup_kek(), wrapped, opened.generation, "data")


def plaintext(
    target: Target, generation: str, entry: FileEntry, key: bytes, progress: Progress | None
) -> Iterator[bytes]:
    """A file's plaintext chunk by chunk, reporting stored bytes read to ``progress``."""
    with target.open(generation, entry.name) as stream:
        done = 0
        for piece in container.open_sealed(stream, key=key, generation=generation, entry=entry):
            yield piece
            if progress:
                at = stream.tell()
                progress(at - done)
                done = at
        if progress and entry.size > done:
            progress(entry.size - done)


def write_file(chunks: Iterable[bytes], dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    part = dest.with_name(f".{dest.name}.part")
    try:
        with part.open("wb") as out:
            for piece in chunks:
                out.write(piece)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(part, 0o600)
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _pg_empty(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return not inspect(conn).get_table_names()
    finally:
        engine.dispose()


def pg_restore_clean(dump: Path, url: str) -> None:
    dsn, env = _libpq(url)
    argv = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--clean", "--if-exists"]
    status = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [*argv, "--single-transaction", "--exit-on-error", "--dbname", dsn, dump],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        check=False,
    ).returncode
    if status != 0:
        raise errors.SnapshotFailed("tool", tool="pg_restore", status=status)


def grant(url: str, role: str) -> None:
    """The service's own role gets its table rights back (the dump carries no privileges)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            quoted = conn.dialect.identifier_preparer.quote(role)
            conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
            rights = "SELECT, INSERT, UPDATE, DELETE ON ALL TABLES"
            conn.execute(text(f"GRANT {rights} IN SCHEMA public TO {quoted}"))
            conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))
    finally:
        engine.dispose()


def _sqlite_companions(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]


def database_into(
    chunks: Iterable[bytes], entry: FileEntry, url: str, dest: Destination, scratch: Path
) -> str:
    """One database file of the generation into ``url``; returns what was written (for the
    report)."""
    dumped = entry.meta.get("format") in ("pg_dump_custom", "pg_sql")
    if dumped != (_dialect(url) == "postgresql"):
        raise errors.RestoreRefused("engine", file=entry.name)
    if not dumped:
        path = _sqlite_path(url)
        if not dest.in_place and path.exists():
            raise errors.RestoreRefused("not_empty", path=str(path))
        staged = path.with_name(f".{path.name}.restoring")
        write_file(chunks, staged)
        if dest.in_place:
            aside = dest.aside or path.parent
            aside.mkdir(parents=True, exist_ok=True, mode=0o700)
            for old in _sqlite_companions(path):
                if old.exists():
                    os.replace(old, aside / old.name)
        os.replace(staged, path)
        return str(path)
    if not dest.in_place and not _pg_empty(url):
        raise errors.RestoreRefused("not_empty", path=make_url(url).database or "database")
    dump = scratch / f"{entry.name}.dump"
    write_file(chunks, dump)
    try:
        if entry.meta.get("format") == "pg_sql":  # a keyring rewritten by a tenant's shred
            psql_apply(dump, url)  # its script drops what it creates (--clean --if-exists)
        else:
            (pg_restore_clean if dest.in_place else pg_restore)(dump, url)
    finally:
        dump.unlink(missing_ok=True)
    if url in dest.grant_to:
        grant(url, dest.grant_to[url])
    return f"{make_url(url).database} (PostgreSQL)"


def _blob_file(root: Path, key: str, body: Iterable[bytes]) -> Callable[[], None]:
    """Write one blob of a folder store under a private temporary name; returns the step
    that syncs it and renames it into place (run on a background thread by
    :func:`blobs_into`, so decrypting and writing go on while the disk syncs)."""
    path = root / check_key(key)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    part = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for piece in body:
            view = memoryview(piece)
            while view:
                view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        part.unlink(missing_ok=True)
        raise

    def finish() -> None:
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(part, path)

    return finish


def blobs_into(chunks: Iterable[bytes], store: BlobStore, *, only: set[str] | None = None) -> int:
    """The pack's blobs (or those named in ``only``) into ``store``; returns how many. Each
    blob is synced and renamed into place before this returns."""
    folder = store.root if isinstance(store, FolderBlobStore) else None
    count = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hokan-sync") as syncer:
        pending: deque[Future[None]] = deque()
        for key, _size, body in container.Unpacker(chunks).members():
            if only is not None and key not in only:
                continue
            if folder is not None:
                pending.append(syncer.submit(_blob_file(folder, key, body)))
                while len(pending) > 8:  # bounded: at most a few files waiting for the disk
                    pending.popleft().result()
            else:
                store.put(key, body)
            count += 1
        while pending:
            pending.popleft().result()
    return count


def tls_into(chunks: Iterable[bytes], folder: Path) -> list[str]:
    written = []
    for name, _size, body in container.Unpacker(chunks).members():
        write_file(body, folder / Path(name).name)
        written.append(Path(name).name)
    return written


def restore(
    backups: Backups,
    generation: str,
    dest: Destination,
    *,
    target: str | None = None,
    keyring: Keyring | None = None,
    progress: Progress | None = None,
    total: Callable[[int], None] | None = None,
    scratch: Path,
) -> dict[str, Any]:
    """Restore every file of ``generation`` into ``dest``. With ``keyring`` (a vault
    generation restored beside a system one) the generation's own keyring file is not
    written: that keyring checks the manifest and unwraps its data key."""
    started = time.monotonic()
    opened = open_generation(backups, generation, target)
    files = opened.files
    if keyring is not None:
        files = [f for f in files if f.name != KEYRING_FILE]
    if total:
        total(sum(f.size for f in files))
    written: list[str] = []
    if keyring is None:
        entry = next(f for f in files if f.name == KEYRING_FILE)
        chunks = plaintext(opened.target, generation, entry, keyring_key(backups, opened), progress)
        written.append(database_into(chunks, entry, dest.keyring, dest, scratch))
        restored = Keyring(
            Database(make_engine(dest.keyring, pool_size=1, create=False)), backups.master, 0
        )
        try:
            key = data_key(backups, opened, restored)
        finally:
            restored.db.dispose()
    else:
        key = data_key(backups, opened, keyring)
    fallback = _sqlite_path(dest.system).parent if _dialect(dest.system) == "sqlite" else None
    for entry in files:
        if entry.name == KEYRING_FILE:
            continue
        chunks = plaintext(opened.target, generation, entry, key, progress)
        if entry.name == BLOBS_FILE:
            if dest.blobs is None:
                for _ in chunks:  # checked all the same
                    pass
                continue
            written.append(f"blobs ({blobs_into(chunks, dest.blobs)})")
        elif entry.name == TLS_FILE:
            if dest.tls_dir is not None:
                written += [f"tls/{n}" for n in tls_into(chunks, dest.tls_dir)]
        elif entry.name == SYSTEM_FILE:
            written.append(database_into(chunks, entry, dest.system, dest, scratch))
        else:
            index = int(entry.name.removeprefix("vault-store-").removesuffix(".db.hbk"))
            url = dest.vault_url(index, fallback)
            written.append(database_into(chunks, entry, url, dest, scratch))
    seconds = time.monotonic() - started
    return {
        "generation": generation,
        "class": opened.manifest.get("class"),
        "target": opened.target.name,
        "files": written,
        "bytes": sum(f.plain_size for f in files),
        "stored_bytes": sum(f.size for f in files),
        "seconds": round(seconds, 3),
        "duration_ms": int(seconds * 1000),
    }


def aside_folder(data_dir: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return data_dir.resolve().parent / f"{data_dir.name}.before-restore-{stamp}"


@contextlib.contextmanager
def scratch_dir(near: Path) -> Iterator[Path]:
    """A private folder for dumps on their way into PostgreSQL (removed afterwards)."""
    import tempfile

    near.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".hokan-restore-", dir=near))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
