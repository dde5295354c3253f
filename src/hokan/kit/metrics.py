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
