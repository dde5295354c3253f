"""Prometheus metrics (MON-7): every instrument Hokan exports, defined in one place.

Labels carry bounded vocabularies only (job names, statuses, route templates,
families) — never tenant data, serials, addresses or ids (ARCHITECTURE, logs).

``hokan serve --workers N`` (N > 1) runs in prometheus-client's multiprocess
mode: each process writes its values to files in ``DATA_DIR/prometheus``
(:func:`enable_multiprocess`, before the workers start) and ``/metrics``
aggregates them. Gauges written by several processes say how to combine them
(``multiprocess_mode``). Values read from the database or the host at scrape
time (audit chains, vault stores, host health) are not instruments but
:class:`ScrapeCollector` families, computed by the process that answers.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

JOB_RUNS = Counter(
    "hokan_job_runs",
    "Scheduled job runs by job and final status (ok, failed, skipped).",
    ["job", "status"],
)
JOB_LAST_SUCCESS = Gauge(
    "hokan_job_last_success_timestamp_seconds",
    "When each job last finished successfully (Unix time).",
    ["job"],
    multiprocess_mode="max",
)

# ---------------------------------------------------------------------------- requests
# ``route`` is the matched route's template (``/api/v1/collections/{collection}``),
# ``unmatched`` when no route matched; ``method`` one of METHODS or ``other``;
# ``status`` the class (``2xx`` .. ``5xx``).
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
HTTP_REQUESTS_NAME = "hokan_http_requests"
HTTP_LATENCY_NAME = "hokan_http_request_duration_seconds"
HTTP_BYTES_IN_NAME = "hokan_http_request_bytes"
HTTP_BYTES_OUT_NAME = "hokan_http_response_bytes"
HTTP_REQUESTS = Counter(
    HTTP_REQUESTS_NAME,
    "HTTP requests answered, by route template, method and status class.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    HTTP_LATENCY_NAME,
    "Time from the request's arrival at the edge to the end of the response.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
HTTP_BYTES_IN = Counter(
    HTTP_BYTES_IN_NAME, "Request body bytes received, by route template.", ["route"]
)
HTTP_BYTES_OUT = Counter(
    HTTP_BYTES_OUT_NAME, "Response body bytes sent, by route template.", ["route"]
)

# ---------------------------------------------------------------------------- the edge
WAF_BLOCKS = Counter(
    "hokan_waf_blocks",
    "Requests the WAF blocked (or would have, detect-only), by rule family.",
    ["family", "mode"],
)
GEO_REFUSALS = Counter(
    "hokan_geo_refusals",
    "Requests refused by network admission (Japan only), by refusal code.",
    ["code"],
)
IPS_BANS = Counter(
    "hokan_ips_bans", "Source addresses banned by the IPS (new bans), by reason.", ["reason"]
)
RATE_LIMITED = Counter(
    "hokan_rate_limited",
    "Requests refused by the IPS's limits, by limit (address, account, tenant, "
    "concurrent, banned).",
    ["limit"],
)

# ---------------------------------------------------------------------------- identity, files
LOCKOUTS = Counter(
    "hokan_account_lockouts", "Accounts locked after failed logins, by kind.", ["kind"]
)
SPRAYING_ALERTS = Counter(
    "hokan_spraying_alerts",
    "Password-spraying alarms (one source failing with many serials), by kind.",
    ["kind"],
)
MALWARE_DETECTIONS = Counter(
    "hokan_malware_detections", "Uploaded files quarantined as malware, by scanner.", ["scanner"]
)


def status_class(status: int) -> str:
    """``2xx`` .. ``5xx`` (anything else, e.g. 1xx, by its own first digit)."""
    return f"{status // 100}xx"


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


# ---------------------------------------------------------------------------- scrape time
# Families computed when /metrics is read (never instruments: they hold no state).
AUDIT_CHAINS = "hokan_audit_chains"
AUDIT_ENTRIES = "hokan_audit_chain_entries"
AUDIT_HEAD_SEQ = "hokan_audit_chain_head_seq_max"
AUDIT_UNCHECKPOINTED = "hokan_audit_chains_uncheckpointed"
AUDIT_CHECKPOINT_AGE = "hokan_audit_checkpoint_age_seconds"
VAULT_STORE_UP = "hokan_vault_store_up"
HOST_CPU = "hokan_host_cpu_percent"
HOST_MEMORY_USED = "hokan_host_memory_used_bytes"
HOST_MEMORY_TOTAL = "hokan_host_memory_total_bytes"
HOST_MEMORY_PERCENT = "hokan_host_memory_percent"
HOST_DISK_USED = "hokan_host_disk_used_bytes"
HOST_DISK_TOTAL = "hokan_host_disk_total_bytes"
HOST_DISK_PERCENT = "hokan_host_disk_percent"
COLLECTOR_UP = "hokan_metrics_collector_up"


@dataclass(frozen=True)
class Sample:
    """One value of a scrape-time gauge family."""

    name: str
    help: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()


class ScrapeCollector(Collector):
    """Gauges read at scrape time from named sources; a source that fails is reported
    as ``hokan_metrics_collector_up{collector=...} 0`` instead of failing the scrape."""

    def __init__(self, sources: Sequence[tuple[str, Callable[[], Iterable[Sample]]]]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        families: dict[str, GaugeMetricFamily] = {}
        up = GaugeMetricFamily(
            COLLECTOR_UP,
            "Whether each scrape-time source answered (1) or failed (0).",
            labels=["collector"],
        )
        for name, read in self.sources:
            try:
                samples = list(read())
            except Exception:  # a database or disk that fails must not hide the rest
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            for sample in samples:
                family = families.get(sample.name)
                if family is None:
                    family = families[sample.name] = GaugeMetricFamily(
                        sample.name, sample.help, labels=[k for k, _ in sample.labels]
                    )
                family.add_metric([v for _, v in sample.labels], sample.value)
        yield from families.values()
        yield up


# ---------------------------------------------------------------------------- multiprocess
ENV = "PROMETHEUS_MULTIPROC_DIR"
MULTIPROCESS_SUBDIR = "prometheus"  # under the data dir


def multiprocess_dir() -> Path | None:
    """This process's multiprocess directory, or None (in-process registry)."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def enable_multiprocess(directory: Path) -> None:
    """Empty ``directory`` and make this process and every child write their values
    there (``hokan serve --workers N``, before uvicorn starts the workers).

    The children import prometheus-client afresh with the variable set; this process
    (which runs the in-process job worker) switches its value class now, which every
    labelled instrument's children use from here on (all of Hokan's are labelled).
    """
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, mode=0o700)
    os.environ[ENV] = str(directory)
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def discard_multiprocess(directory: Path) -> None:
    """Remove a directory a previous multi-worker ``hokan serve`` left behind."""
    if directory.exists():
        shutil.rmtree(directory)


# clock
CLOCK_OFFSET = Gauge(
    "hokan_clock_offset_seconds",
    "The last clock check's offset from the NTP server it rests on (server minus ours).",
    multiprocess_mode="mostrecent",
)
CLOCK_LAST_CHECK = Gauge(
    "hokan_clock_last_check_timestamp_seconds",
    "When the clock was last checked against the NTP servers (Unix time).",
    multiprocess_mode="max",
)
CLOCK_ALERTS = Counter(
    "hokan_clock_alerts",
    "Clock checks that alerted, by reason (offset_exceeded, unreachable).",
    ["reason"],
)
