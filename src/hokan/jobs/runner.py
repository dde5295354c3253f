"""Run one job and record it: the one code path for the scheduler, catch-up runs,
retries and ``hokan jobs run``.

A failed run is recorded with its stable error code, audited on the system chain
(``job.run``, result error), counted on ``/metrics`` and — on the first failure of
a streak — mailed to the on-call operators through the outbox. The worker goes on.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from hokan.audit import service as audit
from hokan.identity.operators import notified_emails
from hokan.jobs import runs
from hokan.jobs.errors import JobCrashed
from hokan.jobs.registry import Scheduled
from hokan.kit import metrics
from hokan.kit.errors import HokanError
from hokan.kit.jobs import JobHost
from hokan.principals.principal import SYSTEM
from hokan.tenants.notices import notify

log = logging.getLogger("hokan.jobs")

WORKER_ID = f"{socket.gethostname()[:100]}:{os.getpid()}"


@dataclass(frozen=True)
class Outcome:
    job: str
    status: str  # ok, skipped, failed
    summary: dict[str, Any]
    error: HokanError | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"job": self.job, "status": self.status, "summary": self.summary}
        if self.error is not None:
            out["error"] = self.error.code
        return out


def execute(
    host: JobHost, scheduled: Scheduled, *, trigger: str, worker: str = WORKER_ID
) -> Outcome:
    """Run ``scheduled`` now; never raises for the job's own failure (database down does)."""
    name = scheduled.name
    try:
        with host.db.session(write=True, system=True) as s:
            run_id = runs.start(s, name, trigger, worker, host.now())
    except SQLAlchemyError:
        if not scheduled.job.resilient:
            raise
        return _unrecorded(host, scheduled, trigger)
    try:
        result = scheduled.job.run(host)
    except Exception as exc:  # a job that raises is a recorded failure, not a dead worker
        error = (
            exc if isinstance(exc, HokanError) else JobCrashed("exception", kind=type(exc).__name__)
        )
        if isinstance(exc, HokanError):
            log.error(
                "job failed",
                extra={"fields": {"job": name, "error": error.code, "trigger": trigger}},
            )
        else:
            log.exception("job crashed", extra={"fields": {"job": name, "trigger": trigger}})
        _record_failure(host, name, run_id, trigger, error)
        metrics.JOB_RUNS.labels(name, runs.FAILED).inc()
        return Outcome(name, runs.FAILED, {}, error)
    summary = dict(result.summary)
    with host.db.session(write=True, system=True) as s:
        runs.finish(s, run_id, result.status, host.now(), summary=summary)
    metrics.JOB_RUNS.labels(name, result.status).inc()
    metrics.JOB_LAST_SUCCESS.labels(name).set(host.now().timestamp())
    if result.status == "ok":
        log.info("job done", extra={"fields": {"job": name, "trigger": trigger}})
    return Outcome(name, result.status, summary)


def _unrecorded(host: JobHost, scheduled: Scheduled, trigger: str) -> Outcome:
    """A resilient job's run while the database is down: run it, count it, log it."""
    name = scheduled.name
    try:
        result = scheduled.job.run(host)
    except Exception:
        log.exception("job crashed (not recorded)", extra={"fields": {"job": name}})
        metrics.JOB_RUNS.labels(name, runs.FAILED).inc()
        return Outcome(name, runs.FAILED, {}, JobCrashed("exception", kind="unrecorded"))
    metrics.JOB_RUNS.labels(name, result.status).inc()
    return Outcome(name, result.status, dict(result.summary))


def _record_failure(host: JobHost, name: str, run_id: Any, trigger: str, error: HokanError) -> None:
    try:
        with host.db.session(write=True, system=True) as s:
            runs.finish(s, run_id, runs.FAILED, host.now(), error_code=error.code)
            audit.record(
                s,
                SYSTEM,
                "job.run",
                "job",
                name,
                result=audit.ERROR,
                detail={"error": error.code, "trigger": trigger},
            )
            if runs.consecutive_failures(s, name) == 1:  # the first of a streak
                notify(
                    s,
                    "job.failed",
                    tenant=None,
                    subject=f"【Hokan】ジョブ失敗 / Job failed: {name}",
                    body=_failure_mail(name, trigger, error),
                    operators=sorted({*host.settings.oncall_emails, *notified_emails(s)}),
                )
    except Exception:  # the database itself may be what failed: the log still says so
        log.exception("job failure could not be recorded", extra={"fields": {"job": name}})


def _failure_mail(name: str, trigger: str, error: HokanError) -> str:
    return (
        f"定期ジョブ {name} が失敗しました ({trigger})。\n"
        f"エラーコード: {error.code}\n{error.message('ja')}\n"
        f"hokan jobs history --job {name} --failed で履歴を確認してください。\n\n"
        f"The scheduled job {name} failed ({trigger}).\n"
        f"Error code: {error.code}\n{error.message('en')}\n"
        f"See 'hokan jobs history --job {name} --failed'.\n"
    )
