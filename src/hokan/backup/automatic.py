"""Backups taken because something is about to change (whitepaper §3-3: "on version
upgrade ×1 kept one month, on maintenance ×1 kept one week").

* ``upgrade``: ``hokan db upgrade`` takes one before it applies a pending migration and
  refuses to migrate if it fails; ``--no-backup`` skips it and that choice is audited
  (``db.upgrade_without_backup``).
* ``maintenance``: when a maintenance window starts, the ``backup.run_maintenance`` job
  (every minute) takes one for it — once per window, remembered in
  ``backup_window_runs``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hokan.audit import service as audit
from hokan.backup import alerts, errors, retention
from hokan.kit.errors import HokanError
from hokan.models import BackupWindowRun, MaintenanceWindow
from hokan.principals.principal import Principal

if TYPE_CHECKING:
    from hokan.backup.service import Backups


def started_windows(backups: Backups, now: datetime) -> list[MaintenanceWindow]:
    """Windows in progress now that have no maintenance backup yet."""
    assert backups.db is not None
    with backups.db.session(system=True) as s:
        taken = select(BackupWindowRun.window_id)
        rows = list(
            s.scalars(
                select(MaintenanceWindow)
                .where(
                    MaintenanceWindow.cancelled_at.is_(None),
                    MaintenanceWindow.starts_at <= now,
                    MaintenanceWindow.ends_at > now,
                    MaintenanceWindow.id.not_in(taken),
                )
                .order_by(MaintenanceWindow.starts_at)
            )
        )
        s.expunge_all()
    return rows


def take_for_windows(backups: Backups, now: datetime) -> dict[str, Any]:
    """One ``maintenance`` generation for the windows that started (one run covers all
    windows starting together)."""
    assert backups.db is not None
    windows = started_windows(backups, now)
    if not windows:
        return {}
    done = backups.run(retention.MAINTENANCE)
    with backups.db.session(write=True, system=True) as s:
        for window in windows:
            s.add(BackupWindowRun(window_id=window.id, generation=done["generation"], taken_at=now))
    return {
        "generation": done["generation"],
        "windows": [str(w.id) for w in windows],
        "seconds": done["seconds"],
    }


def before_upgrade(
    backups: Backups, actor: Principal, *, pending: list[str], skip: bool
) -> dict[str, Any] | None:
    """The ``upgrade`` backup before migrations ``pending`` are applied (None: nothing to
    apply, or skipped — audited). A failure raises (the migration must not run) after
    opening an incident."""
    assert backups.db is not None
    if not pending:
        return None
    if skip:
        with backups.db.session(write=True, system=True) as s:
            audit.record(
                s,
                actor,
                "db.upgrade_without_backup",
                "database",
                ",".join(pending)[:200],
                detail={"pending": pending},
            )
        return None
    conf = backups.settings
    try:
        if not conf.backup_database_url and conf.resolved_database_url.startswith("post"):
            # The service's role is held by row-level security: pg_dump would refuse.
            raise errors.SnapshotFailed("unconfigured")
        done = backups.run(retention.UPGRADE)
    except HokanError as exc:
        alerts.raise_incident(
            backups.db,
            backups.settings,
            "upgrade",
            exc,
            backups.clock(),
            target=exc.params.get("target"),
        )
        raise
    alerts.resolve(backups.db, conf, "upgrade", backups.clock())
    return done
