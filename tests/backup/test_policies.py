"""GFS policies (BAK-2) with restic's semantics: only periods that have a generation count,
the newest of each period is kept, buckets count on their own, the oldest fills a bucket;
``within`` is anchored on now; an empty policy never deletes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hokan.backup import policies, retention
from hokan.backup.policies import Policy, Within
from hokan.backup.retention import Generation
from hokan.kit.clock import JST

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def _gen(at: datetime, n: int, klass: str = "daily", target: str = "local") -> Generation:
    return Generation(f"{at:%Y%m%dT%H%M%SZ}-{klass}-{n:06x}", klass, target, at, None)


def _kept(policy: Policy, gens: list[Generation], now: datetime = NOW) -> set[str]:
    decided = retention.decide(gens, now, {"daily": policy})
    return {d.generation.name for d in decided if d.keep}


def _newest_first(gens: list[Generation]) -> list[Generation]:
    return sorted(gens, key=lambda g: g.created_at, reverse=True)


def _expected(bucket: str, count: int, gens: list[Generation]) -> set[str]:
    """The specification, independently: the newest generation of each of the ``count``
    newest periods that have one; if fewer periods exist, the oldest generation too."""
    key = {
        "daily": lambda g: g.created_at.astimezone(JST).date(),
        "weekly": lambda g: g.created_at.astimezone(JST).isocalendar()[:2],
        "monthly": lambda g: (
            g.created_at.astimezone(JST).year,
            g.created_at.astimezone(JST).month,
        ),
        "yearly": lambda g: g.created_at.astimezone(JST).year,
        "hourly": lambda g: g.created_at.astimezone(JST).replace(minute=0, second=0),
    }[bucket]
    newest_of: dict[object, Generation] = {}
    for g in _newest_first(gens):
        newest_of.setdefault(key(g), g)
    periods = sorted(newest_of, reverse=True)
    kept = {newest_of[p].name for p in periods[:count]}
    if len(periods) < count and gens:
        kept.add(min(gens, key=lambda g: g.created_at).name)
    return kept


moments = st.lists(
    st.integers(0, 400 * 24 * 60).map(lambda m: NOW - timedelta(minutes=m)),
    min_size=1,
    max_size=60,
    unique=True,
)


@settings(max_examples=60, deadline=None)
@given(
    at=moments,
    bucket=st.sampled_from(["hourly", "daily", "weekly", "monthly", "yearly"]),
    n=st.integers(1, 9),
)
def test_one_bucket_keeps_the_newest_of_each_of_its_newest_periods(
    at: list[datetime], bucket: str, n: int
) -> None:
    gens = [_gen(t, i) for i, t in enumerate(at)]
    assert _kept(Policy(**{bucket: n}), gens) == _expected(bucket, n, gens)


@settings(max_examples=40, deadline=None)
@given(at=moments, daily=st.integers(1, 8), weekly=st.integers(1, 5), monthly=st.integers(1, 4))
def test_buckets_count_on_their_own_so_the_kept_sets_overlap(
    at: list[datetime], daily: int, weekly: int, monthly: int
) -> None:
    gens = [_gen(t, i) for i, t in enumerate(at)]
    together = _kept(Policy(daily=daily, weekly=weekly, monthly=monthly), gens)
    apart = (
        _expected("daily", daily, gens)
        | _expected("weekly", weekly, gens)
        | _expected("monthly", monthly, gens)
    )
    assert together == apart


def test_restics_example_reasons_and_counters() -> None:
    # Four days; two runs on the newest day; the newest of each day is kept.
    days = [NOW - timedelta(days=d) for d in (0, 0.2, 1, 2, 3)]
    gens = [_gen(t, i) for i, t in enumerate(days)]
    decided = retention.decide(gens, NOW, {"daily": Policy(daily=3, weekly=1)})
    rules = [(d.keep, [(r.rule, r.counter) for r in d.reasons]) for d in decided]
    assert rules == [
        (True, [("daily", 1), ("weekly", 1)]),
        (False, []),
        (True, [("daily", 2)]),
        (True, [("daily", 3)]),
        (False, []),
    ]
    assert decided[0].why_en.startswith("kept by daily [daily 3, weekly 1]: daily #1 of 3 (")
    assert decided[1].rule == "beyond_policy"
    assert decided[0].as_json()["reasons"][0] == {
        "rule": "daily",
        "period": NOW.astimezone(JST).strftime("%Y-%m-%d"),
        "counter": 1,
        "of": 3,
    }


def test_the_oldest_fills_a_bucket_with_counts_left() -> None:
    gens = [_gen(NOW - timedelta(hours=h), h) for h in (0, 1, 2)]  # one day, three runs
    decided = retention.decide(gens, NOW, {"daily": Policy(daily=5)})
    assert [d.keep for d in decided] == [True, False, True]
    assert decided[-1].reasons[0].oldest is True
    assert "oldest daily #2 of 5" in decided[-1].why_en


def test_unlimited_keeps_every_period() -> None:
    gens = [_gen(NOW - timedelta(days=d), d) for d in range(40)]
    assert len(_kept(Policy(daily=-1), gens)) == 40
    assert len(_kept(Policy(monthly=-1), gens)) == 3  # Jun, May (+ the oldest, in May)


def test_within_is_anchored_on_now_not_on_the_newest_generation() -> None:
    old = [_gen(NOW - timedelta(days=40 + d), d) for d in range(5)]
    policy = Policy(within=Within.parse("1m"))
    # restic would keep all five (they are within a month of the newest); against now,
    # none is, and only the target's last generation stays.
    decided = retention.decide(old, NOW, {"daily": policy})
    assert [d.rule for d in decided] == ["last_generation"] + ["beyond_policy"] * 4
    recent = [_gen(NOW - timedelta(days=d), 10 + d) for d in (1, 29)]
    kept = _kept(policy, recent + old)
    assert kept == {g.name for g in recent}


def test_an_empty_policy_keeps_everything() -> None:
    gens = [_gen(NOW - timedelta(days=d), d) for d in range(30)]
    decided = retention.decide(gens, NOW, {"daily": Policy(daily=0)})
    assert all(d.keep and d.rule == "no_policy" for d in decided)


def test_per_target_policies_win_over_per_class_and_defaults() -> None:
    parsed = policies.parse_policies(
        {"local/daily": {"last": 2}, "daily": {"last": 4}, "remote/*": {"last": 1}}
    )
    local = [_gen(NOW - timedelta(days=d), d) for d in range(6)]
    remote = [_gen(NOW - timedelta(days=d), 100 + d, target="remote") for d in range(6)]
    vault = [_gen(NOW - timedelta(days=d), 200 + d, klass="vault") for d in range(9)]
    decided = retention.decide(local + remote + vault, NOW, parsed)
    kept: dict[tuple[str, str], int] = {}
    for d in decided:
        g = d.generation
        kept[g.target, g.klass] = kept.get((g.target, g.klass), 0) + d.keep
    assert kept == {("local", "daily"): 2, ("remote", "daily"): 4, ("local", "vault"): 7}
    sources = {(d.generation.target, d.generation.klass): d.policy for d in decided}
    assert sources[("remote", "daily")] == "daily"
    assert sources[("local", "vault")] == "default:vault"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"weekly": {"last": 1}}, "class must be one of"),
        ({"mars/daily": {"last": 1}}, "target must be local or remote"),
        ({"daily": {"lasst": 1}}, "unknown policy keys: lasst"),
        ({"daily": {"last": -2}}, ">= -1"),
        ({"daily": {"within": "3 weeks"}}, "not a duration"),
        ({"*": {"last": 1}}, "needs a target"),
    ],
)
def test_a_mistyped_policy_is_refused_by_name(raw: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        policies.parse_policies(raw)  # type: ignore[arg-type]


def test_within_durations_are_calendar_months() -> None:
    assert Within.parse("1y2m1w3d4h").before(datetime(2026, 5, 31, 12, tzinfo=UTC)) == datetime(
        2025, 3, 21, 8, tzinfo=UTC
    )
    assert str(Within.parse("1m")) == "1m"
