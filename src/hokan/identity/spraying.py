"""Password-spraying detection: one source address failing logins across many serials.

Each failed login is recorded per source IP; when one address has failed with
``threshold`` different serials within ``window`` seconds, an
``auth.spraying_suspected`` security event is audited (once per window) for the
IPS to act on. Counts live in this process, or in Redis (``HOKAN_REDIS_URL``)
so that every process counts together; when Redis does not answer, a failed
login is refused with 503 ``dependency_unavailable`` rather than left uncounted
(ADR 0012).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import redis

from hokan.identity.lockout import fail_closed


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


# KEYS: serials-by-time, flagged.  ARGV: now ms, window ms, threshold, serial.
# Returns the distinct serials tried when this failure should be reported, else 0.
_SPRAY = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local distinct = redis.call('ZCARD', KEYS[1])
if distinct < tonumber(ARGV[3]) then return 0 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return distinct end
return 0
"""


class RedisSprayingDetector(SprayingDetector):
    """The same detector with its counts in Redis, shared by every ``hokan serve`` process."""

    def __init__(self, url: str, threshold: int, window_seconds: float) -> None:
        super().__init__(threshold, window_seconds)
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._spray = self.client.register_script(_SPRAY)

    def failure(self, source_ip: str, serial: str, now: float | None = None) -> int | None:
        if not source_ip:
            return None
        now_ms = int((time.time() if now is None else now) * 1000)
        keys = [f"hokan:spray:{source_ip}", f"hokan:spray:flag:{source_ip}"]
        args: list[int | str] = [now_ms, int(self.window * 1000), self.threshold, serial]
        distinct = int(fail_closed("spraying", lambda: self._spray(keys=keys, args=args)))
        return distinct or None
