"""Monitoring's queries that filter by tenant (TEN-2: tenant scoping lives here).

Maintenance windows are service-wide (``tenant_id`` NULL) or a tenant's own.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hokan.models import MaintenanceWindow


def overlapping_windows(
    session: Session, tenant_id: uuid.UUID | None, starts_at: datetime, ends_at: datetime
) -> list[MaintenanceWindow]:
    """Live windows of the same scope (that tenant, or service-wide) overlapping the period."""
    same_scope = (
        MaintenanceWindow.tenant_id.is_(None)
        if tenant_id is None
        else MaintenanceWindow.tenant_id == tenant_id
    )
    return list(
        session.scalars(
            select(MaintenanceWindow)
            .where(
                same_scope,
                MaintenanceWindow.cancelled_at.is_(None),
                MaintenanceWindow.starts_at < ends_at,
                MaintenanceWindow.ends_at > starts_at,
            )
            .order_by(MaintenanceWindow.starts_at)
        )
    )


def windows_for_tenant(
    session: Session, tenant_id: uuid.UUID, now: datetime
) -> list[MaintenanceWindow]:
    """A tenant's own and the service-wide windows not yet over and not cancelled."""
    return list(
        session.scalars(
            select(MaintenanceWindow)
            .where(
                or_(
                    MaintenanceWindow.tenant_id.is_(None), MaintenanceWindow.tenant_id == tenant_id
                ),
                MaintenanceWindow.cancelled_at.is_(None),
                MaintenanceWindow.ends_at > now,
            )
            .order_by(MaintenanceWindow.starts_at)
        )
    )
