"""The weekly clock check (whitepaper §1-2-2 クロック同期 1回/週), Mondays 03:00 JST.

An alert ends the run as failed with ``clock_offset_exceeded`` or
``clock_unreachable``: the job runner records it (``hokan jobs history --failed``),
audits it and mails the on-call and security-notice operators. The check's own
``clock.check`` audit entry and ``clock_checks`` rows are written before it raises.
"""

from __future__ import annotations

from hokan.clock import service
from hokan.kit.jobs import Job, JobHost, JobResult


def _check(host: JobHost) -> JobResult:
    check = service.run(host.db, host.settings, now=host.now())
    error = check.error()
    if error is not None:
        raise error
    shown = check.as_json()
    return JobResult({k: shown[k] for k in ("check_id", "result", "server", "offset_ms")})


CHECK = Job(
    "clock.check",
    "0 3 * * 1",
    _check,
    "サーバーの時刻を NTP サーバーと照合 (週 1 回)。ずれが上限を超えるか応答がなければ通知",
    "Check this server's clock against the NTP servers weekly; alert when off or unanswered",
)

JOBS = (CHECK,)
