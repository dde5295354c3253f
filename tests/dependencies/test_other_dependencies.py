"""The other external dependencies down (ADR 0012, the table in the README)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from botocore.exceptions import EndpointConnectionError
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from hokan import mail
from hokan.app import create_app
from hokan.httpkit.errors import _dependency_of
from hokan.kit import dependencies
from hokan.models import MailMessage
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import PG_URL


def test_postgresql_down_is_a_named_503_not_a_500(
    settings_factory: Callable[..., Settings], backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    if backend != "postgresql":
        pytest.skip("a server that is down: PostgreSQL only")
    dead = make_url(PG_URL).set(port=5999, database="nothing").render_as_string(False)
    rt = Runtime(settings_factory(database_url=dead))
    rt.keyring.verify_master(initialise=True)  # the keyring database is up
    try:
        app = create_app(runtime=rt)
        with TestClient(app, client=("127.0.0.1", 50000), raise_server_exceptions=False) as c:
            r = c.get("/api/v1/tenant", headers={"Authorization": "Bearer hk_" + "a" * 40})
            assert r.status_code == 503, r.text
            # Refused; the refusal itself cannot be audited (the audit trail is down too).
            assert r.json()["error"] in ("dependency_unavailable", "audit_unavailable")
            r = c.post("/api/v1/auth/login", json={"serial": "AB12-CD34-EF56", "password": "x"})
            assert r.status_code == 503 and r.json()["error"] == "dependency_unavailable"
            ready = c.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"
    finally:
        rt.close()
    assert any(getattr(rec, "fields", {}).get("dependency") == "database" for rec in caplog.records)


def test_s3_unreachable_is_named_blob_store() -> None:
    assert (
        _dependency_of(EndpointConnectionError(endpoint_url="http://127.0.0.1:1")) == "blob_store"
    )


@pytest.fixture
def dead_smtp(settings_factory: Callable[..., Settings]) -> Iterator[Runtime]:
    rt = Runtime(settings_factory(smtp_url="smtp://127.0.0.1:2599"))  # nothing listens
    yield rt
    rt.close()


def test_smtp_down_keeps_the_mail_and_says_so_once(
    dead_smtp: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    with dead_smtp.db.session(write=True, system=True) as s:
        for i in range(3):
            mail.enqueue(s, ["ops@example.jp"], f"notice {i}", "body", "test")
    before = dependencies.failures[("smtp", "degraded")]
    with caplog.at_level(logging.WARNING, "hokan.dependencies"):
        assert mail.deliver(dead_smtp.db, dead_smtp.settings) == 0
    named = [r for r in caplog.records if getattr(r, "fields", {}).get("dependency") == "smtp"]
    assert len(named) == 1  # once per run, not once per message
    assert dependencies.failures[("smtp", "degraded")] == before + 1
    with dead_smtp.db.session(system=True) as s:
        rows = s.scalars(select(MailMessage)).all()
    assert len(rows) == 3 and all(r.sent_at is None for r in rows)  # kept for the next run
    assert sum(r.attempts for r in rows) == 1


@pytest.mark.parametrize(
    ("error", "dependency"),
    [("scanner", "scanner"), ("vault", "vault_stores"), ("audit", "database")],
)
def test_refusals_for_a_dependency_name_it_in_the_log(
    error: str, dependency: str, caplog: pytest.LogCaptureFixture
) -> None:
    """clamd, the vault stores, the audit trail's database: the 503 says which, in the log."""
    from fastapi import FastAPI

    from hokan.httpkit import errors
    from hokan.kit.errors import AuditWriteFailed
    from hokan.scanning.scanner import ScannerUnavailable
    from hokan.vault.errors import VaultUnavailable

    raised = {"scanner": ScannerUnavailable, "vault": VaultUnavailable, "audit": AuditWriteFailed}
    app = FastAPI()
    errors.install(app)

    @app.get("/x")
    def fail() -> None:
        raise raised[error]()

    before = dependencies.failures[(dependency, "refused")]
    with TestClient(app) as c, caplog.at_level(logging.ERROR, "hokan.errors"):
        assert c.get("/x").status_code == 503
    assert [getattr(r, "fields", {}).get("dependency") for r in caplog.records] == [dependency]
    assert dependencies.failures[(dependency, "refused")] == before + 1
