"""Operators' view of the scheduled jobs (unit-of-work entry points for the API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hokan.audit.actions import action, succeeded
from hokan.jobs import runs
from hokan.jobs.registry import Registry
from hokan.kit.clock import iso, utcnow
from hokan.models import JobRun
from hokan.principals.principal import Principal


class JobsView:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @action("job.list", "job", "*")
    def listing(self, session: Session, principal: Principal) -> list[dict[str, Any]]:
        now = utcnow()
        started = runs.last_started(session)
        ok = runs.last_finished(session, runs.OK)
        failed = runs.last_finished(session, runs.FAILED)
        out = []
        for sc in self.registry:
            fire = sc.next_fire(now)
            out.append(
                {
                    "job": sc.name,
                    "schedule": sc.schedule,
                    "enabled": sc.trigger is not None,
                    "next_run": iso(fire) if fire else None,
                    "last_started": _iso(started.get(sc.name)),
                    "last_success": _iso(ok.get(sc.name)),
                    "last_failure": _iso(failed.get(sc.name)),
                    "description": {"ja": sc.job.summary_ja, "en": sc.job.summary_en},
                }
            )
        succeeded(session, principal, detail={"count": len(out)})
        return out

    @action("job.history", "job", lambda name, *_, **__: name[:64])
    def history(
        self, session: Session, principal: Principal, name: str, *, failed_only: bool, limit: int
    ) -> list[JobRun]:
        self.registry.get(name)
        rows = runs.history(session, name, failed_only=failed_only, limit=limit)
        succeeded(session, principal, detail={"count": len(rows)})
        return rows


def _iso(moment: Any) -> str | None:
    return iso(moment) if moment is not None else None
