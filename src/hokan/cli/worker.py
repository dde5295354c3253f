"""``hokan worker`` and ``hokan jobs``: the scheduled controls (ADR 0017)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType

import typer

from hokan.cli._common import echo_json, english, group, runtime
from hokan.jobs import runner, runs
from hokan.jobs.leader import lock_for
from hokan.jobs.registry import Registry
from hokan.jobs.worker import Worker, WorkerHost
from hokan.kit.clock import to_jst, utcnow
from hokan.kit.logging import configure_logging
from hokan.runtime import Runtime

app = group("Scheduled jobs: list, history, run one now.")


PROBER_JOBS = ("monitoring.probe",)


def make_worker(
    rt: Runtime, clock: Callable[[], datetime] = utcnow, *, prober_only: bool = False
) -> Worker:
    """The worker over this runtime (schedules validated here: a bad one stops start-up).

    ``prober_only``: a second location's prober — only the probe job, under a lock of
    its own, so it runs beside the leader rather than standing by for it.
    """
    s = rt.settings
    registry = Registry(s)
    lock = lock_for(rt.db.engine, s.data_dir)
    if prober_only:
        registry = Registry(s, tuple(registry.get(name).job for name in PROBER_JOBS))
        lock = lock_for(rt.db.engine, s.data_dir, f"prober-{s.monitor_location}")
    return Worker(
        WorkerHost(s, rt.db, rt.resolve, clock),
        registry,
        lock,
        poll_seconds=s.worker_lock_poll_seconds,
        shutdown_seconds=s.worker_shutdown_seconds,
    )


def start_in_background(rt: Runtime) -> Worker:
    """The worker on a daemon thread, for ``hokan serve`` (``make run``); stop() ends it."""
    worker = make_worker(rt)
    threading.Thread(target=worker.run, name="hokan-worker", daemon=True).start()
    return worker


def worker(
    prober_only: bool = typer.Option(
        False, "--prober-only", help="Only probe (a second location confirming outages)"
    ),
    location: str = typer.Option(
        None, help="This prober's location (default HOKAN_MONITOR_LOCATION)"
    ),
) -> None:
    """Run the scheduled controls: one leader runs the jobs, others stand by (SIGTERM stops)."""
    if location is not None:
        os.environ["HOKAN_MONITOR_LOCATION"] = location
    with runtime() as rt:
        configure_logging(rt.settings.log_level, rt.settings.log_format.value)
        w = make_worker(rt, prober_only=prober_only)

        def stop(signum: int, frame: FrameType | None) -> None:
            w.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        w.run()


@app.command("list")
def list_() -> None:
    """Every job with its schedule, next fire time (JST) and last run."""
    with runtime() as rt:
        registry = Registry(rt.settings)
        now = utcnow()
        with rt.db.session(system=True) as s:
            started = runs.last_started(s)
            succeeded = runs.last_finished(s, runs.OK)
        lang = "en" if english() else "ja"
        echo_json(
            [
                {
                    "job": sc.name,
                    "schedule": sc.schedule,
                    "next_run": _jst(sc.next_fire(now)),
                    "last_started": _jst(started.get(sc.name)),
                    "last_success": _jst(succeeded.get(sc.name)),
                    "description": sc.job.describe(lang),
                }
                for sc in registry
            ]
        )


@app.command("history")
def history(
    job: str = typer.Option(None, "--job", help="Only this job"),
    failed: bool = typer.Option(False, "--failed", help="Only failed runs"),
    limit: int = typer.Option(50, min=1, max=10_000),
) -> None:
    """Recorded runs, newest first."""
    with runtime() as rt:
        if job is not None:
            Registry(rt.settings).get(job)  # an unknown name is an error that lists the names
        with rt.db.session(system=True) as s:
            rows = runs.history(s, job, failed_only=failed, limit=limit)
            echo_json([runs.run_json(r) for r in rows])


@app.command("run")
def run(name: str) -> None:
    """Run one job now, through the same code path as the scheduler (recorded as 'manual')."""
    with runtime() as rt:
        sc = Registry(rt.settings).get(name)
        outcome = runner.execute(WorkerHost(rt.settings, rt.db, rt.resolve), sc, trigger="manual")
        echo_json(outcome.as_json())
        if outcome.status == runs.FAILED:
            raise typer.Exit(1)


def _jst(moment: datetime | None) -> str | None:
    return to_jst(moment).isoformat() if moment is not None else None
