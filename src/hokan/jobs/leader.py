"""One leader among the workers: a PostgreSQL session advisory lock, or on the
embedded default an exclusive file lock in the data directory.

Either lock dies with its holder (the database ends the session; the kernel drops
the file lock), so a standby takes over within one poll interval after a
``kill -9``. The leader checks its lock every poll too: a PostgreSQL connection
that broke means the lock is gone and the worker steps down.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("hokan.jobs")


def advisory_key(name: str) -> int:
    """A fixed 63-bit key derived from a name, so it cannot collide with another product's."""
    return int.from_bytes(hashlib.sha256(f"hokan.worker.{name}".encode()).digest()[:8], "big") >> 1


ADVISORY_KEY = advisory_key("leader")


class LeaderLock(Protocol):
    def acquire(self) -> bool:
        """Take the lock if free; True when this process holds it."""
        ...

    def held(self) -> bool:
        """Whether this process still holds the lock (False after a lost connection)."""
        ...

    def release(self) -> None: ...


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a connection kept for it."""

    def __init__(self, engine: Engine, key: int = ADVISORY_KEY) -> None:
        self._engine = engine
        self._key = key
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        if self._conn is None:
            self._conn = self._engine.connect()
        try:
            statement = text("SELECT pg_try_advisory_lock(:k)")
            got = bool(self._conn.execute(statement, {"k": self._key}).scalar())
            self._conn.commit()
        except Exception:
            self._drop()
            raise
        if not got:
            self._drop()
        return got

    def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1")).scalar()
            self._conn.commit()
        except Exception:
            log.warning("worker lost its database connection: stepping down")
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            self._conn.commit()
        except Exception:
            log.warning("advisory unlock failed; the lock ends with the connection")
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # never back to the pool: the lock must not outlive us there
                conn.close()
            except Exception:  # already broken: the server ends the session and its lock
                log.debug("closing the lock connection failed", exc_info=True)


class FileLock:
    """An exclusive ``flock`` on ``DATA_DIR/worker.lock`` (the embedded default)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def lock_for(engine: Engine, data_dir: Path, name: str = "leader") -> LeaderLock:
    """The lock of one role: ``leader`` (all jobs) or ``prober-<location>``."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, advisory_key(name))
    return FileLock(data_dir / ("worker.lock" if name == "leader" else f"worker-{name}.lock"))
