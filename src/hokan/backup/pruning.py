"""``hokan backup prune`` and the nightly ``backup.prune`` job (BAK-2): every generation
judged by :func:`hokan.backup.retention.decide` under the configured policies, each
removal audited (``backup.prune``) with the rule that removed it.

A generation stored on several targets (a copy) is one generation: the rules of the target
it was made for decide, and when it goes every copy goes — the remote one too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hokan.backup import errors, retention
from hokan.backup.policies import Policy, parse_policies
from hokan.settings import Settings

if TYPE_CHECKING:
    from hokan.backup.service import Backups


def configured(settings: Settings) -> Mapping[str, Policy]:
    """``HOKAN_BACKUP_POLICIES`` parsed (a mistake is ``backup_invalid_policy``)."""
    try:
        return parse_policies(settings.backup_policies)
    except ValueError as exc:
        raise errors.InvalidPolicy("setting", problem=str(exc)[:300]) from None


def decisions(backups: Backups, now: datetime) -> list[retention.Decision]:
    """Every generation's decision. A copy on another target than the one it was made
    for follows its original (kept while it is kept, removed with it); a copy whose
    original is gone is judged on its own."""
    found = backups.generations()
    homes = {(g.target, g.name) for g in found if g.home in ("", g.target)}
    judged = [g for g in found if g.home in ("", g.target) or (g.home, g.name) not in homes]
    decided = retention.decide(judged, now, configured(backups.settings))
    by_name = {
        d.generation.name: d for d in decided if (d.generation.target, d.generation.name) in homes
    }
    out: list[retention.Decision] = []
    for g in found:
        original = by_name.get(g.name)
        if original is None or original.generation.target == g.target:
            out.extend(d for d in decided if d.generation is g)
            continue
        where = original.generation.target
        action_en = "kept with it" if original.keep else "removed with it"
        action_ja = "保持します" if original.keep else "一緒に削除します"
        out.append(
            retention.Decision(
                g,
                original.keep,
                "copy",
                f"a copy of a generation made for target {where} ({original.rule}): {action_en}",
                f"{where} 用に作られた世代の複製です ({original.rule}): {action_ja}",
                policy=original.policy,
            )
        )
    return out


def prune(
    backups: Backups, *, dry_run: bool = False, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Remove what retention no longer keeps (nothing with ``dry_run``); explain each.
    A removal that fails is shown as ``failed`` with its error and the rest go on."""
    moment = now or backups.clock()
    out: list[dict[str, Any]] = []
    for decision in decisions(backups, moment):
        shown = decision.as_json()
        if not decision.keep and not dry_run:
            g = decision.generation
            try:
                backups.target(g.target).delete(g.name)
            except (OSError, errors.BackupError) as exc:
                shown["action"] = "failed"
                shown["error"] = getattr(exc, "code", type(exc).__name__)
                out.append(shown)
                continue
            backups._audit(
                "backup.prune",
                g.name,
                detail={"class": g.klass, "target": g.target, "rule": decision.rule},
            )
            shown["action"] = "removed"
        out.append(shown)
    return out
