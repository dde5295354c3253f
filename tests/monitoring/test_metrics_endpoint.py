"""``/metrics``: what it counts, for whom, and that its labels stay bounded and clean."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient

from hokan.app import create_app
from hokan.jobs import runner
from hokan.jobs.registry import Registry
from hokan.jobs.worker import WorkerHost
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import OPERATOR_PASSWORD, OperatorHandle, TenantHandle
from tests.monitoring.conftest import scrape, value

RECORDS = "/api/v1/collections/staff/records"
RECORD_TEMPLATE = "/api/v1/collections/{collection}/records/{record_id}"
UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)
IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
IPV6 = re.compile(r"[0-9a-f]{0,4}:[0-9a-f]{0,4}:[0-9a-f:]*", re.I)
SERIAL = re.compile(r"\d{6,}")


def test_scrape_counts_a_waf_block_a_lockout_and_a_job_run(
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    t = make_tenant()
    op = make_operator()
    before = scrape(client)

    blocked = client.get(RECORDS, params={"q": "' OR '1'='1' --"}, headers=t.headers)
    assert blocked.status_code == 403 and blocked.json()["error"] == "waf_blocked"
    for _ in range(runtime.settings.operator_lockout_threshold):
        client.post(
            "/api/v1/operator/auth/login",
            json={"serial": op.serial, "password": "wrong-" + OPERATOR_PASSWORD, "otp": "123456"},
        )
    job = Registry(runtime.settings).get("monitoring.metrics_snapshot")
    host = WorkerHost(runtime.settings, runtime.db, runtime.resolve)
    assert runner.execute(host, job, trigger="manual").status == "ok"

    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("hokan_waf_blocks_total", family="sqli", mode="block") == 1
    assert grew("hokan_account_lockouts_total", kind="operator") == 1
    assert grew("hokan_job_runs_total", job="monitoring.metrics_snapshot", status="ok") == 1
    assert (
        value(after, "hokan_job_last_success_timestamp_seconds", job="monitoring.metrics_snapshot")
        > 0
    )
    # The refused request is counted under the route it was going to, as a 4xx.
    assert (
        grew(
            "hokan_http_requests_total",
            route="/api/v1/collections/{collection}/records",
            method="GET",
            status="4xx",
        )
        == 1
    )
    # The audit chains were written to (the block, the lockout): counted at scrape time.
    assert value(after, "hokan_audit_chains", scope="system") >= 1
    assert value(after, "hokan_audit_chain_entries", scope="system") > value(
        before, "hokan_audit_chain_entries", scope="system"
    )
    assert value(after, "hokan_metrics_collector_up", collector="audit") == 1


def test_label_values_stay_bounded_and_hold_no_ids_addresses_or_serials(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    created = client.post(RECORDS, json={"data": {"name": "山田"}}, headers=t.headers)
    assert created.status_code == 201, created.text
    # A varied workload: reads of 1,000 distinct ids, odd methods, unknown paths, refusals.
    for _ in range(1000):
        assert client.get(f"{RECORDS}/{uuid.uuid4()}", headers=t.headers).status_code == 404
    client.request("PROPFIND", f"{RECORDS}/{uuid.uuid4()}", headers=t.headers)
    client.get(f"/nowhere/{uuid.uuid4()}/127.0.0.1/1234567890123456")
    client.get(f"{RECORDS}/{created.json()['id']}", headers=t.headers)
    with TestClient(create_app(runtime=runtime), client=("8.8.8.8", 4000)) as abroad:
        assert abroad.get(f"{RECORDS}/{uuid.uuid4()}").status_code == 403
    samples = scrape(client)

    routes = {ls["route"] for n, ls, _ in samples if "route" in ls}
    assert RECORD_TEMPLATE in routes and "unmatched" in routes
    # The app's templates (other tests in this process may have hit any of them), never
    # one label per id: bounded by the route table, whatever was requested.
    from hokan.httpkit.routes import api_routes, console_routes

    templates = {path for _, path in api_routes(client.app) + console_routes(client.app)}
    # Other tests' apps in this process add their own few routes; never one per id.
    assert len(routes - templates) < 10, routes - templates
    reads = [
        ls
        for n, ls, _ in samples
        if n == "hokan_http_requests_total" and ls.get("route") == RECORD_TEMPLATE
    ]
    from hokan.kit.metrics import METHODS

    methods = {ls["method"] for ls in reads}  # other tests here may have PUT records too
    assert "GET" in methods and methods <= METHODS | {"other"}, methods
    assert value(samples, "hokan_geo_refusals_total", code="country_not_allowed") >= 1
    for name, labels, _ in samples:
        for key, text in labels.items():
            if key == "le":
                continue
            for pattern in (UUID, IPV4, IPV6, SERIAL):
                assert not pattern.search(text), (name, key, text)


def test_refused_to_addresses_outside_the_metrics_cidrs(
    runtime: Runtime, settings_factory: Callable[..., Settings]
) -> None:
    # 133.x is Japanese (admitted by the edge) but not a metrics network: a plain 404.
    with TestClient(create_app(runtime=runtime), client=("133.1.1.1", 4000)) as japan:
        r = japan.get("/metrics")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        assert r.json() == japan.get("/no-such-path").json()
    with TestClient(create_app(runtime=runtime), client=("::1", 4000)) as local6:
        assert local6.get("/metrics").status_code == 200
    rt = Runtime(settings_factory(metrics_cidrs="133.1.0.0/16"))
    try:
        with TestClient(create_app(runtime=rt), client=("133.1.1.1", 4000)) as monitor:
            assert monitor.get("/metrics").status_code == 200
        with TestClient(create_app(runtime=rt), client=("127.0.0.1", 4000)) as local:
            assert local.get("/metrics").status_code == 404
    finally:
        rt.close()


def test_host_vault_and_audit_gauges_are_present(client: TestClient, runtime: Runtime) -> None:
    samples = scrape(client)
    names = {n for n, _, _ in samples}
    for name in (
        "hokan_host_cpu_percent",
        "hokan_host_memory_used_bytes",
        "hokan_host_memory_total_bytes",
        "hokan_host_disk_used_bytes",
        "hokan_host_disk_percent",
        "hokan_audit_checkpoint_age_seconds",
        "hokan_audit_chains_uncheckpointed",
    ):
        assert name in names, name
    assert (
        0
        < value(samples, "hokan_host_memory_used_bytes")
        < value(samples, "hokan_host_memory_total_bytes")
    )
    stores = {ls["store"]: v for n, ls, v in samples if n == "hokan_vault_store_up"}
    assert stores == {str(i): 1.0 for i in range(1, runtime.vault_stores.n + 1)}


def test_a_lost_vault_store_shows_as_down(client: TestClient, runtime: Runtime) -> None:
    real = runtime.vault_stores.states
    runtime.vault_stores.states = lambda: ["ok", "unavailable", *real()[2:]]  # type: ignore[method-assign]
    try:
        stores = {ls["store"]: v for n, ls, v in scrape(client) if n == "hokan_vault_store_up"}
    finally:
        runtime.vault_stores.states = real  # type: ignore[method-assign]
    assert stores["1"] == 1.0 and stores["2"] == 0.0


def test_a_failing_source_is_reported_not_fatal(client: TestClient, runtime: Runtime) -> None:
    real = runtime.vault_stores.states

    def broken() -> list[str]:
        raise RuntimeError("disk gone")

    runtime.vault_stores.states = broken  # type: ignore[method-assign]
    try:
        samples = scrape(client)
    finally:
        runtime.vault_stores.states = real  # type: ignore[method-assign]
    assert value(samples, "hokan_metrics_collector_up", collector="vault_stores") == 0
    assert value(samples, "hokan_metrics_collector_up", collector="host") == 1


def test_rate_limits_and_bans_are_counted(settings_factory: Callable[..., Settings]) -> None:
    rt = Runtime(
        settings_factory(ips_ip_requests=3, ips_flood_factor=2, ips_exempt_ips="127.0.0.1")
    )
    rt.keyring.verify_master(initialise=True)
    app = create_app(runtime=rt)
    try:
        with TestClient(app, client=("127.0.0.1", 4000)) as local:
            before = scrape(local)
            with TestClient(app, client=("133.1.1.1", 4000)) as japan:
                statuses = [japan.get("/api/v1/tenant").status_code for _ in range(8)]
            after = scrape(local)
    finally:
        rt.close()
    # 3 answered (401: no token), 3 over the limit (429), then a flood: banned (403).
    assert statuses[3:6] == [429, 429, 429] and statuses[6] == 403, statuses

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("hokan_rate_limited_total", limit="address") == 3
    assert grew("hokan_ips_bans_total", reason="flood") == 1
    assert grew("hokan_rate_limited_total", limit="banned") >= 1


def test_the_waf_skips_bodies_on_metrics_but_not_the_query(client: TestClient) -> None:
    attack = "' OR '1'='1' --"
    body = client.request(
        "GET", "/metrics", json={"q": attack}, headers={"content-type": "application/json"}
    )
    assert body.status_code == 200
    query = client.get("/metrics", params={"q": attack})
    assert query.status_code == 403 and query.json()["error"] == "waf_blocked"
    elsewhere = client.request(
        "GET", "/healthz", json={"q": attack}, headers={"content-type": "application/json"}
    )
    assert elsewhere.status_code == 403  # the exclusion is /metrics' own
