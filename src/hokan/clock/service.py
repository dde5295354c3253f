"""The clock check (MON-8; whitepaper §1-2-2 運用状況報告: クロック同期 1回/週).

:func:`run` asks every configured NTP server for the time, records each answer in
``clock_checks``, writes one ``clock.check`` entry on the system chain (result,
offset in ms, server) and sets the ``/metrics`` gauges, all in one transaction.

The verdict rests on the answering server with the shortest round trip (its
offset is the most precise measurement): ``ok`` when its |offset| is within
``HOKAN_CLOCK_MAX_OFFSET_MS``, ``offset_exceeded`` above it, ``unreachable`` when
no server gave a usable answer. An alert is raised by the job (``clock.tasks``)
as :class:`~hokan.clock.errors.ClockOffsetExceeded` or
:class:`~hokan.clock.errors.ClockUnreachable`: the job runner records the run as
failed with that code and mails the on-call and security-notice operators — the
one mail of an alert (this module sends none).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.clock import ntp
from hokan.clock.errors import ClockOffsetExceeded, ClockUnreachable
from hokan.kit import metrics
from hokan.kit.clock import to_jst
from hokan.kit.db import Database, new_id
from hokan.kit.errors import HokanError
from hokan.models import ClockCheck
from hokan.principals.principal import SYSTEM
from hokan.settings import Settings

OK, OFFSET_EXCEEDED, UNREACHABLE = "ok", "offset_exceeded", "unreachable"
ACTION = "clock.check"

Ask = Callable[..., list[ntp.Answer]]


def _ms(seconds: float | None, digits: int | None = None) -> Any:
    if seconds is None:
        return None
    return round(seconds * 1000, digits) if digits is not None else round(seconds * 1000)


@dataclass(frozen=True)
class Check:
    check_id: uuid.UUID
    checked_at: datetime
    answers: tuple[ntp.Answer, ...]
    result: str
    chosen: ntp.Answer | None
    max_offset_ms: int

    @property
    def alert(self) -> bool:
        return self.result != OK

    def error(self) -> HokanError | None:
        """The alert as the error the job ends with (None when the clock is fine)."""
        if self.result == OFFSET_EXCEEDED and self.chosen is not None:
            return ClockOffsetExceeded(
                "offset",
                server=self.chosen.server,
                offset_ms=_ms(self.chosen.offset),
                max_offset_ms=self.max_offset_ms,
            )
        if self.result == UNREACHABLE:
            return ClockUnreachable("servers", servers=", ".join(a.server for a in self.answers))
        return None

    def as_json(self) -> dict[str, Any]:
        chosen = self.chosen
        return {
            "check_id": str(self.check_id),
            "checked_at": to_jst(self.checked_at).isoformat(),
            "result": self.result,
            "server": chosen.server if chosen else None,
            "offset_ms": _ms(chosen.offset, 3) if chosen else None,
            "max_offset_ms": self.max_offset_ms,
            "servers": [
                {
                    "server": a.server,
                    "answered": a.answered,
                    "offset_ms": _ms(a.offset, 3),
                    "delay_ms": _ms(a.delay, 3),
                    "stratum": a.stratum,
                    "error": a.error,
                }
                for a in self.answers
            ],
        }


def choose(answers: Iterable[ntp.Answer]) -> ntp.Answer | None:
    """The answer to judge by: the answering server with the shortest round trip."""
    usable = [a for a in answers if a.answered and a.offset is not None]
    return min(usable, key=lambda a: a.delay if a.delay is not None else float("inf"), default=None)


def decide(answers: Sequence[ntp.Answer], max_offset_ms: int) -> tuple[str, ntp.Answer | None]:
    chosen = choose(answers)
    if chosen is None or chosen.offset is None:
        return UNREACHABLE, None
    if abs(chosen.offset) * 1000 > max_offset_ms:
        return OFFSET_EXCEEDED, chosen
    return OK, chosen


def run(db: Database, settings: Settings, *, now: datetime, ask: Ask = ntp.query_all) -> Check:
    """Check the clock now: ask, record, audit and count (see the module's docstring)."""
    answers = ask(settings.ntp_server_list, timeout=settings.ntp_timeout_seconds)
    result, chosen = decide(answers, settings.clock_max_offset_ms)
    check = Check(new_id(), now, tuple(answers), result, chosen, settings.clock_max_offset_ms)
    with db.session(write=True, system=True) as s:
        record(s, check)
    metrics.CLOCK_LAST_CHECK.set(now.timestamp())
    if chosen is not None and chosen.offset is not None:
        metrics.CLOCK_OFFSET.set(chosen.offset)
    if check.alert:
        metrics.CLOCK_ALERTS.labels(result).inc()
    return check


def record(session: Session, check: Check) -> None:
    """The check's rows and its ``clock.check`` audit entry, in the caller's transaction."""
    for answer in check.answers:
        session.add(
            ClockCheck(
                check_id=check.check_id,
                checked_at=check.checked_at,
                server=answer.server,
                answered=answer.answered,
                offset_seconds=answer.offset,
                delay_seconds=answer.delay,
                stratum=answer.stratum,
                error=answer.error,
                chosen=answer is check.chosen,
                result=check.result,
                max_offset_ms=check.max_offset_ms,
            )
        )
    chosen = check.chosen
    error = check.error()
    detail: dict[str, Any] = {
        "result": check.result,
        "server": chosen.server if chosen else None,
        "offset_ms": _ms(chosen.offset) if chosen else None,
        "max_offset_ms": check.max_offset_ms,
        "answered": sum(1 for a in check.answers if a.answered),
        "asked": len(check.answers),
    }
    if error is not None:
        detail["error"] = error.code
    audit.record(
        session,
        SYSTEM,
        ACTION,
        "clock",
        str(check.check_id),
        result=audit.ERROR if check.alert else audit.SUCCESS,
        detail=detail,
    )
    session.flush()


def _checks(rows: Iterable[ClockCheck]) -> list[Check]:
    grouped: dict[uuid.UUID, list[ClockCheck]] = {}
    for row in rows:
        grouped.setdefault(row.check_id, []).append(row)
    out = []
    for check_id, group in grouped.items():
        answers = [
            ntp.Answer(r.server, r.answered, r.offset_seconds, r.delay_seconds, r.stratum, r.error)
            for r in group
        ]
        chosen = next((a for a, r in zip(answers, group, strict=True) if r.chosen), None)
        first = group[0]
        out.append(
            Check(
                check_id,
                first.checked_at,
                tuple(answers),
                first.result,
                chosen,
                first.max_offset_ms,
            )
        )
    return out


def history(
    session: Session,
    *,
    limit: int = 20,
    alerts_only: bool = False,
    since: datetime | None = None,
) -> list[Check]:
    """Recorded checks, newest first (``alerts_only``: those that alerted)."""
    newest = func.max(ClockCheck.checked_at)
    ids = select(ClockCheck.check_id).group_by(ClockCheck.check_id)
    if alerts_only:
        ids = ids.where(ClockCheck.result != OK)
    if since is not None:
        ids = ids.where(ClockCheck.checked_at >= since)
    chosen_ids = list(session.scalars(ids.order_by(newest.desc()).limit(limit)))
    if not chosen_ids:
        return []
    rows = session.scalars(
        select(ClockCheck)
        .where(ClockCheck.check_id.in_(chosen_ids))
        .order_by(ClockCheck.checked_at.desc(), ClockCheck.check_id, ClockCheck.server)
    )
    return _checks(rows)
