"""Runs: a killed run's leftovers are cleaned by the next, two runs at once are refused,
pins hold and prune removes (audited) what retention says (BAK-2, BAK-3)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hokan.backup import errors
from hokan.backup.service import Backups
from hokan.models import AuditEvent
from hokan.runtime import Runtime
from tests.conftest import wait_until

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

_KILLED = textwrap.dedent(
    """
    import json, sys, time
    from hokan.backup import container, service
    from hokan.runtime import Runtime
    from hokan.settings import Settings

    real = container.seal
    def slow(*args, **kwargs):
        for record in real(*args, **kwargs):
            yield record
            time.sleep(60)  # killed here, mid-file
    service.container.seal = slow
    rt = Runtime(Settings(**json.loads(sys.argv[1])))
    service.Backups(rt.settings, rt.keyring, rt.blobs, rt.db).run("daily")
    """
)


def test_a_killed_run_leaves_a_marker_the_next_run_cleans(backups: Backups) -> None:
    s = backups.settings
    payload = s.model_dump(
        mode="json", include={"env", "data_dir", "database_url", "keyring_database_url"}
    )
    payload["master_key"] = s.master_key.get_secret_value() if s.master_key else None
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, json.dumps(payload)], env=env)
    incomplete = s.resolved_backup_local_dir / ".incomplete"
    try:
        assert wait_until(
            lambda: incomplete.is_dir() and any(p.glob("*.hbk") for p in incomplete.iterdir()),
            60,
            proc,
        )
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    [left] = list(incomplete.iterdir())
    assert (left / "INCOMPLETE").exists()
    assert backups.generations() == []  # never counted as a generation
    taken = backups.run("daily")
    assert taken["cleaned_incomplete"] == [left.name]
    assert not left.exists()
    assert [g.name for g in backups.generations()] == [taken["generation"]]
    [result] = backups.verify()
    assert result["ok"] is True


def test_a_second_run_at_once_is_refused(backups: Backups) -> None:
    with backups.target("local").lock(), pytest.raises(errors.BackupRunning) as caught:
        backups.run("daily")
    assert caught.value.code == "backup_running"
    assert backups.generations() == []
    backups.run("daily")  # the lock is released with its holder


def test_a_failed_run_leaves_nothing_and_is_audited(
    backups: Backups, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise errors.SnapshotFailed("tool", tool="pg_dump", status=1)

    monkeypatch.setattr(Backups, "_blobs", broken)
    with pytest.raises(errors.SnapshotFailed):
        backups.run("daily")
    assert backups.generations() == []
    assert not any((backups.settings.resolved_backup_local_dir / ".incomplete").iterdir())
    with runtime.db.session(system=True) as s:
        [entry] = s.scalars(select(AuditEvent).where(AuditEvent.action == "backup.run")).all()
    assert entry.result == "error" and entry.detail["error"] == "backup_snapshot_failed"


def test_the_target_must_not_be_inside_the_data_dir(backups: Backups) -> None:
    inside = backups.settings.model_copy(
        update={"backup_local_dir": backups.settings.data_dir / "backups"}
    )
    with pytest.raises(errors.TargetUnavailable) as caught:
        Backups(inside, backups.keyring).run("daily")
    assert caught.value.reason == "inside_data_dir"


def test_prune_removes_what_retention_says_audited_and_pins_hold(
    backups: Backups, runtime: Runtime
) -> None:
    start = backups.clock()
    names = [backups.run("daily", now=start + timedelta(days=i))["generation"] for i in range(9)]
    backups.set_pin(names[0], True)
    dry = backups.prune(dry_run=True, now=start + timedelta(days=9))
    assert {d["generation"]: d["action"] for d in dry}[names[1]] == "remove"
    assert len(backups.generations()) == 9  # a dry run removes nothing
    done = {d["generation"]: d for d in backups.prune(now=start + timedelta(days=9))}
    assert done[names[0]]["rule"] == "pinned"
    assert done[names[1]]["action"] == "removed" and done[names[1]]["rule"] == "beyond_policy"
    assert {g.name for g in backups.generations()} == {names[0], *names[2:]}
    with runtime.db.session(system=True) as s:
        pruned = s.scalars(select(AuditEvent).where(AuditEvent.action == "backup.prune")).all()
    assert [e.target_id for e in pruned] == [names[1]]
    backups.set_pin(names[0], False)
    later = {d["generation"]: d for d in backups.prune(now=start + timedelta(days=9))}
    assert later[names[0]]["action"] == "removed"


def test_expiry_is_written_from_the_class_and_enforced_against_now(backups: Backups) -> None:
    start = backups.clock()
    upgrade = backups.run("upgrade", now=start)
    maintenance = backups.run("maintenance", now=start)
    backups.run("daily", now=start)
    assert upgrade["expires_at"] is not None and maintenance["expires_at"] is not None
    week = {d["generation"]: d["action"] for d in backups.prune(now=start + timedelta(days=8))}
    assert week[maintenance["generation"]] == "removed"
    assert week[upgrade["generation"]] == "keep"
    month = {d["generation"]: d["action"] for d in backups.prune(now=start + timedelta(days=32))}
    assert month[upgrade["generation"]] == "removed"
