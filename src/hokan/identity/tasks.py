"""Scheduled identity controls: temporary operator accounts end on time (OPS-2)."""

from __future__ import annotations

from hokan.identity import operators
from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.principals.principal import SYSTEM


def _expire_temporary_operators(host: JobHost) -> JobResult:
    with host.db.session(write=True, system=True) as s:
        done = operators.expire_temporary(s, SYSTEM)
    return JobResult({"expired": len(done)})


EXPIRE_TEMPORARY_OPERATORS = Job(
    "identity.expire_temporary_operators",
    "every 1m",
    _expire_temporary_operators,
    "期限切れの臨時運用者アカウントを無効化し、テナントへ利用報告を送付 (OPS-2)",
    "Disable expired temporary operator accounts and mail each tenant its usage report",
)

JOBS = (EXPIRE_TEMPORARY_OPERATORS,)
