"""The availability engine (MON-6, REP-2; ADR 0018).

Per JST calendar month, in unit-minutes:

- **planned** = Σ over the month's days of units × (the day's minutes − minutes of
  announced, service-wide, planned maintenance that day), where a window is planned
  maintenance only if it was announced at least 14 days before it started, is not an
  emergency and was not cancelled before it began;
- **full** and **partial** outage = minutes covered by incidents that count as an
  outage (union per class; a minute both full and partial counts as full), plus the
  minutes of maintenance windows that do *not* qualify as planned (the service
  refuses writes then: partial, or full when reads are refused too), never inside
  planned maintenance, times the day's units;
- minutes the prober did not observe (ledger ``unknown``, no location knowing better)
  are reported apart and counted per ``HOKAN_AVAILABILITY_UNKNOWN``;
- availability = (planned − full − partial) / planned, rounded half-up to four
  decimals of a percent, computed in integers (exact at the boundary).

A month imported with ``hokan availability import`` (figures from before Hokan)
replaces the computation for that month. Years and the average are sums of months.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hokan.kit.clock import JST
from hokan.models.monitoring import (
    AvailabilityImport,
    Incident,
    MaintenanceWindow,
    MonitorSpan,
    ServiceUnits,
)
from hokan.monitoring.availability_intervals import (
    Interval,
    Measure,
    ceil_minute,
    floor_minute,
    merge,
    subtract,
    to_datetime,
)
from hokan.monitoring.errors import (
    AvailabilityImportInvalid,
    MonthOutOfRange,
    SinceInFuture,
    UnitsInvalid,
    YearOutOfRange,
)
from hokan.settings import UnknownMinutes

DEFAULT_SLO = Decimal("99.9")
NOTICE = timedelta(days=14)  # whitepaper §1-2-2: 2週間前にメール/本サービスにて通知
FIRST_YEAR = 2000
MAX_UNITS = 1_000_000
FULL, PARTIAL = "full", "partial"
KNOWN = ("up", "down", "degraded")
UNKNOWN = "unknown"
SHORT_PERIOD = 40 * 1440  # minutes: up to this, unknown spans are read by index ranges
_QUANTUM = Decimal("0.0001")


# -- Months ------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in Japan Standard Time."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def of(cls, moment: datetime) -> Month:
        local = moment.astimezone(JST)
        return cls(local.year, local.month)

    def next(self) -> Month:
        return Month(self.year + (self.month == 12), self.month % 12 + 1)

    @property
    def start(self) -> datetime:
        return datetime.combine(date(self.year, self.month, 1), time(), JST)

    @property
    def start_minute(self) -> int:
        return floor_minute(self.start)

    @property
    def end_minute(self) -> int:
        return self.next().start_minute


def months_between(first: Month, last: Month) -> list[Month]:
    out = []
    m = first
    while m <= last:
        out.append(m)
        m = m.next()
    return out


def parse_month(text: str, *, now: datetime) -> Month:
    """``YYYY-MM`` of a month that has begun; :class:`MonthOutOfRange` otherwise."""
    given = text.strip()[:20]
    parts = given.split("-")
    if len(parts) != 2 or len(parts[0]) != 4 or len(parts[1]) != 2:
        raise MonthOutOfRange("malformed", given=given)
    if not (parts[0].isdigit() and parts[1].isdigit()):
        raise MonthOutOfRange("malformed", given=given)
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12:
        raise MonthOutOfRange("month", given=given)
    current = Month.of(now)
    if year < FIRST_YEAR:
        raise MonthOutOfRange("year", given=given, first=FIRST_YEAR, last=current.year)
    if Month(year, month) > current:
        raise MonthOutOfRange("future", given=given)
    return Month(year, month)


def period_of_month(text: str, *, now: datetime) -> tuple[Month, Month]:
    month = parse_month(text, now=now)
    return month, month


def period_of_year(year: int, *, now: datetime) -> tuple[Month, Month]:
    current = Month.of(now)
    if not FIRST_YEAR <= year <= current.year:
        raise YearOutOfRange("range", given=year, first=FIRST_YEAR, last=current.year)
    return Month(year, 1), min(Month(year, 12), current)


def period_since(text: str, *, now: datetime) -> tuple[Month, Month]:
    current = Month.of(now)
    try:
        first = parse_month(text, now=now)
    except MonthOutOfRange as exc:
        if exc.reason == "future":
            raise SinceInFuture("month", given=text.strip()[:20], current=str(current)) from None
        raise
    return first, current


# -- Figures -----------------------------------------------------------------------------


def percent(available: int, planned: int) -> Decimal | None:
    """``available / planned`` in percent, rounded half-up to 4 decimals (exact integers)."""
    if planned <= 0:
        return None
    available = max(0, min(available, planned))
    q, r = divmod(available * 1_000_000, planned)
    if 2 * r >= planned:
        q += 1
    return Decimal(q).scaleb(-4).quantize(_QUANTUM)


@dataclass(frozen=True)
class Figures:
    """Unit-minutes of one period (``unknown``: not observed, counted per the setting)."""

    planned: int = 0
    full: int = 0
    partial: int = 0
    unknown: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.planned + other.planned,
            self.full + other.full,
            self.partial + other.partial,
            self.unknown + other.unknown,
        )

    @property
    def outage(self) -> int:
        return self.full + self.partial

    @property
    def availability(self) -> Decimal | None:
        return percent(self.planned - self.outage, self.planned)


@dataclass(frozen=True)
class ErrorBudget:
    """The SLO's allowance of outage unit-minutes in a period, and what is left of it."""

    slo_percent: Decimal
    allowed: Decimal
    used: int

    @property
    def remaining(self) -> Decimal:
        return self.allowed - self.used

    @property
    def remaining_percent(self) -> Decimal | None:
        if self.allowed <= 0:
            return None
        return (self.remaining * 100 / self.allowed).quantize(Decimal("0.01"), ROUND_HALF_UP)


def error_budget(figures: Figures, slo_percent: Decimal) -> ErrorBudget:
    allowed = Decimal(figures.planned) * (100 - slo_percent) / 100
    return ErrorBudget(slo_percent, allowed, figures.outage)


@dataclass(frozen=True)
class MonthFigures:
    month: Month
    figures: Figures
    imported: bool = False
    to_date: bool = False  # the month is still running: figures up to now


@dataclass(frozen=True)
class YearFigures:
    year: int
    figures: Figures
    months: int
    imported_months: int
    to_date: bool


@dataclass(frozen=True)
class IncidentDetail:
    """停止の詳細: one outage as the report lists it."""

    number: str
    outage: str
    started_at: datetime
    resolved_at: datetime | None
    minutes: int
    title_ja: str
    title_en: str
    cause: str
    response: str
    prevention: str


@dataclass(frozen=True)
class Report:
    first: Month
    last: Month
    months: list[MonthFigures]
    years: list[YearFigures]
    total: Figures
    incidents: list[IncidentDetail]
    slo_percent: Decimal
    unknown: UnknownMinutes
    generated_at: datetime

    @property
    def budget(self) -> ErrorBudget:
        """The error budget of the last month of the report."""
        return error_budget(self.months[-1].figures, self.slo_percent)


# -- The timeline: every input of a period as interval sets ------------------------------

_INCIDENT_COLUMNS = (
    Incident.number,
    Incident.outage,
    Incident.started_at,
    Incident.resolved_at,
    Incident.title_ja,
    Incident.title_en,
    Incident.cause,
    Incident.response,
    Incident.prevention,
)


@dataclass(frozen=True)
class _IncidentRow:
    """The columns of an incident the report needs (plain rows: no ORM instances)."""

    number: str
    outage: str
    started_at: datetime
    resolved_at: datetime | None
    title_ja: str
    title_en: str
    cause: str
    response: str
    prevention: str


@dataclass
class Timeline:
    """Inputs of ``[lo, hi)`` (epoch minutes) as disjoint interval sets and unit steps.

    ``planned`` (qualifying maintenance), ``full``, ``partial`` and ``unknown`` are
    pairwise disjoint: full excludes planned, partial excludes both, unknown
    excludes all three (an outage we know of is not unknown).
    """

    lo: int
    hi: int
    planned: Measure
    full: Measure
    partial: Measure
    unknown: Measure
    unit_steps: list[tuple[int, int]]  # (from minute, units), sorted
    incidents: list[_IncidentRow] = field(default_factory=list)

    def segments(self, lo: int, hi: int) -> Iterable[tuple[int, int, int]]:
        """``(start, end, units)`` over ``[lo, hi)``, cut where the units change."""
        if not self.unit_steps:
            yield lo, hi, 1  # nothing configured: plain minutes (ADR 0018)
            return
        starts = [s for s, _ in self.unit_steps]
        i = bisect_right(starts, lo) - 1
        cursor = lo
        while cursor < hi:
            units = self.unit_steps[i][1] if i >= 0 else 0
            nxt = starts[i + 1] if i + 1 < len(starts) else hi
            end = min(hi, max(nxt, cursor))
            if end > cursor:
                yield cursor, end, units
            cursor = end
            i += 1

    def figures(self, lo: int, hi: int, mode: UnknownMinutes) -> Figures:
        planned = full = partial = unknown = 0
        for start, end, units in self.segments(lo, hi):
            if units <= 0:
                continue
            maintenance = self.planned.within(start, end)
            f = self.full.within(start, end)
            p = self.partial.within(start, end)
            u = self.unknown.within(start, end)
            service = end - start - maintenance
            if mode is UnknownMinutes.exclude:
                service -= u
            elif mode is UnknownMinutes.outage:
                f += u
            planned += units * service
            full += units * f
            partial += units * p
            unknown += units * u
        return Figures(planned, full, partial, unknown)


def _jst_midnight_minute(day: date) -> int:
    return floor_minute(datetime.combine(day, time(), JST))


def _clip(interval: Interval, lo: int, hi: int) -> Interval:
    return max(interval[0], lo), min(interval[1], hi)


def load_timeline(session: Session, lo: int, hi: int, *, now: datetime) -> Timeline:
    """Read what ``[lo, hi)`` needs (nothing after ``now``) and build its interval sets."""
    horizon = min(hi, ceil_minute(now))
    hi = max(lo, horizon)
    lo_dt, hi_dt = to_datetime(lo), to_datetime(hi)

    steps = [
        (_jst_midnight_minute(row.effective_from), row.units)
        for row in session.scalars(select(ServiceUnits).order_by(ServiceUnits.effective_from))
    ]

    planned: list[Interval] = []
    full: list[Interval] = []
    partial: list[Interval] = []
    mw = MaintenanceWindow
    windows = session.execute(
        select(
            mw.starts_at,
            mw.ends_at,
            mw.cancelled_at,
            mw.announced_at,
            mw.emergency,
            mw.reads_allowed,
            mw.tenant_id,
        ).where(mw.starts_at < hi_dt, mw.ends_at > lo_dt)
    )
    for w in windows:
        ends_at = w.ends_at
        if w.cancelled_at is not None:
            if w.cancelled_at <= w.starts_at:
                continue  # called off before it began: nothing happened
            ends_at = min(ends_at, w.cancelled_at)
        service_wide = w.tenant_id is None
        if not w.emergency and w.announced_at <= w.starts_at - NOTICE:
            if service_wide:  # partial minutes are not given to the provider: round inwards
                planned.append(_clip((ceil_minute(w.starts_at), floor_minute(ends_at)), lo, hi))
            continue  # one tenant's announced window: neither planned time off nor outage
        outward = _clip((floor_minute(w.starts_at), ceil_minute(ends_at)), lo, hi)
        (full if service_wide and not w.reads_allowed else partial).append(outward)

    incidents = [
        _IncidentRow(*row)
        for row in session.execute(
            select(*_INCIDENT_COLUMNS).where(
                Incident.counts_as_outage.is_(True),
                Incident.started_at < hi_dt,
                or_(Incident.resolved_at.is_(None), Incident.resolved_at > lo_dt),
            )
        )
    ]
    for inc in incidents:
        end = ceil_minute(inc.resolved_at) if inc.resolved_at is not None else hi
        interval = _clip((floor_minute(inc.started_at), end), lo, hi)
        (full if inc.outage == FULL else partial).append(interval)

    timeline = build_timeline(
        lo,
        hi,
        planned=planned,
        full=full,
        partial=partial,
        unknown=_unknown(session, lo, hi),
        unit_steps=steps,
    )
    timeline.incidents = incidents
    return timeline


def build_timeline(
    lo: int,
    hi: int,
    *,
    planned: Iterable[Interval],
    full: Iterable[Interval],
    partial: Iterable[Interval],
    unknown: Iterable[Interval] = (),
    unit_steps: Sequence[tuple[int, int]] = (),
) -> Timeline:
    """The timeline of ``[lo, hi)`` from raw intervals (any order, overlapping, unclipped).

    Precedence, minute by minute: planned maintenance, then full outage, then
    partial outage, then unknown.
    """

    def clipped(intervals: Iterable[Interval]) -> list[Interval]:
        return merge(_clip(i, lo, hi) for i in intervals)

    planned_set = clipped(planned)
    full_set = subtract(clipped(full), planned_set)
    partial_set = subtract(subtract(clipped(partial), planned_set), full_set)
    unknown_set = clipped(unknown)
    for taken in (planned_set, full_set, partial_set):
        unknown_set = subtract(unknown_set, taken)
    return Timeline(
        lo,
        hi,
        Measure(planned_set),
        Measure(full_set),
        Measure(partial_set),
        Measure(unknown_set),
        sorted(unit_steps),
    )


def ledger_lines(session: Session) -> list[tuple[str, str]]:
    """Every (component, location) of the ledger, by a skip scan of its index.

    Two indexed one-row queries per line instead of a ``DISTINCT`` over every span.
    """
    lines: list[tuple[str, str]] = []
    order = (MonitorSpan.component, MonitorSpan.location)
    row = session.execute(select(*order).order_by(*order).limit(1)).first()
    while row is not None:
        component, location = row
        lines.append((component, location))
        row = session.execute(
            select(*order)
            .where(MonitorSpan.component == component, MonitorSpan.location > location)
            .order_by(*order)
            .limit(1)
        ).first()
        if row is None:
            row = session.execute(
                select(*order).where(MonitorSpan.component > component).order_by(*order).limit(1)
            ).first()
    return lines


def _line_spans(
    session: Session, line: tuple[str, str], lo: int, hi: int, statuses: Sequence[str]
) -> list[Interval]:
    """Spans of one ledger line with one of ``statuses`` overlapping ``[lo, hi)``.

    A line's spans do not overlap, so those overlapping ``[lo, hi)`` start at or after
    the last start at or before ``lo``: an index range, however long the ledger.
    """
    component, location = line
    lo_dt, hi_dt = to_datetime(lo), to_datetime(hi)
    same_line = (MonitorSpan.component == component, MonitorSpan.location == location)
    floor = (
        select(func.max(MonitorSpan.start))
        .where(*same_line, MonitorSpan.start <= lo_dt)
        .scalar_subquery()
    )
    rows = session.execute(
        select(MonitorSpan.start, MonitorSpan.end).where(
            *same_line,
            MonitorSpan.start >= func.coalesce(floor, lo_dt),
            MonitorSpan.start < hi_dt,
            MonitorSpan.end > lo_dt,
            MonitorSpan.status.in_(statuses),
        )
    )
    return [(floor_minute(a), ceil_minute(b)) for a, b in rows]


def _unknown(session: Session, lo: int, hi: int) -> list[Interval]:
    """Minutes some ledger line marks ``unknown`` and no line (any component, any
    location) observed as up, down or degraded.

    Short periods (a month, a burn-rate window) read index ranges per line; long ones
    scan the ``unknown`` spans once. Known spans are read only where a line is not
    itself unknown over an unknown stretch (with one prober location, whose lines all
    go unknown together, that is nothing).
    """
    lines = ledger_lines(session)
    if not lines:
        return []
    per_line: dict[tuple[str, str], list[Interval]] = {}
    if hi - lo <= SHORT_PERIOD:
        for line in lines:
            per_line[line] = merge(_line_spans(session, line, lo, hi, (UNKNOWN,)))
    else:
        lo_dt, hi_dt = to_datetime(lo), to_datetime(hi)
        rows = session.execute(
            select(
                MonitorSpan.component, MonitorSpan.location, MonitorSpan.start, MonitorSpan.end
            ).where(
                MonitorSpan.status == UNKNOWN, MonitorSpan.start < hi_dt, MonitorSpan.end > lo_dt
            )
        )
        found: dict[tuple[str, str], list[Interval]] = {}
        for component, location, a, b in rows:
            found.setdefault((component, location), []).append((floor_minute(a), ceil_minute(b)))
        per_line = {line: merge(found.get(line, [])) for line in lines}
    unknown = merge(_clip(i, lo, hi) for intervals in per_line.values() for i in intervals)
    if not unknown:
        return []
    known: list[Interval] = []
    for line in lines:
        for start, end in subtract(unknown, per_line[line]):
            known.extend(_line_spans(session, line, start, end, KNOWN))
    return subtract(unknown, merge(known))


# -- Reports -----------------------------------------------------------------------------


def report(
    session: Session,
    first: Month,
    last: Month,
    *,
    now: datetime,
    slo_percent: Decimal = DEFAULT_SLO,
    unknown: UnknownMinutes = UnknownMinutes.exclude,
) -> Report:
    """Figures per month, per year and over the whole period ``first``..``last``."""
    months = months_between(first, last)
    horizon = ceil_minute(now)
    timeline = load_timeline(session, first.start_minute, last.end_minute, now=now)
    imports = {
        row.month: row
        for row in session.scalars(
            select(AvailabilityImport).where(
                AvailabilityImport.month >= str(first), AvailabilityImport.month <= str(last)
            )
        )
    }
    per_month: list[MonthFigures] = []
    for m in months:
        row = imports.get(str(m))
        if row is not None:
            figures = Figures(row.planned_minutes, row.full_minutes, row.partial_minutes)
            per_month.append(MonthFigures(m, figures, imported=True))
            continue
        end = min(m.end_minute, horizon)
        figures = timeline.figures(m.start_minute, end, unknown)
        per_month.append(MonthFigures(m, figures, to_date=m.end_minute > horizon))
    years: list[YearFigures] = []
    for year in sorted({m.year for m in months}):
        mine = [mf for mf in per_month if mf.month.year == year]
        years.append(
            YearFigures(
                year,
                sum((mf.figures for mf in mine), Figures()),
                len(mine),
                sum(mf.imported for mf in mine),
                any(mf.to_date for mf in mine),
            )
        )
    details = sorted(
        (_detail(inc, horizon) for inc in timeline.incidents),
        key=lambda d: d.started_at,
        reverse=True,
    )
    return Report(
        first,
        last,
        per_month,
        years,
        sum((mf.figures for mf in per_month), Figures()),
        details,
        slo_percent,
        unknown,
        now,
    )


def _detail(inc: _IncidentRow, horizon: int) -> IncidentDetail:
    end = ceil_minute(inc.resolved_at) if inc.resolved_at is not None else horizon
    return IncidentDetail(
        inc.number,
        inc.outage,
        inc.started_at,
        inc.resolved_at,
        max(0, end - floor_minute(inc.started_at)),
        inc.title_ja,
        inc.title_en,
        inc.cause,
        inc.response,
        inc.prevention,
    )


# -- Burn-rate alerts (SRE workbook, "Alerting on SLOs": multiwindow, multi-burn-rate) --


@dataclass(frozen=True)
class BurnRule:
    name: str
    long_minutes: int
    short_minutes: int
    threshold: Decimal
    severity: str = "page"


BURN_RULES = (
    BurnRule("1h/5m", 60, 5, Decimal("14.4")),  # 2 % of a 30-day budget in an hour
    BurnRule("6h/30m", 360, 30, Decimal("6")),  # 5 % of it in six hours
)


@dataclass(frozen=True)
class BurnAlert:
    """A rule whose long and short windows both burn the error budget too fast."""

    rule: str
    severity: str
    threshold: Decimal
    long_minutes: int
    short_minutes: int
    long_burn: Decimal
    short_burn: Decimal

    def message(self, lang: str = "ja") -> str:
        if lang == "en":
            return (
                f"Error budget burning at {self.long_burn}x over {self.long_minutes} min "
                f"and {self.short_burn}x over {self.short_minutes} min (page at {self.threshold}x)"
            )
        return (
            f"エラーバジェットの消費速度: 直近{self.long_minutes}分で{self.long_burn}倍、"
            f"直近{self.short_minutes}分で{self.short_burn}倍 (しきい値 {self.threshold}倍)"
        )


def burn_rate(
    timeline: Timeline, lo: int, hi: int, *, slo_percent: Decimal, unknown: UnknownMinutes
) -> Decimal:
    """How many times faster than the SLO allows ``[lo, hi)`` spent the budget.

    Bad minutes are outage minutes (either class); the window's service minutes
    leave out planned maintenance (and unknown minutes when they are excluded).
    Units do not matter: they scale both sides alike.
    """
    f = timeline.full.within(lo, hi) + timeline.partial.within(lo, hi)
    u = timeline.unknown.within(lo, hi)
    service = hi - lo - timeline.planned.within(lo, hi)
    if unknown is UnknownMinutes.exclude:
        service -= u
    elif unknown is UnknownMinutes.outage:
        f += u
    if service <= 0:
        return Decimal(0)
    return (Decimal(f) * 100 / (Decimal(service) * (100 - slo_percent))).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )


def burn_alerts(
    session: Session,
    now: datetime,
    *,
    slo_percent: Decimal = DEFAULT_SLO,
    unknown: UnknownMinutes = UnknownMinutes.exclude,
    rules: Sequence[BurnRule] = BURN_RULES,
) -> list[BurnAlert]:
    """What should page now (the prober job calls this each tick; it sends nothing).

    Reads only the longest window's rows (six hours): incidents, maintenance windows
    and ``unknown`` ledger spans. A ledger ``down`` with no incident (a blip shorter
    than the prober's K failed probes) is not an outage and burns nothing.
    """
    end = ceil_minute(now)
    longest = max(max(r.long_minutes, r.short_minutes) for r in rules)
    timeline = load_timeline(session, end - longest, end, now=now)
    out = []
    for rule in rules:
        long_burn = burn_rate(
            timeline, end - rule.long_minutes, end, slo_percent=slo_percent, unknown=unknown
        )
        short_burn = burn_rate(
            timeline, end - rule.short_minutes, end, slo_percent=slo_percent, unknown=unknown
        )
        if long_burn >= rule.threshold and short_burn >= rule.threshold:
            out.append(
                BurnAlert(
                    rule.name,
                    rule.severity,
                    rule.threshold,
                    rule.long_minutes,
                    rule.short_minutes,
                    long_burn,
                    short_burn,
                )
            )
    return out


# -- Service units -----------------------------------------------------------------------


def set_units(session: Session, *, effective_from: date, units: int) -> ServiceUnits:
    """Units from ``effective_from`` (a JST day) on, until the next change; replaces that day's."""
    if units <= 0:
        raise UnitsInvalid("not_positive", given=units)
    if units > MAX_UNITS:
        raise UnitsInvalid("too_many", given=units, limit=MAX_UNITS)
    row = session.get(ServiceUnits, effective_from)
    if row is None:
        row = ServiceUnits(effective_from=effective_from, units=units)
        session.add(row)
    else:
        row.units = units
    session.flush()
    return row


def list_units(session: Session) -> list[tuple[date, int]]:
    rows = session.scalars(select(ServiceUnits).order_by(ServiceUnits.effective_from))
    return [(r.effective_from, r.units) for r in rows]


# -- Imports -----------------------------------------------------------------------------

IMPORT_COLUMNS = ("month", "planned_minutes", "full_minutes", "partial_minutes")


@dataclass(frozen=True)
class ImportRow:
    line: int
    month: str
    planned: int
    full: int
    partial: int


@dataclass(frozen=True)
class ImportResult:
    added: list[str]
    replaced: list[str]
    unchanged: list[str]


def parse_import(data: bytes, *, now: datetime) -> list[ImportRow]:
    """Every row of an import CSV, validated; the first bad line refuses the whole file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AvailabilityImportInvalid("encoding") from None
    expected = ",".join(IMPORT_COLUMNS)
    rows: list[ImportRow] = []
    seen: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text))
    header_done = False
    for record in reader:
        line = reader.line_num
        if not record or all(not cell.strip() for cell in record):
            continue  # blank lines are nothing
        cells = [cell.strip() for cell in record]
        if not header_done:
            if [c.lower() for c in cells] != list(IMPORT_COLUMNS):
                raise AvailabilityImportInvalid("header", line=line, expected=expected)
            header_done = True
            continue
        if len(cells) != len(IMPORT_COLUMNS):
            raise AvailabilityImportInvalid(
                "columns", line=line, expected=len(IMPORT_COLUMNS), found=len(cells)
            )
        try:
            month = parse_month(cells[0], now=now)
        except MonthOutOfRange:
            raise AvailabilityImportInvalid("month", line=line) from None
        if month >= Month.of(now):  # only finished months are carried over
            raise AvailabilityImportInvalid("month", line=line)
        key = str(month)
        if key in seen:
            raise AvailabilityImportInvalid("duplicate", line=line, month=key, first=seen[key])
        numbers = []
        for column, cell in zip(IMPORT_COLUMNS[1:], cells[1:], strict=True):
            if not (cell.isascii() and cell.isdigit()) or len(cell) > 15:
                raise AvailabilityImportInvalid("number", line=line, column=column)
            numbers.append(int(cell))
        planned, full, partial = numbers
        if planned <= 0:
            raise AvailabilityImportInvalid("planned", line=line)
        if full + partial > planned:
            raise AvailabilityImportInvalid("exceeds", line=line)
        seen[key] = line
        rows.append(ImportRow(line, key, planned, full, partial))
    if not header_done:
        raise AvailabilityImportInvalid("header", line=1, expected=expected)
    if not rows:
        raise AvailabilityImportInvalid("empty")
    return rows


def apply_import(session: Session, rows: Sequence[ImportRow]) -> ImportResult:
    """Store the rows, one per month (importing the same file again changes nothing)."""
    added, replaced, unchanged = [], [], []
    for r in rows:
        current = session.get(AvailabilityImport, r.month)
        if current is None:
            session.add(
                AvailabilityImport(
                    month=r.month,
                    planned_minutes=r.planned,
                    full_minutes=r.full,
                    partial_minutes=r.partial,
                    imported_at=datetime.now(UTC),
                )
            )
            added.append(r.month)
        elif (current.planned_minutes, current.full_minutes, current.partial_minutes) == (
            r.planned,
            r.full,
            r.partial,
        ):
            unchanged.append(r.month)
        else:
            current.planned_minutes = r.planned
            current.full_minutes = r.full
            current.partial_minutes = r.partial
            current.imported_at = datetime.now(UTC)
            replaced.append(r.month)
    session.flush()
    return ImportResult(added, replaced, unchanged)
