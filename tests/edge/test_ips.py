"""EDGE-4: sliding-window limits, escalating bans, body limits and timeouts, the ban list."""

from __future__ import annotations

import http.server
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.app import create_app
from hokan.edge.ips import IpsStore, MemoryIpsStore, RedisIpsStore
from hokan.edge.ips.middleware import IpsMiddleware
from hokan.models import AuditEvent, MailMessage
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import TenantHandle, redis_test_url


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[IpsStore]:
    if request.param == "memory":
        yield MemoryIpsStore()
        return
    prefix = f"hokan:test:{uuid.uuid4().hex}"
    s = RedisIpsStore(redis_test_url(), prefix=prefix)
    yield s
    for key in s.client.scan_iter(f"{prefix}:*"):
        s.client.delete(key)


def test_sliding_window_counts(store: IpsStore) -> None:
    t0 = 1_200_000.0  # at a window boundary (window 60 s)
    for i in range(1, 11):
        assert store.hit(["ip:a"], 60, t0 + i) == [i]
    assert store.hit(["ip:b"], 60, t0 + 11) == [1]  # per key
    # Half-way through the next window, half the previous window still counts.
    assert store.hit(["ip:a"], 60, t0 + 90) == [5 + 1]
    # Two windows later nothing is left.
    assert store.hit(["ip:a"], 60, t0 + 200) == [1]


def test_bans_escalate_and_can_be_lifted(store: IpsStore) -> None:
    now = 2_000_000.0
    durations = []
    for _ in range(4):
        outcome = store.ban("ip:x", "flood", 600, 2400, 86_400, now)
        assert outcome.new
        assert store.ban("ip:x", "flood", 600, 2400, 86_400, now).new is False  # already banned
        durations.append(round(outcome.ban.until - now))
        assert store.hit(["ip:x"], 60, now) == [-1]
        assert store.lift("ip:x")  # served (or lifted): the offence is remembered
        now += 1
    assert durations == [600, 1200, 2400, 2400]  # doubling, capped
    # The ban list and lifting (real time, for Redis's own expiry).
    import time

    live = store.ban("ip:y", "password_spraying", 600, 2400, 86_400, time.time())
    assert [b.subject for b in store.bans(time.time())] == ["ip:y"]
    assert live.ban.reason == "password_spraying"
    assert store.lift("ip:y")
    assert not store.lift("ip:y")
    assert store.bans(time.time()) == []
    assert store.banned("ip:y", time.time()) is None


class _Webhook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Webhook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    _Webhook.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


@pytest.fixture
def ips_client(
    settings_factory: Callable[..., Settings], webhook: str
) -> Iterator[tuple[TestClient, Runtime]]:
    settings = settings_factory(
        ips_ip_requests=5,
        ips_flood_factor=2,
        ips_webhook_url=webhook,
        security_notify_emails="soc@hokan.example.jp",
        ips_max_body_bytes=2048,
        max_record_bytes=2048,  # the records routes' own body limit (@body_limit)
    )
    rt = Runtime(settings)
    rt.keyring.verify_master(initialise=True)
    with TestClient(create_app(runtime=rt), client=("127.0.0.1", 50000)) as c:
        yield c, rt
    rt.close()


def test_rate_limit_then_flood_ban_audited_and_announced(
    ips_client: tuple[TestClient, Runtime],
) -> None:
    client, rt = ips_client
    from hokan.identity import operators

    with rt.db.session(write=True, system=True) as s:  # the on-call team hears of bans too
        for roles, email in (
            (["incident_response"], "oncall@hokan.example.jp"),
            (["auditor"], "audit@hokan.example.jp"),
        ):
            operators.create(
                s, rt.passwords, rt.master_key, name="運用", email=email, roles=roles, actor=SYSTEM
            )
    statuses = [client.get("/api/v1/collections").status_code for _ in range(9)]
    assert statuses == [401] * 5 + [429] * 4
    r = client.get("/api/v1/collections")
    assert r.json()["error"] == "rate_limited"
    assert int(r.headers["retry-after"]) >= 1
    r = client.get("/api/v1/collections")  # 11 > 5 × 2: a flood
    assert r.status_code == 403
    assert r.json()["error"] == "source_banned"
    assert int(r.headers["retry-after"]) == 600
    assert client.get("/healthz").status_code == 200  # probes are not counted or refused
    assert client.get("/api/v1/collections").json()["error"] == "source_banned"

    with rt.db.session(system=True) as s:
        [ban] = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "ips.ban")))
        assert ban.target_id == "127.0.0.1" and ban.detail["reason"] == "flood"
        [notice] = list(s.scalars(select(MailMessage).where(MailMessage.kind == "ips.ban")))
        assert notice.recipients == ["oncall@hokan.example.jp", "soc@hokan.example.jp"]
    for _ in range(100):
        if _Webhook.received:
            break
        threading.Event().wait(0.02)
    assert _Webhook.received[0]["event"] == "ips.ban"
    assert _Webhook.received[0]["ip"] == "127.0.0.1"

    [listed] = rt.ips.bans()
    assert listed.offences == 1
    assert rt.ips.lift("127.0.0.1", SYSTEM)
    assert client.get("/api/v1/collections").status_code == 401  # through again, counted afresh


def test_per_account_limit(
    settings_factory: Callable[..., Settings], make_tenant: Callable[..., TenantHandle]
) -> None:
    rt = Runtime(settings_factory(ips_account_requests=3))
    with TestClient(create_app(runtime=rt), client=("127.0.0.1", 50000)) as c:
        t, other = make_tenant(), make_tenant()
        got = [c.get("/api/v1/collections", headers=t.headers).status_code for _ in range(4)]
        assert got == [200, 200, 200, 429]
        assert c.get("/api/v1/collections", headers=other.headers).status_code == 200
    rt.close()


def test_body_limit_on_declared_and_streamed_bodies(
    ips_client: tuple[TestClient, Runtime], make_tenant: Callable[..., TenantHandle]
) -> None:
    client, _ = ips_client
    t = make_tenant()
    url = "/api/v1/collections/staff/records/r1"
    big = json.dumps({"note": "あ" * 1000})
    r = client.put(url, content=big, headers={**t.headers, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    r = client.put(
        url,
        content=iter([big[:500].encode(), big[500:].encode()]),
        headers={**t.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    small = client.put(url, json={"note": "ok"}, headers=t.headers)
    assert small.status_code == 201


@contextmanager
def rt_db(settings: Settings) -> Iterator[Any]:
    rt = Runtime(settings)
    try:
        yield rt.db
    finally:
        rt.close()


def _scope(ip: str = "198.51.100.9") -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/x",
        "headers": [],
        "client": (ip, 1234),
    }


def test_concurrency_cap_and_body_timeout(settings_factory: Callable[..., Settings]) -> None:
    rt = Runtime(settings_factory(ips_max_concurrent_per_ip=2, ips_body_timeout_seconds=0.2))
    release = anyio.Event()

    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def reading_app(scope: Any, receive: Any, send: Any) -> None:
        from hokan.kit.errors import HokanError

        try:
            await receive()
            status = 200
        except HokanError as exc:
            status = exc.status
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    statuses: list[int] = []

    async def capture(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def never() -> Any:
        await anyio.sleep(10)

    async def main() -> None:
        mw = IpsMiddleware(slow_app, rt)
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(mw, _scope(), never, capture)
            await anyio.sleep(0.05)
            await mw(_scope(), never, capture)  # a third at once from the same address
            release.set()
        await IpsMiddleware(reading_app, rt)(_scope(), never, capture)

    anyio.run(main)
    assert statuses == [429, 200, 200, 408]
    rt.close()


def test_cli_lists_and_lifts_bans(settings: Settings) -> None:
    from typer.testing import CliRunner

    from hokan.cli import app

    def cli(*args: str, extra_env: dict[str, str] | None = None, check: bool = True) -> Any:
        env = {k: None for k in os.environ if k.startswith("HOKAN_")}
        env |= {
            "HOKAN_DATA_DIR": str(settings.data_dir),
            "HOKAN_DATABASE_URL": settings.resolved_database_url,
            "HOKAN_KEYRING_DATABASE_URL": settings.resolved_keyring_url,
            # Audit entries are authenticated with a keyring key (ADR 0011).
            "HOKAN_MASTER_KEY": settings.master_key.get_secret_value()
            if settings.master_key
            else "",
        }
        result = CliRunner().invoke(app, list(args), env={**env, **(extra_env or {})})
        assert not check or result.exit_code == 0, result.stderr
        result.returncode = result.exit_code
        return result

    url = redis_test_url()
    prefix = f"hokan:test:{uuid.uuid4().hex}"
    store = RedisIpsStore(url, prefix)
    import time

    store.ban("ip:203.0.113.5", "flood", 600, 86_400, 86_400, time.time())
    env = {"HOKAN_REDIS_URL": url, "HOKAN_IPS_REDIS_PREFIX": prefix}
    out = cli("ips", "bans", extra_env=env).stdout
    assert json.loads(out)[0]["ip"] == "203.0.113.5"
    assert "lifted" in cli("ips", "lift", "203.0.113.5", extra_env=env).stdout
    assert cli("ips", "lift", "203.0.113.5", extra_env=env, check=False).returncode == 1
    assert json.loads(cli("ips", "bans", extra_env=env).stdout) == []
    with rt_db(settings) as db, db.session(system=True) as s:
        lifted = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "ips.ban_lifted")))
        assert [(e.actor_type, e.target_id, e.result) for e in lifted] == [
            ("operator", "203.0.113.5", "success"),
            ("operator", "203.0.113.5", "error"),  # the second lift found no ban
        ]
    assert cli("ips", "bans", check=False).returncode == 1  # memory store: nothing to manage


def test_per_tenant_limit_counts_all_its_accounts(
    settings_factory: Callable[..., Settings], make_tenant: Callable[..., TenantHandle]
) -> None:
    from hokan.identity import tokens

    rt = Runtime(settings_factory(ips_tenant_requests=4))
    with TestClient(create_app(runtime=rt), client=("127.0.0.1", 50000)) as c:
        t = make_tenant()
        with rt.db.session(write=True, system=True) as s:
            second = tokens.issue(
                s, t.id, "second", scopes=["records:read"], days=30, actor=SYSTEM
            ).secret
        other = {"Authorization": f"Bearer {second}"}
        got = [
            c.get("/api/v1/collections", headers=h).status_code
            for h in (t.headers, other, t.headers, other, t.headers)
        ]
        assert got == [200, 200, 200, 200, 429]
    rt.close()


def test_password_spraying_alarm_bans_the_address(runtime: Runtime) -> None:
    from hokan.audit.context import source_ip_var
    from hokan.identity import serials, sessions
    from hokan.identity.errors import InvalidCredentials

    token = source_ip_var.set("203.0.113.50")
    try:
        for _ in range(runtime.settings.spraying_serials):
            with pytest.raises(InvalidCredentials):
                sessions.login(
                    runtime.db,
                    runtime.passwords,
                    serials.new_serial(),
                    password="x" * 12,
                    spraying=runtime.spraying,
                )
    finally:
        source_ip_var.reset(token)
    [ban] = runtime.ips.bans()
    assert (ban.subject, ban.reason, ban.offences) == ("ip:203.0.113.50", "password_spraying", 1)
    verdict = runtime.ips.check_ip("203.0.113.50")
    assert verdict is not None and verdict.error.code == "source_banned"
    assert runtime.ips.check_ip("203.0.113.51") is None
    with runtime.db.session(system=True) as s:
        [event] = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "ips.ban")))
    assert event.detail == {"serials": 10, "reason": "password_spraying", "offences": 1}


def test_a_trickled_body_is_cut(settings_factory: Callable[..., Settings]) -> None:
    """Slow POST: every chunk arrives within the timeout, but the body never ends."""
    rt = Runtime(settings_factory(ips_body_timeout_seconds=0.2, ips_min_body_rate=1024))
    received = 0

    async def trickle() -> Any:
        nonlocal received
        await anyio.sleep(0.02)
        received += 1
        return {"type": "http.request", "body": b"x", "more_body": received < 1000}

    statuses: list[int] = []

    async def reading_app(scope: Any, receive: Any, send: Any) -> None:
        from hokan.kit.errors import HokanError

        status = 200
        try:
            while (await receive()).get("more_body"):
                pass
        except HokanError as exc:
            status = exc.status
        statuses.append(status)

    anyio.run(IpsMiddleware(reading_app, rt), _scope(), trickle, None)
    assert statuses == [408]
    assert received < 30  # cut soon after the body timeout, not after 1000 chunks
    rt.close()


def test_operators_read_and_lift_bans_over_the_api(
    runtime: Runtime, ops_client: TestClient, make_operator: Callable[..., Any]
) -> None:
    """EDGE-4: the ban list operators can read and lift (audited), from the serving process."""
    from tests.identity.test_operators import op_login

    runtime.ips.ban("198.51.100.20", "flood")
    responder = op_login(ops_client, make_operator(("incident_response",)))
    auditor = op_login(ops_client, make_operator(("auditor",)))
    listed = ops_client.get("/api/v1/operator/ips/bans", headers=auditor).json()
    assert [b["ip"] for b in listed] == ["198.51.100.20"] and listed[0]["reason"] == "flood"
    url = "/api/v1/operator/ips/bans/198.51.100.20/lift"
    assert ops_client.post(url, headers=auditor).status_code == 403  # auditors only read
    assert ops_client.post(url, headers=responder).json() == {"ip": "198.51.100.20", "lifted": True}
    assert ops_client.post(url, headers=responder).json()["error"] == "not_banned"
    bad = ops_client.post("/api/v1/operator/ips/bans/not-an-ip/lift", headers=responder)
    assert bad.json()["error"] == "invalid_address"
    with runtime.db.session(system=True) as s:
        lifted = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "ips.ban_lifted")))
    assert lifted and lifted[0].actor_type == "operator"


def test_repeated_waf_blocks_end_in_a_ban(settings_factory: Callable[..., Settings]) -> None:
    """A source the WAF keeps blocking is cut off by the IPS (whitepaper §2, EDGE-4)."""
    rt = Runtime(settings_factory(ips_attack_blocks=3, ips_ip_requests=1000))
    rt.keyring.verify_master(initialise=True)
    attack = "/api/v1/collections?q=1%27%20UNION%20SELECT%20password%20FROM%20users--"
    try:
        with TestClient(create_app(runtime=rt), client=("127.0.0.1", 50000)) as c:
            codes = [c.get(attack).json()["error"] for _ in range(3)]
            assert codes == ["waf_blocked"] * 3
            assert c.get("/api/v1/collections").json()["error"] == "source_banned"
        with rt.db.session(system=True) as s:
            [ban] = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "ips.ban")))
        assert ban.detail["reason"] == "attack" and ban.detail["waf_blocks"] == 3
    finally:
        rt.close()


def test_exempt_addresses_have_their_own_much_higher_concurrency_cap(
    settings_factory: Callable[..., Settings],
) -> None:
    """HOKAN_IPS_EXEMPT_IPS is the operator's own monitoring or NAT: 50 concurrent
    logins from it are not cut at the per-address cap; its own cap still holds."""
    rt = Runtime(
        settings_factory(
            ips_max_concurrent_per_ip=2,
            ips_max_concurrent_exempt=60,
            ips_exempt_ips="198.51.100.7",
        )
    )
    release = anyio.Event()

    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    statuses: list[int] = []

    async def capture(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def never() -> Any:
        await anyio.sleep(10)

    async def main() -> None:
        mw = IpsMiddleware(slow_app, rt)
        async with anyio.create_task_group() as tg:
            for _ in range(60):
                tg.start_soon(mw, _scope("198.51.100.7"), never, capture)
            await anyio.sleep(0.05)
            await mw(_scope("198.51.100.7"), never, capture)  # the 61st: over its own cap
            tg.start_soon(mw, _scope("198.51.100.9"), never, capture)  # another address
            await anyio.sleep(0.05)
            release.set()

    anyio.run(main)
    assert statuses.count(429) == 1 and statuses.count(200) == 61
    rt.close()
