"""Host health samples (ハードウェアの健全性, REP-1): this host's CPU, memory and disk use,
recorded every 10 minutes by ``monitoring.host_sample`` for the weekly report. The same
readings ``/metrics`` exposes (:mod:`hokan.monitoring.exposition`), kept over time."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path

import psutil
from sqlalchemy import delete

from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.models import HostSample

KEEP_DAYS = 100  # a quarter of weekly reports can be regenerated


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def read(data_dir: Path) -> dict[str, float | int | None]:
    disk = psutil.disk_usage(str(_existing(data_dir.resolve())))
    try:
        load1: float | None = os.getloadavg()[0]
    except OSError:  # not on every platform
        load1 = None
    return {
        "cpu_percent": float(psutil.cpu_percent(interval=0.2)),
        "memory_percent": float(psutil.virtual_memory().percent),
        "disk_percent": float(disk.percent),
        "disk_free_bytes": int(disk.free),
        "load1": load1,
    }


def take(host: JobHost) -> JobResult:
    values = read(host.settings.data_dir)
    now = host.now()
    with host.db.session(write=True, system=True) as s:
        s.add(HostSample(taken_at=now, host=socket.gethostname()[:100], **values))
        gone = s.execute(
            delete(HostSample).where(HostSample.taken_at < now - timedelta(days=KEEP_DAYS))
        )
    pruned = int(getattr(gone, "rowcount", 0) or 0)
    return JobResult({"cpu_percent": round(float(values["cpu_percent"] or 0)), "pruned": pruned})


HOST_SAMPLE = Job(
    "monitoring.host_sample",
    "every 10m",
    take,
    "ホストの CPU・メモリ・ディスク使用率を記録 (ハードウェアの健全性、運用レポート)",
    "Record this host's CPU, memory and disk use (hardware health, weekly report)",
)
