"""Which generations to keep (BAK-2, whitepaper §3-3), judged against the wall clock.

Each class keeps what the whitepaper promises:

============  ===========================================  ==============
class         kept while                                   target
============  ===========================================  ==============
daily         among the 7 newest dailies of its target     local (別筐体)
upgrade       the newest upgrade, and until 1 month after  local
maintenance   the newest maintenance, and until 1 week     local
monthly       among the 3 newest monthlies of its target   remote (遠隔地)
vault         among the 7 newest vault generations          local
============  ===========================================  ==============

The fixed-term classes carry ``expires_at`` from the moment they are made
(:func:`expires_at`), so "keep the upgrade backup for one month" holds against
*now*, not against the newest snapshot (restic's ``--keep-within`` cannot say it).
A pinned generation (legal hold) is always kept. A target never loses its last
generation: if every rule would remove everything, the newest is kept.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hokan.settings import Settings

DAILY, UPGRADE, MAINTENANCE, MONTHLY, VAULT = "daily", "upgrade", "maintenance", "monthly", "vault"
CLASSES = (DAILY, UPGRADE, MAINTENANCE, MONTHLY, VAULT)
# Count-based classes: how many of the newest are kept.
KEEP_NEWEST = {DAILY: 7, MONTHLY: 3, VAULT: 7, UPGRADE: 1, MAINTENANCE: 1}
DEFAULT_TARGET = {DAILY: "local", UPGRADE: "local", MAINTENANCE: "local", MONTHLY: "remote"}
DEFAULT_TARGET[VAULT] = "local"


def keep_newest(settings: Settings) -> dict[str, int]:
    """How many of the newest each class keeps, as configured (HOKAN_BACKUP_*_GENERATIONS)."""
    return {
        **KEEP_NEWEST,
        DAILY: settings.backup_daily_generations,
        MONTHLY: settings.backup_monthly_generations,
        VAULT: settings.backup_vault_generations,
    }


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months later (clamped to the month's end)."""
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def expires_at(klass: str, created_at: datetime) -> datetime | None:
    """The wall-clock expiry a class gives a generation when it is made (None: count-based)."""
    if klass == UPGRADE:
        return add_months(created_at, 1)
    if klass == MAINTENANCE:
        return created_at + timedelta(days=7)
    return None


@dataclass(frozen=True)
class Generation:
    name: str
    klass: str
    target: str
    created_at: datetime
    expires_at: datetime | None
    pinned: bool = False


@dataclass(frozen=True)
class Decision:
    generation: Generation
    keep: bool
    rule: str  # a stable code: pinned, newest_n, expired, superseded, last_generation, ...
    why_en: str
    why_ja: str

    def as_json(self) -> dict[str, object]:
        g = self.generation
        return {
            "generation": g.name,
            "class": g.klass,
            "target": g.target,
            "created_at": g.created_at.isoformat(),
            "expires_at": g.expires_at.isoformat() if g.expires_at else None,
            "pinned": g.pinned,
            "action": "keep" if self.keep else "remove",
            "rule": self.rule,
            "why": self.why_en,
            "why_ja": self.why_ja,
        }


def decide(
    generations: Iterable[Generation], now: datetime, keep: Mapping[str, int] | None = None
) -> list[Decision]:
    """A decision with its reason for every generation, newest first (``keep``: how many
    of the newest each class keeps, :func:`keep_newest`; default :data:`KEEP_NEWEST`)."""
    keep = KEEP_NEWEST if keep is None else keep
    items = sorted(generations, key=lambda g: (g.created_at, g.name), reverse=True)
    rank: dict[str, int] = {}
    counters: dict[tuple[str, str], int] = {}
    for g in items:
        slot = (g.target, g.klass)
        counters[slot] = counters.get(slot, 0) + 1
        rank[g.name] = counters[slot]
    out: list[Decision] = []
    for g in items:
        out.append(_one(g, rank[g.name], now, keep))
    # Never leave a target empty: the newest generation of a target stays.
    for target in {g.target for g in items}:
        mine = [d for d in out if d.generation.target == target]
        if mine and not any(d.keep for d in mine):
            newest = mine[0]
            out[out.index(newest)] = Decision(
                newest.generation,
                True,
                "last_generation",
                f"the newest generation of target {target} is never removed "
                f"(would be: {newest.rule})",
                f"バックアップ先 {target} の最新世代は削除しません (本来: {newest.rule})",
            )
    return out


def _one(g: Generation, rank: int, now: datetime, keep: Mapping[str, int]) -> Decision:
    if g.pinned:
        return Decision(
            g, True, "pinned", "pinned (legal hold)", "固定されています (リーガルホールド)"
        )
    keep_n = keep.get(g.klass)
    if keep_n is None:
        return Decision(
            g, True, "unknown_class", f"class {g.klass!r} has no rule", "規則のない種類です"
        )
    if g.expires_at is not None and now >= g.expires_at:
        return Decision(
            g,
            False,
            "expired",
            f"expired at {g.expires_at.isoformat()}",
            f"保持期限 {g.expires_at.isoformat()} を過ぎました",
        )
    if rank > keep_n:
        return Decision(
            g,
            False,
            "beyond_newest",
            f"{g.klass} #{rank} of target {g.target}: only the {keep_n} newest are kept",
            f"{g.target} の {g.klass} で新しい方から {rank} 番目 (保持は {keep_n} 世代)",
        )
    until = f", until {g.expires_at.isoformat()}" if g.expires_at else ""
    until_ja = f"、{g.expires_at.isoformat()} まで" if g.expires_at else ""
    return Decision(
        g,
        True,
        "newest_n",
        f"{g.klass} #{rank} of {keep_n} newest on target {g.target}{until}",
        f"{g.target} の {g.klass} で新しい方から {rank} 番目 (保持 {keep_n} 世代{until_ja})",
    )
