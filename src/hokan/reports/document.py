"""What a report is, apart from its format: a title, facts, and sections of paragraphs,
tables and charts. The HTML, XLSX, PDF and Markdown writers each render this one shape,
so every format carries the same figures (ADR 0025)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[Cell]]
    title: str = ""


@dataclass(frozen=True)
class Chart:
    """A bar or line chart: one value per category in each series (None: no value)."""

    title: str
    categories: list[str]
    series: list[tuple[str, list[float | None]]]
    unit: str = ""
    kind: Literal["bar", "line"] = "bar"

    @property
    def has_values(self) -> bool:
        return any(v is not None for _, values in self.series for v in values)


@dataclass
class Section:
    """One category of the report (one sheet of the workbook)."""

    key: str  # stable, ASCII: backup, liveness, …
    title: str  # 見出し, also the sheet name (at most 31 characters)
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    has_data: bool = True


@dataclass
class Document:
    title: str
    subtitle: str
    facts: list[tuple[str, str]]  # 対象期間, 作成日時, 対象 …
    sections: list[Section]
    notes: list[str] = field(default_factory=list)
    lang: str = "ja"

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)
