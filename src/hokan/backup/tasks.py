"""The scheduled backups (BAK-6: late at night JST), their verification and pruning, and a
monitoring probe per backup target (MON-1).

A failure ends the run as failed with the backup's own code: the job runner records it,
audits it and notifies (ADR 0017); the probe marks the target down on the status ledger.
"""

from __future__ import annotations

from typing import Any

from hokan.backup import errors, retention
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


def _run(host: JobHost, classes: tuple[str, ...]) -> JobResult:
    s = host.settings
    unconfigured = not s.backup_database_url and s.resolved_database_url.startswith("post")
    runnable = [k for k in classes if not (unconfigured and k != retention.VAULT)]
    if not runnable:
        return JobResult.skipped(UNCONFIGURED)
    service = backups_for(host)
    taken: dict[str, Any] = {}
    for klass in runnable:
        done = service.run(klass, retention.DEFAULT_TARGET[klass])
        taken[klass] = {k: done[k] for k in ("generation", "target", "bytes", "seconds")}
    if len(runnable) < len(classes):
        taken["skipped"] = UNCONFIGURED
    return JobResult(taken)


def _verify(host: JobHost) -> JobResult:
    results = backups_for(host).verify(full=True)
    bad = [r for r in results if not r["ok"]]
    if bad:
        first = bad[0]
        raise errors.VerifyFailed(
            "first", failed=len(bad), generation=first["generation"], cause=first["error"]
        )
    return JobResult(
        {"generations": len(results), "bytes_verified": sum(r["bytes_verified"] for r in results)}
    )


def _prune(host: JobHost) -> JobResult:
    decisions = backups_for(host).prune()
    removed = [d["generation"] for d in decisions if d["action"] == "removed"]
    failed = [d for d in decisions if d["action"] == "failed"]
    if failed:
        first = failed[0]
        raise errors.PruneFailed(
            "first", failed=len(failed), generation=first["generation"], target=first["target"]
        )
    return JobResult({"kept": len(decisions) - len(removed), "removed": removed})


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
    "全世代のバックアップを毎日検証 (ファイルの有無・大きさ・全チャンクの復号)",
    "Verify every backup generation nightly (files, sizes, every chunk decrypted)",
)
PRUNE = Job(
    "backup.prune",
    "30 4 * * *",
    _prune,
    "保持期間を過ぎたバックアップ世代を削除 (理由を記録、監査)",
    "Remove backup generations past their retention (each reason recorded, audited)",
)

JOBS = (RUN_DAILY, RUN_MONTHLY, VERIFY, PRUNE)


def _target_probe(name: str) -> Any:
    def factory(host: JobHost) -> Probe:
        return checked(
            components.backup_target(name).name, lambda: backups_for(host).target(name).probe()
        )

    return factory


for _name in TARGETS:
    EXTRA_PROBES[f"backup_{_name}"] = _target_probe(_name)
