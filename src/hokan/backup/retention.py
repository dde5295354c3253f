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

The counts are the default GFS policies (:mod:`hokan.backup.policies`, ``last``);
``HOKAN_BACKUP_POLICIES`` replaces them per class and target, on top of the wall-clock
expiry and the pins (ADR 0022).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from hokan.backup.policies import Policy, Reason, add_months, apply, policy_for

DAILY, UPGRADE, MAINTENANCE, MONTHLY, VAULT = "daily", "upgrade", "maintenance", "monthly", "vault"
CLASSES = (DAILY, UPGRADE, MAINTENANCE, MONTHLY, VAULT)
# Count-based classes: how many of the newest are kept.
KEEP_NEWEST = {DAILY: 7, MONTHLY: 3, VAULT: 7, UPGRADE: 1, MAINTENANCE: 1}
DEFAULT_TARGET = {DAILY: "local", UPGRADE: "local", MAINTENANCE: "local", MONTHLY: "remote"}
DEFAULT_TARGET[VAULT] = "local"


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
    home: str = ""  # the target it was made for ("": this one); elsewhere it is a copy


@dataclass(frozen=True)
class Decision:
    generation: Generation
    keep: bool
    rule: str  # a stable code: pinned, expired, last, daily, …, beyond_policy, last_generation
    why_en: str
    why_ja: str
    reasons: tuple[Reason, ...] = ()
    policy: str = ""  # where the policy came from: "local/daily", "daily", "default:daily"

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
            "reasons": [r.as_json() for r in self.reasons],
            "policy": self.policy,
            "why": self.why_en,
            "why_ja": self.why_ja,
        }


DEFAULT_POLICIES: dict[str, Policy] = {k: Policy(last=n) for k, n in KEEP_NEWEST.items()}


def decide(
    generations: Iterable[Generation],
    now: datetime,
    policies: Mapping[str, Policy] | None = None,
) -> list[Decision]:
    """A decision with its reason for every generation, newest first.

    In order: a pin keeps; a passed ``expires_at`` removes; then the GFS policy of the
    generation's target and class (``policies``, else the whitepaper's defaults) keeps
    or removes; a target never loses its last generation.
    """
    items = sorted(generations, key=lambda g: (g.created_at, g.name), reverse=True)
    decided: dict[tuple[str, str], Decision] = {}
    groups: dict[tuple[str, str], list[Generation]] = {}
    for g in items:
        if g.pinned:
            decided[g.target, g.name] = Decision(
                g, True, "pinned", "pinned (legal hold)", "固定されています (リーガルホールド)"
            )
        elif g.klass not in CLASSES:
            decided[g.target, g.name] = Decision(
                g, True, "unknown_class", f"class {g.klass!r} has no rule", "規則のない種類です"
            )
        elif g.expires_at is not None and now >= g.expires_at:
            decided[g.target, g.name] = Decision(
                g,
                False,
                "expired",
                f"expired at {g.expires_at.isoformat()}",
                f"保持期限 {g.expires_at.isoformat()} を過ぎました",
            )
        else:
            groups.setdefault((g.target, g.klass), []).append(g)
    for (target, klass), members in groups.items():
        source, policy = policy_for(policies or {}, DEFAULT_POLICIES, target, klass)
        if policy is None or policy.empty:
            for g in members:
                decided[g.target, g.name] = Decision(
                    g,
                    True,
                    "no_policy",
                    f"no retention rule for {klass} on {target} ({source}): kept",
                    f"{target} の {klass} には保持規則がないため保持します ({source})",
                    policy=source,
                )
            continue
        for g, judged in zip(
            members, apply(policy, members, lambda x: x.created_at, now), strict=True
        ):
            decided[g.target, g.name] = _judged(g, judged.reasons, policy, source)
    out = [decided[g.target, g.name] for g in items]
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
                policy=newest.policy,
            )
    return out


def _judged(g: Generation, reasons: tuple[Reason, ...], policy: Policy, source: str) -> Decision:
    until = f"; expires {g.expires_at.isoformat()}" if g.expires_at else ""
    until_ja = f"、{g.expires_at.isoformat()} まで" if g.expires_at else ""
    if reasons:
        return Decision(
            g,
            True,
            reasons[0].rule,
            f"kept by {source} [{policy}]: " + ", ".join(r.en() for r in reasons) + until,
            f"{source} [{policy}] により保持: " + "、".join(r.ja() for r in reasons) + until_ja,
            reasons,
            source,
        )
    return Decision(
        g,
        False,
        "beyond_policy",
        f"{g.klass} on target {g.target}: no rule of {source} [{policy}] keeps it",
        f"{g.target} の {g.klass}: {source} [{policy}] のどの規則にも該当しません",
        policy=source,
    )
