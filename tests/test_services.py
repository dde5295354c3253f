"""The real services CI provides are reachable (CI fails, never skips, without them)."""

from __future__ import annotations

import os

import pytest
import redis


def test_redis_is_reachable() -> None:
    url = os.environ.get("HOKAN_TEST_REDIS_URL", "")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must set HOKAN_TEST_REDIS_URL")
        pytest.skip("HOKAN_TEST_REDIS_URL not set")
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        assert client.ping() is True
    except redis.RedisError as exc:
        pytest.fail(f"Redis at HOKAN_TEST_REDIS_URL is unreachable: {exc}")
