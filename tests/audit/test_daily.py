"""The daily internal audit (AUD-4): every rule fires on a crafted day and stays quiet
on a normal one; findings are kept, re-runs are idempotent, auditors acknowledge."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from ipaddress import ip_network
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.audit import findings
from hokan.audit import service as audit
from hokan.audit.context import source_ip_var
from hokan.audit.daily_rules import (
    HIGH,
    LOW,
    MEDIUM,
    RULES,
    Accessor,
    DayReview,
    Finding,
    OperatorInfo,
    classify,
    within_hours,
)
from hokan.models import AuditDailyRun, AuditFinding, FindingStatus
from hokan.principals.principal import SYSTEM, Principal, PrincipalKind
from hokan.runtime import Runtime
from tests.conftest import OperatorHandle, TenantHandle
from tests.identity.test_operators import op_login

TENANT = uuid.uuid4()
OTHER = uuid.uuid4()
OPERATOR = str(uuid.uuid4())
TEMP = str(uuid.uuid4())
DAY = date(2026, 11, 30)
# 2026-11-30 14:00 JST = 05:00 UTC, inside the 08:00-20:00 window.
NOON = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


def entry(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": uuid.uuid4(),
        "occurred_at": NOON,
        "tenant_id": TENANT,
        "actor_type": "user",
        "actor_id": str(uuid.uuid4()),
        "role": "staff_user",
        "action": "records.read",
        "source_ip": "10.0.0.5",
        "result": "success",
        "detail": {},
    }
    base.update(values)
    return base


def review(**overrides: Any) -> DayReview:
    values: dict[str, Any] = {
        "operator_cidrs": [ip_network("10.8.0.0/16")],
        "global_hours": "08:00-20:00",
        "bulk_threshold": 100,
        "anomaly_factor": 5.0,
        "anomaly_min_events": 50,
        "operators": {
            OPERATOR: OperatorInfo("", False, None, None),
            TEMP: OperatorInfo("", True, TENANT, NOON + timedelta(hours=2)),
        },
        "baseline": {},
    }
    values.update(overrides)
    return DayReview(**values)


def rules_of(r: DayReview, entries: list[dict[str, Any]]) -> dict[str, int]:
    for e in entries:
        r.feed(e)
    out: dict[str, int] = {}
    for f in r.findings():
        out[f.rule] = out.get(f.rule, 0) + 1
    return out


APP = "token:app"  # the tenant's application token, as an actor
GRANT = str(uuid.uuid4())


def app(**values: Any) -> dict[str, Any]:
    """An entry by the tenant's application token (a token with vault:read)."""
    base = {"actor_type": "token", "actor_id": "app", "role": "token"}
    return entry(**(base | values))


def op(**values: Any) -> dict[str, Any]:
    """An entry by the operator, from the operations network, at 14:00 JST."""
    base = {"actor_type": "operator", "actor_id": OPERATOR, "role": "incident_response"}
    return entry(**(base | {"source_ip": "10.8.1.2"} | values))


def console(**values: Any) -> dict[str, Any]:
    """An entry by the host's own CLI (no source address, no tenant)."""
    base = {"actor_type": "operator", "actor_id": "cli:root", "source_ip": None}
    return entry(**(base | {"tenant_id": None, "role": "operator"} | values))


def normal_day() -> list[dict[str, Any]]:
    """Users at work, an operator at work from the VPN under a grant, a clerk and the
    tenant's application in the vault (with the application's ordinary errors), the host's
    maintenance of the vault."""
    clerk = str(uuid.uuid4())
    user = str(uuid.uuid4())
    day = [entry(actor_id=user, action="records.create") for _ in range(20)]
    day += [entry(actor_id=user) for _ in range(25)]
    day += [op(detail={"grant": GRANT}) for _ in range(5)]
    day += [op(tenant_id=None, action="operator.login")]
    day += [
        entry(actor_id=clerk, role="mynumber_clerk", action="vault.number.reveal") for _ in range(3)
    ]
    day += [app(action="vault.number.register"), app(action="vault.number.list")]
    day += [app(action="vault.number.reveal", detail={"purpose": "tax"}) for _ in range(10)]
    day += [app(action="vault.document.download", detail={"purpose": "tax"})]
    # An invalid purpose (422), an entry gone (404): the application's errors, not access.
    day += [app(action="vault.number.reveal", result="error", detail={"error": "invalid_purpose"})]
    day += [app(action="vault.number.reveal", result="error", detail={"error": "not_found"})]
    day += [
        entry(
            actor_type="token",
            actor_id="mine",
            role="token",
            action="vault.number.reveal",
            detail={"for_user": clerk, "purpose": "tax"},
        )
    ]
    day += [console(action=a) for a in ("vault.check", "vault.repair", "vault.purge")]
    day += [entry(actor_type="system", actor_id="hokan", role="system", action="vault.entry.purge")]
    return day


def test_a_normal_day_has_no_findings() -> None:
    assert rules_of(review(), normal_day()) == {}


NIGHT = datetime(2026, 11, 29, 17, 30, tzinfo=UTC)  # 02:30 JST on DAY

# Every rule: days that make it fire ...
FIRES: dict[str, list[list[dict[str, Any]]]] = {
    "external_access": [
        [op(source_ip="203.0.113.4", tenant_id=None, action="operator.login")],
        [
            entry(
                actor_type="anonymous",
                actor_id="-",
                source_ip="198.51.100.1",
                tenant_id=None,
                action="operator.network_denied",
                result="denied",
            )
        ],
    ],
    "outside_hours": [[op(tenant_id=None, action="operator.login", occurred_at=NIGHT)]],
    "no_consent": [
        [op(action="operator.tenant_access", result="denied", detail={"reason": "no_grant"})],
        [op()],  # tenant data without a grant
        # refused under a grant: beyond what the grant covers
        [op(action="records.create", result="denied", detail={"grant": GRANT})],
    ],
    "operator_export": [
        [op(action="audit.export", detail={"grant": GRANT})],
        [console(action="audit.export_bundle", tenant_id=TENANT)],
    ],
    "bulk_access": [
        [entry(actor_id="bulk-reader") for _ in range(100)],
        # the application far above its normal reads
        [app(action="records.list") for _ in range(150)],
    ],
    "privileged_action": [
        [console(action="keys.rotate")],
        [op(tenant_id=None, action="operator.set_roles")],
    ],
    "temporary_account": [
        [op(actor_id=TEMP, tenant_id=OTHER, detail={"grant": GRANT})],
        [op(actor_id=TEMP, occurred_at=NOON + timedelta(hours=3), detail={"grant": GRANT})],
    ],
    "mynumber_access": [
        # a tenant user without the clerk role
        [entry(role="tenant_admin", action="vault.number.reveal", result="denied")],
        [entry(role="staff_user", action="vault.number.list", result="success")],
        # an operator, with or without a grant: no grant covers the vault
        [op(action="vault.number.reveal", result="denied")],
        [op(action="vault.number.list", result="denied", detail={"grant": GRANT})],
        # a token refused the vault (no vault:read), the application's or a person's
        [app(action="vault.number.reveal", result="denied")],
        [
            app(
                actor_id="mine",
                action="vault.number.reveal",
                result="denied",
                detail={"for_user": "u"},
            )
        ],
        # the system or the console beyond maintenance, and no credentials at all
        [entry(actor_type="system", actor_id="hokan", role="system", action="vault.number.reveal")],
        [console(action="vault.number.list", tenant_id=TENANT)],
        [entry(actor_type="anonymous", actor_id="-", role="anonymous", action="vault.number.list")],
    ],
    "reveal_volume": [
        [app(action="vault.number.reveal") for _ in range(60)],
        [entry(actor_id="c", role="mynumber_clerk", action="vault.document.download")] * 60,
    ],
    "volume_anomaly": [[entry(actor_id="noisy", action="records.create") for _ in range(60)]],
}

# ... and days that come close but must stay quiet for it.
QUIET: dict[str, list[dict[str, Any]]] = {
    "external_access": [
        op(tenant_id=None, action="operator.login"),
        console(action="keys.rotate"),
        entry(source_ip="203.0.113.4"),  # a tenant user from anywhere: not an operator
    ],
    "outside_hours": [
        console(action="vault.check", occurred_at=NIGHT),  # the host's jobs run at night
        entry(occurred_at=NIGHT),  # tenant users keep their own hours
        op(actor_id="night", tenant_id=None, action="operator.login", occurred_at=NIGHT),
    ],
    "no_consent": [
        op(action="records.read", detail={"grant": GRANT}),
        op(action="records.create", result="error", detail={"grant": GRANT}),
        op(tenant_id=None, action="operator.login"),
        console(action="tenant.suspend", tenant_id=TENANT),
    ],
    "operator_export": [
        entry(action="records.export"),  # the tenant's own export
        op(action="audit.export", result="denied", detail={"grant": GRANT}),
    ],
    "bulk_access": [
        *[entry(actor_id="reader") for _ in range(99)],
        *[app(action="records.list") for _ in range(150)],  # at its usual pace
    ],
    "privileged_action": [op(action="records.update", detail={"grant": GRANT})],
    "temporary_account": [
        op(actor_id=TEMP, detail={"grant": GRANT}),
        op(actor_id=TEMP, occurred_at=NOON + timedelta(hours=1), detail={"grant": GRANT}),
    ],
    "mynumber_access": [
        *[app(action="vault.number.reveal", detail={"purpose": "tax"}) for _ in range(5)],
        app(action="vault.number.reveal", result="error", detail={"error": "invalid_purpose"}),
        entry(role="mynumber_clerk,staff_user", action="vault.number.reveal"),
        entry(role="mynumber_clerk", action="vault.number.reveal", result="denied"),
        entry(actor_type="system", actor_id="hokan", role="system", action="vault.purge"),
        console(action="vault.repair"),
    ],
    "reveal_volume": [
        *[app(action="vault.number.reveal") for _ in range(60)],  # its normal is 40 a day
        *[entry(actor_id="c", role="mynumber_clerk", action="vault.number.reveal")] * 40,
    ],
    "volume_anomaly": [entry(actor_id="steady", action="records.create") for _ in range(60)],
}
QUIET_NORMALS: dict[str, float] = {APP: 40.0, "user:steady": 40.0}


def test_every_rule_has_a_day_that_fires_it_and_one_that_keeps_it_quiet() -> None:
    names = [r.name for r in RULES]
    assert len(set(names)) == len(names)
    assert set(FIRES) == set(names) == set(QUIET)
    for r in RULES:
        assert r.severity in (HIGH, MEDIUM, LOW) and r.description_ja and r.description_en


@pytest.mark.parametrize(
    ("rule", "crafted"), [(rule, day) for rule, days in FIRES.items() for day in days]
)
def test_each_rule_fires_on_a_crafted_day(rule: str, crafted: list[dict[str, Any]]) -> None:
    normals = {APP: 10.0} if rule == "bulk_access" else {}
    r = review(read_baseline=normals, baseline=normals)
    found = rules_of(r, normal_day() + crafted)
    assert rule in found, found
    severity = next(f.severity for f in r.findings() if f.rule == rule)
    assert severity == next(x.severity for x in RULES if x.name == rule)


@pytest.mark.parametrize("rule", sorted(QUIET))
def test_each_rule_stays_quiet_on_a_near_miss(rule: str) -> None:
    operators = {"night": OperatorInfo("22:00-06:00", False, None, None)}
    r = review(
        operators={**review().operators, **operators},
        baseline=QUIET_NORMALS,
        read_baseline={APP: 150.0},
        reveal_baseline=QUIET_NORMALS,
    )
    found = rules_of(r, normal_day() + QUIET[rule])
    assert rule not in found, found


@pytest.mark.parametrize(
    ("actor_type", "actor_id", "role", "detail", "expected"),
    [
        ("user", "u", "mynumber_clerk", {}, Accessor.clerk),
        ("user", "u", "mynumber_clerk,staff_user", {}, Accessor.clerk),
        ("user", "u", "staff_user", {}, Accessor.tenant_user),
        ("user", "u", "tenant_admin", {}, Accessor.tenant_user),
        ("token", "t", "token", {}, Accessor.application),
        ("token", "t", "token", {"for_user": "u"}, Accessor.personal_token),
        ("operator", "op-1", "auditor", {}, Accessor.operator),
        ("operator", "op-1", "auditor", {"grant": "g"}, Accessor.operator),
        ("operator", "cli:root", "operator", {}, Accessor.console),
        ("system", "hokan", "system", {}, Accessor.system),
        ("anonymous", "-", "anonymous", {}, Accessor.anonymous),
        ("robot", "r", "robot", {}, Accessor.anonymous),  # unknown: entitled to nothing
    ],
)
def test_accessors_are_classified_by_principal_kind(
    actor_type: str, actor_id: str, role: str, detail: dict[str, Any], expected: Accessor
) -> None:
    assert classify(actor_type, actor_id, role, detail) is expected


def _high(r: DayReview, entries: list[dict[str, Any]]) -> list[Finding]:
    for e in entries:
        r.feed(e)
    return [f for f in r.findings() if f.severity == HIGH]


def test_the_applications_reveals_all_day_raise_no_high_finding() -> None:
    """Payroll day: the tenant's application reveals hundreds of numbers, hour by hour,
    as it does every day; its invalid purposes and missing entries are its own errors."""
    day = []
    for hour in range(24):
        at = datetime(2026, 11, 29, 15, tzinfo=UTC) + timedelta(hours=hour)
        day += [app(action="vault.number.reveal", occurred_at=at) for _ in range(12)]
        day += [app(action="records.read", occurred_at=at) for _ in range(10)]
        day.append(app(action="vault.number.reveal", result="error", occurred_at=at))
    normals = {APP: 300.0}
    r = review(baseline={APP: 550.0}, read_baseline=normals, reveal_baseline=normals)
    assert _high(r, day) == []
    assert list(r.findings()) == []  # nor any other: it is the application's normal day


def test_a_reveal_by_a_user_without_the_clerk_role_is_high() -> None:
    user = str(uuid.uuid4())
    found = _high(review(), [entry(actor_id=user, action="vault.number.reveal", result="denied")])
    assert [(f.rule, f.actor) for f in found] == [("mynumber_access", f"user:{user}")]
    assert "not a clerk" in found[0].summary


def test_operator_access_needs_a_grant_covering_it() -> None:
    # Tenant data without a grant: high; under a grant: nothing.
    assert [f.rule for f in _high(review(), [op(action="records.read")])] == ["no_consent"]
    assert _high(review(), [op(action="records.read", detail={"grant": GRANT})]) == []
    # No grant can cover the vault (grantable scopes exclude it, whitepaper §3-2-2):
    # an operator's reveal is high without a grant and still high with one.
    bare = {f.rule for f in _high(review(), [op(action="vault.number.reveal", result="denied")])}
    assert bare == {"mynumber_access", "no_consent"}
    under_grant = op(action="vault.number.reveal", result="denied", detail={"grant": GRANT})
    found = _high(review(), [under_grant])
    assert "mynumber_access" in {f.rule for f in found}
    assert any("no grant covers it" in f.summary for f in found)


def test_bulk_reveals_by_the_application_far_above_its_normal_are_an_anomaly() -> None:
    burst = [app(action="vault.number.reveal") for _ in range(400)]
    normal = review(baseline={APP: 380.0}, read_baseline={APP: 380.0}, reveal_baseline={APP: 380.0})
    assert rules_of(normal, burst) == {}
    usual = {APP: 20.0}
    r = review(baseline=usual, read_baseline=usual, reveal_baseline=usual)
    found = {f.rule: f for f in _high(r, burst)}
    assert set(found) == {"reveal_volume"}
    assert found["reveal_volume"].entry_count == 400 and found["reveal_volume"].tenant_id == TENANT
    assert len(found["reveal_volume"].entry_ids) == 50  # the first ones, memory bounded
    assert "normal of 20.0" in found["reveal_volume"].summary


def test_volume_is_measured_against_the_actors_normal() -> None:
    busy = [entry(actor_id="steady", action="records.create") for _ in range(60)]
    assert "volume_anomaly" not in rules_of(review(baseline={"user:steady": 40.0}), busy)
    assert "volume_anomaly" in rules_of(review(baseline={"user:steady": 5.0}), busy)


def test_permitted_hours_windows() -> None:
    at = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # 23:00 JST
    assert not within_hours(at, "08:00-20:00")
    assert within_hours(at, "22:00-06:00")  # overnight shift
    assert within_hours(at, "00:00-24:00")


@pytest.fixture
def on_day(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Write audit entries as if at a given moment (the trail itself is append-only)."""

    def at(moment: datetime) -> None:
        monkeypatch.setattr(audit, "utcnow", lambda: moment)

    return at


def test_run_daily_records_findings_idempotently_and_auditor_acknowledges(
    runtime: Runtime,
    ops_client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    make_operator: Callable[..., OperatorHandle],
    on_day: Callable[[datetime], None],
) -> None:
    t = make_tenant()
    intruder = Principal(PrincipalKind.operator, str(uuid.uuid4()), "x", None)
    on_day(NOON)
    token = source_ip_var.set("203.0.113.77")
    try:
        with runtime.db.session(write=True, system=True) as s:
            audit.record(s, intruder, "operator.login", "operator", intruder.id)
            audit.record(s, intruder, "records.read", "record", "staff/1", tenant_id=t.id)
    finally:
        source_ip_var.reset(token)
    with runtime.db.session(write=True, system=True) as s:
        report = findings.run_daily(s, runtime.settings, DAY, SYSTEM)
    assert report.findings.get("external_access") and report.findings.get("no_consent")
    assert report.open_total >= 2
    with runtime.db.session(write=True, system=True) as s:  # re-run: same findings, not twice
        again = findings.run_daily(s, runtime.settings, DAY, SYSTEM)
        assert again.findings == report.findings
        rows = list(s.scalars(select(AuditFinding).where(AuditFinding.audit_date == DAY)))
        assert len(rows) == sum(report.findings.values())
        assert s.get(AuditDailyRun, DAY) is not None
    monkeypatch_back = datetime.now(UTC)
    on_day(monkeypatch_back)
    auditor = op_login(ops_client, make_operator(("auditor",)))
    listed = ops_client.get("/api/v1/operator/audit/findings?status=open", headers=auditor)
    assert listed.status_code == 200
    target = next(f for f in listed.json() if f["rule"] == "external_access")
    assert "203.0.113.77" in target["summary"]
    url = f"/api/v1/operator/audit/findings/{target['id']}/acknowledge"
    done = ops_client.post(
        url, json={"comment": "VPN 障害時の誤接続。本人確認済み"}, headers=auditor
    )
    assert done.status_code == 200 and done.json()["status"] == "acknowledged"
    assert ops_client.post(url, json={"comment": "again"}, headers=auditor).status_code == 409
    # Only auditors acknowledge; findings are no tenant's business.
    support = op_login(ops_client, make_operator(("operations_support",)))
    assert ops_client.get("/api/v1/operator/audit/findings", headers=support).status_code == 403
    with runtime.db.session(system=True) as s:
        row = s.get(AuditFinding, uuid.UUID(target["id"]))
        assert row is not None and row.status is FindingStatus.acknowledged
        assert row.comment.startswith("VPN")
