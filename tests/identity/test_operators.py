"""Operators (OPS-1..4): TOTP-required login from the operations network only,
consent-gated access to tenant data, temporary investigation accounts, role checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hokan.app import create_app
from hokan.identity import operator_auth, operators, sessions
from hokan.identity.errors import InvalidRole, InvalidValidity
from hokan.kit.clock import utcnow
from hokan.models import (
    AuditEvent,
    ConsentGrant,
    MailMessage,
    Operator,
    OperatorStatus,
    Tenant,
)
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests.conftest import OPERATOR_PASSWORD, OperatorHandle, TenantHandle, create_user

ADMIN_PASSWORD = "春の小川はさらさら行くよ"


def op_login(client: TestClient, op: OperatorHandle, otp: str | None = None) -> dict[str, str]:
    r = client.post(
        "/api/v1/operator/auth/login",
        json={"serial": op.serial, "password": OPERATOR_PASSWORD, "otp": otp or op.code()},
    )
    assert r.status_code == 200, r.text
    return {
        "Cookie": f"{operator_auth.OPERATOR_COOKIE}={r.cookies[operator_auth.OPERATOR_COOKIE]}",
        "X-CSRF-Token": r.json()["csrf_token"],
    }


def admin_session(client: TestClient, runtime: Runtime, t: TenantHandle) -> dict[str, str]:
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        tenant.contacts = [
            {"name": "情シス", "email": "sec@customer.example", "roles": ["security"]}
        ]
        user, _ = create_user(
            s,
            runtime.passwords,
            tenant,
            name="管理 太郎",
            email="admin@customer.example",
            roles=["tenant_admin"],
            password=ADMIN_PASSWORD,
            actor=SYSTEM,
        )
    r = client.post("/api/v1/auth/login", json={"serial": user.serial, "password": ADMIN_PASSWORD})
    assert r.status_code == 200, r.text
    return {
        "Cookie": f"{sessions.SESSION_COOKIE}={r.cookies[sessions.SESSION_COOKIE]}",
        "X-CSRF-Token": r.json()["csrf_token"],
    }


def events(runtime: Runtime, action: str) -> list[AuditEvent]:
    with runtime.db.session(system=True) as s:
        return list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )


def test_login_needs_totp_and_refuses_replay(
    ops_client: TestClient, make_operator: Callable[..., OperatorHandle]
) -> None:
    """OPS-1: serial + password + TOTP; a wrong or reused code is the same 401."""
    op = make_operator()
    url = "/api/v1/operator/auth/login"
    base = {"serial": op.serial, "password": OPERATOR_PASSWORD}
    assert ops_client.post(url, json={**base, "otp": ""}).json()["error"] == "invalid_credentials"
    wrong = "000000" if op.code() != "000000" else "111111"
    assert ops_client.post(url, json={**base, "otp": wrong}).status_code == 401
    code = op.code()
    assert ops_client.post(url, json={**base, "otp": code}).status_code == 200
    assert ops_client.post(url, json={**base, "otp": code}).status_code == 401  # replayed
    bad_pw = ops_client.post(url, json={**base, "password": "x" * 20, "otp": op.code(1)})
    assert bad_pw.json() == ops_client.post(url, json={**base, "otp": wrong}).json()


def test_operator_serial_is_not_a_tenant_login(
    ops_client: TestClient, make_operator: Callable[..., OperatorHandle]
) -> None:
    op = make_operator()
    r = ops_client.post(
        "/api/v1/auth/login", json={"serial": op.serial, "password": OPERATOR_PASSWORD}
    )
    assert r.status_code == 401


def test_outside_operations_network_is_refused_and_audited(
    runtime: Runtime, make_operator: Callable[..., OperatorHandle]
) -> None:
    """OPS-4: only from HOKAN_OPERATOR_CIDRS; the refusal happens before credentials."""
    op = make_operator()
    with TestClient(create_app(runtime=runtime), client=("133.1.1.1", 4000)) as outside:
        r = outside.post(
            "/api/v1/operator/auth/login",
            json={"serial": op.serial, "password": OPERATOR_PASSWORD, "otp": op.code()},
        )
    assert (r.status_code, r.json()["error"]) == (403, "operator_network_denied")
    denied = events(runtime, "operator.network_denied")
    assert denied and denied[-1].source_ip == "133.1.1.1"
    with runtime.db.session(system=True) as s:  # nothing was counted against the account
        row = s.scalars(select(Operator).where(Operator.serial == op.serial)).one()
        assert row.failed_count == 0 and row.last_login_at is None


def test_session_from_another_address_is_refused(
    runtime: Runtime, ops_client: TestClient, make_operator: Callable[..., OperatorHandle]
) -> None:
    op = make_operator()
    headers = op_login(ops_client, op)
    assert ops_client.get("/api/v1/operator/me", headers=headers).status_code == 200
    with TestClient(create_app(runtime=runtime), client=("1.0.16.1", 4000)) as outside:
        r = outside.get("/api/v1/operator/me", headers=headers)
    assert r.json()["error"] == "operator_network_denied"


def test_lockout_after_threshold(
    ops_client: TestClient, runtime: Runtime, make_operator: Callable[..., OperatorHandle]
) -> None:
    op = make_operator()
    for _ in range(runtime.settings.operator_lockout_threshold):
        ops_client.post(
            "/api/v1/operator/auth/login",
            json={"serial": op.serial, "password": "wrong-password-here", "otp": "123456"},
        )
    r = ops_client.post(
        "/api/v1/operator/auth/login",
        json={"serial": op.serial, "password": OPERATOR_PASSWORD, "otp": op.code()},
    )
    assert r.status_code == 401
    assert events(runtime, "operator.lock")


def test_no_grant_no_access(
    runtime: Runtime,
    ops_client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    """OPS-1: without the tenant's consent an operator reads nothing; the attempt is
    refused and audited on the tenant's own chain."""
    t = make_tenant()
    op = make_operator()
    headers = op_login(ops_client, op)
    for extra in ({}, {"X-Hokan-Tenant": t.tenant.code}, {"X-Hokan-Tenant": "no-such-tenant"}):
        r = ops_client.get("/api/v1/collections", headers={**headers, **extra})
        assert (r.status_code, r.json()["error"]) == (403, "consent_required")
    denied = [e for e in events(runtime, "operator.tenant_access") if e.tenant_id == t.id]
    assert len(denied) == 1
    assert denied[0].result == "denied" and denied[0].detail == {"reason": "no_grant"}
    assert denied[0].actor_id == str(op.id)


def test_grant_opens_scoped_access_recorded_with_grant_id(
    runtime: Runtime,
    ops_client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    t = make_tenant()
    other = make_tenant()
    admin = admin_session(ops_client, runtime, t)
    op = make_operator(("incident_response",))
    ops_client.put("/api/v1/collections/staff/records/a1", json={"name": "佐藤"}, headers=t.headers)
    created = ops_client.post(
        "/api/v1/consent-grants",
        json={
            "team": "incident_response",
            "scopes": ["records:read"],
            "reason": "障害調査",
            "hours": 2,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    grant_id = created.json()["id"]
    headers = {**op_login(ops_client, op), "X-Hokan-Tenant": t.tenant.code}
    read = ops_client.get("/api/v1/collections/staff/records/a1", headers=headers)
    assert read.status_code == 200 and read.json()["data"] == {"name": "佐藤"}
    entry = [e for e in events(runtime, "records.read") if e.actor_id == str(op.id)]
    assert entry and entry[-1].detail.get("grant") == grant_id and entry[-1].tenant_id == t.id
    # The grant's scope is the limit: no writes; the grant covers one tenant only.
    write = ops_client.put("/api/v1/collections/staff/records/a2", json={}, headers=headers)
    assert write.json()["error"] == "insufficient_scope"
    other_headers = {**headers, "X-Hokan-Tenant": other.tenant.code}
    assert ops_client.get("/api/v1/collections", headers=other_headers).status_code == 403
    # Revoked: refused again at once.
    assert ops_client.delete(f"/api/v1/consent-grants/{grant_id}", headers=admin).status_code == 200
    assert ops_client.get("/api/v1/collections", headers=headers).json()["error"] == (
        "consent_required"
    )


def test_expired_grant_is_refused(
    runtime: Runtime,
    ops_client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    t = make_tenant()
    admin = admin_session(ops_client, runtime, t)
    op = make_operator()
    r = ops_client.post(
        "/api/v1/consent-grants",
        json={"operator_serial": op.serial, "scopes": ["records:read"], "reason": "r", "hours": 1},
        headers=admin,
    )
    assert r.status_code == 201
    headers = {**op_login(ops_client, op), "X-Hokan-Tenant": t.tenant.code}
    assert ops_client.get("/api/v1/collections", headers=headers).status_code == 200
    with runtime.db.session(write=True, system=True) as s:
        s.execute(update(ConsentGrant).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert ops_client.get("/api/v1/collections", headers=headers).json()["error"] == (
        "consent_required"
    )


def test_grant_limits(
    runtime: Runtime,
    ops_client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    t = make_tenant()
    admin = admin_session(ops_client, runtime, t)
    op = make_operator()
    base = {"operator_serial": op.serial, "reason": "r"}
    too_long = ops_client.post(
        "/api/v1/consent-grants",
        json={**base, "scopes": ["records:read"], "hours": 7 * 24 + 1},
        headers=admin,
    )
    assert too_long.status_code == 422
    for scope in ("users:manage", "grants:manage"):
        r = ops_client.post(
            "/api/v1/consent-grants", json={**base, "scopes": [scope], "hours": 1}, headers=admin
        )
        assert r.json()["error"] == "invalid_scope"
    # Tokens never manage consent (a person's decision), whatever scopes they hold.
    assert ops_client.get("/api/v1/consent-grants", headers=t.headers).status_code == 403


def test_temporary_account_validity_is_strictly_under_a_day(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        for hours in (24, 30, 0):
            with pytest.raises(InvalidValidity):
                operators.create(
                    s,
                    runtime.passwords,
                    runtime.master_key,
                    name="調査 一郎",
                    email="i@hokan.example",
                    roles=["incident_response"],
                    password=OPERATOR_PASSWORD,
                    actor=SYSTEM,
                    temporary_for=tenant,
                    request_ref="REQ-7",
                    reason="障害調査",
                    valid_for=timedelta(hours=hours),
                )
        with pytest.raises(InvalidRole):  # never a privileged role
            operators.create(
                s,
                runtime.passwords,
                runtime.master_key,
                name="調査 一郎",
                email="i@hokan.example",
                roles=["operations_manager"],
                password=OPERATOR_PASSWORD,
                actor=SYSTEM,
                temporary_for=tenant,
                request_ref="REQ-7",
                reason="障害調査",
                valid_for=timedelta(hours=23, minutes=59),
            )


def test_temporary_account_bound_to_its_tenant_dies_at_expiry_and_reports(
    runtime: Runtime,
    ops_client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    """OPS-2: one tenant, under 24 h, dead at expiry without any job, usage report mailed."""
    t, other = make_tenant(), make_tenant()
    admin_t, admin_other = (admin_session(ops_client, runtime, x) for x in (t, other))
    temp = make_operator(("incident_response",), temporary_for=t.id, hours=23.5)
    for admin in (admin_t, admin_other):  # both tenants consent to the team
        grant = {"team": "incident_response", "scopes": ["records:read"], "reason": "r", "hours": 4}
        assert (
            ops_client.post("/api/v1/consent-grants", json=grant, headers=admin).status_code == 201
        )
    headers = op_login(ops_client, temp)
    ok = ops_client.get("/api/v1/collections", headers={**headers, "X-Hokan-Tenant": t.tenant.code})
    assert ok.status_code == 200
    elsewhere = {**headers, "X-Hokan-Tenant": other.tenant.code}
    assert ops_client.get("/api/v1/collections", headers=elsewhere).status_code == 403
    denied = [e for e in events(runtime, "operator.tenant_access") if e.tenant_id == other.id]
    assert denied[0].detail == {"reason": "temporary_account_other_tenant"}
    # Expiry: the session and any new login die at once, before any job has run.
    with runtime.db.session(write=True, system=True) as s:
        s.execute(
            update(Operator)
            .where(Operator.id == temp.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    inside = {**headers, "X-Hokan-Tenant": t.tenant.code}
    assert ops_client.get("/api/v1/collections", headers=inside).status_code == 401
    r = ops_client.post(
        "/api/v1/operator/auth/login",
        json={"serial": temp.serial, "password": OPERATOR_PASSWORD, "otp": temp.code(1)},
    )
    assert r.status_code == 401
    with runtime.db.session(write=True, system=True) as s:
        expired = operators.expire_temporary(s, SYSTEM)
        assert [o.id for o in expired] == [temp.id]
        assert expired[0].status is OperatorStatus.disabled
        mails = list(
            s.scalars(select(MailMessage).where(MailMessage.kind == "operator.usage_report"))
        )
    assert len(mails) == 1 and mails[0].tenant_id == t.id
    assert "admin@customer.example" in mails[0].recipients
    assert "REQ-1" in mails[0].body and "collections.list" in mails[0].body
    with runtime.db.session(write=True, system=True) as s:  # the report goes once
        assert operators.expire_temporary(s, SYSTEM) == []


def test_privileged_operator_routes_need_operations_manager(
    runtime: Runtime, ops_client: TestClient, make_operator: Callable[..., OperatorHandle]
) -> None:
    """OPS-3: operator creation and role changes need the operations-manager role."""
    support = op_login(ops_client, make_operator(("operations_support",)))
    body = {"name": "新人", "email": "n@hokan.example", "roles": ["operations_support"]}
    r = ops_client.post("/api/v1/operator/operators", json=body, headers=support)
    assert (r.status_code, r.json()["error"]) == (403, "operator_role_required")
    assert events(runtime, "operator.role_denied")
    manager = op_login(ops_client, make_operator(("operations_manager",)))
    r = ops_client.post("/api/v1/operator/operators", json=body, headers=manager)
    assert r.status_code == 201 and r.json()["totp_uri"].startswith("otpauth://totp/")
    serial = r.json()["serial"]
    r = ops_client.put(
        f"/api/v1/operator/operators/{serial}/roles",
        json={"roles": ["auditor"]},
        headers=manager,
    )
    assert r.json()["roles"] == ["auditor"]
    assert events(runtime, "operator.set_roles")[-1].detail["after"] == ["auditor"]
    inv = ops_client.get("/api/v1/operator/accounts/inventory", headers=manager).json()
    assert {a["id"]: a["roles"] for a in inv}[serial] == ["auditor"]
    assert any(a["privileged"] for a in inv)  # the operations manager
    # A write without the CSRF token is refused.
    no_csrf = {"Cookie": manager["Cookie"]}
    assert (
        ops_client.post("/api/v1/operator/operators", json=body, headers=no_csrf).status_code == 403
    )


def test_anonymous_operator_routes_are_401(ops_client: TestClient) -> None:
    for method, path in (("get", "/api/v1/operator/me"), ("get", "/api/v1/operator/operators")):
        assert getattr(ops_client, method)(path).status_code == 401


def _operator_routes() -> list[tuple[str, str]]:
    from pathlib import Path

    from hokan.httpkit import routes as edge_routes
    from hokan.settings import Settings

    app = create_app(Settings(env="test", data_dir=Path("/nonexistent")))
    return [
        (m, p)
        for m, p in edge_routes.api_routes(app)
        if p.startswith("/api/v1/operator/") and p != "/api/v1/operator/auth/login"
    ]


OPERATOR_ROUTES = _operator_routes()
_IDS = {
    "serial": "6085741910418999",
    "finding_id": "00000000-0000-4000-8000-000000000000",
    "address": "198.51.100.1",
    "name": "audit.daily_review",
    "number": "INC-2026-0001",
    "window_id": "00000000-0000-4000-8000-000000000000",
    "report_id": "00000000-0000-4000-8000-000000000000",
    "generation": "20260101T000000Z-daily-abcdef",
}


def test_operator_route_matrix(
    runtime: Runtime,
    ops_client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
) -> None:
    """Every operator route: no session → 401, a tenant token or user session → 401,
    an operator without the route's role → 403 (except the self-service routes)."""
    import re

    assert len(OPERATOR_ROUTES) >= 9
    t = make_tenant()
    tenant_user = admin_session(ops_client, runtime, t)
    nobody = op_login(ops_client, make_operator(("operations_support",)))  # no route role
    self_service = {"/api/v1/operator/me", "/api/v1/operator/auth/logout"}
    for method, path in OPERATOR_ROUTES:
        url = re.sub(r"\{(\w+)\}", lambda m: _IDS[m.group(1)], path)
        for headers in ({}, t.headers, tenant_user):
            assert ops_client.request(method, url, headers=headers).status_code == 401, path
        if path not in self_service:
            r = ops_client.request(method, url, headers=nobody, json={})
            assert r.status_code == 403, (path, r.text)


def test_concurrent_wrong_passwords_count_exactly_the_threshold(
    runtime: Runtime, make_operator: Callable[..., OperatorHandle]
) -> None:
    """IAM-3 for operators: 20 concurrent wrong passwords → exactly N counted, then locked."""
    import threading

    from hokan.audit.context import source_ip_var
    from hokan.identity.errors import InvalidCredentials

    op = make_operator()
    barrier = threading.Barrier(20)

    def attempt() -> None:
        source_ip_var.set("127.0.0.1")
        barrier.wait()
        with pytest.raises(InvalidCredentials):
            operator_auth.login(
                runtime.db,
                runtime.passwords,
                runtime.master_key,
                settings=runtime.settings,
                serial_text=op.serial,
                password="definitely the wrong one",
                otp=op.code(),
            )

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counted = [
        e
        for e in events(runtime, "operator.login")
        if e.actor_id == str(op.id) and e.detail.get("reason") == "bad_credentials"
    ]
    assert len(counted) == runtime.settings.operator_lockout_threshold
    assert len(events(runtime, "operator.lock")) == 1
