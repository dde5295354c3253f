"""``lifecycle.dispose_due``: dispose of every terminated tenant whose grace period ended.

Tenants under legal hold or with a pending restore wait (they are not due). A failed
disposal fails the run with its code (the runner audits and notifies); the next
run tries again, since every step of a disposal can be repeated.
"""

from __future__ import annotations

from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.lifecycle import repository
from hokan.lifecycle.service import Lifecycle
from hokan.principals.principal import SYSTEM


def _dispose_due(host: JobHost) -> JobResult:
    now = host.now()
    with host.db.session(system=True) as s:
        due = [t.code for t in repository.due(s, now)]
    if not due:
        return JobResult.skipped("none_due")
    lifecycle = host.resolve(Lifecycle)
    done = []
    for code in due:
        out = lifecycle.dispose(code, SYSTEM, confirm=code, now=now)
        done.append(out["certificate_number"])
    return JobResult({"disposed": len(done), "certificates": done})


DISPOSE_DUE = Job(
    "lifecycle.dispose_due",
    "30 3 * * *",
    _dispose_due,
    "猶予期間の過ぎた契約終了テナントのデータを消去し、消去を検証",
    "Dispose of terminated tenants whose grace period ended, and verify",
)

JOBS = (DISPOSE_DUE,)
