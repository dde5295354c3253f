"""Every route of the audit, terminal, IPS and attachment domains leaves the audit entry of
the action its service declared (ADR 0014): success on success, denied when refused,
error when it fails — by action name, never under a route-level fallback."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.audit.findings import InternalAudit
from hokan.audit.log import AuditLog, Filters
from hokan.certificates.repository import CertificateRepository
from hokan.certificates.service import TerminalCertificates
from hokan.httpkit.work import Work
from hokan.kit.actions import Declared
from hokan.kit.errors import HokanError, ServiceUnavailable
from hokan.models import AuditEvent, AuditFinding
from hokan.principals.principal import ALL_TOKEN_SCOPES, Principal, PrincipalKind, Scope
from hokan.records.attachments.service import AttachmentService
from hokan.runtime import Runtime
from hokan.scanning.scanner import _EICAR
from tests import pki
from tests.conftest import OperatorHandle, TenantHandle
from tests.identity.test_operators import op_login
from tests.route_audit import only as _only
from tests.route_audit import refused as _refused
from tests.route_audit import trail

RECORDS = "/api/v1/collections/staff/records"
PDF = b"%PDF-1.7\n" + b"payslip\n" * 50 + b"%%EOF\n"
DAY = date(2026, 1, 5)


def _boom(*_: Any, **__: Any) -> Any:
    raise ServiceUnavailable("injected")


def _tenantless() -> Principal:
    return Principal(PrincipalKind.operator, str(uuid.uuid4()), "運用", None, ALL_TOKEN_SCOPES)


def _run(runtime: Runtime, principal: Principal, fn: Callable[[Any], Any]) -> None:
    """A unit of work outside HTTP (as jobs run it): a service's own refusal is audited."""
    work = Work(runtime, principal, Declared("http.test", "route"))
    with pytest.raises(HokanError):
        work.bind(fn)()


# -- the tenant's own operation log ----------------------------------------------------

AUDIT_ROUTES = [
    ("/api/v1/audit/events", "audit.read"),
    ("/api/v1/audit/events.csv", "audit.export"),
    ("/api/v1/audit/bundle", "audit.export_bundle"),
]


@pytest.mark.parametrize(("path", "action"), AUDIT_ROUTES)
def test_audit_log_routes(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    action: str,
) -> None:
    t = make_tenant()
    with trail(runtime) as found:
        assert client.get(path, headers=t.headers).status_code == 200
    _only(found, action, "success")

    reader = make_tenant(scopes=frozenset({Scope.records_read}))
    with trail(runtime) as found:
        assert client.get(path, headers=reader.headers).status_code == 403
    _refused(found, "auth.scope_denied", action)

    monkeypatch.setattr(AuditLog, "_rows", _boom)
    monkeypatch.setattr("hokan.audit.bundle.export_from", _boom)
    with trail(runtime) as found:
        assert client.get(path, headers=t.headers).status_code == 503
    _only(found, action, "error")


def test_audit_log_refuses_a_principal_without_a_tenant(runtime: Runtime) -> None:
    log, who = runtime.resolve(AuditLog), _tenantless()
    for action, fn in (
        ("audit.read", lambda s: log.page(s, who, Filters(), 0, 10)),
        ("audit.export", lambda s: log.export(s, who, Filters(), 10)),
        ("audit.export_bundle", lambda s: log.admit_bundle(s, who)),
    ):
        with trail(runtime) as found:
            _run(runtime, who, fn)
        _only(found, action, "denied")


# -- terminal certificates ------------------------------------------------------------


def test_terminal_routes(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    pki.init_ca(runtime)
    t = make_tenant()
    serial = pki.issue(runtime, t.id, tmp_path, "pc-1").serial
    revoke = f"/api/v1/terminals/{serial}/revoke"
    with trail(runtime) as found:
        assert client.get("/api/v1/terminals", headers=t.headers).status_code == 200
    _only(found, "certificate.list", "success")
    with trail(runtime) as found:
        assert client.post(revoke, json={"reason": "lost"}, headers=t.headers).status_code == 200
    _only(found, "certificate.revoke", "success")

    with trail(runtime) as found:  # already revoked
        assert client.post(revoke, json={}, headers=t.headers).status_code == 409
    _only(found, "certificate.revoke", "error")
    with trail(runtime) as found:
        r = client.post("/api/v1/terminals/ABCDEF/revoke", json={}, headers=t.headers)
        assert r.status_code == 404
    _only(found, "certificate.revoke", "error")

    clerk = make_tenant(scopes=frozenset({Scope.records_read, Scope.records_write}))
    for method, path, action in (
        ("GET", "/api/v1/terminals", "certificate.list"),
        ("POST", revoke, "certificate.revoke"),
    ):
        with trail(runtime) as found:
            assert client.request(method, path, json={}, headers=clerk.headers).status_code == 403
        _refused(found, "auth.scope_denied", action)

    monkeypatch.setattr(CertificateRepository, "all", _boom)
    with trail(runtime) as found:
        assert client.get("/api/v1/terminals", headers=t.headers).status_code == 503
    _only(found, "certificate.list", "error")

    terminals, who = runtime.resolve(TerminalCertificates), _tenantless()
    with trail(runtime) as found:
        _run(runtime, who, lambda s: terminals.revoke(s, who, serial, "lost"))
    _only(found, "certificate.revoke", "denied")


# -- attachments ----------------------------------------------------------------------


def _attachments(client: TestClient, t: TenantHandle, key: str = "s-1") -> str:
    assert (
        client.put(f"{RECORDS}/{key}", json={"name": "山田"}, headers=t.headers).status_code == 201
    )
    return f"{RECORDS}/{key}/attachments"


def _upload(client: TestClient, url: str, t: TenantHandle, content: bytes = PDF) -> Any:
    return client.post(
        url, files={"file": ("a.pdf", content, "application/pdf")}, headers=t.headers
    )


def test_attachment_routes_succeed_and_are_refused(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    url = _attachments(client, t)
    with trail(runtime) as found:
        r = _upload(client, url, t)
        assert r.status_code == 201, r.text
    _only(found, "attachments.upload", "success")
    one = f"{url}/{r.json()['id']}"
    for method, path, action in (
        ("GET", url, "attachments.list"),
        ("GET", one, "attachments.read"),
        ("DELETE", one, "attachments.delete"),
    ):
        with trail(runtime) as found:
            assert client.request(method, path, headers=t.headers).status_code in (200, 204)
        _only(found, action, "success")

    reader = make_tenant(scopes=frozenset({Scope.records_read}))
    with trail(runtime) as found:
        assert _upload(client, url, reader).status_code == 403
    _refused(found, "auth.scope_denied", "attachments.upload")
    with trail(runtime) as found:
        assert client.delete(one, headers=reader.headers).status_code == 403
    _refused(found, "auth.scope_denied", "attachments.delete")
    writer = make_tenant(scopes=frozenset({Scope.records_write}))
    for path, action in ((url, "attachments.list"), (one, "attachments.read")):
        with trail(runtime) as found:
            assert client.get(path, headers=writer.headers).status_code == 403
        _refused(found, "auth.scope_denied", action)

    attachments, who = runtime.resolve(AttachmentService), _tenantless()
    with trail(runtime) as found:
        _run(runtime, who, lambda s: attachments.listing(s, who, "staff", "s-1"))
    _only(found, "attachments.list", "denied")


def test_attachment_routes_that_fail_are_audited_under_their_action(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    url = _attachments(client, t)
    missing = f"{RECORDS}/nobody/attachments"
    with trail(runtime) as found:  # admitting: no such record
        assert _upload(client, missing, t).status_code == 404
    _only(found, "attachments.upload", "error")
    with trail(runtime) as found:  # receiving (no transaction open): the type does not match
        r = client.post(url, files={"file": ("a.png", PDF, "image/png")}, headers=t.headers)
        assert r.json()["error"] == "attachment_type_mismatch"
    _only(found, "attachments.upload", "error")
    with trail(runtime) as found:  # storing: quarantined (kept, reported) and refused
        infected = b"report text\n" * 100 + _EICAR
        r = client.post(url, files={"file": ("r.txt", infected, "text/plain")}, headers=t.headers)
        assert r.json()["error"] == "malware_detected"
    _only(found, "attachments.upload", "error")
    assert found["attachments.quarantined"] == ["denied"]

    gone = f"{url}/{uuid.uuid4()}"
    for method, path, action in (
        ("GET", missing, "attachments.list"),
        ("GET", gone, "attachments.read"),
        ("DELETE", gone, "attachments.delete"),
    ):
        with trail(runtime) as found:
            assert client.request(method, path, headers=t.headers).status_code == 404
        _only(found, action, "error")


# -- operators: the internal audit and the IPS ----------------------------------------


def _finding(runtime: Runtime) -> uuid.UUID:
    with runtime.db.session(write=True, system=True) as s:
        row = AuditFinding(
            audit_date=DAY,
            rule="external_access",
            severity="high",
            subject=f"test:{uuid.uuid4()}",
            actor="operator:x",
            summary="テスト",
        )
        s.add(row)
        s.flush()
        return row.id


def test_internal_audit_routes(
    runtime: Runtime,
    ops_client: TestClient,
    make_operator: Callable[..., OperatorHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auditor = op_login(ops_client, make_operator(("auditor",)))
    support = op_login(ops_client, make_operator(("operations_support",)))
    finding = _finding(runtime)
    acknowledge = f"/api/v1/operator/audit/findings/{finding}/acknowledge"
    daily = "/api/v1/operator/audit/daily"
    calls: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("GET", "/api/v1/operator/audit/findings", None, "audit.findings_list"),
        ("POST", acknowledge, {"comment": "確認済み"}, "audit.finding_acknowledge"),
        ("POST", daily, {"date": DAY.isoformat()}, "audit.daily_review"),
    ]
    for method, path, body, action in calls:
        with trail(runtime) as found:
            r = ops_client.request(method, path, json=body, headers=auditor)
            assert r.status_code == 200, r.text
        _only(found, action, "success")
        with trail(runtime) as found:
            r = ops_client.request(method, path, json=body, headers=support)
            assert r.status_code == 403
        _refused(found, "operator.role_denied", action)

    with trail(runtime) as found:  # acknowledged already
        r = ops_client.post(acknowledge, json={"comment": "again"}, headers=auditor)
        assert r.status_code == 409
    _only(found, "audit.finding_acknowledge", "error")
    with trail(runtime) as found:
        unknown = f"/api/v1/operator/audit/findings/{uuid.uuid4()}/acknowledge"
        assert ops_client.post(unknown, json={"comment": "x"}, headers=auditor).status_code == 404
    _only(found, "audit.finding_acknowledge", "error")

    monkeypatch.setattr("hokan.audit.findings.list_findings", _boom)
    monkeypatch.setattr("hokan.audit.findings.run_daily", _boom)
    for method, path, body, action in (calls[0], calls[2]):
        with trail(runtime) as found:
            r = ops_client.request(method, path, json=body, headers=auditor)
            assert r.status_code == 503
        _only(found, action, "error")
    assert isinstance(runtime.resolve(InternalAudit), InternalAudit)


def test_ips_routes(
    runtime: Runtime,
    ops_client: TestClient,
    make_operator: Callable[..., OperatorHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    responder = op_login(ops_client, make_operator(("incident_response",)))
    auditor = op_login(ops_client, make_operator(("auditor",)))
    support = op_login(ops_client, make_operator(("operations_support",)))
    runtime.ips.ban("198.51.100.7", "flood")
    bans, lift = "/api/v1/operator/ips/bans", "/api/v1/operator/ips/bans/198.51.100.7/lift"

    with trail(runtime) as found:
        assert ops_client.get(bans, headers=auditor).status_code == 200
    _only(found, "ips.bans_list", "success")
    with trail(runtime) as found:
        assert ops_client.get(bans, headers=support).status_code == 403
    _refused(found, "operator.role_denied", "ips.bans_list")
    with trail(runtime) as found:
        assert ops_client.post(lift, headers=auditor).status_code == 403  # auditors only read
    _refused(found, "operator.role_denied", "ips.ban_lifted")
    with trail(runtime) as found:
        assert ops_client.post(lift, headers=responder).status_code == 200
    _only(found, "ips.ban_lifted", "success")

    with trail(runtime) as found:  # no longer banned
        assert ops_client.post(lift, headers=responder).json()["error"] == "not_banned"
    _only(found, "ips.ban_lifted", "error")
    with trail(runtime) as found:
        bad = ops_client.post("/api/v1/operator/ips/bans/not-an-ip/lift", headers=responder)
        assert bad.json()["error"] == "invalid_address"
    _only(found, "ips.ban_lifted", "error")
    with runtime.db.session(system=True) as s:
        last = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "ips.ban_lifted", AuditEvent.target_id == "198.51.100.7")
            .order_by(AuditEvent.occurred_at.desc())
        ).first()
    assert last is not None and last.detail == {"error": "not_banned", "lifted": False}

    monkeypatch.setattr(runtime.ips, "bans", _boom)
    with trail(runtime) as found:
        assert ops_client.get(bans, headers=auditor).status_code == 503
    _only(found, "ips.bans_list", "error")


def test_the_bundle_is_read_with_no_writer_lock_held(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long chain read for a bundle holds up no writer (SQLite has one per file)."""
    from hokan.audit import bundle

    lock = runtime.db.write_lock
    if not hasattr(lock, "locked"):
        pytest.skip("no writer lock on this backend")
    export_from, held = bundle.export_from, []

    def spy(*a: Any, **kw: Any) -> bytes:
        held.append(lock.locked())
        return export_from(*a, **kw)

    monkeypatch.setattr("hokan.audit.bundle.export_from", spy)
    t = make_tenant()
    with trail(runtime) as found:
        assert client.get("/api/v1/audit/bundle", headers=t.headers).status_code == 200
    assert held == [False]
    _only(found, "audit.export_bundle", "success")
