"""A simulated year of nightly runs through ``Backups.prune`` on real targets, with an
injected clock: after every night's prune exactly the whitepaper's generations are left
(daily ×7, upgrade kept one month, maintenance one week, monthly ×3 on the remote
target, vault ×7), removals are audited and the remote copies go too."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from hokan.backup import retention
from hokan.backup.service import MANIFEST, Backups
from hokan.kit.clock import JST
from hokan.models import AuditEvent
from hokan.runtime import Runtime

START = datetime(2026, 1, 1, 17, 0, tzinfo=UTC)  # 02:00 JST on 2 January


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _fake(backups: Backups, klass: str, target: str, at: datetime, n: int) -> str:
    """A generation as the prune sees it (a manifest in its folder), without the data."""
    name = f"{at:%Y%m%dT%H%M%SZ}-{klass}-{n:06x}"
    folder = backups.target(target).root / name  # type: ignore[attr-defined]
    folder.mkdir(parents=True)
    expires = retention.expires_at(klass, at)
    manifest = {
        "generation": name,
        "class": klass,
        "target": target,
        "created_at": at.isoformat(),
        "expires_at": expires.isoformat() if expires else None,
    }
    (folder / MANIFEST).write_text(json.dumps({"manifest": manifest, "signature": ""}))
    return name


def _expected(made: list[tuple[str, str, datetime]], now: datetime) -> set[str]:
    def newest(klass: str, count: int) -> list[tuple[str, str, datetime]]:
        return sorted((m for m in made if m[1] == klass), key=lambda m: m[2])[-count:]

    keep = {m[0] for k, n in (("daily", 7), ("vault", 7), ("monthly", 3)) for m in newest(k, n)}
    for name, klass, at in newest("upgrade", 1) + newest("maintenance", 1):
        if now < retention.expires_at(klass, at):  # type: ignore[operator]
            keep.add(name)
    return keep


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    missed=st.sets(st.integers(0, 364), max_size=30),
    upgrades=st.sets(st.integers(0, 364), min_size=1, max_size=5),
    maintenances=st.sets(st.integers(0, 364), min_size=1, max_size=8),
)
def test_a_year_of_nights_leaves_exactly_the_whitepapers_generations(
    runtime: Runtime,
    tmp_path: Path,
    missed: set[int],
    upgrades: set[int],
    maintenances: set[int],
) -> None:
    run = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
    s = runtime.settings.model_copy(
        update={"backup_local_dir": run / "local", "backup_remote_dir": run / "remote"}
    )
    clock = Clock()
    backups = Backups(s, runtime.keyring, runtime.blobs, runtime.db, clock=clock)
    made: list[tuple[str, str, datetime]] = []
    n = 0
    for day in range(365):
        clock.now = START + timedelta(days=day)
        todays: list[str] = []
        if day not in missed:
            todays += ["daily", "vault"]
            if clock.now.astimezone(JST).day == 1:
                todays.append("monthly")
        todays += ["upgrade"] * (day in upgrades) + ["maintenance"] * (day in maintenances)
        for klass in todays:
            n += 1
            at = clock.now + timedelta(seconds=n % 60)
            made.append((_fake(backups, klass, retention.DEFAULT_TARGET[klass], at, n), klass, at))
        clock.now += timedelta(hours=2, minutes=30)  # 04:30 JST: the nightly prune
        backups.prune()
        left = {g.name for g in backups.generations()}
        assert left == _expected(made, clock.now), f"day {day}"
    remote = {g.name for g in backups.generations(target_name="remote")}
    assert len(remote) == 3
    assert all("-monthly-" in name for name in remote)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_prune_audits_each_removal_and_removes_every_copy(
    runtime: Runtime, backups: Backups
) -> None:
    clock = Clock()
    backups.clock = clock
    names = [_fake(backups, "daily", "local", START + timedelta(days=d), d) for d in range(9)]
    # The oldest was copied to the remote target: it goes from both when it goes.
    copy = backups.target("remote").root / names[0]  # type: ignore[attr-defined]
    copy.mkdir(parents=True)
    (copy / MANIFEST).write_bytes(
        (backups.target("local").root / names[0] / MANIFEST).read_bytes()  # type: ignore[attr-defined]
    )
    _fake(backups, "monthly", "remote", START, 99)
    clock.now = START + timedelta(days=9)
    shown = backups.prune()
    gone = sorted((d["target"], d["generation"]) for d in shown if d["action"] == "removed")
    assert gone == sorted([("local", names[0]), ("remote", names[0]), ("local", names[1])])
    with runtime.db.session(system=True) as s:
        audited = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "backup.prune")
        )
    assert audited == 3
    assert not (backups.target("remote").root / names[0]).exists()  # type: ignore[attr-defined]
