"""Scheduled mail: the outbox is delivered continuously (notices within seconds)."""

from __future__ import annotations

from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.mail.errors import MailUndelivered
from hokan.mail.outbox import deliver, pending_count


def _deliver(host: JobHost) -> JobResult:
    sent = deliver(host.db, host.settings)
    left = pending_count(host.db)
    if left and not sent:
        raise MailUndelivered("pending", count=left)
    if not sent:
        return JobResult.skipped("nothing_pending")
    return JobResult({"sent": sent, "pending": left})


DELIVER = Job(
    "mail.deliver",
    "every 5s",
    _deliver,
    "送信待ちの通知メールを SMTP (または DATA_DIR/outbox) へ送出",
    "Hand pending notices to SMTP (or DATA_DIR/outbox)",
    retry=True,
)

JOBS = (DELIVER,)
