"""Test fixtures: every backend-dependent test runs on SQLite and on PostgreSQL.

PostgreSQL runs when ``HOKAN_TEST_DATABASE_URL`` is set (CI sets it) or, when it
is unset, a local PostgreSQL answers at 127.0.0.1:5432 (user postgres, database
test); Redis likewise (``HOKAN_TEST_REDIS_URL``, 127.0.0.1:6379). If a variable is
set but the service unreachable the tests fail; the run always ends with a line
saying what was skipped and why. Each pytest-xdist
worker gets its own PostgreSQL databases (system, keyring and three vault
fragment stores), migrated once and emptied between tests.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hokan import migrations
from hokan.app import create_app
from hokan.identity import passwords, tokens, users
from hokan.kit import crypto
from hokan.kit.db import Base, KeyringBase, VaultStoreBase
from hokan.models import Product, Tenant, User
from hokan.principals.principal import ALL_TOKEN_SCOPES, SYSTEM
from hokan.runtime import Runtime
from hokan.settings import Settings
from hokan.tenants.schemas import TenantCreate
from hokan.vault.stores import FragmentStores

LOCAL_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


def _local_service(var: str, url: str) -> str:
    """``var``, or the local service at ``url`` when ``var`` is unset and it answers.

    So ``make test`` on a machine running PostgreSQL and Redis runs their tests
    too instead of skipping them. ``HOKAN_TEST_DETECT=0`` turns this off; under CI
    the variables are set explicitly (.ci/run) and an unreachable service fails.
    Found services are put in the environment for xdist workers and subprocesses.
    """
    if os.environ.get(var) or os.environ.get("HOKAN_TEST_DETECT", "1") == "0":
        return os.environ.get(var, "")
    try:
        if url.startswith("redis"):
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
        else:
            engine = create_engine(url, connect_args={"connect_timeout": 1})
            with engine.connect():
                pass
            engine.dispose()
    except Exception:
        return ""
    os.environ[var] = url
    return url


PG_URL = _local_service("HOKAN_TEST_DATABASE_URL", LOCAL_PG_URL)
_local_service("HOKAN_TEST_REDIS_URL", LOCAL_REDIS_URL)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: Any) -> Iterator[None]:
    """Always close with what was skipped and why (skips must never go unnoticed).

    The outermost wrapper: the line comes after pytest's own short summary.
    """
    from collections import Counter

    yield

    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    services = (
        f"PostgreSQL: {'yes' if os.environ.get('HOKAN_TEST_DATABASE_URL') else 'NO'}, "
        f"Redis: {'yes' if os.environ.get('HOKAN_TEST_REDIS_URL') else 'NO'}"
    )
    if not reasons:
        terminalreporter.write_line(f"hokan: nothing skipped ({services})")
        return
    parts = "; ".join(f"{n} × {reason}" for reason, n in reasons.most_common())
    terminalreporter.write_line(
        f"hokan: {sum(reasons.values())} tests SKIPPED ({services}): {parts}", yellow=True
    )


MASTER_KEY = crypto.b64encode_key(crypto.random_key())
BACKENDS = ["sqlite", "postgresql"]
VAULT_STORES = 3  # fragment stores per test (the default n)


def _worker() -> str:
    # HOKAN_TEST_PG_PREFIX keeps concurrent checkouts on one server apart.
    return os.environ.get("HOKAN_TEST_PG_PREFIX", "") + os.environ.get("PYTEST_XDIST_WORKER", "gw0")


@dataclass(frozen=True)
class PgDatabases:
    system_url: str  # as the service's own, non-superuser role: row-level security applies
    keyring_url: str
    admin_system_url: str  # as the owner, for set-up and clean-up only
    admin_keyring_url: str
    vault_urls: tuple[str, ...] = ()  # the fragment stores (as the owner: repair re-creates schema)


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    """A fresh, migrated (system, keyring) database pair and an app role for this worker."""
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must set HOKAN_TEST_DATABASE_URL (PostgreSQL tests may not skip)")
        pytest.skip("HOKAN_TEST_DATABASE_URL not set")
    base = make_url(PG_URL)
    names = [f"hokan_t_{_worker()}", f"hokan_t_{_worker()}_keyring"]
    names += [f"hokan_t_{_worker()}_vault{i}" for i in range(1, VAULT_STORES + 1)]
    role = f"hokan_app_{_worker()}"
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS'))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL at HOKAN_TEST_DATABASE_URL is unreachable: {type(exc).__name__}: {exc}"
        )
    admin_urls = [base.set(database=n).render_as_string(hide_password=False) for n in names]
    app_urls = [
        base.set(database=n, username=role).render_as_string(hide_password=False) for n in names
    ]
    kinds = ("system", "keyring", *("vault",) * VAULT_STORES)
    for which, url in zip(kinds, admin_urls, strict=True):
        engine = create_engine(url)
        migrations.upgrade(which, engine)  # type: ignore[arg-type]
        with engine.begin() as conn:
            conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
            conn.execute(
                text(
                    f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"'
                )
            )
        engine.dispose()
    yield PgDatabases(app_urls[0], app_urls[1], admin_urls[0], admin_urls[1], tuple(admin_urls[2:]))
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    admin.dispose()


def _truncate_pg(system_url: str, keyring_url: str, vault_urls: tuple[str, ...] = ()) -> None:
    pairs = [(system_url, Base.metadata), (keyring_url, KeyringBase.metadata)]
    for url, metadata in pairs + [(u, VaultStoreBase.metadata) for u in vault_urls]:
        engine = create_engine(url)
        with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated SQLite files, copied for each test (migrating per test is slow)."""
    root = tmp_path_factory.mktemp("sqlite-template")
    for which, name in (("system", "hokan.db"), ("keyring", "keyring.db"), ("vault", "vault.db")):
        engine = create_engine(f"sqlite:///{root / name}")
        migrations.upgrade(which, engine)  # type: ignore[arg-type]
        engine.dispose()
    return root


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings_factory(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path, sqlite_template: Path
) -> Callable[..., Settings]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if backend == "postgresql":
        pg: PgDatabases = request.getfixturevalue("pg_databases")
        _truncate_pg(pg.admin_system_url, pg.admin_keyring_url, pg.vault_urls)
        system_url, keyring_url = pg.system_url, pg.keyring_url
        vault_urls = ",".join(pg.vault_urls)
    else:
        (data_dir / "vault").mkdir()
        for i in range(1, VAULT_STORES + 1):
            shutil.copy(sqlite_template / "vault.db", data_dir / "vault" / f"store-{i}.db")
        vault_urls = ""  # the embedded default: DATA_DIR/vault/store-N.db
        for name in ("hokan.db", "keyring.db"):
            shutil.copy(sqlite_template / name, data_dir / name)
        system_url = f"sqlite:///{data_dir / 'hokan.db'}"
        keyring_url = f"sqlite:///{data_dir / 'keyring.db'}"

    store_urls = (
        vault_urls.split(",")
        if vault_urls
        else [
            f"sqlite:///{data_dir / 'vault' / f'store-{i}.db'}" for i in range(1, VAULT_STORES + 1)
        ]
    )
    identified = FragmentStores(store_urls, pool_size=1, busy_timeout_ms=5000)
    identified.identify()  # as 'hokan init' does: each store knows its place
    identified.dispose()

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "env": "test",
            "data_dir": data_dir,
            "database_url": system_url,
            "keyring_database_url": keyring_url,
            "vault_store_urls": vault_urls,
            "master_key": MASTER_KEY,
            "log_format": "json",
            # Cheap Argon2id in tests; the defaults are measured in bench/.
            "argon2_time_cost": 1,
            "argon2_memory_kib": 8192,
            "argon2_parallelism": 1,
            # One test client is one address: only the IPS's own tests meet its limits.
            "ips_ip_requests": 1_000_000,
            "ips_account_requests": 1_000_000,
            "ips_tenant_requests": 1_000_000,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def blocking(request: pytest.FixtureRequest) -> str:
    """Where database work runs (HOKAN_BLOCKING); tests may parametrize it indirectly."""
    return str(getattr(request, "param", "auto"))


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], blocking: str) -> Settings:
    return settings_factory(blocking=blocking)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(settings)
    rt.keyring.verify_master(initialise=True)
    yield rt
    rt.close()


def create_user(
    session: Any, hasher: passwords.Passwords, tenant: Tenant, **kwargs: Any
) -> tuple[User, str | None]:
    """``users.create`` for tests about something else than the first login: the
    password counts as the user's own, so the session is not restricted to
    changing it (ADR 0017; the production default stays on)."""
    user, generated = users.create(session, hasher, tenant, **kwargs)
    user.password_change_required = False
    return user, generated


@dataclass
class TenantHandle:
    tenant: Tenant
    token: str
    headers: dict[str, str]

    @property
    def id(self) -> uuid.UUID:
        return self.tenant.id


@pytest.fixture
def make_tenant(runtime: Runtime) -> Callable[..., TenantHandle]:
    def make(
        code: str | None = None, scopes: frozenset[str] = ALL_TOKEN_SCOPES, days: int = 30
    ) -> TenantHandle:
        code = code or f"t-{uuid.uuid4().hex[:8]}"
        with runtime.db.session(write=True, system=True) as s:
            tenant = runtime.tenants.create(
                s, TenantCreate(code=code, name=f"{code} 株式会社", product=Product.staff), SYSTEM
            )
            issued = tokens.issue(s, tenant.id, "tests", scopes=scopes, days=days, actor=SYSTEM)
        return TenantHandle(tenant, issued.secret, {"Authorization": f"Bearer {issued.secret}"})

    return make


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    # A loopback peer: admission (EDGE-2) refuses TestClient's default "testclient" host.
    with TestClient(create_app(runtime=runtime), client=("127.0.0.1", 50000)) as c:
        yield c


@dataclass
class LiveServer:
    url: str
    runtime: Runtime


# Readiness deadline for servers the tests start: generous, because a loaded CI
# machine (the suite at -n 6 on two cores) can take many seconds to import and
# migrate; polling returns as soon as the server answers, so it costs nothing.
READY_SECONDS = float(os.environ.get("HOKAN_TEST_READY_SECONDS", "120"))


def wait_until(ready: Callable[[], bool], seconds: float | None = None, proc: Any = None) -> bool:
    """Poll ``ready`` until true, the deadline passes, or ``proc`` (a Popen) has exited.

    The one readiness wait of the suite: never a fixed sleep.
    """
    import time

    deadline = time.monotonic() + (READY_SECONDS if seconds is None else seconds)
    pause = 0.02
    while time.monotonic() < deadline:
        if ready():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.25)
    return ready()


def wait_ready(url: str, seconds: float | None = None, proc: Any = None) -> bool:
    """Poll ``url`` (a server's ``/readyz``) until it answers 200."""
    import httpx

    def answers() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    return wait_until(answers, seconds, proc)


def wait_port(port: int, seconds: float | None = None, proc: Any = None) -> bool:
    """Poll until something accepts connections on loopback ``port`` (a TLS-only front)."""
    import socket

    def accepts() -> bool:
        with socket.socket() as sock:
            sock.settimeout(2)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    return wait_until(accepts, seconds, proc)


@pytest.fixture
def live_server(runtime: Runtime) -> Iterator[LiveServer]:
    """The app under a real uvicorn server on a loopback port, in this process."""
    import socket
    import threading

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(runtime=runtime), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    if not wait_ready(f"{url}/readyz"):
        pytest.fail("live server did not become ready")
    yield LiveServer(url, runtime)
    server.should_exit = True
    thread.join(timeout=10)


OPERATOR_PASSWORD = "運用ネットワークからだけ入れます"


@dataclass
class OperatorHandle:
    serial: str
    totp_secret: str
    id: uuid.UUID

    def code(self, offset_steps: int = 0) -> str:
        import time

        import pyotp

        return pyotp.TOTP(self.totp_secret).at(time.time() + 30 * offset_steps)


@pytest.fixture
def make_operator(runtime: Runtime) -> Callable[..., OperatorHandle]:
    """An operator (or a temporary account with ``temporary_for``) with a known TOTP secret."""
    import pyotp

    from hokan.identity import operators

    def make(
        roles: tuple[str, ...] = ("incident_response",),
        temporary_for: uuid.UUID | None = None,
        hours: float = 4,
    ) -> OperatorHandle:
        from datetime import timedelta

        with runtime.db.session(write=True, system=True) as s:
            tenant = s.get(Tenant, temporary_for) if temporary_for else None
            new = operators.create(
                s,
                runtime.passwords,
                runtime.master_key,
                name="運用 花子",
                email="ops@hokan.example",
                roles=roles,
                password=OPERATOR_PASSWORD,
                actor=SYSTEM,
                temporary_for=tenant,
                request_ref="REQ-1" if tenant else "",
                reason="調査" if tenant else "",
                valid_for=timedelta(hours=hours) if tenant else None,
            )
            secret = pyotp.parse_uri(new.totp_uri).secret
            return OperatorHandle(new.operator.serial, secret, new.operator.id)

    return make


@pytest.fixture
def ops_client(runtime: Runtime) -> Iterator[TestClient]:
    """A client connecting from the operations network (loopback by default)."""
    with TestClient(create_app(runtime=runtime), client=("127.0.0.1", 50000)) as c:
        yield c


def redis_test_url() -> str:
    """``HOKAN_TEST_REDIS_URL``; fails under CI when unset, skips otherwise."""
    url = os.environ.get("HOKAN_TEST_REDIS_URL", "")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must set HOKAN_TEST_REDIS_URL")
        pytest.skip("HOKAN_TEST_REDIS_URL not set")
    return url


@contextmanager
def hokan_serve(
    settings: Settings, cwd: Path, count: int = 1, pids: list[int] | None = None, **env_extra: str
) -> Iterator[list[str]]:
    """``count`` real ``hokan serve`` processes on loopback ports over the test's databases.

    Their process ids are appended to ``pids`` when given.
    """
    import socket
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKAN_")}
    env.update(
        HOKAN_DATA_DIR=str(settings.data_dir),
        HOKAN_DATABASE_URL=settings.resolved_database_url,
        HOKAN_KEYRING_DATABASE_URL=settings.resolved_keyring_url,
        HOKAN_MASTER_KEY=settings.master_key.get_secret_value() if settings.master_key else "",
        HOKAN_LOG_LEVEL="WARNING",
        **env_extra,
    )
    procs, urls = [], []
    for _ in range(count):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        procs.append(
            subprocess.Popen(
                # The scheduled jobs have tests of their own (tests/jobs).
                [sys.executable, "-m", "hokan", "serve", "--port", str(port), "--no-worker"],
                env=env,
                cwd=cwd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
        if pids is not None:
            pids.append(procs[-1].pid)
    try:
        for url, proc in zip(urls, procs, strict=True):
            assert wait_ready(f"{url}/readyz", proc=proc), "a server did not become ready"
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
