"""The gate (MON-4, MON-5): outages send browsers to /status and API callers a 503 with
the incident; maintenance refuses writes; the maintenance header reaches only the
tenants a window affects; health, the status page and operators are never blocked."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.exc import OperationalError

from hokan.kit.db import Database
from hokan.monitoring.gate import functions_for
from hokan.monitoring.state import ServiceState
from hokan.runtime import Runtime
from tests.conftest import OperatorHandle, TenantHandle
from tests.identity.test_operators import op_login
from tests.monitoring.conftest import add_incident, add_window, flush_state

HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
RECORDS = "/api/v1/collections/staff/records"


def _write(client: TestClient, headers: dict[str, str]) -> Response:
    return client.put(f"{RECORDS}/r-{uuid.uuid4().hex[:8]}", headers=headers, json={"v": 1})


def test_a_full_outage_redirects_browsers_and_refuses_api_calls_with_the_incident(
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    t = make_tenant()
    ops = op_login(client, make_operator(("incident_response",)))
    assert client.get("/api/v1/tenant", headers=t.headers).status_code == 200
    incident = add_incident(runtime, outage="full", functions=["api"])
    flush_state(client)

    page = client.get("/api/v1/tenant", headers={**t.headers, **HTML}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/status"
    root = client.get("/", headers=HTML, follow_redirects=False)
    assert root.status_code == 303 and root.headers["location"] == "/status"

    api = client.get("/api/v1/tenant", headers=t.headers)
    assert api.status_code == 503
    body = api.json()
    assert body["error"] == "service_unavailable" and body["reason"] == "full"
    assert body["incident"] == incident.number and body["incident_id"] == str(incident.id)
    assert incident.number in body["detail"] and "/status" in body["detail"]
    assert int(api.headers["retry-after"]) > 0
    en = client.get("/api/v1/tenant", headers={**t.headers, "Accept-Language": "en"})
    assert en.json()["detail"].startswith("The service is temporarily unavailable")
    assert _write(client, t.headers).status_code == 503

    # Never blocked: health, the status page itself, the docs, and the operators.
    assert client.get("/healthz").status_code == 200
    assert client.get("/status", headers=HTML).status_code == 200
    assert client.get("/status.json").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/api/v1/operator/jobs", headers=ops).status_code in (200, 403)
    assert client.get("/api/v1/operator/ips/bans", headers=ops).status_code == 200


def test_a_partial_vault_outage_blocks_the_vault_routes_only(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    incident = add_incident(runtime, outage="partial", functions=["vault_write"])
    flush_state(client)
    write = client.post("/api/v1/vault/numbers", headers=t.headers, json={"number": "x"})
    assert write.status_code == 503
    assert write.json()["reason"] == "partial" and write.json()["incident"] == incident.number
    # Vault reads (a reveal is a read by POST) and everything else still pass the gate.
    for method, path in (
        ("GET", "/api/v1/vault/entries"),
        ("POST", "/api/v1/vault/entries/00000000-0000-4000-8000-000000000000/reveal"),
        ("GET", "/api/v1/collections"),
        ("GET", "/api/v1/tenant"),
    ):
        r = client.request(method, path, headers=t.headers, json={"purpose": "tax"})
        assert r.status_code != 503, (method, path, r.text)
    assert _write(client, t.headers).status_code in (200, 201)


def test_routes_map_to_the_functions_they_need() -> None:
    assert functions_for("POST", "/api/v1/auth/login") == {"api", "login"}
    assert functions_for("GET", "/api/v1/vault/entries") == {"api", "vault_read"}
    assert functions_for("POST", "/api/v1/vault/numbers") == {"api", "vault_write"}
    assert functions_for("POST", "/api/v1/vault/entries/x/download") == {"api", "vault_read"}
    assert "attachments" in functions_for("GET", "/api/v1/collections/c/records/r/attachments")
    assert functions_for("GET", "/api/v1/collections/c/records") == {"api", "records"}
    assert functions_for("GET", "/api/v1/tenant") == {"api"}


def test_an_incident_of_one_tenant_blocks_that_tenant_only(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    a, b = make_tenant(), make_tenant()
    incident = add_incident(runtime, outage="full", functions=["api"], tenant_ids=[str(a.id)])
    flush_state(client)
    r = client.get("/api/v1/tenant", headers=a.headers)
    assert r.status_code == 503 and r.json()["incident"] == incident.number
    assert client.get("/api/v1/tenant", headers=b.headers).status_code == 200


def test_the_gate_follows_a_new_incident_within_a_second_without_being_told(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    assert client.get("/api/v1/tenant", headers=t.headers).status_code == 200
    add_incident(runtime, outage="full")
    deadline = time.monotonic() + 1.5
    status = 200
    while time.monotonic() < deadline and status != 503:
        status = client.get("/api/v1/tenant", headers=t.headers).status_code
        time.sleep(0.05)
    assert status == 503


def test_a_resolved_incident_no_longer_blocks(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    add_incident(runtime, outage="full", status="resolved")
    flush_state(client)
    assert client.get("/api/v1/tenant", headers=t.headers).status_code == 200


# -- maintenance ------------------------------------------------------------------------


def test_the_maintenance_header_reaches_the_affected_tenant_only(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    a, b = make_tenant(), make_tenant()
    window = add_window(runtime, tenant_id=a.id, start=timedelta(days=15))
    flush_state(client)
    mine = client.get("/api/v1/tenant", headers=a.headers)
    assert mine.status_code == 200
    start = window.starts_at.isoformat().replace("+00:00", "Z")
    end = window.ends_at.isoformat().replace("+00:00", "Z")
    assert mine.headers["hokan-maintenance"] == f"start={start}; end={end}"
    assert "hokan-maintenance" not in client.get("/api/v1/tenant", headers=b.headers).headers
    # Announced is not running: writes still work.
    assert _write(client, a.headers).status_code in (200, 201)


def test_a_service_wide_window_is_announced_to_every_caller(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    add_window(runtime, start=timedelta(days=15))
    flush_state(client)
    assert "hokan-maintenance" in client.get("/api/v1/tenant", headers=t.headers).headers
    assert "hokan-maintenance" in client.get("/api/v1/collections", headers=t.headers).headers


def test_maintenance_mode_refuses_writes_and_serves_reads(
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    t = make_tenant()
    ops = op_login(client, make_operator(("incident_response",)))
    window = add_window(runtime, start=timedelta(minutes=-5), length=timedelta(hours=1))
    flush_state(client)
    write = _write(client, t.headers)
    assert write.status_code == 503
    body = write.json()
    assert body["error"] == "maintenance" and body["reason"] == "writes"
    assert body["maintenance_end"] == window.ends_at.isoformat().replace("+00:00", "Z")
    retry = int(write.headers["retry-after"])
    assert 50 * 60 <= retry <= 56 * 60  # until the window's end
    assert "hokan-maintenance" in write.headers
    read = client.get("/api/v1/tenant", headers=t.headers)
    assert read.status_code == 200 and "hokan-maintenance" in read.headers
    assert client.get("/api/v1/collections", headers=t.headers).status_code == 200
    # Operators, health and the status page are never in maintenance.
    assert client.get("/api/v1/operator/ips/bans", headers=ops).status_code == 200
    assert client.get("/healthz").status_code == 200
    assert "メンテナンス中" in client.get("/status").text


def test_a_tenant_window_puts_that_tenant_alone_in_maintenance(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    a, b = make_tenant(), make_tenant()
    add_window(runtime, tenant_id=a.id, reads_allowed=False)
    flush_state(client)
    r = client.get("/api/v1/tenant", headers=a.headers)
    assert r.status_code == 503 and r.json()["reason"] == "all"
    assert len(r.headers.get_list("hokan-maintenance")) == 1
    assert _write(client, a.headers).status_code == 503
    assert client.get("/api/v1/tenant", headers=b.headers).status_code == 200
    assert _write(client, b.headers).status_code in (200, 201)


def test_an_ended_or_cancelled_window_changes_nothing(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    add_window(runtime, start=timedelta(hours=-3), length=timedelta(hours=1))
    flush_state(client)
    r = _write(client, t.headers)
    assert r.status_code in (200, 201) and "hokan-maintenance" not in r.headers


def test_the_state_costs_next_to_nothing_per_request(runtime: Runtime) -> None:
    """Cached: a snapshot lookup; refreshed at most once a second per process."""
    add_incident(runtime, outage="partial", functions=["attachments"])
    add_window(runtime, start=timedelta(days=15))
    state = ServiceState(runtime.db)
    state.refresh()  # the pool's first connection
    state.invalidate()
    started = time.perf_counter()
    refreshed = state.refresh()
    refresh_ms = (time.perf_counter() - started) * 1000
    assert len(refreshed.outages) == 1 and len(refreshed.windows) == 1
    n = 20_000
    started = time.perf_counter()
    for _ in range(n):
        state.snapshot()
    per_call_us = (time.perf_counter() - started) / n * 1e6
    print(f"service state: refresh {refresh_ms:.2f} ms, cached lookup {per_call_us:.2f} µs")
    assert state.refreshes == 2  # every lookup within the second came from memory
    assert per_call_us < 20
    assert refresh_ms < 200


def test_an_unreadable_state_lets_requests_through(runtime: Runtime) -> None:
    """Fail open: a request that needs the database meets its own 503, not the gate's."""
    add_incident(runtime, outage="full")
    state = ServiceState(runtime.db)
    assert state.refresh().outages  # read once

    def broken() -> Database:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    blind = ServiceState(broken)
    assert blind.refresh().quiet and blind.refreshes == 0
    assert blind.fresh() is not None  # not retried before the second is up
