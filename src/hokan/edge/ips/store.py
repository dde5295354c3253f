"""Where the IPS counts and bans: this process's memory, or Redis shared by every process.

Rates are sliding-window counters: the current fixed window's count plus the
previous window's, weighted by how much of it still overlaps the sliding
window. That is O(1) per key and close to an exact log of timestamps.

Bans escalate: an offender's n-th ban within the memory period lasts
``base × 2^(n-1)``, capped. Each Redis operation is one Lua script, so two
processes never both count an offence or both announce a ban.

When Redis does not answer, :class:`FallbackIpsStore` keeps the limits in this
process's memory (each process limits on its own, as on the embedded default)
and retries Redis every few seconds: a rate limiter must not take the whole
service down with it (ADR 0012). Listing and lifting bans are operator actions
on the shared state, and refuse with 503 instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import redis

from hokan.kit import dependencies
from hokan.kit.errors import DependencyUnavailable

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Ban:
    subject: str  # "ip:203.0.113.7"
    until: float  # Unix time
    reason: str
    offences: int


@dataclass(frozen=True, slots=True)
class BanOutcome:
    ban: Ban
    new: bool  # False: it was already banned (someone else announced it)


class IpsStore(Protocol):
    def hit(self, keys: Sequence[str], window: float, now: float) -> list[int]:
        """Count one request against each key; the sliding-window counts including it."""
        ...

    def banned(self, subject: str, now: float) -> Ban | None: ...

    def ban(
        self, subject: str, reason: str, base: float, cap: float, memory: float, now: float
    ) -> BanOutcome: ...

    def bans(self, now: float) -> list[Ban]: ...

    def lift(self, subject: str) -> bool:
        """End a ban now and forget the subject's current counts (not its offences)."""
        ...


def duration(offences: int, base: float, cap: float) -> float:
    return float(min(base * 2 ** max(0, offences - 1), cap))


class MemoryIpsStore:
    """The embedded default: one process, one lock."""

    _MAX_KEYS = 200_000  # bounded under a wide scan of addresses

    def __init__(self) -> None:
        self._counts: dict[
            str, tuple[int, int, int]
        ] = {}  # key -> (window index, current, previous)
        self._bans: dict[str, Ban] = {}
        self._offences: dict[str, tuple[int, float]] = {}  # subject -> (count, forget at)
        self._lock = threading.Lock()

    def hit(self, keys: Sequence[str], window: float, now: float) -> list[int]:
        index = int(now // window)
        weight = 1 - (now % window) / window
        out = []
        if keys and self.banned(keys[0], now) is not None:
            return [-1] * len(keys)
        with self._lock:
            if len(self._counts) > self._MAX_KEYS:
                self._counts.clear()
            for key in keys:
                at, current, previous = self._counts.get(key, (index, 0, 0))
                if at != index:
                    previous = current if at == index - 1 else 0
                    current = 0
                current += 1
                self._counts[key] = (index, current, previous)
                out.append(int(previous * weight) + current)
        return out

    def banned(self, subject: str, now: float) -> Ban | None:
        ban = self._bans.get(subject)
        if ban is None or ban.until <= now:
            return None
        return ban

    def ban(
        self, subject: str, reason: str, base: float, cap: float, memory: float, now: float
    ) -> BanOutcome:
        with self._lock:
            current = self.banned(subject, now)
            if current is not None:
                return BanOutcome(current, False)
            count, forget = self._offences.get(subject, (0, 0.0))
            count = count + 1 if forget > now else 1
            self._offences[subject] = (count, now + memory)
            ban = Ban(subject, now + duration(count, base, cap), reason, count)
            self._bans[subject] = ban
            return BanOutcome(ban, True)

    def bans(self, now: float) -> list[Ban]:
        with self._lock:
            for subject in [s for s, b in self._bans.items() if b.until <= now]:
                del self._bans[subject]
            return sorted(self._bans.values(), key=lambda b: b.until)

    def lift(self, subject: str) -> bool:
        with self._lock:
            self._counts.pop(subject, None)  # a fresh start, or the old flood re-bans at once
            return self._bans.pop(subject, None) is not None


# KEYS: ban key, then (current, previous) counter pairs. ARGV: window ms, elapsed ms.
# Returns {-1, ttl} when banned, else the sliding counts.
_HIT = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then return {-1, ttl} end
local window = tonumber(ARGV[1])
local weight = (window - tonumber(ARGV[2])) / window
local out = {0}
for i = 2, #KEYS, 2 do
  local c = redis.call('INCR', KEYS[i])
  if c == 1 then redis.call('PEXPIRE', KEYS[i], window * 2) end
  local p = tonumber(redis.call('GET', KEYS[i + 1]) or '0')
  out[#out + 1] = math.floor(p * weight) + c
end
return out
"""

# KEYS: ban, offences, ban list hash. ARGV: subject, reason, base ms, cap ms, memory ms, now ms.
# Returns {new (0/1), offences, until ms}.
_BAN = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  local v = redis.call('GET', KEYS[1])
  local n = tonumber(string.match(v, '^(%d+)|')) or 1
  return {0, n, tonumber(ARGV[6]) + ttl}
end
local n = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
local d = math.min(tonumber(ARGV[3]) * 2 ^ (n - 1), tonumber(ARGV[4]))
local untl = tonumber(ARGV[6]) + d
redis.call('SET', KEYS[1], n .. '|' .. ARGV[2], 'PX', math.floor(d))
redis.call('HSET', KEYS[3], ARGV[1], math.floor(untl) .. '|' .. n .. '|' .. ARGV[2])
return {1, n, math.floor(untl)}
"""


class RedisIpsStore:
    """Counters and bans in Redis (``HOKAN_REDIS_URL``), shared by every ``hokan serve``."""

    def __init__(self, url: str, prefix: str = "hokan:ips") -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix
        self._hit = self.client.register_script(_HIT)
        self._ban = self.client.register_script(_BAN)
        self._list = f"{prefix}:bans"

    def _ban_key(self, subject: str) -> str:
        return f"{self.prefix}:ban:{subject}"

    def hit(self, keys: Sequence[str], window: float, now: float) -> list[int]:
        # The ban check rides along on the first key's subject (the client IP).
        window_ms = int(window * 1000)
        now_ms = int(now * 1000)
        index = now_ms // window_ms
        redis_keys = [self._ban_key(keys[0]) if keys else f"{self.prefix}:none"]
        for key in keys:
            redis_keys += [f"{self.prefix}:n:{key}:{index}", f"{self.prefix}:n:{key}:{index - 1}"]
        result = self._hit(keys=redis_keys, args=[window_ms, now_ms % window_ms])
        if int(result[0]) == -1:
            return [-1] * len(keys)  # banned: the caller looks the ban up
        return [int(x) for x in result[1:]]

    def banned(self, subject: str, now: float) -> Ban | None:
        key = self._ban_key(subject)
        pipe = self.client.pipeline()
        pipe.get(key)
        pipe.pttl(key)
        value, ttl = pipe.execute()
        if value is None or int(ttl) <= 0:
            return None
        offences, _, reason = value.decode().partition("|")
        return Ban(subject, now + int(ttl) / 1000, reason, int(offences))

    def ban(
        self, subject: str, reason: str, base: float, cap: float, memory: float, now: float
    ) -> BanOutcome:
        keys = [self._ban_key(subject), f"{self.prefix}:offences:{subject}", self._list]
        args: list[str | int] = [subject, reason, int(base * 1000), int(cap * 1000)]
        args += [int(memory * 1000), int(now * 1000)]
        new, offences, until_ms = self._ban(keys=keys, args=args)
        return BanOutcome(Ban(subject, int(until_ms) / 1000, reason, int(offences)), bool(new))

    def bans(self, now: float) -> list[Ban]:
        out = []
        listed: dict[bytes, bytes] = self.client.hgetall(self._list)  # type: ignore[assignment]
        for raw_subject, raw in listed.items():
            subject = raw_subject.decode()
            until_ms, offences, reason = raw.decode().split("|", 2)
            if int(until_ms) / 1000 <= now or not self.client.exists(self._ban_key(subject)):
                self.client.hdel(self._list, subject)
                continue
            out.append(Ban(subject, int(until_ms) / 1000, reason, int(offences)))
        return sorted(out, key=lambda b: b.until)

    def lift(self, subject: str) -> bool:
        pipe = self.client.pipeline()
        pipe.delete(self._ban_key(subject))
        pipe.hdel(self._list, subject)
        for key in self.client.scan_iter(f"{self.prefix}:n:{subject}:*"):
            pipe.delete(key)  # a fresh start, or the old flood re-bans at once
        deleted = pipe.execute()[0]
        return bool(deleted)


class FallbackIpsStore:
    """Redis while it answers; this process's memory while it does not (ADR 0012)."""

    RETRY_SECONDS = 5.0  # how long to count in memory before asking Redis again

    def __init__(
        self,
        primary: RedisIpsStore,
        fallback: MemoryIpsStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.fallback = fallback or MemoryIpsStore()
        self.clock = clock
        self.degraded = False
        self.fallback_decisions = 0  # decisions taken in memory (for metrics)
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def _either(self, op: str, shared: Callable[[], T], local: Callable[[], T]) -> T:
        now = self.clock()
        if now >= self._retry_at:
            try:
                result = shared()
            except redis.RedisError as exc:
                with self._lock:
                    self._retry_at = now + self.RETRY_SECONDS
                    self.degraded = True
                dependencies.failed("redis", exc, "degraded", f"ips.{op}")
            else:
                if self.degraded:
                    self.degraded = False
                    dependencies.recovered("redis")
                return result
        self.fallback_decisions += 1
        return local()

    def hit(self, keys: Sequence[str], window: float, now: float) -> list[int]:
        return self._either(
            "hit",
            lambda: self.primary.hit(keys, window, now),
            lambda: self.fallback.hit(keys, window, now),
        )

    def banned(self, subject: str, now: float) -> Ban | None:
        return self._either(
            "banned",
            lambda: self.primary.banned(subject, now),
            lambda: self.fallback.banned(subject, now),
        )

    def ban(
        self, subject: str, reason: str, base: float, cap: float, memory: float, now: float
    ) -> BanOutcome:
        return self._either(
            "ban",
            lambda: self.primary.ban(subject, reason, base, cap, memory, now),
            lambda: self.fallback.ban(subject, reason, base, cap, memory, now),
        )

    def bans(self, now: float) -> list[Ban]:
        return _shared("ips.bans", lambda: self.primary.bans(now))

    def lift(self, subject: str) -> bool:
        local = self.fallback.lift(subject)
        return _shared("ips.lift", lambda: self.primary.lift(subject)) or local


def _shared(op: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except redis.RedisError as exc:
        dependencies.failed("redis", exc, "refused", op)
        raise DependencyUnavailable("redis") from None
