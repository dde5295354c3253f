"""``hokan backup …`` and ``hokan restore`` as an operator runs them."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from hokan.cli import app
from hokan.settings import Settings

Cli = Callable[..., Result]
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def cli(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)  # no stray .env
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


def test_run_list_show_verify_restore_prune(cli: Cli, tmp_path: Path) -> None:
    r = cli("backup", "run", "--class", "daily")
    assert r.exit_code == 0, r.output
    name = json.loads(r.stdout)["generation"]
    r = cli("backup", "list", "--class", "daily")
    assert r.exit_code == 0, r.output
    [listed] = json.loads(r.stdout)
    assert (listed["generation"], listed["target"], listed["action"]) == (name, "local", "keep")
    r = cli("backup", "show", name)
    shown = json.loads(r.stdout)
    assert shown["signature"] == "valid" and shown["class"] == "daily"
    assert shown["hokan_version"] and shown["migration_heads"]["system"]
    r = cli("backup", "verify", name)
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["ok"] is True
    r = cli("restore", "--generation", name, "--to", str(tmp_path / "restored"))
    assert r.exit_code == 0, r.output
    assert "restored" in r.stderr and json.loads(r.stdout)["seconds"] >= 0
    tables = sqlite3.connect(tmp_path / "restored" / "hokan.db").execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
    )
    assert tables.fetchone()[0] > 10
    r = cli("restore", "--generation", name, "--to", str(tmp_path / "restored"))
    assert r.exit_code == 1 and "backup_restore_refused" in r.stderr
    assert cli("backup", "pin", name).exit_code == 0
    r = cli("backup", "prune", "--dry-run")
    assert r.exit_code == 0 and "pinned" in r.stdout
    r = cli("backup", "prune", "--json")
    assert json.loads(r.stdout)[0]["rule"] == "pinned"


def test_mistakes_are_one_line(cli: Cli) -> None:
    r = cli("backup", "run", "--class", "weekly")
    assert r.exit_code == 1 and "--class must be one of" in r.stderr
    r = cli("backup", "show", "20260101T000000Z-daily-abcdef")
    assert r.exit_code == 1 and "backup_generation_not_found" in r.stderr
    r = cli("restore", "--generation", "nope", "--to", "/tmp/x-not-used")
    assert r.exit_code == 1 and "backup_generation_not_found" in r.stderr


def test_a_damaged_generation_fails_verify_with_exit_1(cli: Cli, settings: Settings) -> None:
    name = json.loads(cli("backup", "run", "--class", "vault").stdout)["generation"]
    path = settings.resolved_backup_local_dir / name / "vault-store-1.db.hbk"
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 1
    path.write_bytes(bytes(raw))
    r = cli("backup", "verify")
    assert r.exit_code == 1
    [result] = json.loads(r.stdout)
    assert result["error"] == "backup_chunk_tampered"
    assert result["where"]["file"] == "vault-store-1.db.hbk"


def test_prune_explains_each_generation_under_configured_policies(cli: Cli) -> None:
    names = [json.loads(cli("backup", "run", "--class", "vault").stdout)["generation"]]
    names.append(json.loads(cli("backup", "run", "--class", "vault").stdout)["generation"])
    policies = json.dumps({"vault": {"last": 1}})
    r = cli("backup", "prune", "--dry-run", HOKAN_BACKUP_POLICIES=policies)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("keep") and "last #1 of 1" in lines[0]
    assert lines[1].startswith("would-remove") and "beyond_policy" in lines[1]
    r = cli("backup", "prune", "--json", HOKAN_BACKUP_POLICIES=policies)
    shown = {d["generation"]: d for d in json.loads(r.stdout)}
    assert shown[names[0]]["action"] == "removed"
    assert shown[names[1]]["reasons"] == [{"rule": "last", "counter": 1, "of": 1}]
    r = cli("backup", "prune", HOKAN_BACKUP_POLICIES=json.dumps({"vault": {"weekly": "x"}}))
    assert r.exit_code == 1 and "backup_invalid_policy" in r.stderr


def test_restore_requests_are_listed_and_closed_audited(cli: Cli, settings: Settings) -> None:
    from sqlalchemy import select

    from hokan.kit.clock import utcnow
    from hokan.models import AuditEvent, BackupRestoreRequest
    from hokan.runtime import Runtime

    name = json.loads(cli("backup", "run", "--class", "vault").stdout)["generation"]
    rt = Runtime(settings)
    try:
        with rt.db.session(write=True, system=True) as s:
            row = BackupRestoreRequest(
                requested_at=utcnow(),
                requested_by="運用責任者",
                generation=name,
                mode="new_directory",
                reason="誤削除",
                status="requested",
            )
            s.add(row)
            s.flush()
            request_id = str(row.id)
        [listed] = json.loads(cli("backup", "requests").stdout)
        assert (listed["id"], listed["generation"]) == (request_id, name)
        r = cli("backup", "request-close", request_id)
        assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "done"
        assert json.loads(cli("backup", "requests").stdout) == []
        r = cli("backup", "request-close", "not-an-id")
        assert r.exit_code == 1 and "backup_restore_request_not_found" in r.stderr
        with rt.db.session(system=True) as s:
            [entry] = s.scalars(
                select(AuditEvent).where(AuditEvent.action == "backup.restore_request_closed")
            ).all()
        assert entry.target_id == request_id and entry.detail["status"] == "done"
        r = cli("backup", "list")
        assert json.loads(r.stdout)[0]["verified_at"] is None  # not yet seen by the nightly verify
        assert cli("backup", "verify").exit_code == 0
        r = cli("backup", "list")
        assert json.loads(r.stdout)[0]["verified_at"] is not None  # a full read is coverage
        [shown] = json.loads(cli("backup", "coverage").stdout)
        assert shown["checked_ok"] is True and shown["within_window"] is True
    finally:
        rt.close()
