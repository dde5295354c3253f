"""``hokan monitoring``: the weekly performance samples (§1-4-1)."""

from __future__ import annotations

from typing import Any

import typer

from hokan.cli._common import echo_json, runtime
from hokan.kit.clock import to_jst
from hokan.models import PerformanceSample
from hokan.monitoring import repository

app = typer.Typer(
    help="Monitoring: performance samples (metrics on /metrics)", no_args_is_help=True
)


def sample_json(row: PerformanceSample) -> dict[str, Any]:
    return {
        "period_start": to_jst(row.period_start).isoformat(),
        "period_end": to_jst(row.period_end).isoformat(),
        "requests": row.requests,
        "request_rate": round(row.request_rate, 4),
        "error_rate": None if row.error_rate is None else round(row.error_rate, 6),
        "p50_ms": row.p50_ms,
        "p95_ms": row.p95_ms,
        "p99_ms": row.p99_ms,
        "bytes_in_per_second": round(row.bytes_in_per_second, 1),
        "bytes_out_per_second": round(row.bytes_out_per_second, 1),
        "snapshots": row.snapshots,
        "counter_resets": row.detail.get("resets", 0),
    }


@app.command("performance")
def performance(limit: int = typer.Option(4, min=1, max=520, help="How many weeks")) -> None:
    """The latest weekly performance samples, newest first (job monitoring.performance_sample)."""
    with runtime() as rt, rt.db.session(system=True) as s:
        echo_json([sample_json(r) for r in repository.latest_samples(s, limit)])
