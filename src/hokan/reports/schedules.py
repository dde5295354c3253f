"""Job schedules as the whitepaper says them ("毎週月曜 09:00", "30 秒ごと"), read from the
same place the worker reads them (``HOKAN_JOB_SCHEDULES`` over each job's default)."""

from __future__ import annotations

import re

from hokan.kit.jobs import Job
from hokan.settings import Settings

_EVERY = re.compile(r"^every\s+([0-9]+)\s*([smh])$")
_UNIT = {"s": "秒", "m": "分", "h": "時間"}
_DOW = {"0": "日", "1": "月", "2": "火", "3": "水", "4": "木", "5": "金", "6": "土", "7": "日"}


def configured(settings: Settings, job: Job) -> str:
    return settings.job_schedules.get(job.name, job.default_schedule(settings)).strip()


def describe(text: str) -> str:
    """Japanese for the usual forms; anything else is shown as configured."""
    if text == "off":
        return "停止中 (off)"
    found = _EVERY.match(text)
    if found:
        return f"{found.group(1)} {_UNIT[found.group(2)]}ごと"
    fields = text.split()
    if len(fields) != 5 or not (fields[0].isdigit() and fields[1].isdigit()):
        return text
    minute, hour, dom, month, dow = fields
    at = f"{int(hour):02d}:{int(minute):02d}"
    if month != "*":
        return f"{text} (cron, 日本時間)"
    if dom == "*" and dow == "*":
        return f"毎日 {at}"
    if dom == "*" and dow in _DOW:
        return f"毎週{_DOW[dow]}曜 {at}"
    if dow == "*" and dom.isdigit():
        return f"毎月 {int(dom)} 日 {at}"
    return f"{text} (cron, 日本時間)"


def said(settings: Settings, job: Job) -> str:
    return describe(configured(settings, job))
