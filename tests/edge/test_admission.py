"""Network admission (EDGE-2): Japanese addresses only, the trusted-proxy header path,
local networks, tenants' allow-lists, refusals audited without flooding the log."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from hokan.edge.admission import GeoPolicy, NetworkSet, client_ip, parse_address, resolve
from hokan.edge.refusals import RefusalLog
from hokan.models import AuditEvent, Tenant
from hokan.runtime import Runtime
from hokan.settings import load_settings
from tests.conftest import TenantHandle

JAPAN = ["1.0.16.1", "133.1.1.1", "2001:218::1", "::ffff:133.1.1.1"]
ELSEWHERE = ["8.8.8.8", "2001:4860:4860::8888", "41.0.0.1"]
UNALLOCATED = ["240.0.0.1", "2d00::1", "2001:db8::1", "0.0.0.0"]
PROXIES = (ip_network("10.0.0.0/8"), ip_network("127.0.0.1/32"))


def _policy(local: str = "") -> GeoPolicy:
    return GeoPolicy(["JP"], tuple(ip_network(n) for n in local.split(",") if n))


@pytest.mark.parametrize("address", JAPAN)
def test_japanese_addresses_are_admitted(address: str) -> None:
    assert _policy().check(parse_address(address)) is None


@pytest.mark.parametrize("address", ELSEWHERE)
def test_other_countries_are_refused(address: str) -> None:
    refusal = _policy().check(parse_address(address))
    assert refusal is not None and refusal.code == "country_not_allowed"


@pytest.mark.parametrize("address", [*UNALLOCATED, "10.1.2.3", "192.168.0.1", "127.0.0.1", "::1"])
def test_unallocated_private_and_loopback_are_refused_unless_configured(address: str) -> None:
    refusal = _policy().check(parse_address(address))
    assert refusal is not None and refusal.code == "address_unknown"


def test_configured_local_networks_are_admitted() -> None:
    policy = _policy("10.0.0.0/8,127.0.0.0/8,::1/128")
    for address in ("10.1.2.3", "127.0.0.1", "::1"):
        assert policy.check(parse_address(address)) is None
    refusal = policy.check(parse_address("192.168.0.1"))
    assert refusal is not None and refusal.code == "address_unknown"


def test_embedded_default_admits_loopback_but_production_does_not() -> None:
    assert load_settings(env="development").local_network_list == (
        ip_network("127.0.0.0/8"),
        ip_network("::1/128"),
    )
    prod = load_settings(
        env="production",
        master_key_file="/nonexistent/key",
        database_url="postgresql+psycopg://h@db/hokan",
        keyring_database_url="postgresql+psycopg://h@db/keyring",
        vault_store_urls=",".join(f"postgresql+psycopg://v{i}@db/vault{i}" for i in (1, 2, 3)),
    )
    assert prod.local_network_list == ()
    assert prod.requires_client_cert


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("133.1.1.1", ["8.8.8.8"], "133.1.1.1"),  # untrusted peer: its header is ignored
        ("10.0.0.5", ["133.1.1.1"], "133.1.1.1"),
        ("10.0.0.5", ["8.8.8.8, 133.1.1.1"], "133.1.1.1"),  # left entries are the caller's
        ("10.0.0.5", ["133.1.1.1, 10.0.0.7"], "133.1.1.1"),  # skip our own proxies
        ("10.0.0.5", ["133.1.1.1", "10.0.0.7"], "133.1.1.1"),  # several header lines
        ("10.0.0.5", ["10.0.0.9, 10.0.0.7"], "10.0.0.9"),  # all ours: left-most
        ("10.0.0.5", [], "10.0.0.5"),
        ("10.0.0.5", ["not-an-ip"], None),
        ("testclient", [], None),
    ],
)
def test_client_address_is_the_right_most_untrusted_hop(
    peer: str, xff: list[str], expected: str | None
) -> None:
    addr = resolve(peer, xff, PROXIES)
    assert (str(addr) if addr else None) == expected


def test_refusal_log_audits_first_then_summarises() -> None:
    log = RefusalLog(window_seconds=60, budget_per_window=3)
    assert log.note("country_not_allowed", "8.8.8.8", now=0) == {"error": "country_not_allowed"}
    for t in range(1, 11):
        assert log.note("country_not_allowed", "8.8.8.8", now=t) is None
    assert log.note("country_not_allowed", "8.8.8.8", now=61) == {
        "error": "country_not_allowed",
        "repeats": 10,
    }
    # The global budget (3 per window) holds back entries from many addresses…
    assert log.note("address_unknown", "240.0.0.1", now=62) is not None
    assert log.note("address_unknown", "240.0.0.2", now=63) is not None
    assert log.note("address_unknown", "240.0.0.3", now=64) is None
    assert log.note("address_unknown", "240.0.0.4", now=65) is None
    # …and the next entry written says how many.
    assert log.note("address_unknown", "240.0.0.5", now=130) == {
        "error": "address_unknown",
        "held_back": 2,
    }
    assert log.snapshot() == {"country_not_allowed": 12, "address_unknown": 5}


def test_refused_over_http_with_a_stable_code_in_japanese_or_english(
    app_client: Callable[[str], TestClient], runtime: Runtime
) -> None:
    us = app_client("8.8.8.8")
    r = us.get("/healthz")
    assert r.status_code == 403
    assert r.json()["error"] == "country_not_allowed"
    assert "日本" in r.json()["detail"]
    r = us.get("/healthz", headers={"Accept-Language": "en"})
    assert r.json()["detail"] == "Connections are accepted from Japan only."
    assert r.headers["x-content-type-options"] == "nosniff"  # security headers on refusals too
    assert app_client("240.0.0.1").get("/healthz").json()["error"] == "address_unknown"
    assert app_client("133.1.1.1").get("/healthz").status_code == 200


def test_a_flood_of_refusals_is_counted_but_audited_once(
    app_client: Callable[[str], TestClient], runtime: Runtime
) -> None:
    us = app_client("8.8.8.8")
    for _ in range(25):
        assert us.get("/api/v1/tenant").status_code == 403
    with runtime.db.session(system=True) as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "edge.refused")))
    assert len(events) == 1
    assert events[0].source_ip == "8.8.8.8" and events[0].result == "denied"
    assert events[0].detail == {"error": "country_not_allowed"}
    assert runtime.edge_refusals.snapshot()["country_not_allowed"] == 25


@pytest.mark.edge_settings(trusted_proxies="127.0.0.1/32")
def test_through_a_trusted_proxy_the_forwarded_address_is_the_client_everywhere(
    app_client: Callable[[str], TestClient],
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
) -> None:
    t = make_tenant()
    front = app_client("127.0.0.1")
    r = front.get("/api/v1/tenant", headers={**t.headers, "X-Forwarded-For": "8.8.8.8"})
    assert r.status_code == 403 and r.json()["error"] == "country_not_allowed"
    spoof = {**t.headers, "X-Forwarded-For": "8.8.8.8, 2001:218::1"}
    assert front.get("/api/v1/tenant", headers=spoof).status_code == 200
    with runtime.db.session(system=True) as s:
        read = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "tenant.read", AuditEvent.tenant_id == t.id
            )
        ).one()
    assert read.source_ip == "2001:218::1"
    # A caller that is not our proxy cannot choose its address with the header.
    direct = app_client("133.1.1.1")
    assert direct.get("/healthz", headers={"X-Forwarded-For": "8.8.8.8"}).status_code == 200
    assert (
        app_client("8.8.8.8").get("/healthz", headers={"X-Forwarded-For": "133.1.1.1"}).status_code
        == 403
    )


def test_client_ip_helper_reads_the_resolved_address() -> None:
    scope = {"type": "http", "client": ("10.0.0.5", 1), "state": {"hokan.client_ip": "133.1.1.1"}}
    assert client_ip(scope) == "133.1.1.1"
    assert client_ip({"type": "http", "client": ("10.0.0.5", 1)}) == "10.0.0.5"


def test_a_tenant_allow_list_restricts_its_callers_further(
    app_client: Callable[[str], TestClient],
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
) -> None:
    t, other = make_tenant(), make_tenant()
    with runtime.db.session(write=True, system=True) as s:
        row = s.get(Tenant, t.id)
        assert row is not None
        row.settings = {**(row.settings or {}), "allowed_cidrs": ["133.1.0.0/16", "2001:218::/32"]}
    assert app_client("133.1.1.1").get("/api/v1/tenant", headers=t.headers).status_code == 200
    r = app_client("1.0.16.1").get("/api/v1/tenant", headers=t.headers)
    assert r.status_code == 403 and r.json()["error"] == "network_not_allowed"
    # Other tenants are not affected by this tenant's list.
    assert app_client("1.0.16.1").get("/api/v1/tenant", headers=other.headers).status_code == 200
    with runtime.db.session(system=True) as s:
        denied = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "edge.admit", AuditEvent.tenant_id == t.id
            )
        ).one()
    assert denied.result == "denied" and denied.detail == {"error": "network_not_allowed"}
    assert denied.source_ip == "1.0.16.1"


@given(
    nets=st.lists(
        st.one_of(
            st.tuples(st.integers(0, 2**32 - 1), st.integers(8, 32)).map(
                lambda t: ip_network((t[0], t[1]), strict=False)
            ),
            st.tuples(st.integers(0, 2**128 - 1), st.integers(16, 128)).map(
                lambda t: ip_network((t[0], t[1]), strict=False)
            ),
        ),
        max_size=8,
    ),
    probes=st.lists(st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 2**128 - 1)), max_size=20),
)
def test_network_set_membership_agrees_with_ipaddress(
    nets: list[IPv4Network | IPv6Network], probes: list[int]
) -> None:
    fast = NetworkSet(nets)
    candidates = [ip_address(p) for p in probes]
    candidates += [n.network_address for n in nets] + [n.broadcast_address for n in nets]
    for addr in candidates:
        expected = any(addr.version == n.version and addr in n for n in nets)
        assert (addr in fast) is expected, (addr, nets)


_OURS = st.sampled_from(["10.0.0.7", "10.0.0.9", "127.0.0.1"])
_CLIENTS = st.sampled_from(["133.1.1.1", "8.8.8.8", "1.0.16.1", "2001:218::1"])


@given(
    caller_chosen=st.lists(st.one_of(_OURS, _CLIENTS, st.just("garbage")), max_size=4),
    real=_CLIENTS,
    ours=st.lists(_OURS, max_size=3),
)
def test_a_caller_cannot_choose_its_address_through_a_trusted_proxy(
    caller_chosen: list[str], real: str, ours: list[str]
) -> None:
    # What the caller sent (anything), then what our proxies appended: the real
    # client and each of our own hops. The result is the real client every time.
    xff = ", ".join([*caller_chosen, real, *ours])
    assert str(resolve("10.0.0.5", [xff], PROXIES)) == real


def test_network_settings_are_validated_and_split() -> None:
    from hokan.settings import SettingsError

    s = load_settings(env="test", trusted_proxies="127.0.0.1/32, 10.0.0.0/8", local_networks="")
    assert s.trusted_proxy_networks == (ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8"))
    assert s.local_network_list == ()  # set but empty: no local network at all
    with pytest.raises(SettingsError, match="HOKAN_TRUSTED_PROXIES"):
        load_settings(env="test", trusted_proxies="nginx.internal")


def test_a_websocket_from_abroad_is_closed(app_client: Callable[[str], TestClient]) -> None:
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect) as closed,
        app_client("8.8.8.8").websocket_connect("/ws"),
    ):
        pass
    assert closed.value.code == 1008
