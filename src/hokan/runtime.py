"""The process-wide objects one Hokan process needs, built once from settings.

The HTTP app, the CLI and the tests all build a :class:`Runtime`; nothing
reaches for globals.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TypeVar

from anyio import to_thread

from hokan.edge.waf.service import Waf
from hokan.identity.lockout import RedisLockout
from hokan.identity.passwords import Passwords
from hokan.identity.spraying import SprayingDetector
from hokan.keyring.master import MasterKeyProvider, load_master_key
from hokan.keyring.service import Keyring
from hokan.kit.db import Database, make_engine
from hokan.records.service import RecordService
from hokan.settings import Settings
from hokan.tenants.service import TenantService

T = TypeVar("T")


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def db(self) -> Database:
        s = self.settings
        return Database(
            make_engine(
                s.resolved_database_url,
                pool_size=s.db_pool_size,
                busy_timeout_ms=s.sqlite_busy_timeout_ms,
            ),
            row_level_security=True,
        )

    @cached_property
    def keyring_db(self) -> Database:
        s = self.settings
        return Database(
            make_engine(
                s.resolved_keyring_url,
                pool_size=max(2, s.db_pool_size // 2),
                busy_timeout_ms=s.sqlite_busy_timeout_ms,
                secure_delete=True,  # destroyed keys are overwritten, not just unlinked
            )
        )

    @cached_property
    def master_key(self) -> MasterKeyProvider:
        return load_master_key(self.settings)

    @cached_property
    def keyring(self) -> Keyring:
        return Keyring(self.keyring_db, self.master_key, self.settings.key_cache_seconds)

    @cached_property
    def passwords(self) -> Passwords:
        return Passwords(self.settings)

    @cached_property
    def lockout(self) -> RedisLockout | None:
        """The shared login-failure counter store; None counts in the users table."""
        return RedisLockout(self.settings.redis_url) if self.settings.redis_url else None

    @cached_property
    def spraying(self) -> SprayingDetector:
        return SprayingDetector(
            self.settings.spraying_serials, self.settings.spraying_window_seconds
        )

    @cached_property
    def records(self) -> RecordService:
        return RecordService(self.keyring, self.settings.max_record_bytes)

    @cached_property
    def tenants(self) -> TenantService:
        return TenantService(self.keyring)

    @cached_property
    def waf(self) -> Waf:
        return Waf(self.settings)

    async def call(self, fn: Callable[[], T]) -> T:
        """Run blocking work (database, crypto) from async code (ADR 0001).

        On SQLite the work is local and sub-millisecond, so it runs inline on the
        event loop: a threadpool hop and the GIL hand-offs it causes cost more
        than the work. On PostgreSQL it runs in the bounded threadpool, so a slow
        round trip never stalls other requests.
        """
        if self.settings.inline_blocking:
            return fn()
        return await to_thread.run_sync(fn)

    def close(self) -> None:
        for name in ("db", "keyring_db"):
            if name in self.__dict__:
                self.__dict__[name].dispose()
