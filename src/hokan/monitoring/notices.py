"""Incident notices (MON-3): mail to the on-call operators and to each affected tenant's
contacts, and a signed webhook — each recorded as a delivery with its receipt.

Notices are written in the transaction that opens, widens or resolves the incident
(mail through the outbox, webhooks as pending deliveries) and dispatched right after
commit by the same probe run, so the first notice reaches the mail server seconds
after detection (goal ≤ 60 s; the whitepaper promises 5 minutes). What could not be
delivered is retried with backoff by ``monitoring.deliver_notices`` until it is, or
given up after ``MAX_ATTEMPTS`` — and that is recorded too.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from hokan.identity.operators import notified_emails
from hokan.kit.clock import iso, to_jst
from hokan.kit.db import Database
from hokan.mail.outbox import MAX_ATTEMPTS as MAIL_MAX_ATTEMPTS
from hokan.models import Incident, MailMessage, NotificationDelivery, Tenant, TenantStatus
from hokan.monitoring import components as c
from hokan.monitoring.incidents import note
from hokan.settings import Settings
from hokan.tenants.notices import notify

log = logging.getLogger("hokan.monitoring")

PENDING, DELIVERED, GIVEN_UP = "pending", "delivered", "given_up"
MAX_ATTEMPTS = 12
SIGNATURE_HEADER = "Hokan-Signature"

_EVENT_JA = {"opened": "発生", "updated": "更新", "resolved": "復旧"}
_EVENT_EN = {"opened": "opened", "updated": "updated", "resolved": "resolved"}


def _body(incident: Incident, event: str, status_url: str) -> str:
    functions_ja = "、".join(c.FUNCTIONS[f][0] for f in incident.functions if f in c.FUNCTIONS)
    functions_en = ", ".join(c.FUNCTIONS[f][1] for f in incident.functions if f in c.FUNCTIONS)
    kind_ja = "完全停止" if incident.outage == c.FULL else "部分停止"
    kind_en = "full outage" if incident.outage == c.FULL else "partial outage"
    started = to_jst(incident.started_at).strftime("%Y-%m-%d %H:%M")
    lines = [
        f"障害 {incident.number} ({_EVENT_JA[event]}): {incident.title_ja}",
        f"区分: {kind_ja} / 影響する機能: {functions_ja}",
        f"発生: {started} (日本時間)",
    ]
    if incident.resolved_at is not None:
        lines.append(f"復旧: {to_jst(incident.resolved_at):%Y-%m-%d %H:%M} (日本時間)")
    lines += [
        f"状況: {status_url}",
        "",
        f"Incident {incident.number} ({_EVENT_EN[event]}): {incident.title_en}",
    ]
    lines += [
        f"Class: {kind_en}; functions affected: {functions_en}",
        f"Started: {incident.started_at:%Y-%m-%d %H:%M} UTC",
    ]
    if incident.resolved_at is not None:
        lines.append(f"Resolved: {incident.resolved_at:%Y-%m-%d %H:%M} UTC")
    lines.append(f"Status: {status_url}")
    return "\n".join(lines) + "\n"


def payload(incident: Incident, event: str) -> dict[str, Any]:
    """What the webhook carries: the incident as the status page shows it, no tenant data."""
    return {
        "event": f"incident.{event}",
        "incident": {
            "id": str(incident.id),
            "number": incident.number,
            "status": incident.status,
            "outage": incident.outage,
            "title": {"ja": incident.title_ja, "en": incident.title_en},
            "functions": list(incident.functions),
            "started_at": iso(incident.started_at),
            "detected_at": iso(incident.detected_at),
            "resolved_at": iso(incident.resolved_at) if incident.resolved_at else None,
        },
    }


def announce(session: Session, settings: Settings, incident: Incident, event: str) -> int:
    """Queue the notices of ``event`` in the caller's transaction; returns how many."""
    subject = f"【Hokan】障害{_EVENT_JA[event]} / Incident {_EVENT_EN[event]}: {incident.number}"
    body = _body(incident, event, settings.status_page_url)
    queued = 0
    kind_of = {"opened": "opened", "updated": "updated", "resolved": "resolved"}
    sent: list[MailMessage | None] = [
        notify(
            session,
            "ops.incident",
            tenant=None,
            subject=subject,
            body=body,
            operators=sorted({*settings.oncall_emails, *notified_emails(session)}),
        )
    ]
    tenants = select(Tenant).where(Tenant.status == TenantStatus.active)
    if incident.tenant_ids is not None:
        tenants = tenants.where(Tenant.id.in_(incident.tenant_ids))
    for tenant in session.scalars(tenants):  # one message per tenant: nobody sees another's
        sent.append(notify(session, "service.incident", tenant=tenant, subject=subject, body=body))
    for message in sent:
        if message is None:
            continue
        session.flush()
        session.add(
            NotificationDelivery(
                subject_type="incident",
                subject_id=incident.id,
                event=kind_of[event],
                channel="mail",
                mail_id=message.id,
                recipients=len(message.recipients),
                status=PENDING,
            )
        )
        queued += 1
    if settings.monitor_webhook_url:
        session.add(
            NotificationDelivery(
                subject_type="incident",
                subject_id=incident.id,
                event=event,
                channel="webhook",
                recipients=1,
                status=PENDING,
                payload=payload(incident, event),
            )
        )
        queued += 1
    return queued


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`` (the receiver checks the age and the MAC)."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _post(settings: Settings, row: NotificationDelivery) -> str:
    body = orjson.dumps(row.payload)
    secret = settings.monitor_webhook_secret
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SIGNATURE_HEADER] = sign(secret.get_secret_value().encode(), int(time.time()), body)
    assert settings.monitor_webhook_url is not None
    answer = httpx.post(settings.monitor_webhook_url, content=body, headers=headers, timeout=10)
    if not 200 <= answer.status_code < 300:
        raise httpx.HTTPStatusError("webhook refused", request=answer.request, response=answer)
    return f"http {answer.status_code}"


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(15 * 2 ** max(attempts - 1, 0), 1800))


def dispatch(db: Database, settings: Settings, now: datetime) -> dict[str, int]:
    """Hand pending notices over: mail through the outbox, webhooks by POST; record receipts."""
    from hokan.mail import deliver

    deliver(db, settings)  # the notices queued with the incident go out now, not at the next tick
    done = {DELIVERED: 0, GIVEN_UP: 0, PENDING: 0}
    with db.session(write=True, system=True) as s:
        rows = list(
            s.scalars(
                select(NotificationDelivery)
                .where(NotificationDelivery.status == PENDING)
                .order_by(NotificationDelivery.created_at)
                .limit(500)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            if row.channel == "mail":
                _reconcile_mail(s, settings, row)
            elif row.next_attempt_at is None or row.next_attempt_at <= now:
                row.attempts += 1
                try:
                    row.receipt = _post(settings, row)
                except (httpx.HTTPError, OSError) as exc:
                    row.receipt = type(exc).__name__[:200]
                    if row.attempts >= MAX_ATTEMPTS:
                        row.status = GIVEN_UP
                    else:
                        row.next_attempt_at = now + backoff(row.attempts)
                    log.warning(
                        "webhook notice not delivered",
                        extra={"fields": {"dependency": "webhook", "attempts": row.attempts}},
                    )
                else:
                    row.status, row.delivered_at = DELIVERED, now
            if row.status == DELIVERED:
                _delivered(s, row)
            done[row.status] += 1
    return done


def _reconcile_mail(s: Session, settings: Settings, row: NotificationDelivery) -> None:
    message = s.get(MailMessage, row.mail_id) if row.mail_id else None
    if message is None:
        row.status, row.receipt = GIVEN_UP, "missing"
        return
    row.attempts = message.attempts
    if message.sent_at is not None:
        row.status, row.delivered_at = DELIVERED, message.sent_at
        row.receipt = "smtp 250" if settings.smtp_url else "outbox file"
    elif message.attempts >= MAIL_MAX_ATTEMPTS:
        row.status, row.receipt = GIVEN_UP, (message.last_error or "undelivered")[:200]


def _delivered(s: Session, row: NotificationDelivery) -> None:
    if row.subject_type != "incident" or row.delivered_at is None:
        return
    incident = s.get(Incident, row.subject_id)
    if incident is None:
        return
    row.latency_ms = int((row.delivered_at - incident.detected_at).total_seconds() * 1000)
    if row.event == "opened" and incident.notified_at is None:
        incident.notified_at = row.delivered_at
        note(
            s,
            incident,
            "notified",
            row.delivered_at,
            "関係者へ通知しました。",
            "Notices were sent.",
        )
