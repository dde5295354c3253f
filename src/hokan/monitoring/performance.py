"""The arithmetic of the weekly performance sample (§1-4-1), over metrics snapshots.

A snapshot holds cumulative totals of one host's request counters. Over a period,
each counter's *increase* is computed like Prometheus' ``increase()``: the sum of
the differences between consecutive snapshots, where a counter that went down — or
a snapshot from a new ``boot`` (a restarted process, an emptied multiprocess
directory) — counts from zero, i.e. contributes its whole new value. The latency
quantiles are then interpolated within the histogram buckets of the increase, as
``histogram_quantile()`` does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

INF = math.inf
QUANTILES = (0.5, 0.95, 0.99)


def _le(text: str) -> float:
    return INF if text in ("+Inf", "inf", "Inf") else float(text)


def _le_text(le: float) -> str:
    return "+Inf" if le == INF else repr(le)


@dataclass(frozen=True)
class Totals:
    """Cumulative request counters (one snapshot), or an increase of them."""

    buckets: tuple[tuple[float, float], ...] = ()  # (upper bound, cumulative count), sorted
    count: float = 0.0
    sum: float = 0.0  # seconds
    errors: float = 0.0  # 5xx answers
    bytes_in: float = 0.0
    bytes_out: float = 0.0

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Totals:
        buckets = sorted((_le(k), float(v)) for k, v in (data.get("buckets") or {}).items())
        status = data.get("status") or {}
        return cls(
            tuple(buckets),
            float(data.get("count", 0)),
            float(data.get("sum", 0)),
            float(status.get("5xx", 0)),
            float(data.get("bytes_in", 0)),
            float(data.get("bytes_out", 0)),
        )

    def _scalars(self) -> tuple[float, ...]:
        return (self.count, self.sum, self.errors, self.bytes_in, self.bytes_out)

    def went_down_from(self, earlier: Totals) -> bool:
        """Whether any counter is below its earlier value (a reset)."""
        if [le for le, _ in self.buckets] != [le for le, _ in earlier.buckets]:
            return True  # another bucket layout: the counters started again
        if any(b < a for (_, b), (_, a) in zip(self.buckets, earlier.buckets, strict=True)):
            return True
        return any(b < a for b, a in zip(self._scalars(), earlier._scalars(), strict=True))

    def minus(self, earlier: Totals) -> Totals:
        return Totals(
            tuple(
                (le, b - a) for (le, b), (_, a) in zip(self.buckets, earlier.buckets, strict=True)
            ),
            *(b - a for b, a in zip(self._scalars(), earlier._scalars(), strict=True)),
        )

    def plus(self, other: Totals) -> Totals:
        if not self.buckets:
            merged = other.buckets
        elif not other.buckets:
            merged = self.buckets
        else:
            merged = _merge(self.buckets, other.buckets)
        return Totals(
            merged, *(a + b for a, b in zip(self._scalars(), other._scalars(), strict=True))
        )


def _merge(
    a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]
) -> tuple[tuple[float, float], ...]:
    """Sum two cumulative histograms, on the union of their bounds (a step function each)."""
    bounds = sorted({le for le, _ in a} | {le for le, _ in b})

    def at(h: Sequence[tuple[float, float]], le: float) -> float:
        value = 0.0
        for bound, count in h:
            if bound <= le:
                value = count
        return value

    return tuple((le, at(a, le) + at(b, le)) for le in bounds)


@dataclass(frozen=True)
class Point:
    """One snapshot of one host's counters."""

    taken_at: datetime
    host: str
    boot: str
    totals: Totals


@dataclass
class Increase:
    totals: Totals = field(default_factory=Totals)
    resets: int = 0
    seconds: float = 0.0  # time the snapshots span


def increase(points: Iterable[Point]) -> Increase:
    """The increase of the counters over ``points`` (any hosts, any order), reset-aware."""
    by_host: dict[str, list[Point]] = {}
    for p in points:
        by_host.setdefault(p.host, []).append(p)
    out = Increase()
    first: datetime | None = None
    last: datetime | None = None
    for series in by_host.values():
        series.sort(key=lambda p: p.taken_at)
        first = series[0].taken_at if first is None else min(first, series[0].taken_at)
        last = series[-1].taken_at if last is None else max(last, series[-1].taken_at)
        for before, after in pairwise(series):
            if after.boot != before.boot or after.totals.went_down_from(before.totals):
                out.resets += 1
                delta = after.totals  # counted from zero since the restart
            else:
                delta = after.totals.minus(before.totals)
            out.totals = out.totals.plus(delta)
    if first is not None and last is not None:
        out.seconds = (last - first).total_seconds()
    return out


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The ``q`` quantile (seconds) by linear interpolation within the bucket it falls
    in, like Prometheus' ``histogram_quantile``; None without observations. A quantile
    in the ``+Inf`` bucket is the highest finite bound."""
    if not buckets:
        return None
    cumulative: list[tuple[float, float]] = []
    running = 0.0
    for le, count in sorted(buckets):
        running = max(running, count)  # cumulative counts never fall
        cumulative.append((le, running))
    total = cumulative[-1][1]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for le, count in cumulative:
        if count >= rank and count > below:
            if le == INF:
                return lower
            return lower + (le - lower) * (rank - below) / (count - below)
        lower, below = (le if le != INF else lower), count
    return lower


@dataclass(frozen=True)
class Performance:
    requests: int
    request_rate: float  # per second
    error_rate: float | None  # share of 5xx answers
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    bytes_in_per_second: float
    bytes_out_per_second: float
    seconds: float
    resets: int


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


def performance(points: Iterable[Point]) -> Performance:
    inc = increase(points)
    t = inc.totals
    span = inc.seconds

    def per_second(value: float) -> float:
        return value / span if span > 0 else 0.0

    p50, p95, p99 = (quantile(q, t.buckets) for q in QUANTILES)
    return Performance(
        requests=round(t.count),
        request_rate=per_second(t.count),
        error_rate=(t.errors / t.count) if t.count > 0 else None,
        p50_ms=_ms(p50),
        p95_ms=_ms(p95),
        p99_ms=_ms(p99),
        bytes_in_per_second=per_second(t.bytes_in),
        bytes_out_per_second=per_second(t.bytes_out),
        seconds=span,
        resets=inc.resets,
    )


def snapshot_data(
    buckets: Mapping[float, float],
    *,
    count: float,
    total_seconds: float,
    status: Mapping[str, float],
    bytes_in: float,
    bytes_out: float,
) -> dict[str, Any]:
    """The JSON a snapshot row stores (the inverse of :meth:`Totals.from_data`)."""
    return {
        "buckets": {_le_text(le): c for le, c in sorted(buckets.items())},
        "count": count,
        "sum": total_seconds,
        "status": dict(status),
        "bytes_in": bytes_in,
        "bytes_out": bytes_out,
    }
