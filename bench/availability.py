"""Availability report benchmark (issue 14: MON-6, REP-2; ADR 0018).

In one process, on SQLite and PostgreSQL, over 7 years of generated inputs (84 JST
months: service units, a planned window a month, emergency windows, a few thousand
incidents, a run-length ledger for 7 components with common ``unknown`` gaps):

- ``typical``: that ledger (~tens of thousands of spans);
- ``flapping``: the same plus the worst case of the run-length ledger, one component
  changing state every ``--flap-minutes`` (default 3) for 7 years (~1.2 M spans).

Measured per scenario: the 7-year report (``--since``), a one-month report and one
``burn_alerts`` tick, each best of ``--repeat`` (time), and the report's peak Python
memory (``tracemalloc``, a separate run). Baseline, in the same run: a plain Python
pass over the same rows (every ledger span and incident of the period read and summed
per status), the least any report that looked at the minute ledger would cost.
Ratios are ours / baseline (time: lower is better). Run ``make bench`` or
``.venv/bin/python bench/availability.py [--backend sqlite|postgresql] [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import insert, select

from hokan import migrations
from hokan.kit.clock import JST
from hokan.kit.db import Database, make_engine
from hokan.models.monitoring import Incident, MaintenanceWindow, MonitorSpan, ServiceUnits
from hokan.monitoring import availability as av

FIRST, LAST = av.Month(2019, 12), av.Month(2026, 11)
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
COMPONENTS = ("api", "system_db", "keyring_db", "blob_store", "redis", "smtp", "vault")
CHUNK = 20_000


@contextlib.contextmanager
def database(backend: str, pg_url: str) -> Iterator[Database]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'hokan.db'}")
            migrations.upgrade("system", engine)
            yield Database(engine)
            engine.dispose()
        return
    from run import postgres_databases

    with postgres_databases(pg_url) as pg:
        engine = make_engine(pg.database_url, pool_size=2)
        migrations.upgrade("system", engine)
        yield Database(engine, row_level_security=True)
        engine.dispose()


def _minute(m: int) -> datetime:
    return datetime.fromtimestamp(m * 60, UTC)


def _ledger(
    down: list[tuple[int, int]], unknown: list[tuple[int, int]], lo: int, hi: int
) -> list[tuple[int, int, str]]:
    """Run-length spans over [lo, hi): unknown, then down, the rest up."""
    marks = sorted([(s, e, "unknown") for s, e in unknown] + [(s, e, "down") for s, e in down])
    out: list[tuple[int, int, str]] = []
    cursor = lo
    for s, e, status in marks:
        s = max(s, cursor)
        if e <= s:
            continue
        if s > cursor:
            out.append((cursor, s, "up"))
        out.append((s, e, status))
        cursor = e
    if cursor < hi:
        out.append((cursor, hi, "up"))
    return out


def seed(db: Database, *, incidents: int, flap_minutes: int | None, seed_value: int) -> int:
    """Write the inputs; returns the number of ledger spans."""
    rnd = random.Random(seed_value)
    lo, hi = FIRST.start_minute, LAST.end_minute
    units = [(date(2019, 1, 1), 11), (date(2020, 1, 1), 12), (date(2022, 7, 7), 18)]
    windows: list[dict[str, Any]] = []
    m = FIRST
    while m <= LAST:
        start = datetime(m.year, m.month, 15, 2, 0, tzinfo=JST)
        windows.append(_window(start, 120, notice=30))
        m = m.next()
    for _ in range(20):
        start = _minute(rnd.randrange(lo, hi - 600))
        windows.append(_window(start, rnd.randrange(10, 90), notice=0, emergency=True))
    gaps = []
    for _ in range(150):  # the prober was down: every component's ledger says unknown
        s = rnd.randrange(lo, hi - 200)
        gaps.append((s, s + rnd.randrange(5, 120)))
    rows: list[dict[str, Any]] = []
    per_component: dict[str, list[tuple[int, int]]] = {c: [] for c in COMPONENTS}
    for i in range(incidents):
        s = rnd.randrange(lo, hi - 300)
        e = s + rnd.randrange(1, 30)
        full = rnd.random() < 0.2
        component = "api" if full else rnd.choice(COMPONENTS[3:])
        per_component[component].append((s, e))
        rows.append(
            {
                "id": uuid.uuid4(),
                "number": f"INC-B-{i:06d}",
                "origin": "probe",
                "outage": "full" if full else "partial",
                "status": "resolved",
                "title_ja": "障害",
                "title_en": "outage",
                "components": [component],
                "functions": [],
                "started_at": _minute(s),
                "detected_at": _minute(s + 1),
                "resolved_at": _minute(e),
                "cause": "負荷の増加によりつながりにくい状況となっていた",
                "response": "サーバの再起動",
                "prevention": "監視体制の強化",
                "counts_as_outage": rnd.random() < 0.95,
            }
        )
    spans = 0
    with db.session(write=True, system=True) as s:
        for day, n in units:
            s.add(ServiceUnits(effective_from=day, units=n))
        s.execute(insert(MaintenanceWindow), windows)
        s.execute(insert(Incident), rows)
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        with db.session(write=True, system=True) as s:
            s.execute(insert(MonitorSpan), batch)
        batch.clear()

    def add(component: str, location: str, ledger: list[tuple[int, int, str]]) -> None:
        nonlocal spans
        for start, end, status in ledger:
            batch.append(
                {
                    "id": uuid.uuid4(),
                    "component": component,
                    "location": location,
                    "status": status,
                    "start": _minute(start),
                    "end": _minute(end),
                    "probes": (end - start) * 2,
                }
            )
            spans += 1
            if len(batch) >= CHUNK:
                flush()

    for component in COMPONENTS:
        add(component, "tokyo", _ledger(per_component[component], gaps, lo, hi))
    if flap_minutes:
        flapping = []
        t, down = lo, False
        for g_start, g_end in sorted(gaps):
            while t + flap_minutes <= g_start:
                flapping.append((t, t + flap_minutes, "down" if down else "up"))
                t, down = t + flap_minutes, not down
            if t < g_start:
                flapping.append((t, g_start, "down" if down else "up"))
            flapping.append((g_start, g_end, "unknown"))
            t = max(t, g_end)
        while t < hi:
            flapping.append((t, min(hi, t + flap_minutes), "down" if down else "up"))
            t, down = t + flap_minutes, not down
        add("backup_offsite", "tokyo", flapping)
    if batch:
        flush()
    return spans


def _window(start: datetime, minutes: int, *, notice: int, emergency: bool = False) -> Any:
    return {
        "id": uuid.uuid4(),
        "tenant_id": None,
        "starts_at": start,
        "ends_at": start + timedelta(minutes=minutes),
        "reason_ja": "定期保守",
        "reason_en": "maintenance",
        "emergency": emergency,
        "reads_allowed": True,
        "announced_at": start - timedelta(days=notice),
        "created_by": "bench",
    }


def baseline(db: Database) -> dict[str, int]:
    """A plain pass: every span and incident of the period read and summed per status."""
    lo, hi = _minute(FIRST.start_minute), _minute(LAST.end_minute)
    totals: dict[str, int] = {}
    with db.session(system=True) as s:
        spans = s.execute(
            select(MonitorSpan.status, MonitorSpan.start, MonitorSpan.end).where(
                MonitorSpan.start < hi, MonitorSpan.end > lo
            )
        )
        for status, start, end in spans:
            totals[status] = totals.get(status, 0) + int((end - start).total_seconds()) // 60
        incidents = s.execute(
            select(Incident.outage, Incident.started_at, Incident.resolved_at).where(
                Incident.started_at < hi
            )
        )
        for outage, start, end in incidents:
            if end is not None:
                totals[outage] = totals.get(outage, 0) + int((end - start).total_seconds()) // 60
    return totals


def seven_years(db: Database) -> av.Report:
    with db.session(system=True) as s:
        return av.report(s, FIRST, LAST, now=NOW)


def one_month(db: Database) -> av.Report:
    with db.session(system=True) as s:
        return av.report(s, LAST, LAST, now=NOW)


def tick(db: Database) -> list[av.BurnAlert]:
    with db.session(system=True) as s:
        return av.burn_alerts(s, NOW - timedelta(days=40))


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--incidents", type=int, default=3000)
    parser.add_argument("--flap-minutes", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="flap every 60 min, 1 repeat")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "HOKAN_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    if args.quick:
        args.flap_minutes, args.repeat = 60, 1
    print(
        f"availability benchmark: {FIRST}..{LAST} (84 months), {args.incidents} incidents, "
        f"flapping every {args.flap_minutes} min, best of {args.repeat}"
    )
    header = (
        f"{'backend':<11} {'scenario':<9} {'spans':>9} {'7y report':>10} {'baseline':>9} "
        f"{'ratio':>6} {'peak MB':>8} {'base MB':>8} {'1 month':>8} {'tick':>8}"
    )
    print(header)
    for backend in args.backend or ["sqlite", "postgresql"]:
        for scenario, flap in (("typical", None), ("flapping", args.flap_minutes)):
            try:
                with database(backend, args.pg_url) as db:
                    started = time.perf_counter()
                    spans = seed(db, incidents=args.incidents, flap_minutes=flap, seed_value=14)
                    seeded = time.perf_counter() - started
                    report = seven_years(db)  # warm the caches alike
                    baseline(db)
                    ours = best(lambda db=db: seven_years(db), args.repeat)  # type: ignore[misc]
                    base = best(lambda db=db: baseline(db), args.repeat)  # type: ignore[misc]
                    ours_mb = peak(lambda db=db: seven_years(db)) / 1e6  # type: ignore[misc]
                    base_mb = peak(lambda db=db: baseline(db)) / 1e6  # type: ignore[misc]
                    month = best(lambda db=db: one_month(db), args.repeat)  # type: ignore[misc]
                    burn = best(lambda db=db: tick(db), args.repeat)  # type: ignore[misc]
            except Exception as exc:  # a backend that cannot run is reported, not fatal
                print(f"{backend:<11} {scenario:<9} skipped: {type(exc).__name__}: {exc}")
                continue
            print(
                f"{backend:<11} {scenario:<9} {spans:>9,} {ours * 1000:>8.0f}ms "
                f"{base * 1000:>7.0f}ms {ours / base:>6.3f} {ours_mb:>8.1f} {base_mb:>8.1f} "
                f"{month * 1000:>6.0f}ms {burn * 1000:>6.0f}ms"
            )
            total = report.total
            print(
                f"{'':<11} {'':<9} seeded in {seeded:.1f} s; 7 years: {total.availability}% "
                f"of {total.planned:,} planned unit-minutes, {total.full:,} full, "
                f"{total.partial:,} partial, {total.unknown:,} unknown; "
                f"{len(report.incidents):,} incidents listed"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
