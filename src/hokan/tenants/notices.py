"""Who is notified of what: the one routing table, and the one way into the outbox.

:data:`NOTICE_ROUTES` names, per kind of notice (the outbox row's ``kind``), the
contact roles told (:mod:`hokan.tenants.contacts`), whether the tenant's active
admins are told too, and whether Hokan's operators are. :func:`notify` addresses
every notice by it, in the caller's transaction. A tenant without a contact of
those roles has its admins told instead; a notice nobody would receive is never
dropped silently: it is logged and counted (:data:`unrouted`, for the metrics
export). The README's "Who is notified" table is generated from this one.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hokan import mail
from hokan.models import MailMessage, Tenant
from hokan.tenants.contacts import ContactRole, stored
from hokan.tenants.repository import TenantRepository

log = logging.getLogger("hokan.mail")


@dataclass(frozen=True, slots=True)
class NoticeRoute:
    """The audience of one kind of notice."""

    what: str  # what the notice is about (README)
    roles: frozenset[ContactRole]  # the tenant's contacts with one of these roles
    tenant_admins: bool  # the tenant's active admins too (always, not only as a fallback)
    operators: bool = False  # Hokan's on-call operators and HOKAN_SECURITY_NOTIFY_EMAILS


_SECURITY = frozenset({ContactRole.security})

# billing and technical have no sender yet: the table fixes their audience
# for the work that adds them. Password spraying is an attack by an address across
# tenants: its alarm bans the address (ips.ban), told to Hokan's operators.
NOTICE_ROUTES: dict[str, NoticeRoute] = {
    "auth.lock": NoticeRoute("an account locked after wrong passwords", _SECURITY, True),
    "auth.spraying": NoticeRoute("password spraying against the tenant's users", _SECURITY, True),
    "attachments.malware": NoticeRoute("malware found in an upload", _SECURITY, True, True),
    "certificate.revoked": NoticeRoute("a terminal certificate revoked", _SECURITY, True),
    "operator.usage_report": NoticeRoute(
        "a temporary operator account's usage report", _SECURITY, True
    ),
    "service.maintenance": NoticeRoute(
        "planned maintenance", frozenset({ContactRole.notice}), False
    ),
    "service.incident": NoticeRoute(
        "an outage and its resolution", frozenset({ContactRole.notice}), False
    ),
    "lifecycle.welcome": NoticeRoute(
        "the welcome: serial, one-time password link, next steps (LIFE-1; the new admin)",
        frozenset(),
        True,
    ),
    "tenant.terminated": NoticeRoute(
        "the contract ended: the disposal date and the export (LIFE-2)",
        frozenset({ContactRole.notice, ContactRole.billing}),
        True,
    ),
    "lifecycle.certificate": NoticeRoute(
        "the data erasure certificate, on request (LIFE-3)",
        frozenset({ContactRole.notice, ContactRole.billing}),
        False,
    ),
    "billing": NoticeRoute("invoices and the contract", frozenset({ContactRole.billing}), False),
    "technical": NoticeRoute(
        "integration and technical matters", frozenset({ContactRole.technical}), False
    ),
    "ips.ban": NoticeRoute("an address banned by the IPS (no tenant)", frozenset(), False, True),
    "ops.incident": NoticeRoute(
        "an outage and its resolution, to the on-call (no tenant)", frozenset(), False, True
    ),
    "ops.slo_burn": NoticeRoute(
        "the error budget burns too fast (SRE multiwindow rule; no tenant)",
        frozenset(),
        False,
        True,
    ),
    "reports.weekly": NoticeRoute(
        "the weekly operations report, to the operations managers (no tenant)",
        frozenset(),
        False,
        True,
    ),
    "job.failed": NoticeRoute(
        "a scheduled job failed (first of a streak; no tenant)", frozenset(), False, True
    ),
}

# (kind, outcome) -> notices since start that fell back to the tenant's admins
# ("fallback") or reached nobody ("nobody").
unrouted: Counter[tuple[str, str]] = Counter()
_lock = threading.Lock()


def _unrouted(kind: str, outcome: str) -> None:
    with _lock:
        unrouted[(kind, outcome)] += 1
    log.warning(
        "notice without its recipients", extra={"fields": {"kind": kind, "outcome": outcome}}
    )


def recipients(s: Session, kind: str, tenant: Tenant | None) -> list[str]:
    """The tenant's addresses a notice of ``kind`` goes to (operators aside)."""
    route = NOTICE_ROUTES[kind]  # a KeyError is a bug: every kind is in the table
    if tenant is None:
        return []
    chosen = [c.email for c in stored(tenant.id, tenant.contacts) if set(c.roles) & route.roles]
    if route.tenant_admins or not chosen:
        admins = TenantRepository(s).admin_emails(tenant.id)
        if not chosen and admins and not route.tenant_admins:
            _unrouted(kind, "fallback")
        chosen += admins
    return chosen


def notify(
    s: Session,
    kind: str,
    *,
    tenant: Tenant | uuid.UUID | None,
    subject: str,
    body: str,
    operators: Iterable[str] = (),
) -> MailMessage | None:
    """Put a notice of ``kind`` in the outbox, in the caller's transaction, addressed
    by :data:`NOTICE_ROUTES`. ``operators``: Hokan's addresses for this notice, used
    when the route includes operators."""
    route = NOTICE_ROUTES[kind]
    row = s.get(Tenant, tenant) if isinstance(tenant, uuid.UUID) else tenant
    to = recipients(s, kind, row)
    if route.operators:
        to += list(operators)
    message = mail.enqueue(s, to, subject, body, kind, row.id if row is not None else None)
    if message is None:
        _unrouted(kind, "nobody")
    return message
