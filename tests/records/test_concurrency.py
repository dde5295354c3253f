"""Optimistic concurrency under real concurrent HTTP clients (REC-2)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import LiveServer, TenantHandle

# The live server runs database work inline on SQLite by default; run every race
# in the threadpool too, where writers really do overlap (HOKAN_BLOCKING=threads).
pytestmark = pytest.mark.parametrize("blocking", ["auto", "threads"], indirect=True)


def _race(
    n: int, action: Callable[[httpx.Client, int], httpx.Response], base_url: str
) -> list[httpx.Response]:
    barrier = threading.Barrier(n)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as c:
            barrier.wait()
            r = action(c, i)
            with lock:
                results.append(r)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


def test_two_replaces_with_same_etag_one_wins(
    live_server: LiveServer, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    url = "/api/v1/collections/staff/records/race"
    with httpx.Client(base_url=live_server.url) as c:
        for round_no in range(5):
            etag = c.put(url, json={"round": round_no, "by": "setup"}, headers=t.headers).headers[
                "etag"
            ]
            results = _race(
                2,
                lambda cl, i, rn=round_no, tag=etag: cl.put(
                    url, json={"round": rn, "by": i}, headers={**t.headers, "If-Match": tag}
                ),
                live_server.url,
            )
            statuses = sorted(r.status_code for r in results)
            assert statuses == [200, 412], statuses
            winner = next(r for r in results if r.status_code == 200).json()
            loser = next(r for r in results if r.status_code == 412).json()
            assert loser["error"] == "stale_revision"
            current = c.get(url, headers=t.headers).json()
            assert current["data"] == winner["data"]
        revisions = [r["revision"] for r in c.get(f"{url}/revisions", headers=t.headers).json()]
        assert revisions == list(range(1, len(revisions) + 1))
        assert len(revisions) == 10


def test_many_unconditional_writers_leave_no_gap(
    live_server: LiveServer, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    url = "/api/v1/collections/staff/records/hot"
    n = 12
    missing = httpx.patch(live_server.url + url, json={"x": 1}, headers=t.headers)
    assert missing.status_code == 404  # merge patch never creates
    created = httpx.put(live_server.url + url, json={"start": True}, headers=t.headers)
    assert created.status_code == 201
    results = _race(
        n, lambda cl, i: cl.patch(url, json={f"w{i}": i}, headers=t.headers), live_server.url
    )
    assert [r.status_code for r in results] == [200] * n
    with httpx.Client(base_url=live_server.url) as c:
        final = c.get(url, headers=t.headers).json()
        assert final["revision"] == n + 1
        # No lost update: every writer's member is present.
        assert {f"w{i}" for i in range(n)} <= set(final["data"])
        revisions = [r["revision"] for r in c.get(f"{url}/revisions", headers=t.headers).json()]
        assert revisions == list(range(1, n + 2))


def test_concurrent_creates_of_one_id(
    live_server: LiveServer, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    url = "/api/v1/collections/fresh/records/new-one"
    results = _race(
        6,
        lambda cl, i: cl.put(url, json={"by": i}, headers={**t.headers, "If-None-Match": "*"}),
        live_server.url,
    )
    assert sorted(r.status_code for r in results) == [201] + [412] * 5
