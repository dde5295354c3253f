"""Nightly verification (BAK-3): every generation checked every night, and a rotating full
read so that every stored byte is decrypted within HOKAN_BACKUP_VERIFY_DAYS — each
generation's coverage date recorded and reported."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hokan.backup import coverage
from hokan.backup.service import Backups
from hokan.runtime import Runtime

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_every_byte_is_read_within_the_window_and_the_load_is_spread(
    runtime: Runtime, backups: Backups
) -> None:
    clock = Clock(backups.clock())
    backups.clock = clock
    start = clock.now
    for i in range(6):
        backups.run("vault", now=start - timedelta(days=6 - i))
    days = 3
    read_per_night = []
    for night in range(10):
        clock.now = start + timedelta(days=night)
        done = coverage.verify_nightly(backups, days)
        assert done["failed"] == [] and done["generations"] == 6
        read_per_night.append(done["bytes_verified"])
        for c in done["coverage"]:
            assert c["within_window"], (night, c)
            verified = datetime.fromisoformat(c["verified_at"].replace("Z", "+00:00"))
            assert clock.now - verified < timedelta(days=days)
            assert c["checked_at"] is not None and c["checked_ok"] is True
    stored = done["bytes_stored"]
    # Spread: no night reads everything, yet ten nights read at least three windows' worth.
    assert max(read_per_night) < stored
    assert sum(read_per_night) >= 3 * stored


def test_a_damaged_generation_is_found_and_its_coverage_says_so(
    runtime: Runtime, backups: Backups
) -> None:
    good = backups.run("vault")["generation"]
    bad = backups.run("vault")["generation"]
    path = backups.settings.resolved_backup_local_dir / bad / "keyring.db.hbk"
    path.write_bytes(path.read_bytes()[:-10])  # truncated: the size check finds it at once
    done = coverage.verify_nightly(backups, 7)
    assert [f["generation"] for f in done["failed"]] == [bad]
    assert done["failed"][0]["error"] == "backup_size_mismatch"
    shown = {c["generation"]: c for c in coverage.coverage(backups, 7)}
    assert shown[bad]["error"] == "backup_size_mismatch" and shown[bad]["failed_at"]
    assert shown[good]["error"] is None and shown[good]["verified_at"]


def test_removed_generations_leave_the_coverage_report(runtime: Runtime, backups: Backups) -> None:
    name = backups.run("vault")["generation"]
    coverage.verify_nightly(backups, 7)
    assert [c["generation"] for c in coverage.coverage(backups, 7)] == [name]
    backups.target("local").delete(name)
    coverage.verify_nightly(backups, 7)
    assert coverage.coverage(backups, 7) == []
