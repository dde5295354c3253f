"""A bounded in-process cache of API-token credentials (ADR 0027).

Every authenticated request used to look its token up in the database (on
PostgreSQL: a connection checkout, its ping, the RLS tag, the query). The cache
keeps the credential row of a token that authenticated, keyed by the SHA-256 of
the whole presented token (so a hit is an exact match of the secret), for at
most :data:`MAX_AGE` seconds.

Revocation: triggers count every change that could make a cached row wrong in
``auth_generation`` (migration 0096a). A process re-reads that counter when it
is older than ``HOKAN_AUTH_CACHE_SECONDS`` (default 1 s, at most 1 s) and empties
the cache when it moved: a revoked token, a suspended tenant, a disabled user is
refused by every process within that bound. Expiry is checked on every request
from the cached row. Failures are never cached: a wrong or revoked token always
reaches the database (and the audit trail).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import event, select

from hokan.kit.db import Database
from hokan.models import AuthGeneration

MAX_AGE = 60.0  # seconds a cached row is trusted even while the generation stands still
_GENERATION = select(AuthGeneration.value).where(AuthGeneration.id == 1)
# Statements that may move the generation: a transaction of this process that ran one
# makes the next lookup re-read it at once (this process's own revocations apply at once).
_WATCHED = tuple(
    f"{verb} {table}"
    for verb in ("UPDATE", "DELETE FROM")
    for table in ("api_tokens", "users", "tenants")
)
_CHANGED = "hokan.auth_changed"


class CachedCredential:
    """A credential row, with the one field authentication itself updates."""

    __slots__ = ("cached_at", "last_used_at", "row")

    def __init__(self, row: Any, cached_at: float) -> None:
        self.row = row
        self.cached_at = cached_at
        self.last_used_at = row.last_used_at


class CredentialCache:
    def __init__(self, db: Database, seconds: float, entries: int) -> None:
        self.db = db
        self.seconds = seconds
        self.entries = entries
        self._rows: OrderedDict[str, CachedCredential] = OrderedDict()
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._checked_at = float("-inf")
        if self.enabled:
            event.listen(db.engine, "before_cursor_execute", _note_change)
            event.listen(db.engine, "commit", self._after_own_change)
            event.listen(db.engine, "rollback", _forget_change)

    def _after_own_change(self, conn: Any) -> None:
        if conn.info.pop(_CHANGED, False):
            self._checked_at = float("-inf")

    @property
    def enabled(self) -> bool:
        return self.seconds > 0 and self.entries > 0

    def get(self, digest: str) -> CachedCredential | None:
        """The cached row for this token digest, if still trusted."""
        if not self.enabled:
            return None
        now = time.monotonic()
        if now - self._checked_at >= self.seconds:
            self._refresh(now)
        with self._lock:
            found = self._rows.get(digest)
            if found is None:
                return None
            if now - found.cached_at >= MAX_AGE:
                del self._rows[digest]
                return None
            self._rows.move_to_end(digest)
            return found

    def put(self, digest: str, row: Any, generation: int | None) -> CachedCredential | None:
        """Keep ``row`` (read under ``generation``: a row read before a change the
        generation already counts is not kept)."""
        if not self.enabled or generation is None:
            return None
        entry = CachedCredential(row, time.monotonic())
        with self._lock:
            if generation != self._generation:
                return None
            self._rows[digest] = entry
            while len(self._rows) > self.entries:
                self._rows.popitem(last=False)
        return entry

    def drop(self, digest: str) -> None:
        with self._lock:
            self._rows.pop(digest, None)

    def generation(self) -> int | None:
        """The generation the cache currently trusts (read before a row is looked up)."""
        if not self.enabled:
            return None
        now = time.monotonic()
        if now - self._checked_at >= self.seconds:
            self._refresh(now)
        return self._generation

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._checked_at = float("-inf")

    def _refresh(self, now: float) -> None:
        with self.db.engine.connect() as conn:
            value = conn.execute(_GENERATION).scalar_one_or_none() or 0
        with self._lock:
            if value != self._generation:
                self._rows.clear()
            self._generation = value
            self._checked_at = now


def _note_change(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    if statement.startswith(_WATCHED):
        conn.info[_CHANGED] = True


def _forget_change(conn: Any) -> None:
    conn.info.pop(_CHANGED, None)
