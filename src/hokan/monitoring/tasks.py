"""Scheduled monitoring: the probe round (MON-1..3) and notice retries."""

from __future__ import annotations

from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.monitoring import maintenance, notices
from hokan.monitoring.prober import probe_round


def _deliver_notices(host: JobHost) -> JobResult:
    done = notices.dispatch(host.db, host.settings, host.now())
    if not any(done.values()):
        return JobResult.skipped("nothing_pending")
    return JobResult(done)


PROBE = Job(
    "monitoring.probe",
    lambda settings: f"every {settings.monitor_interval_seconds}s",
    probe_round,
    "死活監視: 全コンポーネントを確認し、台帳・障害・通知を更新 (30 秒ごと)",
    "Liveness: probe every component, update the ledger, incidents and notices",
    resilient=True,
)
DELIVER_NOTICES = Job(
    "monitoring.deliver_notices",
    "every 10s",
    _deliver_notices,
    "未送達の障害通知 (メール・Webhook) を再送し、受領を記録",
    "Retry undelivered incident notices (mail, webhook) and record receipts",
)


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

JOBS = (PROBE, DELIVER_NOTICES, MAINTENANCE_REMIND)
