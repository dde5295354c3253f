"""Report periods in Japan Standard Time: the ISO week (Monday 00:00 JST to the next
Monday) of the weekly report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from hokan.kit.clock import JST
from hokan.reports.errors import InvalidWeek

_WEEK = re.compile(r"^([0-9]{4})-W([0-9]{2})$")


@dataclass(frozen=True)
class Week:
    year: int
    number: int

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    @property
    def start(self) -> datetime:
        """Monday 00:00 JST, in UTC."""
        return datetime.combine(self.monday, time(), JST).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 JST (exclusive), in UTC."""
        return self.start + timedelta(days=7)

    @classmethod
    def of(cls, moment: datetime) -> Week:
        year, number, _ = moment.astimezone(JST).isocalendar()
        return cls(year, number)

    @classmethod
    def last_complete(cls, now: datetime) -> Week:
        """The week before the one ``now`` falls in (what Monday's report covers)."""
        return cls.of(now - timedelta(days=7))

    def label_ja(self) -> str:
        last = self.days[-1]
        return f"{self.monday:%Y年%m月%d日}(月)〜{last:%m月%d日}(日) [{self}]"


def parse_week(text: str, *, now: datetime) -> Week:
    """``YYYY-Www`` (ISO week, JST); a week that has not started yet is refused."""
    found = _WEEK.match(text.strip())
    if not found:
        raise InvalidWeek("format", value=text[:20])
    year, number = int(found.group(1)), int(found.group(2))
    try:
        week = Week(year, number)
        week.monday  # noqa: B018 (validates the week number)
    except ValueError:
        raise InvalidWeek("format", value=text[:20]) from None
    if week.start > now:
        raise InvalidWeek("future", value=str(week))
    return week
