"""``hokan worker``: become the leader, schedule every job, run until told to stop.

The loop never spins and never dies of a job: a database that does not answer
is retried with exponential backoff (logged with the dependency named), a job
that raises is a recorded failure (``runner``), a retry job that failed is run
again after a backoff instead of at its every tick, and SIGTERM lets running jobs
finish for ``HOKAN_WORKER_SHUTDOWN_SECONDS`` before the lock is released.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import DBAPIError, OperationalError

from hokan.jobs import runner, runs
from hokan.jobs.leader import LeaderLock
from hokan.jobs.registry import Registry, Scheduled
from hokan.kit.clock import JST, utcnow
from hokan.kit.db import Database
from hokan.kit.errors import DependencyUnavailable
from hokan.settings import Settings

log = logging.getLogger("hokan.jobs")

T = TypeVar("T")

RETRY_FIRST_SECONDS = 30
RETRY_MAX_SECONDS = 1800
DB_BACKOFF_MAX_SECONDS = 60
FIRST_RUN_MAX_SECONDS = 10

# APScheduler says "Running job …" at INFO on every run (every 5 s for mail): our own
# runner logs what matters.
logging.getLogger("apscheduler").setLevel(logging.WARNING)


class WorkerHost:
    """A job's view of the process: the runtime's settings, database and services,
    and the worker's clock (tests inject one to travel in time)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        resolve: Callable[[type[Any]], Any],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._settings, self._db, self._resolve, self._clock = settings, db, resolve, clock

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def db(self) -> Database:
        return self._db

    def resolve(self, kind: type[T]) -> T:
        found: T = self._resolve(kind)
        return found

    def now(self) -> datetime:
        return self._clock()


def retry_delay(failures: int) -> float:
    """Seconds before a failed retry job runs again: 30 s doubling to 30 min."""
    return float(min(RETRY_FIRST_SECONDS * 2 ** max(failures - 1, 0), RETRY_MAX_SECONDS))


class Worker:
    def __init__(
        self,
        host: WorkerHost,
        registry: Registry,
        lock: LeaderLock,
        *,
        poll_seconds: float,
        shutdown_seconds: float,
    ) -> None:
        self.host, self.registry, self.lock = host, registry, lock
        self.poll, self.shutdown_seconds = poll_seconds, shutdown_seconds
        self._stop = threading.Event()
        self._leading = threading.Event()
        self._idle = threading.Condition()
        self._running = 0
        self._not_before: dict[str, datetime] = {}
        self._failures: dict[str, int] = {}
        self._scheduler: BackgroundScheduler | None = None

    # -- the process loop ---------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    @property
    def leading(self) -> bool:
        return self._leading.is_set()

    def run(self) -> None:
        """Block until :meth:`stop`: stand by, lead when the lock is free, step down when lost."""
        backoff = 1.0
        while not self._stop.is_set():
            try:
                if self.lock.acquire():
                    backoff = 1.0
                    self._lead()
                else:
                    self._stop.wait(self.poll)
                    backoff = 1.0
            except (OperationalError, DBAPIError, DependencyUnavailable, OSError) as exc:
                log.warning(
                    "worker: database unreachable, retrying",
                    extra={
                        "fields": {
                            "dependency": "database",
                            "exc_type": type(exc).__name__,
                            "retry_in_s": backoff,
                        }
                    },
                )
                self._stop.wait(backoff)
                backoff = min(backoff * 2, DB_BACKOFF_MAX_SECONDS)

    def _lead(self) -> None:
        log.info("worker: leader", extra={"fields": {"worker": runner.WORKER_ID}})
        scheduler = BackgroundScheduler(
            timezone=JST,
            executors={"default": ThreadPoolExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        self._scheduler = scheduler
        now = self.host.now()
        with self.host.db.session(system=True) as s:
            last = runs.last_started(s)
        for sc in self.registry:
            if sc.trigger is None:
                continue
            first: datetime | None = None
            if sc.missed(last.get(sc.name), now):
                self._once(sc, "catch_up")  # a daily control whose time passed while down
            elif isinstance(sc.trigger, IntervalTrigger):
                # Interval jobs start soon, not at once: a worker started with
                # 'hokan serve' lets the server come up before the first probe.
                seconds = min(sc.trigger.interval.total_seconds(), FIRST_RUN_MAX_SECONDS)
                first = datetime.now(JST) + timedelta(seconds=seconds)
            scheduler.add_job(
                self._fire,
                sc.trigger,
                args=(sc, "schedule"),
                id=sc.name,
                name=sc.name,
                next_run_time=first or sc.trigger.get_next_fire_time(None, datetime.now(JST)),
            )
        scheduler.start()
        self._leading.set()
        try:
            while not self._stop.wait(self.poll):
                if not self.lock.held():
                    break
        finally:
            self._leading.clear()
            scheduler.shutdown(wait=False)
            self._wait_idle(self.shutdown_seconds)
            self._scheduler = None
            self.lock.release()
            log.info("worker: stepped down")

    # -- running jobs -------------------------------------------------------------

    def _once(self, sc: Scheduled, trigger: str, delay: float = 0.0) -> None:
        scheduler = self._scheduler
        if scheduler is None:
            return
        when = datetime.now(JST) + timedelta(seconds=delay)
        scheduler.add_job(
            self._fire,
            "date",
            run_date=when,
            args=(sc, trigger),
            id=f"{sc.name}#{trigger}",
            name=sc.name,
            replace_existing=True,
        )

    def _fire(self, sc: Scheduled, trigger: str) -> None:
        if self._stop.is_set():
            return
        held_off = self._not_before.get(sc.name)
        if trigger == "schedule" and held_off is not None and datetime.now(JST) < held_off:
            return  # a failed retry job waits for its backoff, not its every tick
        with self._idle:
            self._running += 1
        try:
            outcome = runner.execute(self.host, sc, trigger=trigger)
        except Exception as exc:  # the database went away under the run: logged, next tick
            log.warning(
                "worker: job could not be recorded",
                extra={"fields": {"job": sc.name, "exc_type": type(exc).__name__}},
            )
            return
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()
        if outcome.status == runs.FAILED and sc.job.retry:
            failures = self._failures[sc.name] = self._failures.get(sc.name, 0) + 1
            delay = retry_delay(failures)
            self._not_before[sc.name] = datetime.now(JST) + timedelta(seconds=delay)
            self._once(sc, "retry", delay)
        elif outcome.status != runs.FAILED:
            self._failures.pop(sc.name, None)
            self._not_before.pop(sc.name, None)

    def _wait_idle(self, seconds: float) -> None:
        with self._idle:
            if not self._idle.wait_for(lambda: self._running == 0, timeout=seconds):
                log.warning(
                    "worker: jobs still running at shutdown",
                    extra={"fields": {"running": self._running}},
                )

    @property
    def running(self) -> int:
        return self._running
