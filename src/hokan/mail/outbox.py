"""The mail outbox: enqueue in the business transaction, deliver afterwards.

``enqueue`` adds a message in the caller's transaction, so a notice exists
exactly when the event it reports was committed. ``deliver`` sends pending
messages through SMTP (``HOKAN_SMTP_URL``) or, on the embedded default, writes
them as ``.eml`` files into ``DATA_DIR/outbox``; failures are retried later.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hokan.kit import dependencies
from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.models import MailMessage
from hokan.settings import Settings

MAX_ATTEMPTS = 10


def enqueue(
    session: Session,
    recipients: Iterable[str],
    subject: str,
    body: str,
    kind: str,
    tenant_id: uuid.UUID | None = None,
) -> MailMessage | None:
    to = sorted({r for r in recipients if r})
    if not to:
        return None
    message = MailMessage(tenant_id=tenant_id, recipients=to, subject=subject, body=body, kind=kind)
    session.add(message)
    return message


def _email(settings: Settings, row: MailMessage) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = ", ".join(row.recipients)
    msg["Subject"] = row.subject
    msg["Date"] = formatdate(row.created_at.timestamp(), localtime=False)
    msg["Message-ID"] = make_msgid(idstring=str(row.id), domain="hokan")
    msg.set_content(row.body, charset="utf-8")
    return msg


def _send_smtp(settings: Settings, messages: list[EmailMessage]) -> None:
    url = urlsplit(settings.smtp_url)
    port = url.port or (465 if url.scheme == "smtps" else 25)
    host = url.hostname or "localhost"
    smtp: smtplib.SMTP
    if url.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(host, port, timeout=30, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=30)
    with smtp:
        if url.scheme == "smtp+starttls":
            smtp.starttls(context=ssl.create_default_context())
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        for msg in messages:
            smtp.send_message(msg)


def send_now(settings: Settings, message: EmailMessage) -> None:
    """Send one message by SMTP at once, bypassing the outbox (when its database is down)."""
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="hokan")
    _send_smtp(settings, [message])


def deliver(db: Database, settings: Settings) -> int:
    """Send every pending message; returns how many were delivered."""
    sent = 0
    with db.session(write=True, system=True) as s:
        pending = list(
            s.scalars(
                select(MailMessage)
                .where(MailMessage.sent_at.is_(None), MailMessage.attempts < MAX_ATTEMPTS)
                .order_by(MailMessage.created_at)
                .limit(200)
                # Two deliveries at once never send a message twice (PostgreSQL;
                # SQLite serialises writers).
                .with_for_update(skip_locked=True)
            )
        )
        for row in pending:
            row.attempts += 1
            try:
                msg = _email(settings, row)
                if settings.smtp_url:
                    _send_smtp(settings, [msg])
                else:
                    folder = settings.data_dir / "outbox"
                    folder.mkdir(parents=True, exist_ok=True)
                    Path(folder / f"{row.created_at:%Y%m%dT%H%M%S}-{row.id}.eml").write_bytes(
                        bytes(msg)
                    )
            except (OSError, smtplib.SMTPException) as exc:
                row.last_error = type(exc).__name__
                if settings.smtp_url and isinstance(exc, OSError):
                    # The server is down: say so once, keep the rest for the next run
                    # instead of waiting out a timeout per message (ADR 0012).
                    dependencies.failed("smtp", exc, "degraded", "mail.deliver")
                    break
                continue
            row.sent_at = utcnow()
            row.last_error = None
            sent += 1
    return sent


def pending_count(db: Database) -> int:
    """Messages still to deliver (not given up on)."""
    with db.session(system=True) as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(MailMessage)
                .where(MailMessage.sent_at.is_(None), MailMessage.attempts < MAX_ATTEMPTS)
            )
            or 0
        )
