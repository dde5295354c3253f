"""Where generations are kept: a folder (another volume, 別筐体) or S3 (遠隔地).

A generation is written under an *incomplete* name and published in one step once
every chunk was read back and verified: a folder is renamed into place; on S3 the
manifest is the last object written, and a generation without one is incomplete.
A run holds the target's lock for its whole length; a second run waits
``HOKAN_BACKUP_LOCK_WAIT_SECONDS`` for it, then is refused.
Leftovers of a failed or killed run (the incomplete marker) are removed by the next
run, under the lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from hokan.backup import errors

MANIFEST = "manifest.json"
_INCOMPLETE = ".incomplete"
_PINS = ".pins"
_NAME = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[a-z]+-[0-9a-f]{6}$")
_FILE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,120}$")


def check_generation(name: str) -> str:
    if not _NAME.match(name):
        raise errors.GenerationNotFound("generation", generation=name[:80])
    return name


def check_file(name: str) -> str:
    if not _FILE.match(name) or ".." in name:
        raise ValueError("invalid backup file name")
    return name


class Target(Protocol):
    name: str

    def describe(self) -> str: ...

    def lock(self) -> contextlib.AbstractContextManager[None]: ...

    def clean_incomplete(self) -> list[str]: ...

    def begin(self, generation: str) -> None: ...

    def write(self, generation: str, name: str, chunks: Iterable[bytes]) -> int: ...

    def open(self, generation: str, name: str, *, incomplete: bool = False) -> BinaryIO: ...

    def size(self, generation: str, name: str) -> int | None: ...

    def publish(self, generation: str) -> None: ...

    def abandon(self, generation: str) -> None: ...

    def generations(self) -> list[str]: ...

    def delete(self, generation: str) -> None: ...

    def pins(self) -> set[str]: ...

    def set_pin(self, generation: str, pinned: bool) -> None: ...

    def probe(self) -> None: ...


class FolderTarget:
    """Generations as folders under one root: ``ROOT/<generation>/<file>``."""

    def __init__(self, name: str, root: Path, *, wait_seconds: float = 0) -> None:
        self.name = name
        self.root = root
        self.wait_seconds = wait_seconds  # a second run waits this long, then is refused

    def describe(self) -> str:
        return f"{self.name} (folder)"

    def _ensure(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise errors.TargetUnavailable(
                "target", target=self.name, cause=type(exc).__name__
            ) from None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self._ensure()
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + self.wait_seconds
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise errors.BackupRunning("target", target=self.name) from None
                    time.sleep(min(0.5, max(0.01, deadline - time.monotonic())))
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _incomplete(self, generation: str) -> Path:
        return self.root / _INCOMPLETE / check_generation(generation)

    def _published(self, generation: str) -> Path:
        return self.root / check_generation(generation)

    def clean_incomplete(self) -> list[str]:
        folder = self.root / _INCOMPLETE
        if not folder.is_dir():
            return []
        removed = sorted(p.name for p in folder.iterdir())
        for path in folder.iterdir():
            shutil.rmtree(path, ignore_errors=True)
        return removed

    def begin(self, generation: str) -> None:
        self._ensure()
        path = self._incomplete(generation)
        path.mkdir(parents=True, mode=0o700)
        (path / "INCOMPLETE").write_text("a backup run is writing (or died writing) here\n")

    def write(self, generation: str, name: str, chunks: Iterable[bytes]) -> int:
        path = self._incomplete(generation) / check_file(name)
        size = 0
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise errors.TargetFull("target", target=self.name, cause="no space") from None
            raise errors.TargetUnavailable(
                "target", target=self.name, cause=type(exc).__name__
            ) from None
        return size

    def open(self, generation: str, name: str, *, incomplete: bool = False) -> BinaryIO:
        base = self._incomplete(generation) if incomplete else self._published(generation)
        try:
            return (base / check_file(name)).open("rb")
        except FileNotFoundError:
            raise errors.FileMissing("file", generation=generation, file=name) from None

    def size(self, generation: str, name: str) -> int | None:
        try:
            return (self._published(generation) / check_file(name)).stat().st_size
        except FileNotFoundError:
            return None

    def publish(self, generation: str) -> None:
        source = self._incomplete(generation)
        (source / "INCOMPLETE").unlink()
        os.replace(source, self._published(generation))
        _fsync_dir(self.root)

    def abandon(self, generation: str) -> None:
        shutil.rmtree(self._incomplete(generation), ignore_errors=True)

    def generations(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if _NAME.match(p.name) and (p / MANIFEST).exists()
        )

    def delete(self, generation: str) -> None:
        path = self._published(generation)
        # Rename first: a half-deleted generation must never look complete.
        doomed = self.root / _INCOMPLETE / f"{generation}.deleting-{secrets.token_hex(3)}"
        doomed.parent.mkdir(exist_ok=True, mode=0o700)
        os.replace(path, doomed)
        shutil.rmtree(doomed)
        self.set_pin(generation, False)

    def pins(self) -> set[str]:
        folder = self.root / _PINS
        return {p.name for p in folder.iterdir()} if folder.is_dir() else set()

    def set_pin(self, generation: str, pinned: bool) -> None:
        folder = self.root / _PINS
        if pinned:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            (folder / check_generation(generation)).write_text("legal hold\n")
        else:
            (folder / check_generation(generation)).unlink(missing_ok=True)

    def probe(self) -> None:
        self._ensure()
        path = self.root / f".probe-{secrets.token_hex(4)}"
        path.write_bytes(b"hokan")
        path.unlink()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
