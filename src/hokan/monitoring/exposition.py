"""What ``/metrics`` answers: the instruments of every process (multiprocess mode) or
of this one, plus gauges read at scrape time — audit chains (counts and the oldest
uncovered checkpoint, from the database), vault fragment stores (the readiness
check's states) and host health (psutil: CPU, memory, disk of the data dir)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import psutil
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from hokan.kit import metrics
from hokan.kit.clock import utcnow
from hokan.kit.metrics import Sample
from hokan.monitoring import repository

if TYPE_CHECKING:
    from hokan.kit.db import Database
    from hokan.settings import Settings

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Stores(Protocol):
    n: int

    def states(self) -> list[str]: ...


class MetricsSource(Protocol):
    """What the scrape reads of the process (the runtime)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def vault_stores(self) -> Stores: ...


class _ThisProcess:
    """The default registry's instruments, for a registry built per scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def instruments_registry() -> CollectorRegistry:
    """The instruments: aggregated over every process in multiprocess mode, else this one's."""
    registry = CollectorRegistry(auto_describe=False)
    directory = metrics.multiprocess_dir()
    if directory is not None:
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    return registry


def audit_samples(db: Database, now: datetime | None = None) -> Iterator[Sample]:
    now = now or utcnow()
    with db.reader(system=True) as conn:
        stats = repository.audit_stats(conn)
    oldest: datetime | None = None
    behind = 0
    for st in stats:
        scope = (("scope", st.scope),)
        yield Sample(metrics.AUDIT_CHAINS, "Audit chains, by scope.", st.chains, scope)
        yield Sample(
            metrics.AUDIT_ENTRIES,
            "Entries in the audit chains (the sum of their head sequence numbers), by scope.",
            st.entries,
            scope,
        )
        yield Sample(
            metrics.AUDIT_HEAD_SEQ,
            "The highest head sequence number, by scope.",
            st.head_max,
            scope,
        )
        behind += st.behind
        if st.oldest_checkpoint is not None and (oldest is None or st.oldest_checkpoint < oldest):
            oldest = st.oldest_checkpoint
    yield Sample(
        metrics.AUDIT_UNCHECKPOINTED,
        "Audit chains with entries after their latest signed checkpoint.",
        behind,
    )
    yield Sample(
        metrics.AUDIT_CHECKPOINT_AGE,
        "Age of the oldest latest-checkpoint among chains with newer entries (0: all covered).",
        max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
    )


def vault_samples(stores: Stores) -> Iterator[Sample]:
    for index, state in enumerate(stores.states(), 1):
        yield Sample(
            metrics.VAULT_STORE_UP,
            "Whether each vault fragment store answers as itself (1) or not (0), by index.",
            1.0 if state == "ok" else 0.0,
            (("store", str(index)),),
        )


def _existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def host_samples(data_dir: Path) -> Iterator[Sample]:
    # Since the previous call in this process (the previous scrape): no sleeping here.
    yield Sample(
        metrics.HOST_CPU, "Host CPU use since the previous scrape, percent.", psutil.cpu_percent()
    )
    memory = psutil.virtual_memory()
    yield Sample(
        metrics.HOST_MEMORY_USED, "Host memory in use, bytes.", memory.total - memory.available
    )
    yield Sample(metrics.HOST_MEMORY_TOTAL, "Host memory, bytes.", memory.total)
    yield Sample(metrics.HOST_MEMORY_PERCENT, "Host memory in use, percent.", memory.percent)
    disk = psutil.disk_usage(str(_existing(data_dir)))
    yield Sample(metrics.HOST_DISK_USED, "Disk used where the data dir lives, bytes.", disk.used)
    yield Sample(metrics.HOST_DISK_TOTAL, "Disk size where the data dir lives, bytes.", disk.total)
    yield Sample(
        metrics.HOST_DISK_PERCENT, "Disk used where the data dir lives, percent.", disk.percent
    )


def registry(source: MetricsSource) -> CollectorRegistry:
    reg = instruments_registry()
    reg.register(
        metrics.ScrapeCollector(
            (
                ("audit", lambda: audit_samples(source.db)),
                ("vault_stores", lambda: vault_samples(source.vault_stores)),
                ("host", lambda: host_samples(source.settings.data_dir)),
            )
        )
    )
    return reg


def render(source: MetricsSource) -> bytes:
    """The Prometheus text exposition (blocking: run it in a thread)."""
    return generate_latest(registry(source))


def parse(text: str) -> Iterable[tuple[str, dict[str, str], float]]:
    """(sample name, labels, value) of an exposition — for tests and ``hokan`` tools."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for s in family.samples:
            yield s.name, dict(s.labels), float(s.value)
