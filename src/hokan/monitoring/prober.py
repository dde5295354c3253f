"""One probe round: probe every component, write the ledger, open or resolve the
incident, queue and dispatch its notices.

When the system database itself is down the round cannot write anything: its
results are kept in memory (bounded) and written when the database answers again,
so the ledger still shows those minutes as down, and the on-call addresses of
``HOKAN_ONCALL_EMAILS`` are mailed directly over SMTP (the outbox lives in that
database) once the failure has lasted ``HOKAN_MONITOR_FAIL_AFTER`` probes.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from collections import deque
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.identity.operators import notified_emails
from hokan.kit.jobs import JobHost, JobResult
from hokan.mail.outbox import send_now
from hokan.monitoring import availability, incidents, ledger, notices
from hokan.monitoring.probes import UP, Result, probes_for, run_all, vault_status
from hokan.principals.principal import SYSTEM
from hokan.settings import Settings
from hokan.tenants.notices import notify
from hokan.vault.stores import FragmentStores

log = logging.getLogger("hokan.monitoring")

BUFFER_ROUNDS = 2 * 24 * 120  # two days of rounds at 30 s

_pending: deque[tuple[datetime, list[Result]]] = deque(maxlen=BUFFER_ROUNDS)
_lock = threading.Lock()
_db_down_rounds = 0
_paged = False
_burning: set[str] = set()  # burn-rate rules firing now (paged once per episode)


def probe_round(host: JobHost) -> JobResult:
    global _db_down_rounds, _paged
    s = host.settings
    now = host.now()
    results = run_all(probes_for(host), float(s.monitor_timeout_seconds))
    stores = host.resolve(FragmentStores)
    results.append(vault_status(results, stores.n, s.vault_k))
    down = sorted(r.component for r in results if r.status != UP)
    with _lock:
        _pending.append((now, results))
        try:
            changes = _write(host, now)
        except SQLAlchemyError:
            _db_down_rounds += 1
            log.error(
                "monitoring: the system database is down; results kept in memory",
                extra={"fields": {"dependency": "database", "rounds": _db_down_rounds}},
            )
            if _db_down_rounds >= s.monitor_fail_after and not _paged:
                _paged = _page_directly(host, now)
            return JobResult({"down": down, "buffered": len(_pending)})
        if _paged:
            _page_directly(host, now, recovered=True)
        _db_down_rounds, _paged = 0, False
    if changes:
        notices.dispatch(host.db, s, host.now())
    return JobResult({"down": down, "changes": [f"{c.incident.number}:{c.event}" for c in changes]})


def _write(host: JobHost, now: datetime) -> list[incidents.Change]:
    """Write every buffered round, oldest first, judging incidents as of each round (an
    outage the database itself suffered still opens and resolves its incident)."""
    s = host.settings
    primary = s.monitor_location == s.monitor_locations[0]  # a second prober only votes
    changes: list[incidents.Change] = []
    with host.db.session(write=True, system=True) as session:
        while _pending:
            at, results = _pending[0]
            for r in results:
                ledger.record(session, r, s.monitor_location, at, s.monitor_interval_seconds)
            if primary:
                changes += incidents.evaluate(
                    session,
                    at,
                    locations=s.monitor_locations,
                    quorum=s.monitor_quorum,
                    fail_after=s.monitor_fail_after,
                    recover_after=s.monitor_recover_after,
                    fresh_seconds=3 * s.monitor_interval_seconds + 60,
                )
            _pending.popleft()
        if primary:
            _page_burn(session, s, now)
        for change in changes:
            notices.announce(session, s, change.incident, change.event)
            audit.record(
                session,
                SYSTEM,
                f"incident.{change.event}",
                "incident",
                change.incident.number,
                detail={"outage": change.incident.outage, "components": change.incident.components},
            )
    return changes


def _page_burn(session: Session, settings: Settings, now: datetime) -> None:
    """Page the on-call when a multiwindow burn-rate rule starts firing (once per episode)."""
    alerts = availability.burn_alerts(
        session, now, slo_percent=settings.slo_percent, unknown=settings.availability_unknown
    )
    firing = {a.rule for a in alerts}
    for alert in alerts:
        if alert.rule in _burning:
            continue
        notify(
            session,
            "ops.slo_burn",
            tenant=None,
            subject=f"【Hokan】エラーバジェット消費 / Error budget burn: {alert.rule}",
            body=f"{alert.message('ja')}\n\n{alert.message('en')}\n{settings.status_page_url}\n",
            operators=sorted({*settings.oncall_emails, *notified_emails(session)}),
        )
        audit.record(
            session,
            SYSTEM,
            "monitoring.slo_burn",
            "slo",
            alert.rule,
            detail={"long_burn": str(alert.long_burn), "short_burn": str(alert.short_burn)},
        )
    _burning.clear()
    _burning.update(firing)


def _page_directly(host: JobHost, now: datetime, *, recovered: bool = False) -> bool:
    """Mail the on-call addresses over SMTP, bypassing the outbox (its database is down)."""
    s = host.settings
    if not s.oncall_emails or not s.smtp_url:
        return False
    msg = EmailMessage()
    state_ja, state_en = ("復旧", "recovered") if recovered else ("停止", "down")
    msg["Subject"] = f"【Hokan】システムデータベース{state_ja} / System database {state_en}"
    msg["From"] = s.mail_from
    msg["To"] = ", ".join(s.oncall_emails)
    msg.set_content(
        f"監視: システムデータベースが{state_ja}しました ({now:%Y-%m-%d %H:%M} UTC)。\n"
        f"Monitoring: the system database is {state_en} ({now:%Y-%m-%d %H:%M} UTC).\n"
        f"{s.status_page_url}\n"
    )
    try:
        send_now(s, msg)
    except (OSError, smtplib.SMTPException):
        log.error("monitoring: direct page failed", extra={"fields": {"dependency": "smtp"}})
        return False
    return True


def reset() -> None:
    """Forget buffered rounds (tests)."""
    global _db_down_rounds, _paged
    with _lock:
        _pending.clear()
        _burning.clear()
        _db_down_rounds, _paged = 0, False
