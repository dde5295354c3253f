"""``monitoring.host_sample`` records this host's CPU, memory and disk use (ハードウェアの
健全性 of the weekly report) and forgets samples older than its keeping period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hokan.models import HostSample
from hokan.monitoring.host_samples import KEEP_DAYS
from hokan.runtime import Runtime
from tests.monitoring.test_tasks import run_job


def test_a_sample_is_recorded_and_old_ones_pruned(runtime: Runtime) -> None:
    now = datetime.now(UTC)
    with runtime.db.session(write=True, system=True) as s:
        s.add(
            HostSample(
                taken_at=now - timedelta(days=KEEP_DAYS + 1),
                host="old",
                cpu_percent=1,
                memory_percent=1,
                disk_percent=1,
                disk_free_bytes=1,
            )
        )
    outcome = run_job(runtime, "monitoring.host_sample", now)
    assert outcome.status == "ok", outcome
    with runtime.db.session(system=True) as s:
        rows = s.scalars(select(HostSample)).all()
    assert [r.host for r in rows] != ["old"] and len(rows) == 1
    [row] = rows
    assert 0 <= row.cpu_percent <= 100 and 0 < row.memory_percent < 100
    assert 0 < row.disk_percent < 100 and row.disk_free_bytes > 0
