"""The audit trail (AUD-1, AUD-2): every route leaves an entry, chains verify,
tampering is located, entries are append-only, failures are audited, the
business change fails when its audit entry cannot be written."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from hokan.app import create_app
from hokan.audit import repository
from hokan.audit import service as audit
from hokan.httpkit import routes as edge_routes
from hokan.models import AuditEvent
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import TenantHandle

# Probes and the Prometheus scrape (every 15 s: counters, never audited) are not audited.
PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/status",
    "/status.json",
    "/status/feed.atom",
    "/openapi.json",
    "/docs",
    "/api/v1/auth/login",
}


def _events(runtime: Runtime, chain: str | None = None) -> list[AuditEvent]:
    with runtime.db.session(system=True) as s:
        stmt = select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq)
        if chain is not None:
            stmt = stmt.where(AuditEvent.chain == chain)
        return list(s.scalars(stmt))


def _count(runtime: Runtime) -> int:
    with runtime.db.session(system=True) as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_every_route_leaves_an_entry(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    client.put("/api/v1/collections/staff/records/r1", json={"v": 1}, headers=t.headers)
    app = create_app(Settings(env="test", data_dir=Path("/nonexistent")))
    params = {
        "collection": "staff",
        "record_id": "r1",
        "revision": "1",
        "attachment_id": "00000000-0000-4000-8000-000000000001",
        "serial": "6085741910418999",
        "grant_id": "00000000-0000-4000-8000-000000000000",
        "contact_id": "00000000-0000-4000-8000-000000000000",
        "finding_id": "00000000-0000-4000-8000-000000000000",
        "prefix": "hk_aaaaaaaa",
        "entry_id": "00000000-0000-4000-8000-000000000000",
    }
    vault_bodies: dict[str, dict[str, object]] = {
        "/api/v1/vault/numbers": {"json": {"number": "621498320257", "record_id": "r1"}},
        "/api/v1/vault/documents": {"content": b"%PDF-1.4 test"},
        "/api/v1/vault/entries/{entry_id}/reveal": {"json": {"purpose": "tax"}},
        "/api/v1/vault/entries/{entry_id}/download": {"json": {"purpose": "tax"}},
        "/api/v1/vault/entries/{entry_id}/deletion": {"json": {"delete_after": None}},
    }
    for method, path in edge_routes.api_routes(app):
        if path in PUBLIC or path.startswith("/api/v1/operator/"):
            continue  # operator routes take operator sessions: tests/identity/test_operators.py
        url = re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], path)
        body = {"json": {"type": "object"}} if method in {"PUT", "POST", "PATCH"} else {}
        # Well-formed requests: malformed ones are refused before any handler runs.
        if path == "/api/v1/auth/password":
            body = {"json": {"current_password": "x" * 12, "new_password": "y" * 12}}
        if path == "/api/v1/password-setup":
            body = {"json": {"token": "t" * 43, "password": "y" * 16}}
        if path == "/api/v1/auth/totp/enable":
            body = {"json": {"code": "000000"}}
        if path == "/api/v1/tokens" and method == "POST":
            body = {"json": {"name": "x", "scopes": ["records:read"]}}
        if path.startswith("/api/v1/tenant/contacts") and method in {"POST", "PUT"}:
            body = {"json": {"email": "soumu@example.jp", "roles": ["security"]}}
        if path == "/api/v1/accounts/reviews":
            body = {"json": {"decisions": [], "comment": ""}}
        if method in {"PUT", "POST"} and path in vault_bodies:
            body = vault_bodies[path]
            url += "?record_id=r1" if path.endswith("/documents") else ""
        before = _count(runtime)
        client.request(method, url, headers=t.headers, **body)  # type: ignore[arg-type]
        assert _count(runtime) > before, f"{method} {path} left no audit entry"
        if method == "DELETE" and path.endswith("/records/{record_id}"):
            client.put("/api/v1/collections/staff/records/r1", json={"v": 1}, headers=t.headers)


def test_entries_describe_the_action_and_hold_no_secrets(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    secret = "給与口座-1234567-秘密"
    client.put(
        "/api/v1/collections/staff/records/r1",
        json={"bank": secret},
        headers={**t.headers, "X-Request-ID": "req-audit-0001"},
    )
    client.get("/api/v1/collections/staff/records/r1", headers=t.headers)
    client.get("/api/v1/collections/staff/records/missing", headers=t.headers)
    events = _events(runtime, str(t.id))
    assert [(e.seq, e.action, e.result) for e in events] == [
        (1, "tenant.create", "success"),  # by the operator who onboarded the tenant
        (2, "token.create", "success"),
        (3, "records.create", "success"),
        (4, "records.read", "success"),
        (5, "records.read", "error"),
    ]
    assert events[0].actor_type == "system"
    events = events[2:]
    first = events[0]
    assert first.tenant_id == t.id
    assert first.actor_type == "token"
    assert first.actor_name == "tests"
    assert first.target_type == "record"
    assert first.target_id == "staff/r1"
    assert first.request_id == "req-audit-0001"
    assert first.source_ip  # the test client's address
    assert first.detail == {"revision": 1}
    assert events[2].detail == {"error": "record_not_found"}
    dump = " ".join(str(vars(e)) for e in _events(runtime))
    assert secret not in dump
    assert t.token not in dump and t.token[12:] not in dump


def test_rejected_tokens_are_audited_on_the_system_chain(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    forged = t.token[:-1] + ("A" if t.token[-1] != "A" else "B")
    assert (
        client.get("/api/v1/collections", headers={"Authorization": f"Bearer {forged}"}).status_code
        == 401
    )
    events = _events(runtime, audit.SYSTEM_CHAIN)
    assert [(e.action, e.result, e.actor_type) for e in events] == [
        ("auth.token", "denied", "anonymous")
    ]
    assert events[0].target_id == t.token[:11]  # the public prefix only
    assert events[0].detail == {"error": "invalid_token"}
    assert forged not in str(vars(events[0]))


def test_chains_verify(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    a, b = make_tenant(), make_tenant()
    for t in (a, b):
        for i in range(5):
            client.put(f"/api/v1/collections/staff/records/r{i}", json={"i": i}, headers=t.headers)
    report = audit.verify(runtime.db)
    assert report.ok, report.problems
    assert report.chains == 2
    assert report.entries == 14  # 5 writes + tenant and token creation, per tenant
    assert audit.verify(runtime.db, str(a.id)).entries == 7


def _seed(client: TestClient, t: TenantHandle, n: int = 6) -> None:
    for i in range(n):
        client.put(f"/api/v1/collections/staff/records/r{i}", json={"i": i}, headers=t.headers)


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "reason"),
    [
        (
            "UPDATE audit_events SET target_id = 'staff/other' WHERE chain = :c AND seq = 3",
            3,
            "edited",
        ),
        ("UPDATE audit_events SET result = 'denied' WHERE chain = :c AND seq = 4", 4, "edited"),
        ("DELETE FROM audit_events WHERE chain = :c AND seq = 2", 2, "missing"),
        (
            "UPDATE audit_events SET seq = -3 WHERE chain = :c AND seq = 3;"
            "UPDATE audit_events SET seq = 3 WHERE chain = :c AND seq = 4;"
            "UPDATE audit_events SET seq = 4 WHERE chain = :c AND seq = -3",
            3,
            "link",
        ),
        ("DELETE FROM audit_events WHERE chain = :c AND seq >= 7", 7, "removed from the end"),
    ],
    ids=["edited-target", "edited-result", "deleted", "reordered", "truncated"],
)
def test_tampering_is_detected_and_located(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    owner_engine: Engine,
    tamper: str,
    bad_seq: int,
    reason: str,
) -> None:
    t, bystander = make_tenant(), make_tenant()
    _seed(client, t)
    _seed(client, bystander)
    chain = str(t.id)
    with owner_engine.begin() as conn:
        for statement in tamper.split(";"):
            conn.execute(text(statement), {"c": chain})
    report = audit.verify(runtime.db)
    assert not report.ok
    assert [(p.chain, p.seq) for p in report.problems] == [(chain, bad_seq)]
    assert reason in report.problems[0].reason
    assert audit.verify(runtime.db, str(bystander.id)).ok


def test_entries_are_append_only(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    _seed(client, t, 2)
    for statement in ("UPDATE audit_events SET result = 'denied'", "DELETE FROM audit_events"):
        with (
            pytest.raises(DBAPIError, match="append-only"),
            runtime.db.session(write=True, system=True) as s,
        ):
            s.execute(text(statement))
    assert audit.verify(runtime.db).ok
    assert len(_events(runtime)) == 4


def test_the_change_fails_when_its_audit_entry_cannot_be_written(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    t = make_tenant()
    client.put("/api/v1/collections/staff/records/kept", json={"v": 1}, headers=t.headers)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(repository, "append", broken)
    r = client.put("/api/v1/collections/staff/records/new", json={"v": 1}, headers=t.headers)
    assert r.status_code == 503
    assert r.json()["error"] == "audit_unavailable"
    r = client.put("/api/v1/collections/staff/records/kept", json={"v": 2}, headers=t.headers)
    assert r.status_code == 503
    assert (
        client.get("/api/v1/collections/staff/records/kept", headers=t.headers).status_code == 503
    )
    monkeypatch.undo()
    assert client.get("/api/v1/collections/staff/records/new", headers=t.headers).status_code == 404
    kept = client.get("/api/v1/collections/staff/records/kept", headers=t.headers).json()
    assert (kept["revision"], kept["data"]) == (1, {"v": 1})
    assert audit.verify(runtime.db).ok


def test_concurrent_writers_never_fork_a_chain(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle], backend: str
) -> None:
    t = make_tenant()
    principal = SYSTEM
    writers, per_writer = (8, 500) if backend == "postgresql" else (4, 50)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(per_writer):
                with runtime.db.session(write=True, tenant=t.id) as s:
                    audit.record(s, principal, "test.append", "test", tenant_id=t.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    events = [e for e in _events(runtime, str(t.id)) if e.action == "test.append"]
    assert [e.seq for e in events] == list(range(3, writers * per_writer + 3))
    report = audit.verify(runtime.db, str(t.id))
    assert report.ok, report.problems
    assert report.entries == writers * per_writer + 2


def test_signed_checkpoints_catch_a_rewritten_tail(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    owner_engine: Engine,
) -> None:
    from hokan.audit import checkpoints

    t = make_tenant()
    _seed(client, t)
    made = checkpoints.make(runtime.db, runtime.keyring)
    assert [(m.chain, m.seq) for m in made] == [(str(t.id), 8)]
    assert checkpoints.make(runtime.db, runtime.keyring) == []  # nothing new to sign
    public_key = runtime.keyring.audit_signing_key().public_key()
    report = audit.verify(runtime.db, public_key=public_key)
    assert report.ok, report.problems
    assert report.checkpoints == 1
    # The attacker removes the last two entries AND rewrites the head row to match.
    with owner_engine.begin() as conn:
        conn.execute(
            text("DELETE FROM audit_events WHERE chain = :c AND seq >= 7"), {"c": str(t.id)}
        )
        row = conn.execute(
            text("SELECT entry_hash FROM audit_events WHERE chain = :c AND seq = 6"),
            {"c": str(t.id)},
        ).one()
        conn.execute(
            text("UPDATE audit_chains SET seq = 6, head_hash = :h WHERE chain = :c"),
            {"h": row[0], "c": str(t.id)},
        )
    assert audit.verify(runtime.db).ok  # without the checkpoint the rewrite is invisible
    report = audit.verify(runtime.db, public_key=public_key)
    assert [(p.seq, "checkpoint" in p.reason) for p in report.problems] == [(7, True)]


def test_a_forged_checkpoint_signature_is_reported(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hokan.audit import checkpoints

    t = make_tenant()
    _seed(client, t, 2)
    checkpoints.make(runtime.db, runtime.keyring)
    other_key = Ed25519PrivateKey.generate().public_key()
    report = audit.verify(runtime.db, public_key=other_key)
    assert [p.reason for p in report.problems] == ["checkpoint signature is invalid"]
