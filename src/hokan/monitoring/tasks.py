"""Monitoring's scheduled jobs."""

from __future__ import annotations

from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.monitoring import maintenance


def _remind(host: JobHost) -> JobResult:
    with host.db.session(write=True, system=True) as s:
        windows, messages = maintenance.send_reminders(s, host.now())
    if not windows:
        return JobResult.skipped("nothing_due")
    return JobResult({"windows": windows, "messages": messages})


MAINTENANCE_REMIND = Job(
    "monitoring.maintenance_remind",
    "every 10m",
    _remind,
    "翌日に始まるメンテナンスを影響するテナントの連絡先へ再通知 (1回だけ)",
    "Remind the affected tenants' contacts of maintenance starting within a day (once)",
)

JOBS = (MAINTENANCE_REMIND,)
