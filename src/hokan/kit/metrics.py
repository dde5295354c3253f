"""Prometheus metrics (MON-7): every instrument Hokan exports, defined in one place.

Labels carry bounded vocabularies only (job names, statuses, route templates,
families) — never tenant data, serials, addresses or ids (ARCHITECTURE, logs).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

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
