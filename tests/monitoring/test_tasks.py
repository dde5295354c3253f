"""The monitoring jobs through the worker's one code path (``runner.execute``)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from hokan.cli import app as cli_app
from hokan.jobs import runner
from hokan.jobs.registry import Registry
from hokan.jobs.worker import WorkerHost
from hokan.kit import metrics
from hokan.models import JobRun, MetricsSnapshot, PerformanceSample
from hokan.monitoring import repository, snapshots
from hokan.monitoring.performance import snapshot_data
from hokan.runtime import Runtime

MONDAY_1AM_JST = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # Mon 30 Nov 01:00 JST


def run_job(runtime: Runtime, name: str, now: datetime | None = None) -> runner.Outcome:
    clock = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
    host = WorkerHost(runtime.settings, runtime.db, runtime.resolve, clock)
    return runner.execute(host, Registry(runtime.settings).get(name), trigger="manual")


def test_both_jobs_are_registered_with_their_schedules(runtime: Runtime) -> None:
    registry = Registry(runtime.settings)
    assert registry.get("monitoring.metrics_snapshot").schedule == "every 5m"
    weekly = registry.get("monitoring.performance_sample")
    assert weekly.schedule == "0 1 * * 1"  # cron numbering: 1 is Monday
    for days in (1, 2, 6):  # Monday 01:00 JST, whichever day of the week before
        assert weekly.next_fire(MONDAY_1AM_JST - timedelta(days=days)) == MONDAY_1AM_JST


def test_snapshot_persists_this_process_request_counters(
    runtime: Runtime, client: TestClient
) -> None:
    for _ in range(3):
        client.get("/healthz")
    outcome = run_job(runtime, "monitoring.metrics_snapshot")
    assert outcome.status == "ok", outcome
    with runtime.db.session(system=True) as s:
        row = s.scalars(select(MetricsSnapshot)).one()
        run = s.scalars(select(JobRun).where(JobRun.job == "monitoring.metrics_snapshot")).one()
    assert run.status == "ok"
    assert row.boot.startswith("pid:")
    assert row.data["count"] >= 3 and row.data["buckets"]["+Inf"] == row.data["count"]
    assert row.data["status"]["2xx"] >= 3
    assert not any(key in json.dumps(row.data) for key in ("/healthz", "127.0.0.1"))  # totals only


def _snapshot(runtime: Runtime, at: datetime, count: int, boot: str, errors: int = 0) -> None:
    data = snapshot_data(
        {0.01: count * 0.5, 0.1: count * 0.9, float("inf"): count},
        count=count,
        total_seconds=count * 0.02,
        status={"2xx": count - errors, "5xx": errors},
        bytes_in=count * 100,
        bytes_out=count * 1000,
    )
    with runtime.db.session(write=True, system=True) as s:
        repository.add_snapshot(s, taken_at=at, host="h1", boot=boot, data=data)


def test_weekly_sample_from_snapshots_with_a_restart(runtime: Runtime) -> None:
    start = MONDAY_1AM_JST - timedelta(days=7)
    _snapshot(runtime, start - timedelta(days=1), 99_999, "old")  # outside the week
    _snapshot(runtime, start + timedelta(minutes=5), 0, "a")
    _snapshot(runtime, start + timedelta(days=3), 1000, "a", errors=10)
    _snapshot(runtime, start + timedelta(days=3, minutes=5), 200, "b", errors=0)  # restarted
    _snapshot(runtime, MONDAY_1AM_JST - timedelta(minutes=5), 600, "b", errors=2)

    outcome = run_job(
        runtime, "monitoring.performance_sample", MONDAY_1AM_JST + timedelta(seconds=3)
    )
    assert outcome.status == "ok", outcome
    with runtime.db.session(system=True) as s:
        sample = s.scalars(select(PerformanceSample)).one()
    assert sample.requests == 1000 + 200 + 400
    assert sample.error_rate == pytest.approx(12 / 1600)
    assert sample.period_end == MONDAY_1AM_JST
    assert sample.period_start == MONDAY_1AM_JST - timedelta(days=7)
    assert sample.p50_ms == pytest.approx(10.0)
    assert sample.p50_ms <= sample.p95_ms <= sample.p99_ms  # type: ignore[operator]
    assert sample.detail["resets"] == 1 and sample.snapshots == 4
    assert sample.bytes_out_per_second > sample.bytes_in_per_second > 0

    again = run_job(runtime, "monitoring.performance_sample", MONDAY_1AM_JST + timedelta(minutes=9))
    assert again.status == "skipped" and again.summary == {"reason": "already_sampled"}

    shown = CliRunner().invoke(
        cli_app,
        ["monitoring", "performance"],
        env={
            "HOKAN_DATA_DIR": str(runtime.settings.data_dir),
            "HOKAN_DATABASE_URL": runtime.settings.resolved_database_url,
            "HOKAN_KEYRING_DATABASE_URL": runtime.settings.resolved_keyring_url,
            "HOKAN_VAULT_STORE_URLS": runtime.settings.vault_store_urls,
            "HOKAN_MASTER_KEY": runtime.settings.master_key.get_secret_value()
            if runtime.settings.master_key
            else "",
        },
    )
    assert shown.exit_code == 0, shown.output
    [row] = json.loads(shown.stdout)
    assert row["requests"] == 1600 and row["period_end"].startswith("2026-11-30T01:00:00+09:00")


def test_weekly_sample_without_snapshots_is_skipped(runtime: Runtime) -> None:
    outcome = run_job(runtime, "monitoring.performance_sample", MONDAY_1AM_JST)
    assert outcome.status == "skipped"
    assert outcome.summary == {"reason": "too_few_snapshots"}


def test_old_snapshots_are_pruned(runtime: Runtime) -> None:
    _snapshot(runtime, datetime.now(UTC) - timedelta(days=40), 1, "x")
    assert run_job(runtime, "monitoring.metrics_snapshot").summary["pruned"] == 1


WRITER = """
import sys
from hokan.kit import metrics
for _ in range(int(sys.argv[1])):
    metrics.HTTP_LATENCY.labels("/healthz", "GET", "2xx").observe(0.003)
    metrics.HTTP_REQUESTS.labels("/healthz", "GET", "2xx").inc()
"""


def test_snapshot_reads_the_multiprocess_directory_of_a_multi_worker_serve(
    tmp_path: Path,
) -> None:
    """A separate ``hokan worker`` sees what two ``hokan serve`` workers counted."""
    data_dir = tmp_path / "data"
    directory = snapshots.shared_dir(data_dir)
    directory.mkdir(parents=True)
    (directory / snapshots.BOOT_FILE).write_text("boot1")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "PYTHONPATH": str(Path("src").resolve())}
    for n in ("3", "4"):  # two worker processes, as uvicorn would start them
        subprocess.run([sys.executable, "-c", WRITER, n], env=env, check=True, timeout=60)
    assert metrics.multiprocess_dir() is None  # this process is not in multiprocess mode
    boot, data = snapshots.read(data_dir)
    assert boot == "mp:boot1"
    assert data["count"] == 7 and data["buckets"]["0.005"] == 7
    assert data["status"] == {"2xx": 7}
    # A single-worker serve discards the directory: no stale counters are read again.
    snapshots.prepare(data_dir, 1)
    assert not directory.exists()
    assert snapshots.read(data_dir)[0].startswith("pid:")


def test_operations_tables_are_invisible_to_tenant_scopes(runtime: Runtime) -> None:
    if runtime.db.dialect != "postgresql":
        pytest.skip("row-level security is a PostgreSQL feature")
    _snapshot(runtime, datetime.now(UTC), 10, "a")
    with runtime.db.session(tenant=uuid.uuid4()) as s:
        assert s.scalars(select(MetricsSnapshot)).all() == []
        assert s.scalars(select(PerformanceSample)).all() == []
    with runtime.db.session(system=True) as s:
        assert len(s.scalars(select(MetricsSnapshot)).all()) == 1
