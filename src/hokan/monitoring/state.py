"""What is down now: open incidents and live maintenance windows, cached ≤ 1 s per process.

The gate (:mod:`hokan.monitoring.gate`) asks on every request, so the answer
comes from memory: one read of the two small tables (open incidents, and
windows neither cancelled nor over — both by index) at most once per ``ttl``
per process, shared by every request in that second. Measured
(``tests/monitoring/test_gate.py``): a cached answer about 0.1 µs; a refresh about
2-5 ms on SQLite and 5-20 ms on PostgreSQL (a busy shared test server), once a
second per process, in a worker thread.

If the database does not answer, the last snapshot stays in use (the gate
fails open: a request that needs the database meets its own 503) and the read
is retried after ``ttl``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.models import Incident, MaintenanceWindow

log = logging.getLogger("hokan.monitoring")
RESOLVED = "resolved"
FULL = "full"


@dataclass(frozen=True, slots=True)
class Outage:
    id: uuid.UUID
    number: str
    outage: str  # full, partial
    functions: frozenset[str]
    tenant_ids: frozenset[str] | None  # None: every tenant

    def affects(self, needed: frozenset[str]) -> bool:
        """Whether a request needing ``needed`` functions cannot be served."""
        return self.outage == FULL or "api" in self.functions or bool(self.functions & needed)


@dataclass(frozen=True, slots=True)
class Window:
    id: uuid.UUID
    tenant_id: uuid.UUID | None  # None: service-wide
    starts_at: datetime
    ends_at: datetime
    reads_allowed: bool
    emergency: bool

    def running(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def applies_to(self, tenant_id: uuid.UUID | None) -> bool:
        return self.tenant_id is None or self.tenant_id == tenant_id


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: datetime
    outages: tuple[Outage, ...] = ()
    windows: tuple[Window, ...] = ()  # announced, live, not over; by start
    # Precomputed for the gate's fast path.
    tenant_specific: bool = field(default=False)

    @property
    def quiet(self) -> bool:
        """Nothing down, nothing planned: the gate passes requests straight through."""
        return not self.outages and not self.windows

    def outage_for(
        self, needed: frozenset[str], tenant_id: uuid.UUID | None = None, *, anyone: bool = True
    ) -> Outage | None:
        """The first open incident that stops such a request (``anyone``: only incidents
        that affect every tenant; else those of ``tenant_id`` too). Full outages first."""
        found: Outage | None = None
        for o in self.outages:
            if o.tenant_ids is not None and (anyone or str(tenant_id) not in o.tenant_ids):
                continue
            if o.affects(needed) and (found is None or (o.outage == FULL) > (found.outage == FULL)):
                found = o
        return found

    def running_window(self, tenant_id: uuid.UUID | None, now: datetime) -> Window | None:
        """The window in progress for this tenant (service-wide ones apply to all)."""
        for w in self.windows:
            if w.running(now) and w.applies_to(tenant_id):
                return w
        return None

    def next_window(self, tenant_id: uuid.UUID | None, now: datetime) -> Window | None:
        """The current or next announced window affecting this tenant (or everyone)."""
        for w in self.windows:
            if w.ends_at > now and w.applies_to(tenant_id):
                return w
        return None


class ServiceState:
    """The process's view of what is down, refreshed at most once per ``ttl`` seconds."""

    def __init__(
        self,
        db: Database | Callable[[], Database],
        *,
        ttl: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        # A provider keeps app creation lazy (the runtime opens its database on first use).
        self._db = db
        self.ttl = min(ttl, 1.0)  # the gate must follow an incident within a probe interval
        self.clock = clock
        self._snapshot = Snapshot(at=clock())
        self._expires = 0.0
        self._lock = threading.Lock()
        self.refreshes = 0

    @property
    def db(self) -> Database:
        return self._db if isinstance(self._db, Database) else self._db()

    def fresh(self) -> Snapshot | None:
        """The cached snapshot while it is fresh, else None (call :meth:`refresh`)."""
        return self._snapshot if time.monotonic() < self._expires else None

    def snapshot(self) -> Snapshot:
        """The current snapshot, read from the database when the cached one is stale."""
        return self.fresh() or self.refresh()

    def invalidate(self) -> None:
        """Forget the cached snapshot (after this process changed incidents or windows)."""
        self._expires = 0.0

    def refresh(self) -> Snapshot:
        with self._lock:
            if time.monotonic() < self._expires:  # another thread just did it
                return self._snapshot
            try:
                self._snapshot = self._read()
                self.refreshes += 1
            except Exception as exc:  # fail open: the last snapshot stays
                log.warning(
                    "service state unreadable",
                    extra={"fields": {"exc_type": type(exc).__name__}},
                )
            self._expires = time.monotonic() + self.ttl
            return self._snapshot

    def _read(self) -> Snapshot:
        now = self.clock()
        with self.db.reader(system=True) as conn:
            incidents = conn.execute(
                select(
                    Incident.id,
                    Incident.number,
                    Incident.outage,
                    Incident.functions,
                    Incident.tenant_ids,
                ).where(Incident.status != RESOLVED)
            ).all()
            windows = conn.execute(
                select(
                    MaintenanceWindow.id,
                    MaintenanceWindow.tenant_id,
                    MaintenanceWindow.starts_at,
                    MaintenanceWindow.ends_at,
                    MaintenanceWindow.reads_allowed,
                    MaintenanceWindow.emergency,
                )
                .where(MaintenanceWindow.cancelled_at.is_(None), MaintenanceWindow.ends_at > now)
                .order_by(MaintenanceWindow.starts_at)
            ).all()
        outages = tuple(
            Outage(
                r.id,
                r.number,
                r.outage,
                frozenset(r.functions or ()),
                None if r.tenant_ids is None else frozenset(str(t) for t in r.tenant_ids),
            )
            for r in incidents
        )
        wins = tuple(
            Window(r.id, r.tenant_id, r.starts_at, r.ends_at, r.reads_allowed, r.emergency)
            for r in windows
        )
        tenant_specific = any(o.tenant_ids is not None for o in outages) or any(
            w.tenant_id is not None for w in wins
        )
        return Snapshot(now, outages, wins, tenant_specific)
