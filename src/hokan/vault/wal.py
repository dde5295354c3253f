"""Checkpoints of the SQLite fragment stores' write-ahead logs, off the request path.

SQLite's automatic checkpoint runs inside the commit that pushes the WAL past
its threshold (1000 pages, ~4 MB): that commit copies the log into the
database file and fsyncs both (synchronous=NORMAL), which for document-sized
fragments is most of a registration's write time. Here the stores keep the
automatic checkpoint only as a high safety net (:data:`AUTOCHECKPOINT_PAGES`),
and after every :data:`CHECKPOINT_BYTES` written to a store a PASSIVE
checkpoint of that store runs on one background thread (PASSIVE never blocks
a writer). Durability does not change: a commit is in the WAL as before, and
every checkpoint still fsyncs before the log is reused.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from hokan.kit.db import Database

log = logging.getLogger("hokan.vault")

CHECKPOINT_BYTES = 4 * 1024 * 1024
AUTOCHECKPOINT_PAGES = 16_384  # ~64 MB of 4 KiB pages: only if the background falls behind


class BackgroundCheckpointer:
    def __init__(self, threshold_bytes: int = CHECKPOINT_BYTES) -> None:
        self.threshold = threshold_bytes
        self._written: dict[int, int] = {}  # id(db) → bytes since its last checkpoint
        self._running: set[int] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="vault-checkpoint")
        self._closed = False

    def wrote(self, db: Database, nbytes: int) -> None:
        """Count bytes committed to ``db``; past the threshold, checkpoint it in the background."""
        if db.dialect != "sqlite" or self._closed:
            return
        key = id(db)
        with self._lock:
            total = self._written.get(key, 0) + nbytes
            if total < self.threshold or key in self._running:
                self._written[key] = total
                return
            self._written[key] = 0
            self._running.add(key)
        self._pool.submit(self._checkpoint, db, key)

    def _checkpoint(self, db: Database, key: int) -> None:
        try:
            raw = db.engine.raw_connection()
            try:
                driver = raw.driver_connection
                assert driver is not None
                driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                raw.close()
        except Exception as exc:  # a lost or locked store: the next threshold tries again
            log.warning(
                "vault store checkpoint failed", extra={"fields": {"exc_type": type(exc).__name__}}
            )
        finally:
            with self._lock:
                self._running.discard(key)

    def close(self) -> None:
        """Wait for a running checkpoint (before the stores' engines are disposed)."""
        self._closed = True
        self._pool.shutdown(wait=True)
