"""Password-spraying detection: one source address failing logins across many serials.

Each failed login is recorded per source IP; when one address has failed with
``threshold`` different serials within ``window`` seconds, an
``auth.spraying_suspected`` security event is audited (once per window) for the
IPS to act on: ``on_alarm`` (the IPS's ban) is called with the address. Counts
live in this process.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SprayingDetector:
    def __init__(
        self,
        threshold: int,
        window_seconds: float,
        on_alarm: Callable[[str, int], None] | None = None,
    ) -> None:
        self.on_alarm = on_alarm
        self.threshold = threshold
        self.window = window_seconds
        self._seen: dict[str, deque[tuple[float, str]]] = {}
        self._flagged: dict[str, float] = {}
        self._lock = threading.Lock()

    def failure(self, source_ip: str, serial: str, now: float | None = None) -> int | None:
        """Record a failure; return the number of serials tried when it should be reported."""
        tried = self._count(source_ip, serial, now)
        if tried is not None and self.on_alarm is not None:
            self.on_alarm(source_ip, tried)
        return tried

    def _count(self, source_ip: str, serial: str, now: float | None) -> int | None:
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
