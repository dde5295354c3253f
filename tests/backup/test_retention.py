"""Retention against the wall clock (BAK-2): a simulated year of nightly runs keeps exactly
the whitepaper's generations every day; fixed-term classes expire on time; pins hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from hokan.backup import retention
from hokan.backup.retention import Generation
from hokan.kit.clock import JST

START = datetime(2026, 1, 1, 17, 0, tzinfo=UTC)  # 02:00 JST


def _make(klass: str, target: str, at: datetime, n: int) -> Generation:
    return Generation(
        f"{at:%Y%m%dT%H%M%SZ}-{klass}-{n:06x}", klass, target, at, retention.expires_at(klass, at)
    )


def _prune(kept: list[Generation], now: datetime) -> list[Generation]:
    decisions = retention.decide(kept, now)
    return [d.generation for d in decisions if d.keep]


@settings(max_examples=15, deadline=None)
@given(
    missed=st.sets(st.integers(0, 364), max_size=40),
    upgrades=st.sets(st.integers(0, 364), max_size=6),
    maintenances=st.sets(st.integers(0, 364), max_size=10),
)
def test_a_year_of_nightly_runs_keeps_exactly_the_whitepapers_generations(
    missed: set[int], upgrades: set[int], maintenances: set[int]
) -> None:
    kept: list[Generation] = []
    made: list[Generation] = []
    n = 0
    for day in range(365):
        now = START + timedelta(days=day)
        todays = []
        if day not in missed:
            todays += [("daily", "local"), ("vault", "local")]
            if now.astimezone(JST).day == 1:
                todays.append(("monthly", "remote"))
        if day in upgrades:
            todays.append(("upgrade", "local"))
        if day in maintenances:
            todays.append(("maintenance", "local"))
        for klass, target in todays:
            n += 1
            g = _make(klass, target, now + timedelta(seconds=n), n)
            kept.append(g)
            made.append(g)
        check = now + timedelta(hours=3)  # the daily prune
        kept = _prune(kept, check)

        def newest(klass: str, count: int) -> set[str]:
            mine = sorted((g for g in made if g.klass == klass), key=lambda g: g.created_at)
            return {g.name for g in mine[-count:]}

        expected = newest("daily", 7) | newest("vault", 7) | newest("monthly", 3)
        for klass, term in (("upgrade", None), ("maintenance", timedelta(days=7))):
            last = newest(klass, 1)
            for g in made:
                if g.name in last:
                    ends = (
                        retention.add_months(g.created_at, 1)
                        if term is None
                        else g.created_at + term
                    )
                    if check < ends:
                        expected.add(g.name)
        names = {g.name for g in kept}
        if not expected & {g.name for g in made if g.target == "local"}:
            # The newest local generation is never removed, even when every rule would.
            local = [g for g in made if g.target == "local"]
            if local:
                expected.add(max(local, key=lambda g: g.created_at).name)
        assert names == expected, f"day {day}"


def test_upgrade_expires_one_calendar_month_after_creation_against_now() -> None:
    made = datetime(2026, 1, 31, 3, 0, tzinfo=UTC)
    upgrade = _make("upgrade", "local", made, 1)
    daily = _make("daily", "local", made + timedelta(days=60), 2)  # newer: never the anchor
    assert upgrade.expires_at == datetime(2026, 2, 28, 3, 0, tzinfo=UTC)
    before = retention.decide([upgrade, daily], datetime(2026, 2, 28, 2, 59, tzinfo=UTC))
    after = retention.decide([upgrade, daily], datetime(2026, 2, 28, 3, 0, tzinfo=UTC))
    assert {d.generation.klass: d.keep for d in before}["upgrade"] is True
    [gone] = [d for d in after if d.generation.klass == "upgrade"]
    assert (gone.keep, gone.rule) == (False, "expired")


def test_maintenance_expires_after_one_week() -> None:
    made = datetime(2026, 3, 1, tzinfo=UTC)
    g = _make("maintenance", "local", made, 1)
    other = _make("daily", "local", made, 2)
    keep = {
        d.generation.name: d.keep for d in retention.decide([g, other], made + timedelta(days=6))
    }
    assert keep[g.name] is True
    keep = {
        d.generation.name: d.keep for d in retention.decide([g, other], made + timedelta(days=7))
    }
    assert keep[g.name] is False


def test_a_pin_holds_past_expiry_and_count() -> None:
    made = datetime(2026, 3, 1, tzinfo=UTC)
    old = Generation(
        "20260301T000000Z-upgrade-000001",
        "upgrade",
        "local",
        made,
        made + timedelta(days=1),
        pinned=True,
    )
    [decision] = retention.decide([old], made + timedelta(days=400))
    assert (decision.keep, decision.rule) == (True, "pinned")


def test_an_empty_policy_never_deletes_everything() -> None:
    made = datetime(2026, 3, 1, tzinfo=UTC)
    gens = [_make("maintenance", "local", made - timedelta(days=30 + i), i) for i in range(3)]
    decisions = retention.decide(gens, made)
    kept = [d for d in decisions if d.keep]
    assert len(kept) == 1 and kept[0].rule == "last_generation"
    assert kept[0].generation.created_at == max(g.created_at for g in gens)


def test_every_decision_explains_itself() -> None:
    made = datetime(2026, 3, 1, tzinfo=UTC)
    gens = [_make("daily", "local", made + timedelta(days=i), i) for i in range(9)]
    decisions = retention.decide(gens, made + timedelta(days=9))
    assert [d.rule for d in decisions] == ["last"] * 7 + ["beyond_policy"] * 2
    assert "last #7 of 7" in decisions[6].why_en
    assert "no rule of default:daily [last 7] keeps it" in decisions[-1].why_en
