# ruff: noqa: F811  (pytest injects the imported fixture by parameter name)
"""The worker in-process: every job runs after one scheduler tick; a failing retry job
backs off instead of running at every tick; checkpoints are signed on their own."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from hokan.audit import service as audit
from hokan.cli.worker import make_worker
from hokan.jobs import runs
from hokan.jobs.registry import Registry
from hokan.jobs.worker import Worker
from hokan.models import AuditCheckpoint, JobRun
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.clock.conftest import ntp_server  # noqa: F401  (the fixture)
from tests.conftest import wait_until
from tests.identity.test_lock_notice import Inbox, smtp_server  # noqa: F401  (the fixture)


@contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: worker.leading, 20), "the worker did not lead"
        yield worker
    finally:
        worker.stop()
        thread.join(timeout=30)
        assert not thread.is_alive()


def _every_second(settings: Settings) -> dict[str, str]:
    return {sc.name: "every 1s" for sc in Registry(settings)}


def test_every_job_has_a_run_recorded_after_one_tick(
    settings_factory: Callable[..., Settings], ntp_server: Callable[..., Any]
) -> None:
    base = settings_factory()
    rt = Runtime(
        settings_factory(
            job_schedules=_every_second(base),
            worker_lock_poll_seconds=1,
            ntp_servers=ntp_server().address,  # no internet here: the clock check asks loopback
        )
    )
    rt.keyring.verify_master(initialise=True)
    try:
        names = {sc.name for sc in Registry(rt.settings)}

        def all_ran() -> bool:
            with rt.db.session(system=True) as s:
                return (
                    set(runs.last_finished(s, runs.OK)) | set(runs.last_finished(s, runs.SKIPPED))
                    >= names
                )

        with running(make_worker(rt)):
            assert wait_until(all_ran, 30), "some job never ran"
        with rt.db.session(system=True) as s:
            failed = s.scalars(select(JobRun).where(JobRun.status == runs.FAILED)).all()
            still = s.scalars(select(JobRun).where(JobRun.status == runs.RUNNING)).all()
        assert failed == [] and still == []  # and SIGTERM-style stop let runs finish
    finally:
        rt.close()


def test_checkpoints_are_signed_on_their_own(settings_factory: Callable[..., Settings]) -> None:
    schedules = dict.fromkeys(_every_second(settings_factory()), "off")
    schedules["audit.checkpoint"] = "every 1s"
    rt = Runtime(settings_factory(job_schedules=schedules, worker_lock_poll_seconds=1))
    rt.keyring.verify_master(initialise=True)
    try:
        with running(make_worker(rt)):
            for _ in range(2):
                with rt.db.session(write=True, system=True) as s:
                    before = s.scalar(
                        select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq.desc()).limit(1)
                    )
                    audit.record(s, SYSTEM, "test.append", "test")

                def signed(floor: int | None = before) -> bool:
                    with rt.db.session(system=True) as s:
                        top = s.scalar(
                            select(AuditCheckpoint.seq)
                            .order_by(AuditCheckpoint.seq.desc())
                            .limit(1)
                        )
                    return top is not None and (floor is None or top > floor)

                assert wait_until(signed, 20), "no checkpoint covered the new entry"
    finally:
        rt.close()


def test_a_notice_reaches_smtp_within_ten_seconds_of_enqueue(
    settings_factory: Callable[..., Settings], smtp_server: tuple[str, Inbox]
) -> None:
    import time

    from hokan.tenants.notices import notify

    url, inbox = smtp_server
    schedules = dict.fromkeys(_every_second(settings_factory()), "off")
    schedules["mail.deliver"] = Registry(settings_factory()).get("mail.deliver").schedule  # default
    rt = Runtime(
        settings_factory(
            job_schedules=schedules,
            worker_lock_poll_seconds=1,
            smtp_url=url,
            oncall_emails=["oncall@hokan.example"],
        )
    )
    rt.keyring.verify_master(initialise=True)
    try:
        with running(make_worker(rt)):
            with rt.db.session(write=True, system=True) as s:
                notify(
                    s,
                    "job.failed",
                    tenant=None,
                    subject="test",
                    body="test",
                    operators=["oncall@hokan.example"],
                )
            queued = time.monotonic()
            assert wait_until(lambda: bool(inbox.messages), 15)
            assert time.monotonic() - queued <= 10
    finally:
        rt.close()
