"""Redis down (ADR 0012): logins fail closed, the IPS degrades, /readyz and the log say so.

Redis "down" is a port nothing listens on: connections are refused at once.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.app import create_app
from hokan.kit import dependencies
from hokan.kit.logging import JsonFormatter
from hokan.models import AuditEvent, Tenant
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import MASTER_KEY, TenantHandle, create_user

DEAD_REDIS = "redis://127.0.0.1:6399/11"  # nothing listens there
PASSWORD = "春の小川はさらさら行くよ"


@pytest.fixture
def dead_redis_runtime(settings_factory: Callable[..., Settings]) -> Iterator[Runtime]:
    rt = Runtime(settings_factory(redis_url=DEAD_REDIS))
    rt.keyring.verify_master(initialise=True)
    yield rt
    rt.close()


@pytest.fixture
def dead_client(dead_redis_runtime: Runtime) -> Iterator[TestClient]:
    app = create_app(runtime=dead_redis_runtime)
    with TestClient(app, client=("127.0.0.1", 50000), raise_server_exceptions=False) as c:
        yield c


class _Lines(logging.Handler):
    """Log lines as the JSON formatter writes them, formatted when emitted."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    handler = _Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)


def _user(runtime: Runtime, tenant_id: object) -> str:
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, tenant_id)
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
        return user.serial


def _make_tenant(runtime: Runtime) -> TenantHandle:
    import uuid

    from hokan.identity import tokens
    from hokan.models import Product
    from hokan.principals.principal import ALL_TOKEN_SCOPES
    from hokan.tenants.schemas import TenantCreate

    code = f"t-{uuid.uuid4().hex[:8]}"
    with runtime.db.session(write=True, system=True) as s:
        tenant = runtime.tenants.create(
            s, TenantCreate(code=code, name=f"{code} 株式会社", product=Product.staff), SYSTEM
        )
        issued = tokens.issue(s, tenant.id, "tests", scopes=ALL_TOKEN_SCOPES, days=30, actor=SYSTEM)
    return TenantHandle(tenant, issued.secret, {"Authorization": f"Bearer {issued.secret}"})


def test_login_fails_closed_with_503_and_is_audited(
    dead_redis_runtime: Runtime, dead_client: TestClient, log_lines: list[str]
) -> None:
    t = _make_tenant(dead_redis_runtime)
    serial = _user(dead_redis_runtime, t.id)
    for password in (PASSWORD, "wrong password!!"):  # neither a way in nor an uncounted guess
        r = dead_client.post(
            "/api/v1/auth/login",
            json={"serial": serial, "password": password},
            headers={"X-Request-ID": "login-req-0001"},
        )
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "dependency_unavailable"
        assert "Retry-After" in r.headers
        assert "redis" not in r.text.lower()  # the dependency is named in the log only
    # A serial nobody has: the spraying counter is Redis too, and fails closed the same way.
    r = dead_client.post("/api/v1/auth/login", json={"serial": "AB12-CD34-EF56", "password": "x"})
    assert r.status_code in (401, 503)
    with dead_redis_runtime.db.session(system=True) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login")).all()
    # The unit of work audits the refusal under the declared action with the error code.
    codes = [e.detail.get("reason") or e.detail.get("error") for e in events]
    assert codes.count("dependency_unavailable") >= 2
    named = [line for line in log_lines if '"dependency":"redis"' in line]
    assert named and any('"request_id":"login-req-0001"' in line for line in named)


def test_the_api_stays_up_with_ips_counting_in_memory(
    dead_redis_runtime: Runtime, dead_client: TestClient, log_lines: list[str]
) -> None:
    t = _make_tenant(dead_redis_runtime)
    before = dependencies.failures[("redis", "degraded")]
    for _ in range(3):
        r = dead_client.get("/api/v1/tenant", headers=t.headers)
        assert r.status_code == 200, r.text
    assert dependencies.failures[("redis", "degraded")] > before  # the warning metric
    assert any(
        '"dependency":"redis"' in line and '"outcome":"degraded"' in line for line in log_lines
    )
    store = dead_redis_runtime.ips.store
    assert getattr(store, "degraded", False) and getattr(store, "fallback_decisions", 0) >= 3


def test_ips_limits_still_hold_in_memory(settings_factory: Callable[..., Settings]) -> None:
    rt = Runtime(settings_factory(redis_url=DEAD_REDIS, ips_ip_requests=3))
    try:
        verdicts = [rt.ips.check_ip("203.0.113.9") for _ in range(5)]
        assert verdicts[:3] == [None, None, None]
        assert verdicts[3] is not None and verdicts[3].error.code == "rate_limited"
    finally:
        rt.close()


def test_readyz_reports_redis(dead_client: TestClient) -> None:
    r = dead_client.get("/readyz")
    assert r.status_code == 200  # the instance stays in service ...
    assert r.json()["components"]["redis"] == "unreachable"  # ... and says what is down


def test_readyz_without_redis_says_not_configured(client: TestClient) -> None:
    assert client.get("/readyz").json()["components"]["redis"] == "not_configured"


def test_an_unexpected_redis_error_is_a_named_503_with_the_request_id(
    dead_redis_runtime: Runtime,
    dead_client: TestClient,
    log_lines: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def down(ip: str) -> None:
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6399")

    monkeypatch.setattr(dead_redis_runtime.ips, "check_ip", down)
    r = dead_client.get("/api/v1/tenant", headers={"X-Request-ID": "unexpected-0001"})
    assert r.status_code == 503 and r.json()["error"] == "dependency_unavailable"
    errors = [line for line in log_lines if '"logger":"hokan.errors"' in line]
    assert errors and '"dependency":"redis"' in errors[-1]
    assert '"request_id":"unexpected-0001"' in errors[-1]


def test_cli_ips_bans_with_redis_down_is_one_line(settings: Settings, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKAN_")}
    env.update(
        HOKAN_DATA_DIR=str(settings.data_dir),
        HOKAN_DATABASE_URL=settings.resolved_database_url,
        HOKAN_KEYRING_DATABASE_URL=settings.resolved_keyring_url,
        HOKAN_MASTER_KEY=MASTER_KEY,
        HOKAN_REDIS_URL=DEAD_REDIS,
    )
    done = subprocess.run(
        [sys.executable, "-m", "hokan", "ips", "bans"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "dependency_unavailable" in lines[0] and "Redis" in lines[0]
    assert "Traceback" not in done.stderr
