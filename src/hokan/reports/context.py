"""What every section of the weekly report is built from: the session, the scope, the week."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from hokan.kit.clock import to_jst
from hokan.reports.period import Week
from hokan.reports.repository import Scope
from hokan.settings import Settings

NO_DATA = "この週のデータはありません。"
SERVICE_WIDE = "(サービス全体の値です。)"


@dataclass(frozen=True)
class Ctx:
    session: Session
    scope: Scope
    week: Week
    settings: Settings
    now: datetime

    @property
    def start(self) -> datetime:
        return self.week.start

    @property
    def end(self) -> datetime:
        return min(self.week.end, self.now)

    def day_labels(self) -> list[str]:
        return [f"{d:%m/%d}" for d in self.week.days]

    def day_index(self, moment: datetime) -> int:
        return (to_jst(moment).date() - self.week.monday).days

    def per_day(self, moments: Iterable[datetime]) -> list[float | None]:
        counts: list[float | None] = [0.0] * 7
        for m in moments:
            i = self.day_index(m)
            if 0 <= i < 7:
                counts[i] = (counts[i] or 0.0) + 1
        return counts


def jst(moment: datetime | None) -> str:
    return "" if moment is None else to_jst(moment).strftime("%Y-%m-%d %H:%M")


def day(value: date) -> str:
    weekday = "月火水木金土日"[value.weekday()]
    return f"{value:%m/%d}({weekday})"
