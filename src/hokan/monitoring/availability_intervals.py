"""Whole-minute interval sets for the availability engine (ADR 0018).

A moment is an integer: minutes since the Unix epoch, UTC. An interval is
``(start, end)``, start inclusive, end exclusive. A *set* is a sorted list of
disjoint, non-adjacent, non-empty intervals (what :func:`merge` returns); every
other function takes and returns sets. Pure functions, no I/O: the engine loads
rows once and does the arithmetic here.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime

Interval = tuple[int, int]


def floor_minute(moment: datetime) -> int:
    return math.floor(moment.astimezone(UTC).timestamp() / 60)


def ceil_minute(moment: datetime) -> int:
    return math.ceil(moment.astimezone(UTC).timestamp() / 60)


def to_datetime(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of ``intervals`` as a set (empty ones dropped, touching ones joined)."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def union(a: list[Interval], b: list[Interval]) -> list[Interval]:
    return merge([*a, *b])


def subtract(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """``a`` without ``b``."""
    out: list[Interval] = []
    j = 0
    for start, end in a:
        while j < len(b) and b[j][1] <= start:
            j += 1
        k = j
        cursor = start
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cursor:
                out.append((cursor, b[k][0]))
            cursor = max(cursor, b[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def total(a: list[Interval]) -> int:
    return sum(end - start for start, end in a)


class Measure:
    """Minutes of one set within any ``[lo, hi)``, in O(log n) (prefix sums)."""

    def __init__(self, intervals: list[Interval]) -> None:
        self._starts = [s for s, _ in intervals]
        self._intervals = intervals
        self._prefix = [0]
        for start, end in intervals:
            self._prefix.append(self._prefix[-1] + end - start)

    def within(self, lo: int, hi: int) -> int:
        if hi <= lo or not self._intervals:
            return 0
        return self._upto(hi) - self._upto(lo)

    def _upto(self, t: int) -> int:
        """Minutes of the set before ``t``."""
        i = bisect_right(self._starts, t)  # intervals starting at or before t
        if i == 0:
            return 0
        start, end = self._intervals[i - 1]
        return self._prefix[i - 1] + min(end, t) - start
