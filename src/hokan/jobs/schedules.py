"""Schedules in settings' words, as APScheduler triggers (cron in Japan Standard Time)."""

from __future__ import annotations

import re

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from hokan.jobs.errors import InvalidSchedule
from hokan.kit.clock import JST

_EVERY = re.compile(r"every\s+(\d+)\s*(s|m|h)", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
MIN_INTERVAL_SECONDS = 1
MAX_INTERVAL_SECONDS = 31 * 86_400


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_weekdays(field: str) -> str:
    """Cron's weekday numbers (0 or 7 = Sunday) as names: APScheduler 3 counts from
    Monday = 0, so ``0 3 * * 1`` would otherwise fire on Tuesdays. A range through
    Sunday (``0-5``, ``3-7``) becomes a Monday-based range plus ``sun``."""
    parts: list[str] = []
    for part in field.split(","):
        days, _, step = part.partition("/")
        suffix = f"/{step}" if step else ""
        bounds = days.split("-")
        if len(bounds) == 2 and all(b.isdigit() for b in bounds) and not step:
            lo, hi = int(bounds[0]), int(bounds[1])
            if lo == 0 or hi == 7:  # Sunday at an end of the range
                lo, hi = max(lo, 1), min(hi, 6)
                if lo <= hi:
                    parts.append(f"{_DAYS[lo]}-{_DAYS[hi]}")
                parts.append("sun")
                continue
        parts.append(re.sub(r"\d+", lambda m: _day(m.group()), days) + suffix)
    return ",".join(parts)


def _day(number: str) -> str:
    n = int(number)
    return _DAYS[n] if n <= 7 else number


def parse(text: str, setting: str) -> BaseTrigger | None:
    """The trigger for ``text``; ``None`` for ``off``. ``setting`` names the source in errors."""
    value = text.strip()
    if value.lower() == "off":
        return None
    every = _EVERY.fullmatch(value)
    if every:
        seconds = int(every.group(1)) * _UNIT_SECONDS[every.group(2).lower()]
        if not MIN_INTERVAL_SECONDS <= seconds <= MAX_INTERVAL_SECONDS:
            raise InvalidSchedule("syntax", setting=setting, value=text)
        return IntervalTrigger(seconds=seconds, timezone=JST)
    fields = value.split()
    if len(fields) != 5:
        raise InvalidSchedule("syntax", setting=setting, value=text)
    fields[4] = cron_weekdays(fields[4])
    try:
        return CronTrigger.from_crontab(" ".join(fields), timezone=JST)
    except ValueError as exc:
        raise InvalidSchedule("syntax", setting=setting, value=text) from exc
