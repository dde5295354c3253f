"""The history of job runs (the ``job_runs`` table): written by the runner, read by
``hokan jobs`` and the operator API."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hokan.kit.clock import iso
from hokan.models import JobRun

RUNNING, OK, FAILED, SKIPPED = "running", "ok", "failed", "skipped"
TRIGGERS = ("schedule", "catch_up", "retry", "manual")


def start(session: Session, job: str, trigger: str, worker: str, now: datetime) -> uuid.UUID:
    row = JobRun(
        job=job, trigger=trigger, started_at=now, status=RUNNING, summary={}, worker=worker
    )
    session.add(row)
    session.flush()
    return row.id


def finish(
    session: Session,
    run_id: uuid.UUID,
    status: str,
    now: datetime,
    *,
    summary: Mapping[str, Any] | None = None,
    error_code: str | None = None,
) -> None:
    session.execute(
        update(JobRun)
        .where(JobRun.id == run_id)
        .values(finished_at=now, status=status, summary=dict(summary or {}), error_code=error_code)
    )


def history(
    session: Session, job: str | None = None, *, failed_only: bool = False, limit: int = 50
) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id).limit(limit)
    if job is not None:
        query = query.where(JobRun.job == job)
    if failed_only:
        query = query.where(JobRun.status == FAILED)
    return list(session.scalars(query))


def last_started(session: Session) -> dict[str, datetime]:
    """Each job's most recent start (any trigger, any outcome)."""
    rows = session.execute(select(JobRun.job, func.max(JobRun.started_at)).group_by(JobRun.job))
    return {job: when for job, when in rows if when is not None}


def last_finished(session: Session, status: str) -> dict[str, datetime]:
    rows = session.execute(
        select(JobRun.job, func.max(JobRun.finished_at))
        .where(JobRun.status == status)
        .group_by(JobRun.job)
    )
    return {job: when for job, when in rows if when is not None}


def consecutive_failures(session: Session, job: str, limit: int = 20) -> int:
    statuses = session.scalars(
        select(JobRun.status)
        .where(JobRun.job == job, JobRun.status != RUNNING)
        .order_by(JobRun.started_at.desc())
        .limit(limit)
    )
    count = 0
    for status in statuses:
        if status != FAILED:
            break
        count += 1
    return count


def run_json(row: JobRun) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "job": row.job,
        "trigger": row.trigger,
        "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at) if row.finished_at else None,
        "status": row.status,
        "summary": row.summary,
        "error_code": row.error_code,
        "worker": row.worker,
    }
