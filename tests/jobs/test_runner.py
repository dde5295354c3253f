# ruff: noqa: F811  (pytest injects the imported fixture by parameter name)
"""One run of a job: recorded, and a failure audited, mailed once per streak, counted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import select

from hokan.jobs import runner, runs
from hokan.jobs.registry import Registry, Scheduled
from hokan.jobs.worker import WorkerHost, retry_delay
from hokan.kit.errors import ServiceUnavailable
from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.models import AuditEvent, JobRun, MailMessage
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.clock.conftest import ntp_server  # noqa: F401  (the fixture)
from tests.conftest import OperatorHandle


def host(runtime: Runtime) -> WorkerHost:
    return WorkerHost(runtime.settings, runtime.db, runtime.resolve)


def _job(fn: Callable[[JobHost], JobResult], name: str = "test.job") -> Scheduled:
    return Scheduled(Job(name, "every 1m", fn, "テスト", "test"), "every 1m", None)


def _boom(_: JobHost) -> JobResult:
    raise ServiceUnavailable()


def _counter(job: str, status: str) -> float:
    return REGISTRY.get_sample_value("hokan_job_runs_total", {"job": job, "status": status}) or 0.0


def test_a_successful_run_is_recorded_with_its_summary(runtime: Runtime) -> None:
    before = _counter("test.ok", "ok")
    out = runner.execute(
        host(runtime), _job(lambda h: JobResult({"n": 3}), "test.ok"), trigger="manual"
    )
    assert out.status == "ok" and out.summary == {"n": 3}
    with runtime.db.session(system=True) as s:
        (row,) = runs.history(s, "test.ok")
    assert (row.status, row.trigger, row.summary, row.error_code) == (
        "ok",
        "manual",
        {"n": 3},
        None,
    )
    assert row.finished_at is not None and row.finished_at >= row.started_at
    assert _counter("test.ok", "ok") == before + 1


def test_a_failed_run_is_audited_mailed_once_per_streak_and_counted(
    runtime: Runtime, make_operator: Callable[..., OperatorHandle], settings: Settings
) -> None:
    make_operator(("incident_response",))
    before = _counter("test.fail", "failed")
    for _ in range(3):
        out = runner.execute(host(runtime), _job(_boom, "test.fail"), trigger="schedule")
        assert out.status == "failed" and out.error is not None
    with runtime.db.session(system=True) as s:
        rows = runs.history(s, "test.fail", failed_only=True)
        audits = s.scalars(select(AuditEvent).where(AuditEvent.action == "job.run")).all()
        mails = s.scalars(select(MailMessage).where(MailMessage.kind == "job.failed")).all()
    assert [r.error_code for r in rows] == ["service_unavailable"] * 3
    assert len(audits) == 3 and {a.result for a in audits} == {"error"}
    assert {a.tenant_id for a in audits} == {None}  # the system chain
    assert audits[0].detail == {"error": "service_unavailable", "trigger": "schedule"}
    assert len(mails) == 1 and mails[0].recipients == ["ops@hokan.example"]
    assert "test.fail" in mails[0].subject
    assert _counter("test.fail", "failed") == before + 3

    runner.execute(host(runtime), _job(lambda h: JobResult(), "test.fail"), trigger="retry")
    runner.execute(host(runtime), _job(_boom, "test.fail"), trigger="schedule")
    with runtime.db.session(system=True) as s:
        mails = s.scalars(select(MailMessage).where(MailMessage.kind == "job.failed")).all()
    assert len(mails) == 2  # a new streak, a new mail


def test_a_job_that_crashes_is_a_recorded_failure_not_a_dead_worker(runtime: Runtime) -> None:
    def crash(_: JobHost) -> JobResult:
        raise KeyError("a defect")

    out = runner.execute(host(runtime), _job(crash, "test.crash"), trigger="schedule")
    assert out.status == "failed" and out.error is not None and out.error.code == "job_crashed"
    with runtime.db.session(system=True) as s:
        row = s.scalars(select(JobRun).where(JobRun.job == "test.crash")).one()
    assert row.error_code == "job_crashed" and "defect" not in str(row.summary)


def test_every_registered_job_runs_through_the_runner(
    settings_factory: Callable[..., Settings], ntp_server: Callable[..., Any]
) -> None:
    # No internet here: the clock check asks a responder on loopback.
    runtime = Runtime(settings_factory(ntp_servers=ntp_server().address))
    runtime.keyring.verify_master(initialise=True)
    try:
        for sc in Registry(runtime.settings):
            out = runner.execute(host(runtime), sc, trigger="manual")
            assert out.status in ("ok", "skipped"), (sc.name, out)
        with runtime.db.session(system=True) as s:
            assert set(runs.last_started(s)) == {sc.name for sc in Registry(runtime.settings)}
    finally:
        runtime.close()


def test_retry_backoff_doubles_and_is_capped() -> None:
    assert [retry_delay(n) for n in (1, 2, 3)] == [30, 60, 120]
    assert retry_delay(50) == 1800


def test_history_is_thinned_skipped_runs_first(runtime: Runtime) -> None:
    from datetime import timedelta

    from hokan.kit.clock import utcnow

    now = utcnow()
    with runtime.db.session(write=True, system=True) as s:
        for job, status, age in [
            ("mail.deliver", "skipped", 8),
            ("mail.deliver", "skipped", 1),
            ("audit.daily_review", "ok", 300),
            ("audit.daily_review", "ok", 401),
        ]:
            run_id = runs.start(s, job, "schedule", "w:1", now - timedelta(days=age))
            runs.finish(s, run_id, status, now - timedelta(days=age))
    out = runner.execute(
        host(runtime), Registry(runtime.settings).get("jobs.prune_history"), trigger="manual"
    )
    assert out.summary == {"deleted": 2}
    with runtime.db.session(system=True) as s:
        left = sorted(
            (r.job, r.status) for r in s.scalars(select(JobRun)) if r.job != "jobs.prune_history"
        )
    assert left == [("audit.daily_review", "ok"), ("mail.deliver", "skipped")]
