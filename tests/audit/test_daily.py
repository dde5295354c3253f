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
from hokan.audit.daily_rules import DayReview, OperatorInfo, within_hours
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


def normal_day() -> list[dict[str, Any]]:
    """Users at work, an operator at work from the VPN under a grant, a clerk in the vault."""
    clerk = str(uuid.uuid4())
    user = str(uuid.uuid4())
    day = [entry(actor_id=user, action="records.create") for _ in range(20)]
    day += [entry(actor_id=user) for _ in range(25)]
    day += [
        entry(
            actor_type="operator",
            actor_id=OPERATOR,
            role="incident_response",
            source_ip="10.8.1.2",
            detail={"grant": str(uuid.uuid4())},
        )
        for _ in range(5)
    ]
    day += [
        entry(
            actor_type="operator",
            actor_id=OPERATOR,
            role="incident_response",
            source_ip="10.8.1.2",
            tenant_id=None,
            action="operator.login",
        )
    ]
    day += [
        entry(actor_id=clerk, role="mynumber_clerk", action="vault.number.reveal") for _ in range(3)
    ]
    day += [entry(actor_type="token", actor_id="tok", role="token", action="vault.number.register")]
    day += [
        entry(actor_type="operator", actor_id="cli:root", source_ip="", action=a, tenant_id=None)
        for a in ("vault.check", "vault.repair", "vault.purge")
    ]
    return day


def test_a_normal_day_has_no_findings() -> None:
    assert rules_of(review(), normal_day()) == {}


@pytest.mark.parametrize(
    ("rule", "crafted"),
    [
        (
            "external_access",
            [
                entry(
                    actor_type="operator",
                    actor_id=OPERATOR,
                    source_ip="203.0.113.4",
                    tenant_id=None,
                    action="operator.login",
                )
            ],
        ),
        (
            "external_access",
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
        ),
        (
            "outside_hours",
            # 02:30 JST
            [
                entry(
                    actor_type="operator",
                    actor_id=OPERATOR,
                    source_ip="10.8.0.9",
                    tenant_id=None,
                    action="operator.login",
                    occurred_at=datetime(2026, 11, 29, 17, 30, tzinfo=UTC),
                )
            ],
        ),
        (
            "no_consent",
            [
                entry(
                    actor_type="operator",
                    actor_id=OPERATOR,
                    source_ip="10.8.0.9",
                    action="operator.tenant_access",
                    result="denied",
                    detail={"reason": "no_grant"},
                )
            ],
        ),
        (
            "no_consent",
            [entry(actor_type="operator", actor_id=OPERATOR, source_ip="10.8.0.9")],
        ),
        (
            "bulk_access",
            [entry(actor_id="bulk-reader") for _ in range(100)],
        ),
        (
            "bulk_access",
            [
                entry(
                    actor_type="operator",
                    actor_id=OPERATOR,
                    source_ip="10.8.0.9",
                    action="audit.export",
                    detail={"grant": "g"},
                )
            ],
        ),
        (
            "privileged_action",
            [entry(actor_type="operator", actor_id="cli:root", source_ip="", action="keys.rotate")],
        ),
        (
            "privileged_action",
            [
                entry(
                    actor_type="operator",
                    actor_id=OPERATOR,
                    source_ip="10.8.0.9",
                    tenant_id=None,
                    action="operator.set_roles",
                )
            ],
        ),
        (
            "temporary_account",
            [
                entry(
                    actor_type="operator",
                    actor_id=TEMP,
                    source_ip="10.8.0.9",
                    tenant_id=OTHER,
                    detail={"grant": "g"},
                )
            ],
        ),
        (
            "temporary_account",
            [
                entry(
                    actor_type="operator",
                    actor_id=TEMP,
                    source_ip="10.8.0.9",
                    occurred_at=NOON + timedelta(hours=3),
                    detail={"grant": "g"},
                )
            ],
        ),
        (
            "mynumber_access",
            [
                entry(
                    actor_type="user",
                    role="tenant_admin",
                    action="vault.number.reveal",
                    result="denied",
                )
            ],
        ),
        (
            "mynumber_access",
            [
                entry(
                    actor_type="operator",
                    actor_id=OPERATOR,
                    source_ip="10.8.0.9",
                    action="vault.number.list",
                    result="denied",
                    detail={"grant": "g"},
                )
            ],
        ),
        ("volume_anomaly", [entry(actor_id="noisy", action="records.create") for _ in range(60)]),
    ],
)
def test_each_rule_fires_on_a_crafted_day(rule: str, crafted: list[dict[str, Any]]) -> None:
    found = rules_of(review(), normal_day() + crafted)
    assert rule in found, found


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
