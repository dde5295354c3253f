"""The worker's own housekeeping: job history is kept, then thinned.

Every run is recorded, including the "nothing to do" runs of the every-few-seconds
jobs (mail delivery); those are kept a week, all other runs
``HOKAN_JOB_HISTORY_DAYS`` (default 400, more than a year of daily audits).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_

from hokan.jobs import runs
from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.models import JobRun

SKIPPED_KEPT = timedelta(days=7)


def _prune_history(host: JobHost) -> JobResult:
    now = host.now()
    kept = timedelta(days=host.settings.job_history_days)
    with host.db.session(write=True, system=True) as s:
        gone = s.execute(
            delete(JobRun).where(
                JobRun.status != runs.RUNNING,
                or_(
                    JobRun.started_at < now - kept,
                    (JobRun.status == runs.SKIPPED) & (JobRun.started_at < now - SKIPPED_KEPT),
                ),
            )
        )
    return JobResult({"deleted": int(getattr(gone, "rowcount", 0) or 0)})


PRUNE_HISTORY = Job(
    "jobs.prune_history",
    "15 3 * * *",
    _prune_history,
    "ジョブ履歴の整理: 実行不要だった回は 7 日、それ以外は HOKAN_JOB_HISTORY_DAYS 保持",
    "Thin job history: no-op runs kept 7 days, the rest HOKAN_JOB_HISTORY_DAYS",
)

JOBS = (PRUNE_HISTORY,)
