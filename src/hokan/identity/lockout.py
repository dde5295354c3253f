"""Where consecutive login failures are counted (IAM-3).

Without ``HOKAN_REDIS_URL`` the users table itself counts, with one atomic
UPDATE (see :mod:`hokan.identity.sessions`). With Redis, the count and the lock
live in Redis, shared by every ``hokan serve`` process, and one Lua script
makes "count, and lock at the threshold" atomic; the lock is mirrored into the
users table so admins see it and can lift it.
"""

from __future__ import annotations

import uuid

import redis

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
        return bool(self.client.exists(self._keys(user_id)[1]))

    def failure(self, user_id: uuid.UUID, threshold: int, lock_seconds: int) -> int:
        """-1: locked already (not counted); 0: this failure locked it; n: failures so far."""
        return int(self._count(keys=self._keys(user_id), args=[threshold, lock_seconds * 1000]))

    def success(self, user_id: uuid.UUID) -> None:
        self.client.delete(self._keys(user_id)[0])

    def unlock(self, user_id: uuid.UUID) -> None:
        self.client.delete(*self._keys(user_id))
