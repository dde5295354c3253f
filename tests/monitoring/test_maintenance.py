"""Maintenance windows (MON-5): the scheduling rules with their stable codes, the
announcement and the one reminder in the outbox, cancelling — and the audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hokan.httpkit.work import Work
from hokan.jobs.worker import WorkerHost
from hokan.kit.actions import Declared
from hokan.kit.errors import HokanError
from hokan.models import AuditEvent, MailMessage, MaintenanceWindow, NotificationDelivery, Tenant
from hokan.monitoring import tasks
from hokan.monitoring.maintenance import Maintenance
from hokan.principals.principal import Principal, PrincipalKind
from hokan.runtime import Runtime
from tests.conftest import TenantHandle
from tests.monitoring.conftest import minute

OPS = Principal(
    PrincipalKind.operator, "op-1", "運用 花子", None, roles=frozenset({"operations_manager"})
)


def _contact(runtime: Runtime, t: TenantHandle, email: str) -> None:
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        tenant.contacts = [{"name": "情シス", "email": email, "roles": ["notice"]}]


def _schedule(runtime: Runtime, now: datetime | None = None, **kw: Any) -> MaintenanceWindow:
    """Schedule through a unit of work, as the API and the CLI do (refusals audited)."""
    service = Maintenance(runtime.settings)
    kw.setdefault("reason_ja", "ストレージの交換")
    work = Work(runtime, OPS, Declared("maintenance.schedule", "maintenance"), system=True)
    return work.bind(lambda s: service.schedule(s, OPS, now=now, **kw), system=True)()


def _mails(runtime: Runtime) -> list[MailMessage]:
    with runtime.db.session(system=True) as s:
        return list(s.scalars(select(MailMessage).where(MailMessage.kind == "service.maintenance")))


def _deliveries(runtime: Runtime, window_id: uuid.UUID) -> list[NotificationDelivery]:
    with runtime.db.session(system=True) as s:
        return list(
            s.scalars(
                select(NotificationDelivery).where(NotificationDelivery.subject_id == window_id)
            )
        )


def _actions(runtime: Runtime, action: str) -> list[tuple[str, str, str]]:
    with runtime.db.session(system=True) as s:
        rows = s.execute(
            select(AuditEvent.chain, AuditEvent.result, AuditEvent.detail).where(
                AuditEvent.action == action
            )
        ).all()
    return [(chain, result, str(detail.get("error", ""))) for chain, result, detail in rows]


def test_a_service_wide_window_is_announced_to_every_active_tenant(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    a, b = make_tenant(), make_tenant()
    _contact(runtime, a, "notice-a@customer.example")
    _contact(runtime, b, "notice-b@customer.example")
    start = minute(timedelta(days=15))
    window = _schedule(runtime, starts_at=start, ends_at=start + timedelta(hours=2))

    mails = _mails(runtime)
    assert {tuple(m.recipients) for m in mails} >= {
        ("notice-a@customer.example",),
        ("notice-b@customer.example",),
    }
    mine = [m for m in mails if m.tenant_id in (a.id, b.id)]
    assert len(mine) == 2
    assert all("メンテナンスのお知らせ" in m.subject and "JST" in m.subject for m in mine)
    assert all("ストレージの交換" in m.body for m in mine)
    rows = _deliveries(runtime, window.id)
    assert {r.mail_id for r in rows} >= {m.id for m in mine}
    assert {(r.subject_type, r.event, r.channel, r.status) for r in rows} == {
        ("maintenance", "announced", "mail", "pending")
    }
    assert all(r.recipients == 1 for r in rows if r.mail_id in {m.id for m in mine})
    assert window.emergency is False and window.reminded_at is None
    assert [(c, r) for c, r, _ in _actions(runtime, "maintenance.schedule")] == [
        ("system", "success")
    ]


def test_a_tenant_window_is_announced_to_that_tenant_only_and_on_its_chain(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    a, b = make_tenant(), make_tenant()
    _contact(runtime, a, "notice-a@customer.example")
    _contact(runtime, b, "notice-b@customer.example")
    start = minute(timedelta(days=20))
    window = _schedule(
        runtime, starts_at=start, ends_at=start + timedelta(hours=1), tenant_code=a.tenant.code
    )
    mails = _mails(runtime)
    assert [m.recipients for m in mails] == [["notice-a@customer.example"]]
    assert window.tenant_id == a.id
    chains = sorted(c for c, _, _ in _actions(runtime, "maintenance.schedule"))
    assert chains == sorted(["system", str(a.id)])


def _refusal(runtime: Runtime, **kw: Any) -> str:
    with pytest.raises(HokanError) as caught:
        _schedule(runtime, **kw)
    return caught.value.code


def test_every_bad_window_is_refused_with_its_code_and_audited(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    day = timedelta(days=1)
    start = minute(timedelta(days=30))
    hour = timedelta(hours=1)
    cases = {
        "maintenance_in_past": {"starts_at": minute(-hour), "ends_at": minute(hour)},
        "maintenance_end_not_after_start": {"starts_at": start, "ends_at": start},
        "maintenance_too_long": {"starts_at": start, "ends_at": start + 25 * hour},
        "maintenance_notice_too_short": {
            "starts_at": minute(13 * day),
            "ends_at": minute(14 * day),
        },
        "unknown_tenant": {"starts_at": start, "ends_at": start + hour, "tenant_code": "nobody"},
        "maintenance_reason_missing": {
            "starts_at": start,
            "ends_at": start + hour,
            "reason_ja": " ",
        },
    }
    for code, kw in cases.items():
        assert _refusal(runtime, **kw) == code, code
    # Overlaps: the same tenant, and service-wide with service-wide.
    _schedule(runtime, starts_at=start, ends_at=start + 2 * hour, tenant_code=t.tenant.code)
    _schedule(runtime, starts_at=start, ends_at=start + 2 * hour)
    overlapping = {"starts_at": start + hour, "ends_at": start + 3 * hour}
    assert _refusal(runtime, **overlapping, tenant_code=t.tenant.code) == "maintenance_overlap"
    assert _refusal(runtime, **overlapping) == "maintenance_overlap"
    # Back to back is not an overlap; another tenant's window is not either.
    _schedule(runtime, starts_at=start + 2 * hour, ends_at=start + 3 * hour)
    other = make_tenant()
    _schedule(runtime, **overlapping, tenant_code=other.tenant.code)

    errors = sorted(e for _, r, e in _actions(runtime, "maintenance.schedule") if r == "error")
    assert errors == sorted([*cases, "maintenance_overlap", "maintenance_overlap"])
    assert len(_mails(runtime)) == 0  # no contacts: nothing to send, nothing refused for it


def test_a_short_notice_window_passes_only_as_an_emergency_and_says_so(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    _contact(runtime, t, "notice@customer.example")
    start = minute(timedelta(days=13))
    with pytest.raises(HokanError) as caught:
        _schedule(runtime, starts_at=start, ends_at=start + timedelta(hours=1))
    assert caught.value.code == "maintenance_notice_too_short"
    assert "14" in caught.value.message("ja") and "emergency" in caught.value.message("en")
    window = _schedule(runtime, starts_at=start, ends_at=start + timedelta(hours=1), emergency=True)
    assert window.emergency is True
    (mail,) = [m for m in _mails(runtime) if m.tenant_id == t.id]
    assert "【緊急】" in mail.subject and "[Emergency]" in mail.subject
    assert "緊急" in mail.body


def test_the_reminder_goes_out_once_a_day_before(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    _contact(runtime, t, "notice@customer.example")
    start = minute(timedelta(days=15))
    window = _schedule(
        runtime, starts_at=start, ends_at=start + timedelta(hours=1), tenant_code=t.tenant.code
    )
    clock = {"now": start - timedelta(days=2)}
    host = WorkerHost(runtime.settings, runtime.db, runtime.resolve, lambda: clock["now"])
    job = tasks.MAINTENANCE_REMIND

    assert job.run(host).status == "skipped"  # two days ahead: not yet
    clock["now"] = start - timedelta(hours=23, minutes=55)
    done = job.run(host)
    assert done.status == "ok" and done.summary == {"windows": 1, "messages": 1}
    for _ in range(3):  # every 10 minutes after that: nothing more
        clock["now"] += timedelta(minutes=10)
        assert job.run(host).status == "skipped"

    reminders = [m for m in _mails(runtime) if "再通知" in m.subject]
    assert len(reminders) == 1 and reminders[0].recipients == ["notice@customer.example"]
    events = sorted(r.event for r in _deliveries(runtime, window.id))
    assert events == ["announced", "reminder"]
    with runtime.db.session(system=True) as s:
        row = s.get(MaintenanceWindow, window.id)
        assert row is not None and row.reminded_at == clock["now"] - timedelta(minutes=30)


def test_a_window_announced_within_a_day_is_not_reminded_again(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    _contact(runtime, t, "notice@customer.example")
    start = minute(timedelta(hours=6))
    _schedule(runtime, starts_at=start, ends_at=start + timedelta(hours=1), emergency=True)
    host = WorkerHost(runtime.settings, runtime.db, runtime.resolve)
    assert tasks.MAINTENANCE_REMIND.run(host).status == "skipped"
    assert len([m for m in _mails(runtime) if m.tenant_id == t.id]) == 1


def test_cancelling_tells_the_tenants_and_refuses_twice(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    _contact(runtime, t, "notice@customer.example")
    start = minute(timedelta(days=15))
    window = _schedule(runtime, starts_at=start, ends_at=start + timedelta(hours=1))
    service = Maintenance(runtime.settings)

    def cancel(window_id: str) -> str:
        work = Work(runtime, OPS, Declared("maintenance.cancel", "maintenance"), system=True)
        try:
            work.bind(lambda s: service.cancel(s, OPS, window_id), system=True)()
        except HokanError as exc:
            return exc.code
        return "ok"

    assert cancel(str(window.id)) == "ok"
    assert cancel(str(window.id)) == "maintenance_not_cancellable"
    assert cancel(str(uuid.uuid4())) == "maintenance_not_found"
    assert cancel("not-a-uuid") == "maintenance_not_found"
    assert any("中止" in m.subject for m in _mails(runtime) if m.tenant_id == t.id)
    results = sorted((r, e) for _, r, e in _actions(runtime, "maintenance.cancel"))
    assert results == sorted(
        [
            ("success", ""),
            ("error", "maintenance_not_cancellable"),
            ("error", "maintenance_not_found"),
            ("error", "maintenance_not_found"),
        ]
    )
