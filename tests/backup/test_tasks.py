"""The scheduled backup jobs (02:00 JST daily + vault, monthly on the 1st, nightly verify and
prune) run through the job runner, and each target has a monitoring probe."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hokan.backup.service import Backups
from hokan.jobs import runner, runs
from hokan.jobs.registry import Registry
from hokan.jobs.worker import WorkerHost
from hokan.kit.clock import JST
from hokan.monitoring import probes
from hokan.monitoring.probes import DOWN, UP
from hokan.runtime import Runtime


def _execute(runtime: Runtime, name: str) -> runner.Outcome:
    host = WorkerHost(runtime.settings, runtime.db, runtime.resolve)
    return runner.execute(host, Registry(runtime.settings).get(name), trigger="manual")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_jobs_are_scheduled_late_at_night_jst(runtime: Runtime) -> None:
    registry = Registry(runtime.settings)
    after = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    fire = registry.get("backup.run_daily").next_fire(after)
    assert fire is not None and (fire.astimezone(JST).hour, fire.astimezone(JST).minute) == (2, 0)
    monthly = registry.get("backup.run_monthly").next_fire(after)
    assert monthly is not None and monthly.astimezone(JST).day == 1
    for name in ("backup.verify", "backup.prune"):
        assert registry.get(name).next_fire(after) is not None


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_nightly_job_takes_daily_and_vault_then_verify_and_prune_pass(
    runtime: Runtime, backups: Backups
) -> None:
    outcome = _execute(runtime, "backup.run_daily")
    assert outcome.status == runs.OK, outcome.error
    classes = sorted(g.klass for g in backups.generations())
    assert classes == ["daily", "vault"]
    assert _execute(runtime, "backup.run_monthly").status == runs.OK
    assert [g.target for g in backups.generations(klass="monthly")] == ["remote"]
    verified = _execute(runtime, "backup.verify")
    assert verified.status == runs.OK and verified.summary["generations"] == 3
    assert _execute(runtime, "backup.prune").status == runs.OK


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_damaged_generation_fails_the_verify_job_with_its_name(
    runtime: Runtime, backups: Backups
) -> None:
    name = backups.run("daily")["generation"]
    folder = runtime.settings.resolved_backup_local_dir / name
    raw = bytearray((folder / "system.db.hbk").read_bytes())
    raw[200] ^= 0x40
    (folder / "system.db.hbk").write_bytes(bytes(raw))
    outcome = _execute(runtime, "backup.verify")
    assert outcome.status == runs.FAILED
    assert outcome.error is not None and outcome.error.code == "backup_verify_failed"
    assert outcome.error.params["generation"] == name
    assert outcome.error.params["cause"] == "backup_chunk_tampered"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_each_target_has_a_probe(runtime: Runtime, tmp_path: Path) -> None:
    host = WorkerHost(runtime.settings, runtime.db, runtime.resolve)
    results = {r.component: r for r in probes.run_all(probes.probes_for(host), 5)}
    assert results["backup_local"].status == UP
    assert results["backup_remote"].status == UP
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the target should be")
    broken = runtime.settings.model_copy(update={"backup_remote_dir": blocked})
    host = WorkerHost(broken, runtime.db, runtime.resolve)
    results = {r.component: r for r in probes.run_all(probes.probes_for(host), 5)}
    assert results["backup_remote"].status == DOWN


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_on_postgresql_without_a_backup_role_the_system_classes_are_skipped_by_name(
    runtime: Runtime,
) -> None:
    outcome = _execute(runtime, "backup.run_daily")
    assert outcome.status == runs.OK, outcome.error
    assert outcome.summary["skipped"] == "HOKAN_BACKUP_DATABASE_URL is unset on PostgreSQL"
    assert outcome.summary["vault"]["target"] == "local"  # the vault class still ran
    assert _execute(runtime, "backup.run_monthly").status == runs.SKIPPED
