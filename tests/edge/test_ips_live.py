"""EDGE-4 against real ``hokan serve`` processes: slowloris, oversized bodies, a shared limit."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import select

from hokan.edge.ips import RedisIpsStore
from hokan.models import AuditEvent
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import TenantHandle, hokan_serve, redis_test_url

pytestmark = pytest.mark.slow


def _closed_after(sock: socket.socket, trickle: bytes, limit: float) -> float | None:
    """Send ``trickle`` a byte at a time; the seconds until the server hung up, or None."""
    started = time.monotonic()
    sock.settimeout(0.2)
    for byte in trickle:
        if time.monotonic() - started > limit:
            return None
        try:
            sock.sendall(bytes([byte]))
            if sock.recv(1024) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
    return None


def test_slowloris_is_cut_and_oversized_bodies_refused(
    settings: Settings,
    tmp_path: Path,
    make_tenant: Callable[..., TenantHandle],
) -> None:
    t = make_tenant()
    with hokan_serve(
        settings,
        tmp_path,
        HOKAN_IPS_HEADER_TIMEOUT_SECONDS="1",
        HOKAN_IPS_MAX_BODY_BYTES="4096",
        HOKAN_MAX_RECORD_BYTES="4096",  # the records routes' own limit
        HOKAN_ATTACHMENT_MAX_BYTES="8192",
    ) as [url]:
        port = int(url.rsplit(":", 1)[1])
        slow = socket.create_connection(("127.0.0.1", port))
        headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Padding: " + b"a" * 200
        took = _closed_after(slow, headers, limit=8)
        slow.close()
        assert took is not None and 0.8 <= took < 4, took  # cut at the header timeout
        assert httpx.get(f"{url}/healthz").status_code == 200  # others are served meanwhile

        base = f"{url}/api/v1/collections/staff/records/r1"
        assert httpx.put(base, json={"n": 1}, headers=t.headers).status_code == 201
        big = httpx.put(base, content=b"{" + b" " * 10_000 + b"}", headers=t.headers)
        assert big.status_code == 413

        # The attachment route has its own, larger limit, enforced on the streamed bytes.
        def chunks() -> Iterator[bytes]:
            for _ in range(20):
                yield b"x" * 1024

        r = httpx.post(
            f"{base}/attachments",
            content=chunks(),
            headers={**t.headers, "Content-Type": "text/plain"},
            timeout=30,
        )
        assert r.status_code == 413
        ok = httpx.post(
            f"{base}/attachments",
            content=b"x" * 6000,
            headers={**t.headers, "Content-Type": "text/plain"},
        )
        assert ok.status_code == 201, ok.text


def test_two_processes_enforce_one_limit_through_redis(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    url = redis_test_url()
    client = redis.Redis.from_url(url)
    prefix = f"hokan:test:{uuid.uuid4().hex}"  # apart from other tests sharing this Redis
    with hokan_serve(
        settings,
        tmp_path,
        count=2,
        HOKAN_REDIS_URL=url,
        HOKAN_IPS_IP_REQUESTS="10",
        HOKAN_IPS_FLOOD_FACTOR="2",
        HOKAN_IPS_REDIS_PREFIX=prefix,
    ) as urls:
        statuses = [httpx.get(f"{urls[i % 2]}/api/v1/collections").status_code for i in range(24)]
        # One count across both processes: 10 through, 10 rate-limited, then a flood ban
        # that both processes enforce.
        assert statuses == [401] * 10 + [429] * 10 + [403] * 4
        for u in urls:
            assert httpx.get(f"{u}/api/v1/collections").json()["error"] == "source_banned"
    with runtime.db.session(system=True) as s:
        bans = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "ips.ban")))
    assert [(b.target_id, b.detail["reason"]) for b in bans] == [("127.0.0.1", "flood")]
    assert [b.subject for b in RedisIpsStore(url, prefix).bans(time.time())] == ["ip:127.0.0.1"]
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_large_upload_streams_through_in_bounded_memory(
    settings: Settings, tmp_path: Path, make_tenant: Callable[..., TenantHandle]
) -> None:
    """REC-4: a 24 MB upload does not make the server hold it (peak memory grows far less)."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc")
    t = make_tenant()
    pids: list[int] = []
    with hokan_serve(settings, tmp_path, pids=pids) as [url]:
        base = f"{url}/api/v1/collections/staff/records/r1"
        assert httpx.put(base, json={"n": 1}, headers=t.headers).status_code == 201
        block = b"%PDF-1.7\n" + b"0123456789abcdef" * 65_536  # ~1 MB
        warm = httpx.post(
            f"{base}/attachments", files={"file": ("w.pdf", block)}, headers=t.headers
        )
        assert warm.status_code == 201, warm.text
        before = _peak_rss_kib(pids[0])

        def body() -> Iterator[bytes]:
            yield block
            for _ in range(23):
                yield block[9:]

        r = httpx.post(
            f"{base}/attachments",
            content=body(),
            headers={**t.headers, "Content-Type": "application/pdf"},
            params={"filename": "big.pdf"},
            timeout=120,
        )
        assert r.status_code == 201, r.text
        assert r.json()["size"] > 24_000_000
        grown_mib = (_peak_rss_kib(pids[0]) - before) / 1024
        assert grown_mib < 12, f"peak memory grew {grown_mib:.1f} MiB for a 24 MB upload"
        got = httpx.get(f"{base}/attachments/{r.json()['id']}", headers=t.headers, timeout=120)
        assert len(got.content) == r.json()["size"]
