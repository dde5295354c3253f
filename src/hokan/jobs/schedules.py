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
    if len(value.split()) != 5:
        raise InvalidSchedule("syntax", setting=setting, value=text)
    try:
        return CronTrigger.from_crontab(value, timezone=JST)
    except ValueError as exc:
        raise InvalidSchedule("syntax", setting=setting, value=text) from exc
