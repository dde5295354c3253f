"""Read this host's cumulative request counters for a snapshot.

Where from: the multiprocess directory when this process writes to one; else
``DATA_DIR/prometheus`` when a ``hokan serve --workers N`` on this host keeps one
(a separate ``hokan worker``); else this process's own registry (``hokan serve``
with the worker in-process). ``boot`` names the counters' life, so a restart is
seen as a reset even when the new totals already exceed the old ones.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import psutil
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from hokan.kit import metrics
from hokan.monitoring import exposition
from hokan.monitoring.performance import INF, snapshot_data

BOOT_FILE = "hokan-boot"


def shared_dir(data_dir: Path) -> Path:
    return data_dir / metrics.MULTIPROCESS_SUBDIR


def prepare(data_dir: Path, workers: int) -> Path | None:
    """Before ``hokan serve`` starts uvicorn: multiprocess mode for several workers
    (a fresh directory, a new boot id), none for one (a stale directory removed)."""
    directory = shared_dir(data_dir)
    if workers <= 1:
        metrics.discard_multiprocess(directory)
        return None
    metrics.enable_multiprocess(directory)
    (directory / BOOT_FILE).write_text(uuid.uuid4().hex, encoding="ascii")
    return directory


def _source(data_dir: Path) -> tuple[CollectorRegistry, str]:
    own = metrics.multiprocess_dir()
    shared = shared_dir(data_dir)
    directory = own or (shared if (shared / BOOT_FILE).exists() else None)
    if directory is None:
        process = psutil.Process()
        return exposition.instruments_registry(), f"pid:{os.getpid()}:{process.create_time():.0f}"
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    try:
        boot = (directory / BOOT_FILE).read_text(encoding="ascii").strip()[:40]
    except OSError:
        boot = f"dir:{directory.stat().st_ino}"
    return registry, f"mp:{boot}"


def read(data_dir: Path) -> tuple[str, dict[str, Any]]:
    """(boot, snapshot data) of the request counters, totalled over every route."""
    registry, boot = _source(data_dir)
    buckets: dict[float, float] = {}
    count = total = bytes_in = bytes_out = 0.0
    status: dict[str, float] = {}
    for family in registry.collect():
        for s in family.samples:
            if s.name == f"{metrics.HTTP_LATENCY_NAME}_bucket":
                le = INF if s.labels["le"] == "+Inf" else float(s.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + s.value
            elif s.name == f"{metrics.HTTP_LATENCY_NAME}_count":
                count += s.value
            elif s.name == f"{metrics.HTTP_LATENCY_NAME}_sum":
                total += s.value
            elif s.name == f"{metrics.HTTP_REQUESTS_NAME}_total":
                key = s.labels.get("status", "")
                status[key] = status.get(key, 0.0) + s.value
            elif s.name == f"{metrics.HTTP_BYTES_IN_NAME}_total":
                bytes_in += s.value
            elif s.name == f"{metrics.HTTP_BYTES_OUT_NAME}_total":
                bytes_out += s.value
    data = snapshot_data(
        buckets,
        count=count,
        total_seconds=total,
        status=status,
        bytes_in=bytes_in,
        bytes_out=bytes_out,
    )
    return boot, data
