"""Where consecutive login failures are counted (IAM-3).

Without ``HOKAN_REDIS_URL`` the users table itself counts, with one atomic
UPDATE (see :mod:`hokan.identity.sessions`). With Redis, the count and the lock
live in Redis, shared by every ``hokan serve`` process, and one Lua script
makes "count, and lock at the threshold" atomic; the lock is mirrored into the
users table so admins see it and can lift it.

When Redis does not answer, every call raises :class:`DependencyUnavailable`
(503): the lockout fails closed, never into a window of unlimited guessing
(ADR 0012).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

import redis

from hokan.kit import dependencies
from hokan.kit.errors import DependencyUnavailable

T = TypeVar("T")


def fail_closed(op: str, call: Callable[[], T]) -> T:
    """Run one Redis call; a Redis failure becomes a 503, counted and logged."""
    try:
        return call()
    except redis.RedisError as exc:
        dependencies.failed("redis", exc, "refused", op)
        raise DependencyUnavailable("redis") from None


# KEYS: failures, lock.  ARGV: threshold, lock milliseconds.
# Returns -1 when already locked (not counted), 0 when this failure locked the
# account, otherwise the number of consecutive failures so far.
_COUNT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if n >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
  redis.call('DEL', KEYS[1])
  return 0
end
return n
"""


class RedisLockout:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._count = self.client.register_script(_COUNT)

    @staticmethod
    def _keys(user_id: uuid.UUID) -> list[str]:
        return [f"hokan:login:fail:{user_id}", f"hokan:login:lock:{user_id}"]

    def locked(self, user_id: uuid.UUID) -> bool:
        key = self._keys(user_id)[1]
        return bool(fail_closed("lockout.locked", lambda: self.client.exists(key)))

    def failure(self, user_id: uuid.UUID, threshold: int, lock_seconds: int) -> int:
        """-1: locked already (not counted); 0: this failure locked it; n: failures so far."""
        keys, args = self._keys(user_id), [threshold, lock_seconds * 1000]
        return int(fail_closed("lockout.failure", lambda: self._count(keys=keys, args=args)))

    def success(self, user_id: uuid.UUID) -> None:
        key = self._keys(user_id)[0]
        fail_closed("lockout.success", lambda: self.client.delete(key))

    def unlock(self, user_id: uuid.UUID) -> None:
        keys = self._keys(user_id)
        fail_closed("lockout.unlock", lambda: self.client.delete(*keys))
