"""Scheduled monitoring jobs (MON-7, §1-4-1 パフォーマンス監視 週に1度).

``monitoring.metrics_snapshot`` (every 5 minutes) persists this host's cumulative
request counters; ``monitoring.performance_sample`` (weekly, Monday 01:00 JST)
turns the past seven days of snapshots into one row of latency quantiles, request
and error rates and bandwidth for the weekly operations report.
"""

from __future__ import annotations

import logging
import socket
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.models import PerformanceSample
from hokan.monitoring import repository, snapshots
from hokan.monitoring.performance import Point, Totals, performance

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
    "0 1 * * mon",  # a name: APScheduler 3 numbers weekdays from Monday=0, cron from Sunday=0
    sample_performance,
    "過去7日間の性能 (p50/p95/p99・リクエスト率・エラー率・帯域) を記録 (週1回)",
    "Record the past week's performance (p50/p95/p99, request and error rates, bandwidth)",
)

JOBS = (METRICS_SNAPSHOT, PERFORMANCE_SAMPLE)
