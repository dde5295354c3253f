"""Password-spraying detection: one source address failing logins across many serials.

Each failed login is recorded per source IP; when one address has failed with
``threshold`` different serials within ``window`` seconds, an
``auth.spraying_suspected`` security event is audited (once per window) for the
IPS to act on. Counts live in this process; with several processes the shared
store comes with the IPS (Redis).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SprayingDetector:
    # Set by the runtime: the IPS bans the address (EDGE-4). Called by :meth:`alarm`.
    on_alarm: Callable[[str, int], None] | None = None

    def alarm(self, source_ip: str, serials: int) -> None:
        """The alarm was raised (and audited): hand the address to the IPS."""
        if self.on_alarm is not None:
            self.on_alarm(source_ip, serials)

    def __init__(self, threshold: int, window_seconds: float) -> None:
        self.threshold = threshold
        self.window = window_seconds
        self._seen: dict[str, deque[tuple[float, str]]] = {}
        self._flagged: dict[str, float] = {}
        self._lock = threading.Lock()

    def failure(self, source_ip: str, serial: str, now: float | None = None) -> int | None:
        """Record a failure; return the number of serials tried when it should be reported."""
        if not source_ip:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._seen.setdefault(source_ip, deque())
            events.append((now, serial))
            while events and events[0][0] < now - self.window:
                events.popleft()
            distinct = len({s for _, s in events})
            if distinct < self.threshold or self._flagged.get(source_ip, -1e18) > now - self.window:
                return None
            self._flagged[source_ip] = now
            if len(self._seen) > 100_000:  # bounded memory under a wide scan
                self._seen.clear()
            return distinct
