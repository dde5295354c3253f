"""One interface, two stores: a folder and S3-compatible object storage."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from hokan.settings import Settings

READ_CHUNK = 64 * 1024
# Keys are made by Hokan (tenant and object ids), never taken from a request;
# the pattern is a second wall against a path escaping the store.
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}(/[a-z0-9][a-z0-9.-]{0,127}){1,4}$")


class BlobMissing(Exception):
    """No blob under this key."""


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise ValueError("invalid blob key")
    return key


@runtime_checkable
class BlobStore(Protocol):
    name: str

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the stream under ``key`` (replacing it); returns the bytes written."""
        ...

    def open(self, key: str) -> Iterator[bytes]:
        """The stored bytes as chunks; raises :class:`BlobMissing`."""
        ...

    def delete(self, key: str) -> None:
        """Remove the blob; a missing blob is not an error."""
        ...

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key that starts with ``prefix`` (a tenant's ``<tenant id>/``)."""
        ...

    def purge(self, prefix: str) -> int:
        """Delete every object under ``prefix``; returns how many were deleted."""
        ...


class FolderBlobStore:
    """Blobs as files under one folder, written to a temporary name and renamed into place."""

    name = "folder"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
        size = 0
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return size

    def open(self, key: str) -> Iterator[bytes]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise BlobMissing from None
        return _read(handle)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self, prefix: str) -> Iterator[str]:
        folder, _, _ = prefix.rpartition("/")
        base = self.root / folder if folder else self.root
        if not base.is_dir() or ".." in prefix:
            return
        for path in sorted(base.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and key.startswith(prefix):
                yield key  # unfinished ``.part`` files too: they hold the tenant's bytes

    def purge(self, prefix: str) -> int:
        if not prefix.endswith("/") or "/" in prefix[:-1] or ".." in prefix:
            raise ValueError("purge takes one top-level folder, e.g. '<tenant id>/'")
        found = list(self.keys(prefix))
        for key in found:
            (self.root / key).unlink(missing_ok=True)
        folder = self.root / prefix.rstrip("/")
        if folder.is_dir():
            shutil.rmtree(folder)
        return len(found)


def _read(handle: object) -> Iterator[bytes]:
    with handle:  # type: ignore[attr-defined]
        while chunk := handle.read(READ_CHUNK):  # type: ignore[attr-defined]
            yield chunk


def make_blob_store(settings: Settings) -> BlobStore:
    """The store named by ``HOKAN_BLOB_URL`` (empty: ``DATA_DIR/blobs``)."""
    url = settings.blob_url
    if not url:
        return FolderBlobStore(settings.data_dir / "blobs")
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FolderBlobStore(Path(parts.path))
    if parts.scheme == "s3":
        from hokan.blobs.s3 import S3BlobStore

        return S3BlobStore.from_settings(settings, parts.netloc, parts.path.strip("/"))
    raise ValueError("HOKAN_BLOB_URL must be file:///path or s3://bucket/prefix")
