"""Failures of backups, verification and pruning: an incident (the monitoring package's)
and a notice to the on-call operators — tenants are not told, availability is not
charged — never a "successful" record; a second failure updates the same incident and
the next success resolves it. Two runs at once: the second waits, then proceeds."""

from __future__ import annotations

import errno
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from hokan.backup import errors, targets
from hokan.backup.service import Backups
from hokan.jobs import runner, runs
from hokan.jobs.registry import Registry
from hokan.jobs.worker import WorkerHost
from hokan.kit.clock import utcnow
from hokan.models import AuditEvent, Incident, IncidentUpdate, JobRun, MailMessage
from hokan.monitoring import status_page
from hokan.runtime import Runtime
from hokan.settings import Settings


def _execute(runtime: Runtime, settings: Settings, name: str) -> runner.Outcome:
    host = WorkerHost(settings, runtime.db, runtime.resolve)
    return runner.execute(host, Registry(settings).get(name), trigger="manual")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_unreachable_target_opens_one_incident_until_a_run_succeeds(
    runtime: Runtime, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the target should be")
    broken = runtime.settings.model_copy(
        update={"backup_local_dir": blocked, "oncall_emails": ["oncall@example.jp"]}
    )
    outcome = _execute(runtime, broken, "backup.run_daily")
    assert outcome.status == runs.FAILED
    assert outcome.error is not None and outcome.error.code == "backup_target_unavailable"
    assert _execute(runtime, broken, "backup.run_daily").status == runs.FAILED
    with runtime.db.session(system=True) as s:
        [incident] = s.scalars(select(Incident)).all()
        updates = s.scalars(select(IncidentUpdate.kind)).all()
        mails = s.scalars(select(MailMessage).where(MailMessage.kind == "ops.incident")).all()
        job_runs = s.scalars(select(JobRun.status).where(JobRun.job == "backup.run_daily")).all()
        successes = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "backup.run", AuditEvent.result == "success"
            )
        ).all()
    assert incident.origin == "backup" and incident.status == "open"
    assert incident.functions == ["backups"] and incident.components == ["backup_local"]
    assert incident.tenant_ids == [] and incident.counts_as_outage is False
    assert sorted(updates) == ["detected", "update"]
    assert len(mails) == 2 and all(m.recipients == ["oncall@example.jp"] for m in mails)
    assert all(m.tenant_id is None for m in mails)  # no tenant is told
    assert "backup_target_unavailable" not in mails[0].subject
    # Operators see it; the public status page does not (no customer is affected).
    with runtime.db.session(system=True) as s:
        assert status_page._incidents(s, utcnow()) == []
    assert list(job_runs) == [runs.FAILED, runs.FAILED] and successes == []

    fixed = broken.model_copy(update={"backup_local_dir": tmp_path / "local"})
    assert _execute(runtime, fixed, "backup.run_daily").status == runs.OK
    with runtime.db.session(system=True) as s:
        [incident] = s.scalars(select(Incident)).all()
    assert incident.status == "resolved" and incident.resolved_at is not None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_full_target_leaves_no_generation_and_no_success(
    runtime: Runtime, backups: Backups, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(targets.os, "fsync", full)  # the disk fills while a file is written
    settings = backups.settings
    outcome = _execute(runtime, settings, "backup.run_daily")
    assert outcome.status == runs.FAILED
    assert backups.generations() == []
    assert not any((settings.resolved_backup_local_dir / ".incomplete").iterdir())
    with runtime.db.session(system=True) as s:
        [incident] = s.scalars(select(Incident)).all()
        results = s.scalars(select(AuditEvent.result).where(AuditEvent.action == "backup.run"))
        assert set(results) == {"error"}
    assert incident.title_en == "Backup failed"
    assert outcome.error is not None and outcome.error.code == "backup_target_full"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_failed_verification_opens_its_own_incident(runtime: Runtime, backups: Backups) -> None:
    name = backups.run("vault")["generation"]
    path = backups.settings.resolved_backup_local_dir / name / "keyring.db.hbk"
    path.write_bytes(path.read_bytes() + b"x")
    outcome = _execute(runtime, backups.settings, "backup.verify")
    assert outcome.status == runs.FAILED and outcome.error is not None
    assert outcome.error.params["generation"] == name
    with runtime.db.session(system=True) as s:
        [incident] = s.scalars(select(Incident)).all()
    assert incident.title_en == "Backup verification failed"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_second_run_waits_for_the_first_when_told_to(backups: Backups) -> None:
    patient = Backups(
        backups.settings.model_copy(update={"backup_lock_wait_seconds": 30}),
        backups.keyring,
        backups.blobs,
        backups.db,
    )
    held = threading.Event()

    def hold() -> None:
        with patient.target("local").lock():
            held.set()
            time.sleep(1.0)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    started = time.monotonic()
    done = patient.run("vault")
    holder.join()
    assert time.monotonic() - started >= 0.5  # it waited for the holder
    assert done["generation"] in {g.name for g in patient.generations()}
    with backups.target("local").lock(), pytest.raises(errors.BackupRunning):
        backups.run("vault")  # without a wait the second run is refused


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_two_nights_without_a_backup_open_an_incident(runtime: Runtime, backups: Backups) -> None:
    from datetime import timedelta

    long_ago = backups.clock() - timedelta(days=3)
    backups.run("daily", now=long_ago)
    backups.run("vault", now=long_ago)
    outcome = _execute(runtime, backups.settings, "backup.verify")
    assert outcome.status == runs.FAILED
    assert outcome.error is not None and outcome.error.code == "backup_stale"
    assert outcome.error.params["klass"] == "daily"
    with runtime.db.session(system=True) as s:
        [incident] = s.scalars(select(Incident)).all()
    assert incident.title_en == "Nightly backups are missing" and incident.status == "open"
    assert _execute(runtime, backups.settings, "backup.run_daily").status == runs.OK
    assert _execute(runtime, backups.settings, "backup.verify").status == runs.OK
    with runtime.db.session(system=True) as s:
        [incident] = s.scalars(select(Incident)).all()
    assert incident.status == "resolved"
