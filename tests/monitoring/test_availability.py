"""The availability engine (MON-6, REP-2; ADR 0018): the whitepaper's §1-3-2 tables
reproduced from equivalent inputs, the maintenance rule, outage classes, unknown
minutes, exact half-up rounding, error budget and burn-rate alerts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from hokan.kit.clock import JST
from hokan.models.monitoring import Incident, MaintenanceWindow, MonitorSpan
from hokan.monitoring import availability as av
from hokan.monitoring.availability import Figures, Month
from hokan.monitoring.errors import (
    AvailabilityImportInvalid,
    MonthOutOfRange,
    SinceInFuture,
    UnitsInvalid,
    YearOutOfRange,
)
from hokan.runtime import Runtime
from hokan.settings import UnknownMinutes

NOW = datetime(2024, 12, 5, 3, 0, tzinfo=UTC)  # the whitepaper shows January to November 2024

# Whitepaper §1-3-2, 月毎の稼働率(2024年): (availability, planned, full, partial).
MONTHLY_2024 = {
    1: ("100.0000", 801_360, 0, 0),
    2: ("100.0000", 749_520, 0, 0),
    3: ("100.0000", 801_360, 0, 0),
    4: ("100.0000", 775_440, 0, 0),
    5: ("100.0000", 801_360, 0, 0),
    6: ("100.0000", 775_440, 0, 0),
    7: ("100.0000", 801_360, 0, 0),
    8: ("100.0000", 801_360, 0, 0),
    9: ("100.0000", 775_440, 0, 0),
    10: ("100.0000", 801_360, 0, 0),
    11: ("100.0000", 775_440, 0, 0),
}
# 年毎の稼働率, as printed. 2021 is printed as 99.9940 %, but its own figures give
# 99.99407959… %, which rounds half-up to 99.9941 % (truncation would give 99.9940,
# but then 2023 and the average would print 99.9974): ADR 0018, "The whitepaper's 2021 row".
YEARLY = {
    2023: ("99.9975", 9_434_880, 0, 240),
    2022: ("99.9944", 9_170_520, 0, 513),
    2021: ("99.9941", 8_935_200, 0, 529),
    2020: ("100.0000", 6_307_200, 0, 0),
    2019: ("99.9985", 5_781_600, 0, 86),
    2018: ("100.0000", 5_781_600, 0, 0),
}
AVERAGE = ("99.9975", 54_070_440, 0, 1_368)


@pytest.fixture
def session(runtime: Runtime) -> Iterator[Session]:
    with runtime.db.session(write=True, system=True) as s:
        yield s


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST).astimezone(UTC)


def window(
    s: Session,
    start: datetime,
    minutes: int,
    *,
    notice_days: float = 30,
    emergency: bool = False,
    reads_allowed: bool = True,
    tenant_id: uuid.UUID | None = None,
    cancelled_at: datetime | None = None,
) -> MaintenanceWindow:
    w = MaintenanceWindow(
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        reason_ja="定期保守",
        announced_at=start - timedelta(days=notice_days),
        emergency=emergency,
        reads_allowed=reads_allowed,
        tenant_id=tenant_id,
        cancelled_at=cancelled_at,
    )
    s.add(w)
    s.flush()
    return w


_numbers = iter(range(1, 1_000_000))


def incident(
    s: Session,
    start: datetime,
    minutes: int | None,
    *,
    outage: str = "partial",
    counts: bool = True,
    cause: str = "",
) -> Incident:
    inc = Incident(
        number=f"INC-T-{next(_numbers):06d}",
        origin="operator",
        outage=outage,
        status="resolved" if minutes is not None else "open",
        title_ja="障害",
        title_en="outage",
        started_at=start,
        detected_at=start,
        resolved_at=None if minutes is None else start + timedelta(minutes=minutes),
        cause=cause,
        response="設定修正",
        prevention="手順書の修正",
        counts_as_outage=counts,
    )
    s.add(inc)
    s.flush()
    return inc


def whitepaper_2024(s: Session) -> None:
    """18 units from 2022-07-07 and one announced two-hour window each month of 2024."""
    av.set_units(s, effective_from=date(2022, 7, 7), units=18)
    for month in range(1, 13):
        window(s, jst(2024, month, 15, 2, 0), 120)


def row(f: Figures) -> tuple[str, int, int, int]:
    return (str(f.availability), f.planned, f.full, f.partial)


def month_report(s: Session, month: str, **kw: object) -> av.MonthFigures:
    m = av.parse_month(month, now=NOW)
    return av.report(s, m, m, now=NOW, **kw).months[0]  # type: ignore[arg-type]


def test_the_whitepapers_2024_monthly_rows(session: Session) -> None:
    whitepaper_2024(session)
    result = av.report(session, Month(2024, 1), Month(2024, 11), now=NOW)
    assert {mf.month.month: row(mf.figures) for mf in result.months} == MONTHLY_2024
    assert not any(mf.imported or mf.to_date for mf in result.months)


def _import_csv(years: dict[int, tuple[str, int, int, int]]) -> bytes:
    """Each year's figures spread over its twelve months (outage in November)."""
    lines = ["month,planned_minutes,full_minutes,partial_minutes"]
    for year, (_, planned, full, partial) in years.items():
        share, rest = divmod(planned, 12)
        for month in range(1, 13):
            p = share + (rest if month == 12 else 0)
            f, pa = (full, partial) if month == 11 else (0, 0)
            lines.append(f"{year}-{month:02d},{p},{f},{pa}")
    return ("\n".join(lines) + "\n").encode()


def test_every_yearly_row_and_the_average_from_imports(session: Session) -> None:
    whitepaper_2024(session)
    rows = av.parse_import(_import_csv(YEARLY), now=NOW)
    assert len(rows) == 72
    av.apply_import(session, rows)
    result = av.report(session, Month(2018, 1), Month(2024, 11), now=NOW)
    by_year = {y.year: y for y in result.years}
    for year, expected in YEARLY.items():
        assert row(by_year[year].figures) == expected, year
        assert by_year[year].imported_months == 12
    assert by_year[2024].imported_months == 0
    assert row(by_year[2024].figures)[1] == sum(v[1] for v in MONTHLY_2024.values())
    assert row(result.total) == AVERAGE  # 平均稼働率 over 2018-01 .. 2024-11


def test_an_imported_month_replaces_the_computation(session: Session) -> None:
    whitepaper_2024(session)
    incident(session, jst(2024, 3, 3, 10, 0), 60, outage="full")
    av.apply_import(
        session,
        av.parse_import(
            b"month,planned_minutes,full_minutes,partial_minutes\n2024-03,1000,0,10\n", now=NOW
        ),
    )
    march = month_report(session, "2024-03")
    assert march.imported and row(march.figures) == ("99.0000", 1000, 0, 10)


def test_a_month_with_a_partial_outage(session: Session) -> None:
    whitepaper_2024(session)
    incident(session, jst(2024, 3, 3, 10, 0), 90, cause="マイナンバーサーバの設定ミス")
    incident(session, jst(2024, 3, 20, 10, 0), 30, counts=False)  # judged not an outage
    march = month_report(session, "2024-03")
    # 90 minutes × 18 units = 1,620; (801,360 − 1,620) / 801,360 = 99.797842…%
    assert row(march.figures) == ("99.7978", 801_360, 0, 1_620)
    result = av.report(session, Month(2024, 3), Month(2024, 3), now=NOW)
    assert [d.cause for d in result.incidents] == ["マイナンバーサーバの設定ミス"]


def test_overlapping_full_and_partial_count_the_overlap_once_as_full(session: Session) -> None:
    whitepaper_2024(session)
    incident(session, jst(2024, 5, 1, 10, 0), 60, outage="full")  # 10:00-11:00
    incident(session, jst(2024, 5, 1, 10, 30), 90, outage="partial")  # 10:30-12:00
    incident(session, jst(2024, 5, 1, 10, 45), 30, outage="partial")  # inside both
    may = month_report(session, "2024-05")
    assert (may.figures.full, may.figures.partial) == (60 * 18, 60 * 18)
    assert may.figures.planned == 801_360


def test_outage_during_planned_maintenance_is_not_counted(session: Session) -> None:
    whitepaper_2024(session)  # window 2024-06-15 02:00-04:00 JST
    incident(session, jst(2024, 6, 15, 3, 0), 120, outage="full")  # 03:00-05:00
    june = month_report(session, "2024-06")
    assert (june.figures.planned, june.figures.full) == (775_440, 60 * 18)


def test_a_window_announced_13_days_ahead_is_not_planned_and_its_incident_counts(
    session: Session,
) -> None:
    av.set_units(session, effective_from=date(2022, 7, 7), units=18)
    late = jst(2024, 7, 10, 1, 0)
    window(session, late, 120, notice_days=13)  # reads allowed: writes refused → partial
    incident(session, late, 30, outage="full")  # and the service was down for 30 minutes
    july = month_report(session, "2024-07")
    assert july.figures.planned == 31 * 1440 * 18  # nothing subtracted
    assert (july.figures.full, july.figures.partial) == (30 * 18, 90 * 18)
    # The same window announced 14 days ahead is planned maintenance: no outage at all.
    window(session, jst(2024, 8, 10, 1, 0), 120, notice_days=14)
    incident(session, jst(2024, 8, 10, 1, 0), 30, outage="full")
    august = month_report(session, "2024-08")
    assert row(august.figures) == ("100.0000", 801_360, 0, 0)


def test_emergency_cancelled_and_per_tenant_windows(session: Session) -> None:
    av.set_units(session, effective_from=date(2024, 1, 1), units=2)
    window(session, jst(2024, 9, 2, 1, 0), 60, emergency=True, reads_allowed=False)  # full
    window(session, jst(2024, 9, 3, 1, 0), 60, emergency=True)  # partial
    start = jst(2024, 9, 4, 1, 0)
    window(session, start, 60, cancelled_at=start - timedelta(days=1))  # never happened
    window(session, jst(2024, 9, 5, 1, 0), 60, notice_days=20, tenant_id=uuid.uuid4())
    window(session, jst(2024, 9, 6, 1, 0), 60, emergency=True, tenant_id=uuid.uuid4())
    september = month_report(session, "2024-09")
    assert september.figures.planned == 30 * 1440 * 2
    assert (september.figures.full, september.figures.partial) == (60 * 2, 120 * 2)


def test_units_change_mid_month_count_per_day(session: Session) -> None:
    av.set_units(session, effective_from=date(2022, 1, 1), units=12)
    av.set_units(session, effective_from=date(2022, 7, 7), units=18)  # a JST day
    july = month_report(session, "2022-07")
    assert july.figures.planned == (6 * 12 + 25 * 18) * 1440
    before = month_report(session, "2021-12")
    assert before.figures.planned == 0 and before.figures.availability is None


def test_without_units_a_minute_is_a_unit_minute(session: Session) -> None:
    assert month_report(session, "2024-02").figures.planned == 29 * 1440


def test_rounding_is_half_up_at_the_fourth_decimal(session: Session) -> None:
    # 3 / 2,000,000 = 0.0000015 exactly → 99.99985 % → 99.9999 (half-even would give 99.9998)
    header = b"month,planned_minutes,full_minutes,partial_minutes\n"
    av.apply_import(
        session, av.parse_import(header + b"2024-01,2000000,1,2\n2024-02,1999999,0,3\n", now=NOW)
    )
    result = av.report(session, Month(2024, 1), Month(2024, 2), now=NOW)
    assert [str(mf.figures.availability) for mf in result.months] == ["99.9999", "99.9998"]
    # just below the boundary: 99.999849999925 % (3 / 1,999,999 = 1.5000007…e-6)
    assert str(av.percent(1_999_996, 1_999_999)) == "99.9998"
    assert str(av.percent(1_999_997, 2_000_000)) == "99.9999"
    # and a value float arithmetic gets wrong: (1 − 1/16000) × 100 = 99.99375 exactly
    assert str(av.percent(15_999, 16_000)) == "99.9938"
    assert av.percent(5, 0) is None


@given(
    planned=st.integers(min_value=1, max_value=10**12),
    a=st.integers(min_value=0, max_value=10**12),
    b=st.integers(min_value=0, max_value=10**12),
)
def test_percent_stays_within_bounds_and_is_monotone(planned: int, a: int, b: int) -> None:
    low, high = sorted((a, b))
    more_outage = av.percent(planned - high, planned)
    less_outage = av.percent(planned - low, planned)
    assert more_outage is not None and less_outage is not None
    assert Decimal(0) <= more_outage <= less_outage <= Decimal(100)


intervals = st.lists(
    st.tuples(st.integers(0, 3000), st.integers(1, 600)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    planned=intervals,
    full=intervals,
    partial=intervals,
    unknown=intervals,
    extra=st.tuples(st.integers(0, 3000), st.integers(1, 600), st.booleans()),
    steps=st.lists(st.tuples(st.integers(-100, 3000), st.integers(1, 20)), max_size=4),
    mode=st.sampled_from(list(UnknownMinutes)),
)
def test_engine_availability_is_bounded_and_monotone_in_outage(
    planned: list[tuple[int, int]],
    full: list[tuple[int, int]],
    partial: list[tuple[int, int]],
    unknown: list[tuple[int, int]],
    extra: tuple[int, int, bool],
    steps: list[tuple[int, int]],
    mode: UnknownMinutes,
) -> None:
    lo, hi = 0, 3000
    steps = sorted(dict(steps).items())

    def figures(f: list[tuple[int, int]], p: list[tuple[int, int]]) -> Figures:
        tl = av.build_timeline(
            lo, hi, planned=planned, full=f, partial=p, unknown=unknown, unit_steps=steps
        )
        return tl.figures(lo, hi, mode)

    before = figures(full, partial)
    start, length, is_full = extra
    added = [(start, start + length)]
    after = figures(full + added, partial) if is_full else figures(full, partial + added)
    for f in (before, after):
        assert 0 <= f.full + f.partial <= f.planned
        if f.availability is not None:
            assert Decimal(0) <= f.availability <= Decimal(100)
    assert after.planned == before.planned or mode is UnknownMinutes.exclude
    if before.availability is not None and after.availability is not None:
        assert after.availability <= before.availability
    assert after.outage >= before.outage


def span(s: Session, status: str, start: datetime, minutes: int, location: str = "tokyo") -> None:
    s.add(
        MonitorSpan(
            component="api",
            location=location,
            status=status,
            start=start,
            end=start + timedelta(minutes=minutes),
        )
    )
    s.flush()


@pytest.mark.parametrize(
    ("mode", "planned", "full", "unknown"),
    [
        (UnknownMinutes.exclude, (31 * 1440 - 10) * 3, 0, 30),
        (UnknownMinutes.up, 31 * 1440 * 3, 0, 30),
        (UnknownMinutes.outage, 31 * 1440 * 3, 30, 30),
    ],
)
def test_unknown_minutes_follow_the_setting(
    session: Session, mode: UnknownMinutes, planned: int, full: int, unknown: int
) -> None:
    av.set_units(session, effective_from=date(2024, 1, 1), units=3)
    start = jst(2024, 10, 1, 0, 0)
    span(session, "up", start, 60)
    span(session, "unknown", start + timedelta(minutes=60), 10)  # the prober was down
    span(session, "up", start + timedelta(minutes=70), 600)
    # Another location saw these minutes, so they are known (up):
    span(session, "unknown", start + timedelta(minutes=200), 20, location="osaka")
    october = month_report(session, "2024-10", unknown=mode)
    assert (october.figures.planned, october.figures.full) == (planned, full)
    assert october.figures.unknown == unknown


def test_bad_periods_are_refused_with_stable_codes() -> None:
    for text, reason in (("2024-13", "month"), ("2024-1", "malformed"), ("1999-12", "year")):
        with pytest.raises(MonthOutOfRange) as caught:
            av.parse_month(text, now=NOW)
        assert (caught.value.code, caught.value.reason) == ("month_out_of_range", reason)
    with pytest.raises(MonthOutOfRange, match="not begun"):
        av.period_of_month("2025-01", now=NOW)
    with pytest.raises(SinceInFuture) as since:
        av.period_since("2025-01", now=NOW)
    assert since.value.code == "since_in_future"
    with pytest.raises(YearOutOfRange):
        av.period_of_year(2025, now=NOW)
    assert av.period_of_year(2024, now=NOW) == (Month(2024, 1), Month(2024, 12))
    assert av.period_since("2023-11", now=NOW) == (Month(2023, 11), Month(2024, 12))


def test_units_must_be_positive(session: Session) -> None:
    for units in (0, -18):
        with pytest.raises(UnitsInvalid) as caught:
            av.set_units(session, effective_from=date(2024, 1, 1), units=units)
        assert caught.value.reason == "not_positive"
    av.set_units(session, effective_from=date(2024, 1, 1), units=18)
    av.set_units(session, effective_from=date(2024, 1, 1), units=20)  # replaces that day's
    assert av.list_units(session) == [(date(2024, 1, 1), 20)]


@pytest.mark.parametrize(
    ("body", "reason", "line"),
    [
        ("month,planned\n2024-01,1\n", "header", 1),
        ("month,planned_minutes,full_minutes,partial_minutes\n2024-01,10,0\n", "columns", 2),
        (
            "month,planned_minutes,full_minutes,partial_minutes\n2024-01,10,0,0\n2024-13,1,0,0\n",
            "month",
            3,
        ),
        ("month,planned_minutes,full_minutes,partial_minutes\n2024-12,10,0,0\n", "month", 2),
        (
            "month,planned_minutes,full_minutes,partial_minutes\n2024-01,10,0,0\n\n2024-01,10,0,0\n",
            "duplicate",
            4,
        ),
        ("month,planned_minutes,full_minutes,partial_minutes\n2024-01,10,-1,0\n", "number", 2),
        ("month,planned_minutes,full_minutes,partial_minutes\n2024-01,1.5,0,0\n", "number", 2),
        ("month,planned_minutes,full_minutes,partial_minutes\n2024-01,0,0,0\n", "planned", 2),
        ("month,planned_minutes,full_minutes,partial_minutes\n2024-01,10,6,5\n", "exceeds", 2),
        ("month,planned_minutes,full_minutes,partial_minutes\n", "empty", None),
    ],
)
def test_malformed_imports_name_the_line_and_import_nothing(
    session: Session, body: str, reason: str, line: int | None
) -> None:
    with pytest.raises(AvailabilityImportInvalid) as caught:
        av.parse_import(body.encode(), now=NOW)
    assert caught.value.reason == reason
    assert caught.value.params.get("line") == line
    if line is not None:
        assert f"Line {line}" in caught.value.message("en")
        assert f"{line}行目" in caught.value.message("ja")
    assert session.query(av.AvailabilityImport).count() == 0


def test_imports_are_idempotent_per_month(session: Session) -> None:
    data = (
        "\ufeffmonth,planned_minutes,full_minutes,partial_minutes\r\n2023-10,1000,0,5\r\n".encode()
    )
    first = av.apply_import(session, av.parse_import(data, now=NOW))
    again = av.apply_import(session, av.parse_import(data, now=NOW))
    changed = av.apply_import(session, av.parse_import(data.replace(b",5\r", b",6\r"), now=NOW))
    assert (first.added, again.unchanged, changed.replaced) == (
        ["2023-10"],
        ["2023-10"],
        ["2023-10"],
    )
    assert session.query(av.AvailabilityImport).count() == 1


def test_error_budget_of_the_month(session: Session) -> None:
    whitepaper_2024(session)
    incident(session, jst(2024, 4, 2, 9, 0), 20, outage="full")
    result = av.report(session, Month(2024, 4), Month(2024, 4), now=NOW)
    budget = result.budget
    assert budget.allowed == Decimal("775.440")  # 0.1 % of 775,440
    assert budget.used == 360  # 20 minutes × 18 units
    assert budget.remaining_percent == Decimal("53.57")


def test_the_current_month_counts_to_now(session: Session) -> None:
    whitepaper_2024(session)
    december = month_report(session, "2024-12")
    assert december.to_date
    minutes = (NOW - jst(2024, 12, 1, 0, 0)).total_seconds() // 60
    assert december.figures.planned == minutes * 18  # the window of the 15th is still ahead
    open_incident = incident(session, NOW - timedelta(minutes=45), None, outage="full")
    assert month_report(session, "2024-12").figures.full == 45 * 18
    assert open_incident.resolved_at is None


def test_burn_rate_pages_for_an_hour_long_full_outage(session: Session) -> None:
    now = datetime(2024, 10, 1, 12, 0, tzinfo=UTC)
    incident(session, now - timedelta(hours=1), None, outage="full")
    alerts = av.burn_alerts(session, now)
    assert {a.rule for a in alerts} == {"1h/5m", "6h/30m"}
    fast = next(a for a in alerts if a.rule == "1h/5m")
    assert fast.severity == "page" and fast.long_burn == Decimal("1000.00")
    assert "14.4" in fast.message("en") and "倍" in fast.message("ja")


def test_burn_rate_stays_quiet_for_a_one_minute_blip(session: Session) -> None:
    now = datetime(2024, 10, 1, 12, 0, tzinfo=UTC)
    span(session, "up", now - timedelta(hours=6), 357)
    span(session, "down", now - timedelta(minutes=3), 1)  # one failed probe, no incident
    span(session, "up", now - timedelta(minutes=2), 2)
    assert av.burn_alerts(session, now) == []
    # An outage long ago burns nothing now; a slow partial burn below 6x neither.
    incident(session, now - timedelta(days=2), 120, outage="full")
    incident(session, now - timedelta(hours=5), 2, outage="partial")
    assert av.burn_alerts(session, now) == []


def test_unknown_minutes_alike_in_short_and_long_reports(session: Session) -> None:
    """A month reads the ledger by index ranges per line, a year by one scan: same minutes."""
    start = jst(2024, 10, 1, 0, 0)
    gap = start + timedelta(days=35)  # November: both probers down for 15 minutes
    for component in ("api", "smtp"):
        for location in ("tokyo", "osaka"):
            for status, a, b in (
                ("up", start, gap),
                ("unknown", gap, gap + timedelta(minutes=15)),
                ("up", gap + timedelta(minutes=15), start + timedelta(days=60)),
            ):
                session.add(
                    MonitorSpan(
                        component=component, location=location, status=status, start=a, end=b
                    )
                )
    # October: one line unknown for 30 minutes, but every other line saw those minutes.
    session.add(
        MonitorSpan(
            component="vault",
            location="tokyo",
            status="unknown",
            start=start + timedelta(days=3),
            end=start + timedelta(days=3, minutes=30),
        )
    )
    session.flush()
    assert av.ledger_lines(session) == [
        ("api", "osaka"),
        ("api", "tokyo"),
        ("smtp", "osaka"),
        ("smtp", "tokyo"),
        ("vault", "tokyo"),
    ]
    by_month = [month_report(session, m).figures.unknown for m in ("2024-10", "2024-11")]
    year = av.report(session, Month(2024, 1), Month(2024, 11), now=NOW)
    assert by_month == [mf.figures.unknown for mf in year.months[-2:]] == [0, 15]


def test_the_status_page_shows_the_engines_monthly_figures(runtime: Runtime) -> None:
    from hokan.kit.clock import utcnow
    from hokan.monitoring import availability as engine
    from hokan.monitoring.status_page import monthly_rows

    with runtime.db.session(write=True, system=True) as s:
        engine.set_units(s, effective_from=date(2020, 1, 1), units=18)
    with runtime.db.session(system=True) as s:
        rows = monthly_rows(s)
    assert len(rows) == 12 and rows[0]["month"] == str(engine.Month.of(utcnow()))
    assert rows[1]["availability"] == "100.0000" and rows[1]["planned_minutes"] > 0
