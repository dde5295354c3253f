"""A failed backup, verification, drill or prune opens an incident and notifies (MON-2/3).

The incident is the monitoring package's own (``incidents``), opened with origin
``backup``: a partial outage of the ``backups`` function, for no tenant (``tenant_ids``
empty: the on-call operators and the webhook are told, tenants are not — their service
is not affected) and not counted against availability. While one is open for the same
kind of failure, a new failure adds an update to it instead of opening another; a
success of that kind resolves it. The notices are queued in the same transaction
(``notices.announce``) and delivered by ``monitoring.deliver_notices``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hokan.kit.db import Database
from hokan.kit.errors import HokanError
from hokan.models import Incident
from hokan.monitoring import components, incidents, notices
from hokan.settings import Settings

log = logging.getLogger("hokan.backup")

ORIGIN = "backup"
KINDS: dict[str, tuple[str, str]] = {
    "run": ("バックアップの取得に失敗しました", "Backup failed"),
    "verify": ("バックアップの検証で不合格がありました", "Backup verification failed"),
    "drill": ("復元訓練に失敗しました", "Restore drill failed"),
    "prune": ("古いバックアップ世代を削除できませんでした", "Backup pruning failed"),
    "upgrade": ("更新前のバックアップに失敗しました", "Pre-upgrade backup failed"),
    "stale": ("夜間のバックアップが取得されていません", "Nightly backups are missing"),
}


def _open_for(session: Any, kind: str) -> Incident | None:
    title_en = KINDS[kind][1]
    found: Incident | None = session.scalars(
        select(Incident)
        .where(
            Incident.origin == ORIGIN,
            Incident.status != incidents.RESOLVED,
            Incident.title_en == title_en,
        )
        .order_by(Incident.detected_at.desc())
        .limit(1)
    ).first()
    return found


def raise_incident(
    db: Database,
    settings: Settings,
    kind: str,
    error: HokanError,
    now: datetime,
    *,
    target: str | None = None,
) -> str | None:
    """Open (or update) the incident of ``kind`` for ``error``; its number, or None if
    the database itself is what failed (the log and the job runner still say so)."""
    title_ja, title_en = KINDS[kind]
    where = f" ({target})" if target else ""
    detail_ja = f"{title_ja}{where}: {error.code} — {error.message('ja')}"
    detail_en = f"{title_en}{where}: {error.code} — {error.message('en')}"
    try:
        with db.session(write=True, system=True) as s:
            row = _open_for(s, kind)
            if row is not None:
                incidents.note(s, row, "update", now, detail_ja, detail_en, "backup")
                notices.announce(s, settings, row, "updated")
                return row.number
            row = Incident(
                number=incidents.next_number(s, now),
                origin=ORIGIN,
                outage=components.PARTIAL,
                status=incidents.OPEN,
                title_ja=title_ja[:200],
                title_en=title_en[:200],
                components=[f"backup_{target}"] if target else [],
                functions=["backups"],
                tenant_ids=[],
                started_at=now,
                detected_at=now,
                counts_as_outage=False,
            )
            s.add(row)
            s.flush()
            incidents.note(s, row, "detected", now, detail_ja, detail_en, "backup")
            notices.announce(s, settings, row, "opened")
            return row.number
    except Exception:
        log.exception("backup incident could not be recorded", extra={"fields": {"kind": kind}})
        return None


def resolve(db: Database, settings: Settings, kind: str, now: datetime) -> str | None:
    """A success of ``kind``: its open incident, if any, is resolved (and announced)."""
    with db.session(write=True, system=True) as s:
        row = _open_for(s, kind)
        if row is None:
            return None
        row.status, row.resolved_at = incidents.RESOLVED, now
        incidents.note(
            s,
            row,
            "resolved",
            now,
            "次の実行が成功しました。",
            "The next run succeeded.",
            "backup",
        )
        notices.announce(s, settings, row, "resolved")
        return row.number


def alerting(
    kind: str, db: Database, settings: Settings, now: Callable[[], datetime]
) -> Callable[[Callable[[], Any]], Any]:
    """Run ``work``; on a Hokan error open the incident of ``kind`` and raise again (the
    run is then recorded as failed, never as a success); on success resolve it."""

    def run(work: Callable[[], Any]) -> Any:
        try:
            out = work()
        except HokanError as exc:
            raise_incident(db, settings, kind, exc, now(), target=exc.params.get("target"))
            raise
        resolve(db, settings, kind, now())
        return out

    return run
