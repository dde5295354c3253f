"""Scheduled monitoring: the probe round (MON-1..3), notice retries, maintenance reminders,
and the performance sample (MON-7, §1-4-1 パフォーマンス監視 週に1度): ``metrics_snapshot``
(every 5 minutes) persists this host's cumulative request counters, ``performance_sample``
(weekly) turns a week of them into latency quantiles, rates and bandwidth."""

from __future__ import annotations

import logging
import socket
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.models import PerformanceSample
from hokan.monitoring import maintenance, notices, repository, snapshots
from hokan.monitoring.host_samples import HOST_SAMPLE
from hokan.monitoring.performance import Point, Totals, performance
from hokan.monitoring.prober import probe_round

log = logging.getLogger("hokan.monitoring")

SNAPSHOT_DAYS = 35  # snapshots kept: a month of weekly samples can be recomputed
PERIOD = timedelta(days=7)


def take_snapshot(host: JobHost) -> JobResult:
    boot, data = snapshots.read(host.settings.data_dir)
    now = host.now()
    with host.db.session(write=True, system=True) as s:
        repository.add_snapshot(
            s, taken_at=now, host=socket.gethostname()[:100], boot=boot, data=data
        )
        pruned = repository.prune_snapshots(s, now - timedelta(days=SNAPSHOT_DAYS))
    return JobResult({"requests": int(data["count"]), "pruned": pruned})


def period_end(now: datetime) -> datetime:
    """The hour the sample is for: a second run in the same hour finds it taken."""
    return now.replace(minute=0, second=0, microsecond=0)


def sample_performance(host: JobHost) -> JobResult:
    end = period_end(host.now())
    start = end - PERIOD
    with host.db.session(write=True, system=True) as s:
        if repository.sample_for(s, end) is not None:
            return JobResult.skipped("already_sampled")
        rows = repository.snapshots_between(s, start, host.now())
        points = [Point(r.taken_at, r.host, r.boot, Totals.from_data(r.data)) for r in rows]
        if len(points) < 2:
            return JobResult.skipped("too_few_snapshots")
        perf = performance(points)
        try:
            with s.begin_nested():
                repository.add_sample(
                    s,
                    PerformanceSample(
                        period_start=start,
                        period_end=end,
                        computed_at=host.now(),
                        snapshots=len(points),
                        requests=perf.requests,
                        request_rate=perf.request_rate,
                        error_rate=perf.error_rate,
                        p50_ms=perf.p50_ms,
                        p95_ms=perf.p95_ms,
                        p99_ms=perf.p99_ms,
                        bytes_in_per_second=perf.bytes_in_per_second,
                        bytes_out_per_second=perf.bytes_out_per_second,
                        detail={
                            "seconds": perf.seconds,
                            "resets": perf.resets,
                            "hosts": len({p.host for p in points}),
                        },
                    ),
                )
        except IntegrityError:  # a concurrent run stored this period first
            return JobResult.skipped("already_sampled")
    log.info("performance sample", extra={"fields": {"requests": perf.requests}})
    return JobResult({"requests": perf.requests, "snapshots": len(points), "p95_ms": perf.p95_ms})


METRICS_SNAPSHOT = Job(
    "monitoring.metrics_snapshot",
    "every 5m",
    take_snapshot,
    "リクエスト計数 (遅延・件数・転送量) の累計を記録 (パフォーマンス監視)",
    "Record the cumulative request counters (latency, counts, bytes) for performance reports",
)
PERFORMANCE_SAMPLE = Job(
    "monitoring.performance_sample",
    "0 1 * * 1",  # Mondays (cron numbering; schedules.cron_weekdays translates)
    sample_performance,
    "過去7日間の性能 (p50/p95/p99・リクエスト率・エラー率・帯域) を記録 (週1回)",
    "Record the past week's performance (p50/p95/p99, request and error rates, bandwidth)",
)


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

JOBS = (
    PROBE,
    DELIVER_NOTICES,
    MAINTENANCE_REMIND,
    METRICS_SNAPSHOT,
    PERFORMANCE_SAMPLE,
    HOST_SAMPLE,
)
