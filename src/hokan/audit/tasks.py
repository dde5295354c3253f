"""Scheduled audit controls: checkpoints (AUD-3), the daily internal audit (AUD-4)
and the optional archive of old entries."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hokan.audit import archive, checkpoints, findings
from hokan.audit.errors import CheckpointRefused
from hokan.blobs import BlobStore
from hokan.keyring.service import Keyring
from hokan.kit.clock import to_jst
from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.models import AuditDailyRun, AuditEvent
from hokan.principals.principal import SYSTEM

# Days the daily audit goes back on a fresh install or after a long outage: one review per day.
CATCH_UP_DAYS = 400


def _blobs(host: JobHost) -> BlobStore:
    store: BlobStore = host.resolve(BlobStore)  # type: ignore[type-abstract]
    return store


def _checkpoint(host: JobHost) -> JobResult:
    made = checkpoints.run_once(host.db, host.resolve(Keyring), _blobs(host))
    refused = [m.chain for m in made if m.refused]
    if refused:
        raise CheckpointRefused("chains", count=len(refused))
    return JobResult({"signed": len(made)})


def days_due(session: Session, today: date) -> list[date]:
    """The JST days before ``today`` the daily audit has not yet reviewed, oldest first.

    From the day after the last reviewed day (or the first day with audit entries),
    so a day missed while the worker was down is reviewed once it runs again.
    """
    yesterday = today - timedelta(days=1)
    last = session.scalar(select(func.max(AuditDailyRun.audit_date)))
    if last is not None:
        first = last + timedelta(days=1)
    else:
        earliest = session.scalar(select(func.min(AuditEvent.occurred_at)))
        if earliest is None:
            return []
        first = to_jst(earliest).date()
    first = max(first, yesterday - timedelta(days=CATCH_UP_DAYS - 1))
    return [first + timedelta(days=n) for n in range((yesterday - first).days + 1)]


def _daily_review(host: JobHost) -> JobResult:
    today = to_jst(host.now()).date()
    with host.db.session(system=True) as s:
        due = days_due(s, today)
    if not due:
        return JobResult.skipped("up_to_date")
    found = 0
    for day in due:  # one transaction per day: a failure keeps the days already reviewed
        with host.db.session(write=True, system=True) as s:
            report = findings.run_daily(s, host.settings, day, SYSTEM)
        found += sum(report.findings.values())
    return JobResult({"days": [d.isoformat() for d in due], "findings": found})


def _archive(host: JobHost) -> JobResult:
    days = host.settings.audit_archive_after_days
    if not days:
        return JobResult.skipped("indefinite_retention")
    checkpoints.make(host.db, host.resolve(Keyring), _blobs(host))
    done = archive.archive(
        host.db, host.settings.resolved_audit_archive_dir, host.now() - timedelta(days=days)
    )
    return JobResult({"segments": len(done)})


CHECKPOINT = Job(
    "audit.checkpoint",
    lambda settings: f"every {settings.audit_checkpoint_seconds}s",
    _checkpoint,
    "監査ログのチェーン先頭に署名し、チェックポイントをブロブストアへ複製",
    "Sign the audit chain heads and copy the checkpoints to the blob store",
)
DAILY_REVIEW = Job(
    "audit.daily_review",
    "30 0 * * *",
    _daily_review,
    "前日 (JST) の内部監査。停止中に過ぎた日も古い順に一日ずつ実施",
    "Internal audit of the previous JST day; days missed while stopped, oldest first",
)
ARCHIVE = Job(
    "audit.archive",
    "off",
    _archive,
    "古い監査エントリを検証可能なセグメントファイルへ移す (既定は無効)",
    "Move old audit entries into verifiable segment files (off by default)",
)

JOBS = (CHECKPOINT, DAILY_REVIEW, ARCHIVE)
