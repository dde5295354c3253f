"""Lockout with Redis as the shared counter store (IAM-3), across threads and processes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from hokan.identity import sessions, users
from hokan.identity.errors import InvalidCredentials
from hokan.identity.lockout import RedisLockout
from hokan.models import AuditEvent, Tenant
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import TenantHandle, create_user, hokan_serve, redis_test_url

PASSWORD = "春の小川はさらさら行くよ"
_FAST_ARGON2 = {
    "HOKAN_ARGON2_TIME_COST": "1",
    "HOKAN_ARGON2_MEMORY_KIB": "8192",
    "HOKAN_ARGON2_PARALLELISM": "1",
}


@pytest.fixture
def redis_url() -> str:
    return redis_test_url()


def _user(runtime: Runtime, t: TenantHandle) -> tuple[str, str]:
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        user, _ = create_user(
            s,
            runtime.passwords,
            tenant,
            name="山田 太郎",
            email="y@example.jp",
            roles=["staff_user"],
            password=PASSWORD,
            actor=SYSTEM,
        )
        return user.serial, str(user.id)


def _counted(runtime: Runtime, user_id: str) -> tuple[int, int, int]:
    with runtime.db.session(system=True) as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.target_id == user_id)))
    reasons = [(e.action, e.detail.get("reason")) for e in events]
    return (
        reasons.count(("auth.login", "bad_password")),
        reasons.count(("auth.lock", None)),
        reasons.count(("auth.login", "locked")),
    )


def test_fifty_threads_count_exactly_n_in_redis(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle], redis_url: str
) -> None:
    serial, user_id = _user(runtime, make_tenant())
    store = RedisLockout(redis_url)
    barrier = threading.Barrier(50)

    def attempt() -> None:
        barrier.wait()
        with pytest.raises(InvalidCredentials):
            sessions.login(
                runtime.db, runtime.passwords, serial, password="wrong password!!", lockout=store
            )

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert _counted(runtime, user_id) == (5, 1, 45)
    with pytest.raises(InvalidCredentials):  # locked in Redis: the right password is refused too
        sessions.login(runtime.db, runtime.passwords, serial, password=PASSWORD, lockout=store)
    with runtime.db.session(write=True, system=True) as s:
        users.unlock(s, _tenant_of(runtime, serial), serial, SYSTEM, store)  # type: ignore[arg-type]
    assert (
        sessions.login(
            runtime.db, runtime.passwords, serial, password=PASSWORD, lockout=store
        ).principal.id
        == user_id
    )


def _tenant_of(runtime: Runtime, serial: str) -> object:
    from hokan.models import User

    with runtime.db.session(system=True) as s:
        return s.scalars(select(User.tenant_id).where(User.serial == serial)).one()


def test_two_server_processes_share_one_count(
    settings: Settings,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    redis_url: str,
    tmp_path: Path,
) -> None:
    serial, user_id = _user(runtime, make_tenant())
    with hokan_serve(
        settings, tmp_path, count=2, **_FAST_ARGON2, HOKAN_REDIS_URL=redis_url
    ) as urls:
        barrier = threading.Barrier(40)
        statuses: list[int] = []

        def attempt(i: int) -> None:
            barrier.wait()
            r = httpx.post(
                f"{urls[i % 2]}/api/v1/auth/login",
                json={"serial": serial, "password": "wrong password!!"},
                timeout=30,
            )
            statuses.append(r.status_code)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(40)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert statuses == [401] * 40
    assert _counted(runtime, user_id) == (5, 1, 35)
    import uuid

    assert RedisLockout(redis_url).locked(uuid.UUID(user_id))  # the count and lock live in Redis


def test_spraying_is_counted_across_processes_in_redis(redis_url: str) -> None:
    """Two processes' detectors (one Redis) see one address's serials together."""
    import secrets

    from hokan.identity.spraying import RedisSprayingDetector

    a = RedisSprayingDetector(redis_url, threshold=4, window_seconds=60)
    b = RedisSprayingDetector(redis_url, threshold=4, window_seconds=60)
    ip = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"
    now = 1_000_000.0
    assert a.failure(ip, "s1", now) is None
    assert b.failure(ip, "s2", now + 1) is None
    assert a.failure(ip, "s2", now + 2) is None  # the same serial again does not count
    assert b.failure(ip, "s3", now + 3) is None
    assert a.failure(ip, "s4", now + 4) == 4  # reported once, by whichever process sees it
    assert b.failure(ip, "s5", now + 5) is None
    assert a.failure("2001:db8::1:1" + secrets.token_hex(1), "s1", now) is None
