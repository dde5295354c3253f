"""GFS retention policies (BAK-2: "policies configurable, pruning explained").

A policy says how many of the newest generations to keep per period —
``last``, ``hourly``, ``daily``, ``weekly``, ``monthly``, ``yearly`` — and a
``within`` duration, with restic's ``forget`` semantics:

* generations are walked newest first; a bucket keeps a generation when its
  period (JST hour, day, ISO week, month, year; ``last``: every generation)
  differs from the last period that bucket kept — so the *newest* generation of
  each period is kept, and only periods that *have* a generation are counted;
* every bucket counts on its own, so one generation may be kept by several
  (``daily #1`` and ``weekly #1``): counts overlap;
* while a bucket still has counts left, the *oldest* generation is kept too
  (restic's "oldest … snapshot"), so a young history is not cut short;
* ``-1`` means "unlimited".

One deliberate difference: restic anchors ``--keep-within`` on the newest
snapshot; here ``within`` is anchored on *now* (the wall clock), which is what
"keep the upgrade backup for one month" means (ADR 0022).

A policy with no rule at all keeps everything (restic refuses to run one): an
empty or mistyped policy never deletes a generation.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from hokan.kit.clock import JST

BUCKETS = ("last", "hourly", "daily", "weekly", "monthly", "yearly")
UNLIMITED = -1
T = TypeVar("T")
_WITHIN = re.compile(r"^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?$")


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months later (clamped to the month's end)."""
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _period(bucket: str, moment: datetime, index: int) -> str:
    local = moment.astimezone(JST)
    if bucket == "last":
        return f"#{index}"
    if bucket == "hourly":
        return f"{local:%Y-%m-%d %H}h"
    if bucket == "daily":
        return f"{local:%Y-%m-%d}"
    if bucket == "weekly":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if bucket == "monthly":
        return f"{local:%Y-%m}"
    return f"{local:%Y}"


@dataclass(frozen=True)
class Within:
    """A calendar duration: years, months, weeks, days, hours (restic's ``1y2m3d4h``)."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0

    @classmethod
    def parse(cls, text: str) -> Within:
        match = _WITHIN.match(text.strip())
        if not text.strip() or match is None:
            raise ValueError(f"not a duration like 1y2m7d12h: {text!r}")
        y, m, w, d, h = (int(g or 0) for g in match.groups())
        return cls(y, m, w, d, h)

    def before(self, moment: datetime) -> datetime:
        """The moment this duration before ``moment`` (calendar months, clamped)."""
        back = add_months(moment, -(self.years * 12 + self.months))
        return back - timedelta(weeks=self.weeks, days=self.days, hours=self.hours)

    def __str__(self) -> str:
        parts = zip(
            (self.years, self.months, self.weeks, self.days, self.hours), "ymwdh", strict=True
        )
        return "".join(f"{n}{u}" for n, u in parts if n) or "0h"


@dataclass(frozen=True)
class Policy:
    """How many generations of each period to keep; ``None``: the bucket is not used."""

    last: int | None = None
    hourly: int | None = None
    daily: int | None = None
    weekly: int | None = None
    monthly: int | None = None
    yearly: int | None = None
    within: Within | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, object]) -> Policy:
        unknown = set(raw) - {*BUCKETS, "within"}
        if unknown:
            raise ValueError(f"unknown policy keys: {', '.join(sorted(unknown))}")
        counts: dict[str, int] = {}
        for bucket in BUCKETS:
            value = raw.get(bucket)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < UNLIMITED:
                raise ValueError(f"{bucket} must be a whole number >= -1 (-1: unlimited)")
            counts[bucket] = value
        within = raw.get("within")
        if within is not None and not isinstance(within, str):
            raise ValueError("within must be a duration like '1m' or '7d'")
        return cls(**counts, within=Within.parse(within) if within else None)

    @property
    def empty(self) -> bool:
        return self.within is None and all(getattr(self, b) in (None, 0) for b in BUCKETS)

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {b: getattr(self, b) for b in BUCKETS if getattr(self, b)}
        if self.within is not None:
            out["within"] = str(self.within)
        return out

    def __str__(self) -> str:
        shown = self.as_json()
        return ", ".join(f"{k} {'∞' if v == UNLIMITED else v}" for k, v in shown.items()) or "-"


@dataclass(frozen=True)
class Reason:
    """One bucket keeping one generation: ``daily`` #3 of 7, period ``2026-01-05``."""

    rule: str  # last, hourly, daily, weekly, monthly, yearly, within
    counter: int = 0  # 1-based position among what this bucket kept
    of: int = 0  # the bucket's count (-1: unlimited; 0 for within)
    period: str = ""
    oldest: bool = False  # kept as the oldest to fill the bucket

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"rule": self.rule}
        if self.rule != "last":
            out["period"] = self.period
        if self.rule != "within":
            out |= {"counter": self.counter, "of": self.of}
        if self.oldest:
            out["oldest"] = True
        return out

    def en(self) -> str:
        if self.rule == "within":
            return f"within {self.period}"
        of = "unlimited" if self.of == UNLIMITED else str(self.of)
        oldest = "oldest " if self.oldest else ""
        period = f" ({self.period})" if self.rule != "last" else ""
        return f"{oldest}{self.rule} #{self.counter} of {of}{period}"

    def ja(self) -> str:
        names = {
            "last": "最新",
            "hourly": "毎時",
            "daily": "日次",
            "weekly": "週次",
            "monthly": "月次",
            "yearly": "年次",
        }
        if self.rule == "within":
            return f"期間内 ({self.period})"
        of = "無制限" if self.of == UNLIMITED else f"{self.of}"
        oldest = "最古の" if self.oldest else ""
        period = f" ({self.period})" if self.rule != "last" else ""
        return f"{oldest}{names[self.rule]} {self.counter}/{of}{period}"


@dataclass
class _Bucket:
    name: str
    count: int
    left: int
    last: str | None = None
    kept: int = 0


@dataclass(frozen=True)
class Judged:
    """What a policy says of one generation: kept (with its reasons) or not."""

    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    @property
    def keep(self) -> bool:
        return bool(self.reasons)


def apply(
    policy: Policy, items: Sequence[T], when: Callable[[T], datetime], now: datetime
) -> list[Judged]:
    """Judge ``items`` (newest first) under ``policy``; one result per item, in order."""
    if policy.empty:
        raise ValueError("an empty policy keeps everything: do not apply it")
    buckets = [
        _Bucket(b, getattr(policy, b), getattr(policy, b))
        for b in BUCKETS
        if getattr(policy, b) not in (None, 0)
    ]
    floor = policy.within.before(now) if policy.within else None
    out: list[Judged] = []
    for index, item in enumerate(items):
        moment = when(item)
        reasons: list[Reason] = []
        if floor is not None and moment >= floor:
            reasons.append(Reason("within", period=f"{policy.within} before now"))
        oldest = index == len(items) - 1
        for b in buckets:
            if b.left == 0:
                continue
            period = _period(b.name, moment, index)
            if period != b.last or oldest:
                filling = period == b.last  # only the oldest, to fill the bucket
                b.kept += 1
                b.last = period
                if b.left > 0:
                    b.left -= 1
                reasons.append(Reason(b.name, b.kept, b.count, period, oldest=filling))
        out.append(Judged(tuple(reasons)))
    return out


def parse_policies(raw: Mapping[str, Mapping[str, object]]) -> dict[str, Policy]:
    """``HOKAN_BACKUP_POLICIES``: keys ``class``, ``target/class`` or ``target/*``."""
    from hokan.backup.retention import CLASSES

    out: dict[str, Policy] = {}
    for key, value in raw.items():
        target, _, klass = key.rpartition("/")
        if klass != "*" and klass not in CLASSES:
            raise ValueError(f"{key}: class must be one of {', '.join(CLASSES)} or *")
        if target and target not in ("local", "remote"):
            raise ValueError(f"{key}: target must be local or remote")
        if not target and klass == "*":
            raise ValueError("'*' needs a target: 'local/*' or 'remote/*'")
        if not isinstance(value, Mapping):
            raise ValueError(f"{key}: a policy is an object like {{'daily': 7}}")
        try:
            out[key] = Policy.parse(value)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None
    return out


def policy_for(
    policies: Mapping[str, Policy], defaults: Mapping[str, Policy], target: str, klass: str
) -> tuple[str, Policy | None]:
    """The policy that governs ``klass`` on ``target`` and where it came from."""
    for key in (f"{target}/{klass}", klass, f"{target}/*"):
        if key in policies:
            return key, policies[key]
    if klass in defaults:
        return f"default:{klass}", defaults[klass]
    return "none", None
