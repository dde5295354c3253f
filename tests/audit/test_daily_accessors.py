# ruff: noqa: F811  (pytest injects the imported `login_as` fixture by parameter name)
"""The daily audit judges each entry by who acted (issue 12, item 8), end to end on SQLite
and PostgreSQL: entries written by the real vault API and audit service, reviewed by
``run_daily``. The tenant's application token is a legitimate vault accessor; a user
without the clerk role, an operator (grant or not) and a volume far above normal are not."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.audit import findings
from hokan.audit import service as audit
from hokan.identity import tokens, users
from hokan.models import AuditEvent, AuditFinding, Tenant
from hokan.principals.principal import SYSTEM, Principal, PrincipalKind
from hokan.runtime import Runtime
from tests.conftest import TenantHandle
from tests.vault.conftest import PASSWORD, VAULT_SCOPES, Session, login_as, valid_number  # noqa: F401

DAY = date(2026, 11, 30)
NOON = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)  # 14:00 JST


@pytest.fixture
def on_day(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Write audit entries as if at a given moment (the trail itself is append-only)."""

    def at(moment: datetime) -> None:
        monkeypatch.setattr(audit, "utcnow", lambda: moment)

    return at


def _review(runtime: Runtime) -> list[AuditFinding]:
    with runtime.db.session(write=True, system=True) as s:
        findings.run_daily(s, runtime.settings, DAY, SYSTEM)
        return list(s.scalars(select(AuditFinding).where(AuditFinding.audit_date == DAY)))


def _register(client: TestClient, headers: dict[str, str]) -> str:
    body = {"number": valid_number(), "record_id": "s-001"}
    r = client.post("/api/v1/vault/numbers", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _reveal(client: TestClient, headers: dict[str, str], entry_id: str, purpose: str) -> int:
    url = f"/api/v1/vault/entries/{entry_id}/reveal"
    return client.post(url, json={"purpose": purpose}, headers=headers).status_code


def test_the_applications_day_in_the_vault_is_no_finding_a_staff_users_attempt_is(
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    login_as: Callable[..., Session],
    on_day: Callable[[datetime], None],
) -> None:
    on_day(NOON)
    application = make_tenant(scopes=VAULT_SCOPES)
    entry_id = _register(client, application.headers)
    for _ in range(5):
        assert _reveal(client, application.headers, entry_id, "tax") == 200
    assert client.get("/api/v1/vault/entries", headers=application.headers).status_code == 200
    # The application's own mistakes: an invalid purpose, an entry that is gone.
    assert _reveal(client, application.headers, entry_id, "curiosity") == 422
    assert _reveal(client, application.headers, str(uuid.uuid4()), "tax") == 404
    assert [f for f in _review(runtime) if f.severity == "high"] == []

    staff = login_as("staff_user")
    assert _reveal(client, staff.headers, entry_id, "tax") == 403
    found = [f for f in _review(runtime) if f.rule == "mynumber_access"]
    assert len(found) == 1 and found[0].severity == "high"
    assert found[0].tenant_id == staff.tenant.id and "not a clerk" in found[0].summary


def _user(runtime: Runtime, tenant: TenantHandle, role: str) -> uuid.UUID:
    with runtime.db.session(write=True, system=True) as s:
        row = s.get(Tenant, tenant.id)
        assert row is not None
        user, _ = users.create(
            s,
            runtime.passwords,
            row,
            name="事務 太郎",
            email=f"{role}@example.jp",
            roles=[role],
            password=PASSWORD,
            actor=SYSTEM,
        )
        return user.id


def _personal_token(runtime: Runtime, tenant: TenantHandle, user_id: uuid.UUID) -> dict[str, str]:
    with runtime.db.session(write=True, system=True) as s:
        issued = tokens.issue(
            s, tenant.id, "mine", scopes=VAULT_SCOPES, days=1, actor=SYSTEM, user_id=user_id
        )
    return {"Authorization": f"Bearer {issued.secret}"}


def test_a_personal_token_is_recorded_as_acting_for_its_user(
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    on_day: Callable[[datetime], None],
) -> None:
    on_day(NOON)
    tenant = make_tenant(scopes=VAULT_SCOPES)
    clerk, staff = _user(runtime, tenant, "mynumber_clerk"), _user(runtime, tenant, "staff_user")
    entry_id = _register(client, _personal_token(runtime, tenant, clerk))
    assert _reveal(client, _personal_token(runtime, tenant, clerk), entry_id, "tax") == 200
    # A staff user's token never holds more than the user: the vault refuses it.
    assert _reveal(client, _personal_token(runtime, tenant, staff), entry_id, "tax") == 403
    with runtime.db.session(system=True) as s:
        reveals = s.scalars(select(AuditEvent).where(AuditEvent.action == "vault.number.reveal"))
        acted_for = {(e.result, e.actor_type, e.detail.get("for_user")) for e in reveals}
    assert acted_for == {("success", "token", str(clerk)), ("denied", "token", str(staff))}
    found = [f for f in _review(runtime) if f.severity == "high"]
    assert [(f.rule, f.summary) for f in found] == [
        ("mynumber_access", "My Number vault vault.number.reveal refused to a personal token")
    ]


def test_an_operator_needs_a_grant_and_no_grant_opens_the_vault(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle], on_day: Callable[[datetime], None]
) -> None:
    tenant = make_tenant()
    granted, bare = str(uuid.uuid4()), str(uuid.uuid4())

    def operator(ident: str, grant: str | None) -> Principal:
        return Principal(PrincipalKind.operator, ident, "op", tenant.id, grant_id=grant)

    on_day(NOON)
    with runtime.db.session(write=True, tenant=tenant.id) as s:
        audit.record(s, operator(granted, str(uuid.uuid4())), "records.read", "record", "s/1")
        audit.record(s, operator(bare, None), "records.read", "record", "s/1")
        audit.record(
            s,
            operator(granted, str(uuid.uuid4())),
            "vault.number.reveal",
            "vault_entry",
            str(uuid.uuid4()),
            result=audit.DENIED,
        )
    by_actor: dict[str, set[str]] = {}
    for f in _review(runtime):
        by_actor.setdefault(f.actor, set()).add(f.rule)
    assert by_actor[f"operator:{bare}"] == {"no_consent"}
    # The records read under the grant is no finding; the vault is never covered.
    assert by_actor[f"operator:{granted}"] == {"mynumber_access", "no_consent"}


def test_the_applications_reveals_far_above_its_normal_are_an_anomaly(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle], on_day: Callable[[datetime], None]
) -> None:
    tenant = make_tenant()

    def token(ident: str) -> Principal:
        return Principal(PrincipalKind.token, ident, "Express", tenant.id)

    burst, steady = token(str(uuid.uuid4())), token(str(uuid.uuid4()))

    def reveals(who: Principal, count: int) -> None:
        with runtime.db.session(write=True, tenant=tenant.id) as s:
            for _ in range(count):
                detail = {"purpose": "tax", "kind": "individual"}
                audit.record(
                    s, who, "vault.number.reveal", "vault_entry", str(uuid.uuid4()), detail=detail
                )

    for days_before in range(1, 15):  # the previous fortnight: the normal
        on_day(NOON - timedelta(days=days_before))
        reveals(burst, 2)
        reveals(steady, 15)
    on_day(NOON)
    reveals(burst, 60)
    reveals(steady, 60)
    found = {(f.rule, f.actor): f for f in _review(runtime)}
    anomaly = found[("reveal_volume", f"token:{burst.id}")]
    assert anomaly.severity == "high" and anomaly.entry_count == 60
    assert anomaly.tenant_id == tenant.id and "normal of 2.0" in anomaly.summary
    assert not any(actor == f"token:{steady.id}" for _, actor in found)
    assert not any(rule == "mynumber_access" for rule, _ in found)
