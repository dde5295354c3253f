"""Time travel over three JST days with the worker stopped for one: the daily audit
has run for every day exactly once, oldest first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from hokan.audit import service as audit
from hokan.audit.tasks import CATCH_UP_DAYS, days_due
from hokan.jobs import runner
from hokan.jobs.registry import Registry
from hokan.jobs.worker import WorkerHost
from hokan.kit.clock import JST
from hokan.models import AuditDailyRun, AuditEvent, JobRun
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime


def _at(day: date, hh: int, mm: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=JST).astimezone(UTC)


def _first_entry(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """The installation's first audit entry, written at ``moment``."""
    with monkeypatch.context() as m:
        m.setattr(audit, "utcnow", lambda: moment)
        with runtime.db.session(write=True, system=True) as s:
            audit.record(s, SYSTEM, "test.event", "thing", "1")


def test_the_daily_audit_runs_once_for_every_jst_day_even_after_downtime(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    day0 = date(2026, 4, 1)
    _first_entry(runtime, monkeypatch, _at(day0, 10, 0))

    clock = {"now": _at(day0, 10, 0)}
    host = WorkerHost(runtime.settings, runtime.db, runtime.resolve, lambda: clock["now"])
    review = Registry(runtime.settings).get("audit.daily_review")
    ran_on: list[datetime] = []

    def tick(now: datetime) -> None:
        """The scheduler's view: run the job if its time came since its last run."""
        clock["now"] = now
        with runtime.db.session(system=True) as s:
            last = s.scalar(select(JobRun.started_at).order_by(JobRun.started_at.desc()).limit(1))
        if last is None or review.missed(last, now):
            runner.execute(host, review, trigger="schedule" if last else "catch_up")
            ran_on.append(now)

    tick(_at(day0 + timedelta(days=1), 0, 31))  # reviews day0
    tick(_at(day0 + timedelta(days=1), 12, 0))  # nothing due
    # The worker is down all of day0+2's morning; it comes back on day0+3.
    tick(_at(day0 + timedelta(days=3), 9, 0))  # catches up day0+1 and day0+2
    tick(_at(day0 + timedelta(days=3), 9, 5))  # nothing due

    with runtime.db.session(system=True) as s:
        days = s.scalars(select(AuditDailyRun.audit_date).order_by(AuditDailyRun.audit_date)).all()
        reviews = s.scalars(
            select(AuditEvent.target_id)
            .where(AuditEvent.action == "audit.daily_review")
            .order_by(AuditEvent.seq)
        ).all()
    assert days == [day0, day0 + timedelta(days=1), day0 + timedelta(days=2)]
    assert reviews == [d.isoformat() for d in days]  # each once, oldest first
    assert len(ran_on) == 2


def test_a_fresh_installation_has_nothing_to_review(runtime: Runtime) -> None:
    host = WorkerHost(runtime.settings, runtime.db, runtime.resolve)
    out = runner.execute(
        host, Registry(runtime.settings).get("audit.daily_review"), trigger="manual"
    )
    assert out.status in ("ok", "skipped")
    if out.status == "skipped":
        assert out.summary == {"reason": "up_to_date"}


def test_catch_up_is_bounded(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    _first_entry(runtime, monkeypatch, _at(date(2020, 1, 1), 9, 0))
    with runtime.db.session(system=True) as s:
        due = days_due(s, date(2026, 4, 1))
    assert len(due) == CATCH_UP_DAYS and due[-1] == date(2026, 3, 31)
