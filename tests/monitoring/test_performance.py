"""The weekly sample's arithmetic: reset-aware increases and bucket-interpolated quantiles."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hokan.monitoring.performance import (
    INF,
    Point,
    Totals,
    increase,
    performance,
    quantile,
    snapshot_data,
)

T0 = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
BOUNDS = (0.01, 0.05, 0.1, 0.5, INF)


def totals(
    per_bucket: list[float],
    *,
    errors: float = 0,
    bytes_in: float = 0,
    bytes_out: float = 0,
    seconds: float = 0.0,
) -> Totals:
    """Cumulative totals from per-bucket (non-cumulative) counts."""
    running, buckets = 0.0, {}
    for le, n in zip(BOUNDS, per_bucket, strict=True):
        running += n
        buckets[le] = running
    data = snapshot_data(
        buckets,
        count=running,
        total_seconds=seconds,
        status={"2xx": running - errors, "5xx": errors},
        bytes_in=bytes_in,
        bytes_out=bytes_out,
    )
    return Totals.from_data(data)


def point(minutes: float, t: Totals, boot: str = "a", host: str = "h1") -> Point:
    return Point(T0 + timedelta(minutes=minutes), host, boot, t)


def test_increase_over_a_restart_counts_from_zero() -> None:
    points = [
        point(0, totals([10, 0, 0, 0, 0], errors=1, bytes_in=100)),
        point(5, totals([50, 10, 0, 0, 0], errors=2, bytes_in=600)),
        # Restarted: the counters start again (lower than before).
        point(10, totals([5, 0, 0, 0, 0], bytes_in=50), boot="b"),
        point(15, totals([25, 0, 0, 0, 0], bytes_in=250), boot="b"),
    ]
    inc = increase(points)
    # 50 in the first interval, 5 after the restart, 20 after that.
    assert inc.totals.count == 50 + 5 + 20
    assert inc.totals.errors == 1
    assert inc.totals.bytes_in == 500 + 50 + 200
    assert inc.resets == 1
    assert inc.seconds == 15 * 60


def test_a_restart_is_seen_by_its_boot_even_when_totals_grew() -> None:
    points = [
        point(0, totals([10, 0, 0, 0, 0])),
        point(5, totals([30, 0, 0, 0, 0]), boot="b"),  # higher, but a new process
    ]
    assert increase(points).totals.count == 30


def test_hosts_are_separate_series() -> None:
    points = [
        point(0, totals([10, 0, 0, 0, 0]), host="a"),
        point(0, totals([1000, 0, 0, 0, 0]), host="b"),
        point(5, totals([20, 0, 0, 0, 0]), host="a"),
        point(5, totals([1001, 0, 0, 0, 0]), host="b"),
    ]
    inc = increase(points)
    assert inc.totals.count == 11 and inc.resets == 0


def test_quantiles_interpolate_within_the_bucket() -> None:
    # 100 requests: 50 under 10 ms, 40 in 10-50 ms, 10 in 50-100 ms.
    t = totals([50, 40, 10, 0, 0])
    assert quantile(0.5, t.buckets) == pytest.approx(0.01)
    assert quantile(0.75, t.buckets) == pytest.approx(0.01 + 0.04 * 25 / 40)
    assert quantile(0.95, t.buckets) == pytest.approx(0.05 + 0.05 * 5 / 10)
    assert quantile(0.5, totals([0, 0, 0, 0, 0]).buckets) is None
    # Beyond the last finite bound: that bound (Prometheus' answer).
    assert quantile(0.99, totals([0, 0, 0, 1, 9]).buckets) == 0.5


def test_performance_of_a_week() -> None:
    week = 7 * 24 * 60
    points = [
        point(0, totals([0, 0, 0, 0, 0])),
        point(week / 2, totals([900, 80, 20, 0, 0], errors=10, bytes_in=1e6, bytes_out=4e6)),
        point(
            week / 2 + 5, totals([90, 8, 2, 0, 0], errors=1, bytes_in=1e5, bytes_out=4e5), boot="b"
        ),
        point(week, totals([180, 16, 4, 0, 0], errors=2, bytes_in=2e5, bytes_out=8e5), boot="b"),
    ]
    perf = performance(points)
    assert perf.requests == 1000 + 100 + 100
    assert perf.request_rate == pytest.approx(1200 / (week * 60))
    assert perf.error_rate == pytest.approx(12 / 1200)
    assert perf.p50_ms == pytest.approx(10 * 600 / 1080, rel=1e-3)
    assert perf.p50_ms <= perf.p95_ms <= perf.p99_ms  # type: ignore[operator]
    assert perf.bytes_out_per_second == pytest.approx((4e6 + 4e5 + 4e5) / (week * 60))
    assert perf.resets == 1


def test_no_snapshots_no_numbers() -> None:
    perf = performance([])
    assert perf.requests == 0 and perf.p50_ms is None and perf.error_rate is None
    assert perf.request_rate == 0.0


counts = st.lists(st.integers(0, 10_000), min_size=5, max_size=5)
snapshots = st.lists(
    st.tuples(counts, st.integers(0, 500), st.booleans(), st.integers(0, 10**9)),
    min_size=2,
    max_size=25,
)


def _series(raw: list[tuple[list[int], int, bool, int]]) -> list[Point]:
    """Random snapshots: each either grows the previous counters or restarts them."""
    points: list[Point] = []
    current = [0] * 5
    errors = 0
    boot = 0
    for i, (step, err, restart, size) in enumerate(raw):
        if restart:
            boot += 1
            current, errors = list(step), 0
        else:
            current = [c + s for c, s in zip(current, step, strict=True)]
        errors = min(errors + err, sum(current))
        points.append(point(i * 5, totals(current, errors=errors, bytes_in=size), boot=str(boot)))
    return points


@settings(max_examples=200, deadline=None)
@given(snapshots)
def test_increase_is_never_negative(raw: list[tuple[list[int], int, bool, int]]) -> None:
    inc = increase(_series(raw)).totals
    assert inc.count >= 0 and inc.errors >= 0 and inc.bytes_in >= 0 and inc.sum >= 0
    assert all(c >= 0 for _, c in inc.buckets)
    cumulative = [c for _, c in inc.buckets]
    assert cumulative == sorted(cumulative)  # still a histogram


@settings(max_examples=200, deadline=None)
@given(snapshots)
def test_quantiles_are_monotone(raw: list[tuple[list[int], int, bool, int]]) -> None:
    perf = performance(_series(raw))
    if perf.requests == 0:
        assert perf.p50_ms is None
        return
    assert perf.p50_ms is not None and perf.p95_ms is not None and perf.p99_ms is not None
    assert 0 <= perf.p50_ms <= perf.p95_ms <= perf.p99_ms <= 500
    assert perf.error_rate is not None and 0 <= perf.error_rate <= 1
    assert not math.isnan(perf.request_rate)


@given(st.lists(st.integers(0, 1000), min_size=5, max_size=5), st.floats(0, 1), st.floats(0, 1))
def test_quantile_is_monotone_in_q(per_bucket: list[int], a: float, b: float) -> None:
    t = totals(per_bucket)
    qa, qb = quantile(min(a, b), t.buckets), quantile(max(a, b), t.buckets)
    if sum(per_bucket) == 0:
        assert qa is None and qb is None
    else:
        assert qa is not None and qb is not None and qa <= qb
