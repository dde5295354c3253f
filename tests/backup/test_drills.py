"""Restore drills (BAK-3): a random generation and tenant restored into a scratch area, row
counts compared with the manifest, audit chains verified, records and vault entries
decrypted, the RTO recorded; a failed drill fails its job and opens an incident."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from hokan.backup import drills, errors
from hokan.backup.service import Backups
from hokan.jobs import runner, runs
from hokan.jobs.registry import Registry
from hokan.jobs.worker import WorkerHost
from hokan.models import BackupDrill, Incident
from hokan.runtime import Runtime
from tests.conftest import TenantHandle


def _execute(runtime: Runtime, name: str) -> runner.Outcome:
    host = WorkerHost(runtime.settings, runtime.db, runtime.resolve)
    return runner.execute(host, Registry(runtime.settings).get(name), trigger="manual")


def _vault_number(client: TestClient, t: TenantHandle) -> None:
    client.put("/api/v1/collections/staff/records/v1", json={"n": 1}, headers=t.headers)
    r = client.post(
        "/api/v1/vault/numbers",
        json={"number": "621498320257", "record_id": "v1"},
        headers=t.headers,
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_drill_restores_checks_and_records_its_rto(
    runtime: Runtime,
    backups: Backups,
    client: TestClient,
    make_tenant: object,
    populated: dict[str, dict[str, object]],
    tmp_path: Path,
) -> None:
    t = make_tenant()  # type: ignore[operator]
    _vault_number(client, t)
    backups.settings = backups.settings.model_copy(
        update={"backup_drill_scratch_dir": tmp_path / "scratch"}
    )
    daily = backups.run("daily")["generation"]
    vault = backups.run("vault")["generation"]
    shown = drills.run(backups, rng=random.Random(1))
    assert shown["status"] == "passed", shown
    assert shown["generation"] == daily and shown["rto_seconds"] > 0
    checks = shown["result"]["checks"]
    assert checks["rows"]["ok"] and checks["rows"]["differ"] == []
    assert checks["audit"]["ok"] and checks["audit"]["chains"] >= 2
    assert checks["audit"]["heads_differ"] == []
    assert shown["tenant"] is not None
    assert checks["tenant_rows"]["ok"] and checks["tenant_rows"]["rows"] > 0
    if shown["tenant"] == t.tenant.code:
        assert checks["vault"]["generation"] == vault
        assert checks["vault"]["decrypted"] == 1
    else:
        assert checks["records"]["decrypted"] == 5
    assert list((tmp_path / "scratch").iterdir()) == []  # the scratch area is removed
    with runtime.db.session(system=True) as s:
        [row] = s.scalars(select(BackupDrill)).all()
    assert row.status == "passed" and row.seconds is not None and row.seconds > 0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_every_tenant_drill_decrypts_its_own_vault_entry(
    runtime: Runtime,
    backups: Backups,
    client: TestClient,
    make_tenant: object,
) -> None:
    t = make_tenant()  # type: ignore[operator]
    _vault_number(client, t)
    backups.run("daily")
    backups.run("vault")
    shown = drills.run(backups, rng=random.Random(0))
    assert shown["tenant"] == t.tenant.code
    checks = shown["result"]["checks"]
    assert checks["vault"]["decrypted"] == 1 and checks["records"]["decrypted"] == 1
    assert all(c["ok"] for c in checks.values())
    if backups.settings.backup_database_url:  # PostgreSQL: the scratch databases are gone
        engine = create_engine(backups.settings.backup_database_url)
        with engine.connect() as conn:
            left = conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE 'hokan_drill_%'")
            ).all()
        engine.dispose()
        assert left == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_drill_that_finds_a_difference_fails_its_job_and_opens_an_incident(
    runtime: Runtime,
    backups: Backups,
    populated: dict[str, dict[str, object]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backups.run("daily")
    real = drills._rows

    def differ(facts: object, manifest: dict[str, object]) -> dict[str, object]:
        out = real(facts, manifest)  # type: ignore[arg-type]
        return out | {"ok": False, "differ": ["records"]}

    monkeypatch.setattr(drills, "_rows", differ)
    outcome = _execute(runtime, "backup.drill")
    assert outcome.status == runs.FAILED
    assert outcome.error is not None and outcome.error.code == "backup_drill_failed"
    with runtime.db.session(system=True) as s:
        [row] = s.scalars(select(BackupDrill)).all()
        [incident] = s.scalars(select(Incident)).all()
    assert row.status == "failed" and row.error_code == "backup_drill_failed"
    assert row.result["checks"]["rows"]["differ"] == ["records"]
    assert incident.origin == "backup" and incident.title_en == "Restore drill failed"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_tampered_generation_fails_the_drill_by_its_code(
    runtime: Runtime, backups: Backups, populated: dict[str, dict[str, object]]
) -> None:
    name = backups.run("daily")["generation"]
    path = backups.settings.resolved_backup_local_dir / name / "system.db.hbk"
    raw = bytearray(path.read_bytes())
    raw[300] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(errors.BackupError) as caught:
        drills.run(backups)
    assert caught.value.code == "backup_chunk_tampered"
    with runtime.db.session(system=True) as s:
        [row] = s.scalars(select(BackupDrill)).all()
    assert (row.status, row.error_code, row.generation) == ("failed", "backup_chunk_tampered", name)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_with_nothing_to_restore_the_drill_is_skipped_by_name(runtime: Runtime) -> None:
    outcome = _execute(runtime, "backup.drill")
    assert outcome.status == runs.SKIPPED
    assert outcome.summary["reason"] == "no system generation to restore"
    assert _execute(runtime, "backup.drill_requested").status == runs.SKIPPED


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_requested_drill_runs_at_the_next_minute(
    runtime: Runtime, backups: Backups, populated: dict[str, dict[str, object]]
) -> None:
    backups.run("daily")
    asked = drills.request(backups, "運用 太郎", backups.clock())
    outcome = _execute(runtime, "backup.drill_requested")
    assert outcome.status == runs.OK, outcome.error
    assert outcome.summary["drills"] == [str(asked.id)]
    with runtime.db.session(system=True) as s:
        row = s.get(BackupDrill, asked.id)
    assert row is not None and row.status == "passed" and row.trigger == "request"
    assert row.requested_by == "運用 太郎" and row.seconds is not None
    assert _execute(runtime, "backup.drill_requested").status == runs.SKIPPED


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_crashed_drill_is_recorded_failed_and_a_dead_workers_drill_is_reaped(
    runtime: Runtime,
    backups: Backups,
    populated: dict[str, dict[str, object]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backups.run("daily")

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(drills, "_drill", crash)
    with pytest.raises(errors.DrillFailed):
        drills.run(backups)
    with runtime.db.session(write=True, system=True) as s:
        [row] = s.scalars(select(BackupDrill)).all()
        assert (row.status, row.result["crashed"]) == ("failed", "RuntimeError")
        row.status = "running"  # as a worker killed mid-drill leaves it
        row.started_at = backups.clock() - timedelta(hours=7)
    assert _execute(runtime, "backup.drill_requested").status == runs.SKIPPED
    with runtime.db.session(system=True) as s:
        [row] = s.scalars(select(BackupDrill)).all()
    assert (row.status, row.error_code) == ("failed", "backup_drill_interrupted")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_requested_drill_is_claimed_once(runtime: Runtime, backups: Backups) -> None:
    asked = drills.request(backups, "運用", backups.clock())
    first = drills.run(backups, trigger="request", drill_id=asked.id)
    assert first["status"] == "skipped"  # nothing to restore, but it ran
    again = drills.run(backups, trigger="request", drill_id=asked.id)
    assert again == {"id": str(asked.id), "status": "taken"}
