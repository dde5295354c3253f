"""The minute-level liveness ledger, run-length encoded (``monitor_spans``).

Each probe round extends the current span of each component or starts a new one
when the status changes; within one minute the worst status wins. When the
prober comes back after a gap longer than one probe interval, the gap is written
as an ``unknown`` span: a period nobody watched is never counted as up.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hokan.models import MonitorSpan
from hokan.monitoring.probes import DEGRADED, DOWN, UNKNOWN, UP, Result

_RANK = {UP: 0, UNKNOWN: 1, DEGRADED: 2, DOWN: 3}
MINUTE = timedelta(minutes=1)


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def latest(session: Session, component: str, location: str) -> MonitorSpan | None:
    found: MonitorSpan | None = session.scalars(
        select(MonitorSpan)
        .where(MonitorSpan.component == component, MonitorSpan.location == location)
        .order_by(MonitorSpan.start.desc())
        .limit(1)
    ).first()
    return found


def record(
    session: Session, result: Result, location: str, now: datetime, interval_seconds: int
) -> MonitorSpan:
    """Write one probe result; returns the span it now belongs to."""
    m = minute_of(now)
    last = latest(session, result.component, location)
    grace = timedelta(minutes=max(1, math.ceil(interval_seconds / 60)))
    if last is not None and last.start > m:
        # A recovery already opened the next minute; a worse result in this one
        # takes that back (the minute stays as the earlier span marked it).
        if _RANK[result.status] <= _RANK[last.status]:
            last.probes += 1
            return last
        session.delete(last)
        session.flush()
        return record(session, result, location, now, interval_seconds)
    if last is not None and last.end > m:  # this minute is already covered
        if last.status == result.status:
            last.probes += 1
            return last
        if _RANK[result.status] < _RANK[last.status]:
            # A better result does not clean a minute a failure marked: it opens the
            # next minute, so the recovery streak counts from this probe on.
            span = MonitorSpan(
                component=result.component,
                location=location,
                status=result.status,
                start=m + MINUTE,
                end=m + 2 * MINUTE,
                probes=1,
            )
            session.add(span)
            session.flush()
            return span
        if last.start == m:  # the span is only this minute: it takes the worse status
            last.status, last.probes, last.last_error = result.status, 1, result.reason or None
            return last
        last.end = m  # the worse status takes this minute from the span
    elif last is not None and last.end < m:
        if m - last.end <= grace:  # between probes of a slow interval: carried over
            if last.status == result.status:
                last.end, last.probes = m + MINUTE, last.probes + 1
                return last
            last.end = m
        else:
            session.add(
                MonitorSpan(
                    component=result.component,
                    location=location,
                    status=UNKNOWN,
                    start=last.end,
                    end=m,
                    probes=0,
                )
            )
    elif last is not None and last.status == result.status:  # contiguous (last.end == m)
        last.end, last.probes = m + MINUTE, last.probes + 1
        return last
    span = MonitorSpan(
        component=result.component,
        location=location,
        status=result.status,
        start=m,
        end=m + MINUTE,
        probes=1,
        last_error=result.reason or None,
    )
    session.add(span)
    session.flush()
    return span


def streak(span: MonitorSpan | None, status: str) -> int:
    """Consecutive probes with ``status`` ending now (the current span's probe count)."""
    if span is None or span.status != status:
        return 0
    return span.probes
