"""Automatic backups: an ``upgrade`` generation before ``hokan db upgrade`` applies a
migration (no migration when it fails, unless --no-backup — audited), and a
``maintenance`` generation once when a maintenance window starts."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from hokan import migrations
from hokan.backup.service import Backups
from hokan.cli import app
from hokan.jobs import runner, runs
from hokan.jobs.registry import Registry
from hokan.jobs.worker import WorkerHost
from hokan.kit.clock import utcnow
from hokan.models import AuditEvent, BackupWindowRun, MaintenanceWindow
from hokan.runtime import Runtime
from hokan.settings import Settings

Cli = Callable[..., Result]


def _execute(runtime: Runtime, name: str) -> runner.Outcome:
    host = WorkerHost(runtime.settings, runtime.db, runtime.resolve)
    return runner.execute(host, Registry(runtime.settings).get(name), trigger="manual")


def _window(runtime: Runtime, *, starts: timedelta, cancelled: bool = False) -> MaintenanceWindow:
    now = utcnow()
    with runtime.db.session(write=True, system=True) as s:
        row = MaintenanceWindow(
            starts_at=now + starts,
            ends_at=now + starts + timedelta(hours=2),
            reason_ja="ストレージ交換",
            announced_at=now - timedelta(days=15),
            cancelled_at=now if cancelled else None,
        )
        s.add(row)
        s.flush()
        s.expunge(row)
    return row


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_maintenance_backup_is_taken_once_when_a_window_starts(
    runtime: Runtime, backups: Backups
) -> None:
    _window(runtime, starts=timedelta(hours=1))  # not started yet
    _window(runtime, starts=timedelta(minutes=-5), cancelled=True)
    assert _execute(runtime, "backup.run_maintenance").status == runs.SKIPPED
    started = _window(runtime, starts=timedelta(minutes=-1))
    outcome = _execute(runtime, "backup.run_maintenance")
    assert outcome.status == runs.OK, outcome.error
    assert outcome.summary["windows"] == [str(started.id)]
    [g] = backups.generations(klass="maintenance")
    assert g.expires_at is not None and g.expires_at - g.created_at == timedelta(days=7)
    assert _execute(runtime, "backup.run_maintenance").status == runs.SKIPPED  # once
    with runtime.db.session(system=True) as s:
        [taken] = s.scalars(select(BackupWindowRun)).all()
    assert taken.generation == g.name


@pytest.fixture
def cli(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HOKAN_")}
    env |= {
        "HOKAN_DATA_DIR": str(settings.data_dir),
        "HOKAN_MASTER_KEY": settings.master_key.get_secret_value() if settings.master_key else "",
        "HOKAN_LOG_LEVEL": "WARNING",
        "LANG": "en_US.UTF-8",
        "LC_ALL": "",
        "LC_MESSAGES": "",
    }

    def run(*args: str, **extra: str) -> Result:
        return CliRunner().invoke(app, list(args), env={**env, **extra})

    return run


def _behind(runtime: Runtime) -> str:
    """The system database one migration behind the code; its revision."""
    config = migrations.alembic_config("system", runtime.db.engine)
    command.downgrade(config, "-1")
    behind = migrations.current("system", runtime.db.engine)
    assert behind is not None and behind != migrations.head("system")
    return behind


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_db_upgrade_takes_an_upgrade_backup_first(
    cli: Cli, runtime: Runtime, backups: Backups
) -> None:
    r = cli("db", "upgrade")
    assert r.exit_code == 0 and "upgrade backup" not in r.stdout  # nothing pending: no backup
    _behind(runtime)
    r = cli("db", "upgrade")
    assert r.exit_code == 0, r.output
    assert "upgrade backup: " in r.stdout
    [g] = backups.generations(klass="upgrade")
    assert g.name in r.stdout
    assert migrations.current("system", runtime.db.engine) == migrations.head("system")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_db_upgrade_refuses_when_the_backup_fails_unless_told_and_audits_that(
    cli: Cli, runtime: Runtime, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the target should be")
    behind = _behind(runtime)
    r = cli("db", "upgrade", HOKAN_BACKUP_LOCAL_DIR=str(blocked))
    assert r.exit_code == 1 and "not migrated" in r.stderr
    assert "backup_target_unavailable" in r.stderr
    assert migrations.current("system", runtime.db.engine) == behind
    r = cli("db", "upgrade", "--no-backup", HOKAN_BACKUP_LOCAL_DIR=str(blocked))
    assert r.exit_code == 0, r.output
    assert "skipped (--no-backup" in r.stdout
    assert migrations.current("system", runtime.db.engine) == migrations.head("system")
    with runtime.db.session(system=True) as s:
        [entry] = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "db.upgrade_without_backup")
        ).all()
    assert f"system:{behind}->" in json.dumps(entry.detail)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_on_postgresql_without_a_backup_role_the_upgrade_is_refused_by_name(
    runtime: Runtime,
) -> None:
    from hokan.backup import automatic, errors
    from hokan.models import Incident
    from hokan.principals.principal import SYSTEM

    service = Backups(runtime.settings, runtime.keyring, runtime.blobs, runtime.db)
    with pytest.raises(errors.SnapshotFailed) as caught:
        automatic.before_upgrade(service, SYSTEM, pending=["system:a->b"], skip=False)
    assert caught.value.reason == "unconfigured"
    assert "HOKAN_BACKUP_DATABASE_URL" in caught.value.message("en")
    with runtime.db.session(system=True) as s:
        [incident] = s.scalars(select(Incident)).all()
    assert incident.title_en == "Pre-upgrade backup failed"
    assert automatic.before_upgrade(service, SYSTEM, pending=[], skip=False) is None
