"""The scheduled backups (BAK-6: late at night JST), their verification and pruning, and a
monitoring probe per backup target (MON-1).

A failure ends the run as failed with the backup's own code: the job runner records it,
audits it and notifies (ADR 0017); the probe marks the target down on the status ledger.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hokan.backup import alerts, automatic, coverage, drills, errors, retention
from hokan.backup.service import TARGETS, Backups
from hokan.blobs import BlobStore
from hokan.keyring.service import Keyring
from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.monitoring import components
from hokan.monitoring.probes import EXTRA_PROBES, Probe, checked


def backups_for(host: JobHost) -> Backups:
    blobs: BlobStore = host.resolve(BlobStore)  # type: ignore[type-abstract]
    return Backups(host.settings, host.resolve(Keyring), blobs, host.db, clock=host.now)


# PostgreSQL with row-level security: the service's own role cannot dump every tenant's rows
# (pg_dump refuses rather than dump a filtered copy). Until an operator names the role the
# backup reads with, the scheduled run is skipped with this reason — recorded in the job
# history (``hokan jobs history``) — instead of failing every night.
UNCONFIGURED = "HOKAN_BACKUP_DATABASE_URL is unset on PostgreSQL"


def _alerting(host: JobHost, kind: str) -> Any:
    return alerts.alerting(kind, host.db, host.settings, host.now)


def _run(host: JobHost, classes: tuple[str, ...]) -> JobResult:
    s = host.settings
    unconfigured = not s.backup_database_url and s.resolved_database_url.startswith("post")
    runnable = [k for k in classes if not (unconfigured and k != retention.VAULT)]
    if not runnable:
        return JobResult.skipped(UNCONFIGURED)
    service = backups_for(host)
    taken: dict[str, Any] = {}
    failures: list[errors.BackupError] = []
    for klass in runnable:  # one class failing does not stop the others
        try:
            done = service.run(klass, retention.DEFAULT_TARGET[klass])
        except errors.BackupError as exc:
            failures.append(exc)
            taken[klass] = {"error": exc.code}
            continue
        taken[klass] = {k: done[k] for k in ("generation", "target", "bytes", "seconds")}
    if len(runnable) < len(classes):
        taken["skipped"] = UNCONFIGURED

    def outcome() -> JobResult:
        if failures:
            raise failures[0]  # the run is failed, never a success with an error inside
        return JobResult(taken)

    result: JobResult = _alerting(host, "run")(outcome)
    return result


def _verify(host: JobHost) -> JobResult:
    def work() -> JobResult:
        done = coverage.verify_nightly(backups_for(host), host.settings.backup_verify_days)
        if done["failed"]:
            first = done["failed"][0]
            raise errors.VerifyFailed(
                "first",
                failed=len(done["failed"]),
                generation=first["generation"],
                cause=first["error"],
            )
        lapsed = [c["generation"] for c in done["coverage"] if not c["within_window"]]
        return JobResult(
            {
                "generations": done["generations"],
                "bytes_stored": done["bytes_stored"],
                "bytes_verified": done["bytes_verified"],
                "outside_window": lapsed,
            }
        )

    result: JobResult = _alerting(host, "verify")(work)
    _alerting(host, "stale")(lambda: freshness(backups_for(host), host))
    return result


STALE_AFTER = timedelta(hours=48)  # two nights without a new generation


def freshness(service: Backups, host: JobHost) -> dict[str, str]:
    """The newest generation of each nightly class, by class; ``backup_stale`` when one is
    older than two nights (a run that silently did not happen is a failure too). A class
    whose job is switched off, or skipped as unconfigured, or never taken yet is not
    judged."""
    s = host.settings
    unconfigured = not s.backup_database_url and s.resolved_database_url.startswith("post")
    if s.job_schedules.get(RUN_DAILY.name, "").strip().lower() == "off":
        return {}
    newest: dict[str, str] = {}
    for klass in (retention.DAILY, retention.VAULT):
        if klass == retention.DAILY and unconfigured:
            continue
        mine = service.generations(klass=klass)
        if not mine:
            continue
        g = mine[0]
        newest[klass] = g.created_at.isoformat()
        if host.now() - g.created_at > STALE_AFTER:
            raise errors.BackupStale("newest", klass=klass, generation=g.name)
    return newest


def _prune(host: JobHost) -> JobResult:
    def work() -> JobResult:
        decisions = backups_for(host).prune()
        removed = [d["generation"] for d in decisions if d["action"] == "removed"]
        failed = [d for d in decisions if d["action"] == "failed"]
        if failed:
            first = failed[0]
            raise errors.PruneFailed(
                "first", failed=len(failed), generation=first["generation"], target=first["target"]
            )
        return JobResult({"kept": len(decisions) - len(removed), "removed": removed})

    result: JobResult = _alerting(host, "prune")(work)
    return result


def _drill(host: JobHost) -> JobResult:
    def work() -> JobResult:
        shown = drills.run(backups_for(host))
        if shown["status"] == drills.SKIPPED:
            return JobResult.skipped(str(shown["result"].get("skipped", "nothing to drill")))
        keys = ("id", "generation", "tenant", "rto_seconds")
        return JobResult({k: shown[k] for k in keys})

    result: JobResult = _alerting(host, "drill")(work)
    return result


def _drill_requested(host: JobHost) -> JobResult:
    service = backups_for(host)
    drills.reap(service, host.now())
    pending = drills.requested(service)
    if not pending:
        return JobResult.skipped("no drill requested")

    def work() -> JobResult:
        done = [drills.run(service, trigger="request", drill_id=drill_id) for drill_id in pending]
        return JobResult({"drills": [d["id"] for d in done if d["status"] != "taken"]})

    result: JobResult = _alerting(host, "drill")(work)
    return result


def _run_maintenance(host: JobHost) -> JobResult:
    s = host.settings
    service = backups_for(host)
    if not automatic.started_windows(service, host.now()):
        return JobResult.skipped("no maintenance window started")
    if not s.backup_database_url and s.resolved_database_url.startswith("post"):
        return JobResult.skipped(UNCONFIGURED)

    def work() -> JobResult:
        return JobResult(automatic.take_for_windows(service, host.now()))

    result: JobResult = _alerting(host, "run")(work)
    return result


RUN_DAILY = Job(
    "backup.run_daily",
    "0 2 * * *",
    lambda host: _run(host, (retention.DAILY, retention.VAULT)),
    "毎日深夜 (02:00) にシステムデータと個人番号保管庫を暗号化バックアップ (別筐体)",
    "Nightly (02:00 JST) encrypted backups of the system data and the vault (local target)",
)
RUN_MONTHLY = Job(
    "backup.run_monthly",
    "30 2 1 * *",
    lambda host: _run(host, (retention.MONTHLY,)),
    "毎月 1 日にシステムデータを遠隔地へバックアップ",
    "Monthly (the 1st) encrypted backup of the system data to the remote target",
)
VERIFY = Job(
    "backup.verify",
    "0 4 * * *",
    _verify,
    "全世代のバックアップを毎日検証 (有無・大きさ) し、全データを所定の日数内に復号して確認",
    "Check every generation nightly (files, sizes); read and decrypt every stored byte "
    "within HOKAN_BACKUP_VERIFY_DAYS (rotating)",
)
PRUNE = Job(
    "backup.prune",
    "30 4 * * *",
    _prune,
    "保持期間を過ぎたバックアップ世代を削除 (理由を記録、監査)",
    "Remove backup generations past their retention (each reason recorded, audited)",
)

DRILL = Job(
    "backup.drill",
    "0 5 * * 0",
    _drill,
    "毎週日曜の早朝に復元訓練 (無作為の世代とテナントを復元して検査し、復旧時間を記録)",
    "Weekly restore drill: a random generation and tenant restored, checked, RTO recorded",
)
DRILL_REQUESTED = Job(
    "backup.drill_requested",
    "every 1m",
    _drill_requested,
    "運用者が依頼した復元訓練を実行",
    "Run the restore drills operators requested",
)
RUN_MAINTENANCE = Job(
    "backup.run_maintenance",
    "every 1m",
    _run_maintenance,
    "メンテナンス開始時にバックアップを取得 (1 週間保持)",
    "Take a maintenance backup when a maintenance window starts (kept one week)",
)

JOBS = (RUN_DAILY, RUN_MONTHLY, VERIFY, PRUNE, DRILL, DRILL_REQUESTED, RUN_MAINTENANCE)


def _target_probe(name: str) -> Any:
    def factory(host: JobHost) -> Probe:
        return checked(
            components.backup_target(name).name, lambda: backups_for(host).target(name).probe()
        )

    return factory


for _name in TARGETS:
    EXTRA_PROBES[f"backup_{_name}"] = _target_probe(_name)
