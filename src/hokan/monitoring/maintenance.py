"""Planned maintenance windows (MON-5): schedule, list, cancel, announce and remind.

Rules, each refused with a stable code (:mod:`hokan.monitoring.errors`):

* the start is not in the past (a minute's grace for the time it takes to type);
* the end is after the start;
* a window lasts at most ``HOKAN_MAINTENANCE_MAX_HOURS`` (24 h by default: longer
  work is several announced windows, each one a promise users can plan around);
* it is announced at least ``HOKAN_MAINTENANCE_NOTICE_DAYS`` (14) days before it
  starts — else refused unless it is an **emergency**, which is recorded on the
  window and shown wherever the window is (status page, notices, listings);
* it does not overlap another live window of the same scope (the same tenant, or
  service-wide with service-wide);
* a per-tenant window names a tenant that exists.

Scheduling announces the window by mail to the affected tenants' notice
contacts (service-wide: every active tenant), one message per tenant, each
recorded as a ``notification_deliveries`` row (the delivery code marks the
receipt). ``monitoring.maintenance_remind`` sends the reminder one day before,
once: the window's ``reminded_at`` is claimed by a conditional update, so two
workers cannot both send it. A window announced less than a day ahead is not
reminded again (its announcement is the reminder).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.audit.actions import action, succeeded
from hokan.kit.clock import iso, to_jst, utcnow
from hokan.models import (
    MaintenanceWindow,
    NotificationDelivery,
    Tenant,
    TenantStatus,
)
from hokan.monitoring import repository
from hokan.monitoring.errors import (
    MaintenanceEndNotAfterStart,
    MaintenanceInPast,
    MaintenanceNotCancellable,
    MaintenanceNotFound,
    MaintenanceNoticeTooShort,
    MaintenanceOverlap,
    MaintenanceReasonMissing,
    MaintenanceTooLong,
    UnknownTenant,
)
from hokan.principals.principal import Principal
from hokan.settings import Settings
from hokan.tenants.notices import notify
from hokan.tenants.repository import TenantRepository

GRACE = timedelta(minutes=1)  # "starts now" typed a few seconds ago is not in the past
REMIND_AHEAD = timedelta(days=1)
MAIL_KIND = "maintenance"
SUBJECT = "maintenance"


def status_of(window: MaintenanceWindow, now: datetime) -> str:
    if window.cancelled_at is not None:
        return "cancelled"
    if now < window.starts_at:
        return "scheduled"
    return "in_progress" if now < window.ends_at else "completed"


def _jst(moment: datetime) -> str:
    return to_jst(moment).strftime("%Y-%m-%d %H:%M")


def window_json(
    window: MaintenanceWindow, now: datetime, tenant_code: str | None = None
) -> dict[str, Any]:
    """An operator's view of a window (the tenant's code, when per tenant)."""
    return {
        "id": str(window.id),
        "scope": "tenant" if window.tenant_id else "service",
        "tenant": tenant_code,
        "starts_at": iso(window.starts_at),
        "ends_at": iso(window.ends_at),
        "reason": {"ja": window.reason_ja, "en": window.reason_en},
        "emergency": window.emergency,
        "reads_allowed": window.reads_allowed,
        "announced_at": iso(window.announced_at),
        "notice_days": round((window.starts_at - window.announced_at).total_seconds() / 86400, 1),
        "reminded_at": iso(window.reminded_at) if window.reminded_at else None,
        "cancelled_at": iso(window.cancelled_at) if window.cancelled_at else None,
        "created_by": window.created_by,
        "status": status_of(window, now),
    }


def tenant_window_json(window: MaintenanceWindow, now: datetime) -> dict[str, Any]:
    """A tenant's view of a window that affects it (no other tenant is ever named)."""
    out = window_json(window, now)
    for key in ("tenant", "created_by", "reminded_at", "cancelled_at", "notice_days"):
        out.pop(key)
    return out


class Maintenance:
    """Maintenance windows: the service behind the CLI and the operator API."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # -- scheduling ---------------------------------------------------------------

    @action("maintenance.schedule", "maintenance")
    def schedule(
        self,
        session: Session,
        principal: Principal,
        *,
        starts_at: datetime,
        ends_at: datetime,
        reason_ja: str,
        reason_en: str = "",
        tenant_code: str | None = None,
        emergency: bool = False,
        reads_allowed: bool = True,
        now: datetime | None = None,
    ) -> MaintenanceWindow:
        now = now or utcnow()
        tenant: Tenant | None = None
        if tenant_code:
            tenant = TenantRepository(session).by_code(tenant_code)
            if tenant is None:
                raise UnknownTenant
        if not reason_ja.strip():
            raise MaintenanceReasonMissing
        if ends_at <= starts_at:
            raise MaintenanceEndNotAfterStart
        if starts_at < now - GRACE:
            raise MaintenanceInPast
        max_hours = self.settings.maintenance_max_hours
        if ends_at - starts_at > timedelta(hours=max_hours):
            raise MaintenanceTooLong("max_hours", max_hours=max_hours)
        days = self.settings.maintenance_notice_days
        if starts_at - now < timedelta(days=days) and not emergency:
            raise MaintenanceNoticeTooShort("days", days=days)
        tenant_id = tenant.id if tenant else None
        clash = repository.overlapping_windows(session, tenant_id, starts_at, ends_at)
        if clash:
            raise MaintenanceOverlap("window", window_id=str(clash[0].id))
        window = MaintenanceWindow(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            starts_at=starts_at,
            ends_at=ends_at,
            reason_ja=reason_ja.strip(),
            reason_en=reason_en.strip(),
            emergency=emergency,
            reads_allowed=reads_allowed,
            announced_at=now,
            # Announced within a day of its start: the announcement is the reminder.
            reminded_at=now if starts_at - now <= REMIND_AHEAD else None,
            created_by=principal.actor[:100],
        )
        session.add(window)
        notices = announce(session, window, "announced", now)
        detail = {
            "scope": "tenant" if tenant else "service",
            "starts_at": iso(starts_at),
            "ends_at": iso(ends_at),
            "emergency": emergency,
            "reads_allowed": reads_allowed,
            "notices": notices,
        }
        succeeded(session, principal, detail=detail, target_id=str(window.id))
        if tenant is not None:  # the tenant's own trail shows what was planned for it
            audit.record(
                session,
                principal,
                "maintenance.schedule",
                "maintenance",
                str(window.id),
                detail=detail,
                tenant_id=tenant.id,
            )
        return window

    # -- listing and cancelling -----------------------------------------------------

    @action("maintenance.list", "maintenance", "*")
    def listing(
        self, session: Session, principal: Principal, *, include_past: bool = False
    ) -> list[dict[str, Any]]:
        now = utcnow()
        query = select(MaintenanceWindow).order_by(MaintenanceWindow.starts_at)
        if not include_past:
            query = query.where(
                MaintenanceWindow.cancelled_at.is_(None), MaintenanceWindow.ends_at > now
            )
        rows = list(session.scalars(query))
        codes = _tenant_codes(session, {w.tenant_id for w in rows if w.tenant_id})
        succeeded(session, principal, detail={"count": len(rows)})
        return [window_json(w, now, codes.get(w.tenant_id) if w.tenant_id else None) for w in rows]

    @action("maintenance.list_own", "maintenance", "*")
    def listing_for_tenant(self, session: Session, principal: Principal) -> list[dict[str, Any]]:
        """The calling tenant's upcoming and current windows (its own and service-wide)."""
        now = utcnow()
        rows = (
            repository.windows_for_tenant(session, principal.tenant_id, now)
            if principal.tenant_id
            else []
        )
        succeeded(session, principal, detail={"count": len(rows)})
        return [tenant_window_json(w, now) for w in rows]

    @action("maintenance.cancel", "maintenance", lambda window_id, **_: str(window_id)[:64])
    def cancel(
        self,
        session: Session,
        principal: Principal,
        window_id: str,
        *,
        now: datetime | None = None,
    ) -> MaintenanceWindow:
        now = now or utcnow()
        try:
            key = uuid.UUID(window_id)
        except ValueError:
            raise MaintenanceNotFound from None
        window = session.get(MaintenanceWindow, key)
        if window is None:
            raise MaintenanceNotFound
        if window.cancelled_at is not None:
            raise MaintenanceNotCancellable("cancelled")
        if window.ends_at <= now:
            raise MaintenanceNotCancellable("ended")
        window.cancelled_at = now
        notices = announce(session, window, "cancelled", now)
        detail = {"starts_at": iso(window.starts_at), "notices": notices}
        succeeded(session, principal, detail=detail)
        if window.tenant_id is not None:
            audit.record(
                session,
                principal,
                "maintenance.cancel",
                "maintenance",
                str(window.id),
                detail=detail,
                tenant_id=window.tenant_id,
            )
        return window


def _tenant_codes(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    repo = TenantRepository(session)
    out: dict[uuid.UUID, str] = {}
    for tenant_id in ids:
        tenant = repo.get(tenant_id)
        if tenant is not None:
            out[tenant_id] = tenant.code
    return out


def affected_tenants(session: Session, window: MaintenanceWindow) -> list[Tenant]:
    repo = TenantRepository(session)
    if window.tenant_id is not None:
        tenant = repo.get(window.tenant_id)
        return [tenant] if tenant is not None else []
    return [t for t in repo.all() if t.status == TenantStatus.active]


_SUBJECTS = {
    "announced": ("メンテナンスのお知らせ", "Scheduled maintenance"),
    "reminder": ("明日のメンテナンスのお知らせ (再通知)", "Reminder: maintenance tomorrow"),
    "cancelled": ("メンテナンス中止のお知らせ", "Maintenance cancelled"),
}


def _message(window: MaintenanceWindow, event: str) -> tuple[str, str]:
    ja_title, en_title = _SUBJECTS[event]
    urgent_ja = "【緊急】" if window.emergency else ""
    urgent_en = "[Emergency] " if window.emergency else ""
    when = f"{_jst(window.starts_at)} - {_jst(window.ends_at)} JST"
    subject = f"[Hokan] {urgent_ja}{ja_title} / {urgent_en}{en_title} {when}"[:200]
    reads_ja = (
        "期間中、データの登録・更新・削除はできません (参照はできます)。"
        if window.reads_allowed
        else "期間中、サービスはご利用いただけません。"
    )
    reads_en = (
        "During the window, writes are refused (reads are served)."
        if window.reads_allowed
        else "The service is unavailable during the window."
    )
    lines_ja = [
        f"{urgent_ja}{ja_title}",
        "",
        f"日時: {when}",
        f"内容: {window.reason_ja}",
        reads_ja,
    ]
    if window.emergency:
        lines_ja.append(
            "このメンテナンスは緊急のため、通常の事前告知期間を設けずにお知らせしています。"
        )
    if event == "cancelled":
        lines_ja = [f"{ja_title}", "", f"日時: {when}", "上記のメンテナンスは中止になりました。"]
    lines_en = [
        f"{urgent_en}{en_title}",
        "",
        f"When: {iso(window.starts_at)} - {iso(window.ends_at)} ({when})",
        f"What: {window.reason_en or window.reason_ja}",
        reads_en,
    ]
    if window.emergency:
        lines_en.append("This is emergency maintenance, announced without the usual notice.")
    if event == "cancelled":
        lines_en = [en_title, "", f"When: {when}", "The maintenance above has been cancelled."]
    body = "\n".join([*lines_ja, "", "状況ページ / Status page: /status", "", "-" * 40, *lines_en])
    return subject, body + "\n"


def announce(session: Session, window: MaintenanceWindow, event: str, now: datetime) -> int:
    """Queue the notice of ``event`` to every affected tenant; returns the messages queued."""
    subject, body = _message(window, event)
    queued: list[tuple[Any, int]] = []
    for tenant in affected_tenants(session, window):
        # The notice routing table decides: the tenant's `notice` contacts, else its admins.
        message = notify(session, "service.maintenance", tenant=tenant, subject=subject, body=body)
        if message is not None:
            queued.append((message, len(message.recipients)))
    if queued:
        session.flush()  # the messages' ids
    for message, count in queued:
        session.add(
            NotificationDelivery(
                subject_type=SUBJECT,
                subject_id=window.id,
                event=event,
                channel="mail",
                mail_id=message.id,
                recipients=count,
                status="pending",
                created_at=now,
            )
        )
    return len(queued)


def due_reminders(session: Session, now: datetime) -> Iterable[MaintenanceWindow]:
    return list(
        session.scalars(
            select(MaintenanceWindow).where(
                MaintenanceWindow.cancelled_at.is_(None),
                MaintenanceWindow.reminded_at.is_(None),
                MaintenanceWindow.starts_at > now,
                MaintenanceWindow.starts_at <= now + REMIND_AHEAD,
            )
        )
    )


def send_reminders(session: Session, now: datetime) -> tuple[int, int]:
    """Remind of every window starting within a day, once; (windows, messages)."""
    windows = messages = 0
    for window in due_reminders(session, now):
        claimed = session.execute(
            update(MaintenanceWindow)
            .where(MaintenanceWindow.id == window.id, MaintenanceWindow.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            continue  # another worker got there first
        windows += 1
        messages += announce(session, window, "reminder", now)
    return windows, messages
