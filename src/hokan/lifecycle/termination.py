"""Termination (LIFE-2): the contract ends, a grace period starts (export only), holds.

``terminate`` sets the tenant ``terminated`` with ``dispose_after`` = now + the grace
period (``HOKAN_TENANT_GRACE_DAYS``); from then on every route but the export
refuses its callers with ``tenant_terminated`` (``hokan.httpkit.auth.admitted``).
A legal hold or a pending restore blocks disposal until released.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.kit.clock import to_jst, utcnow
from hokan.lifecycle.errors import AlreadyTerminated, TenantNotTerminated
from hokan.models import Tenant, TenantStatus
from hokan.principals.principal import Principal
from hokan.tenants.notices import notify
from hokan.tenants.service import TenantService


def terminate(
    s: Session,
    tenants: TenantService,
    ref: str,
    grace_days: int,
    actor: Principal,
    now: datetime | None = None,
) -> Tenant:
    tenant = tenants.get(s, ref)
    if tenant.status is TenantStatus.terminated:
        raise AlreadyTerminated
    if tenant.status is TenantStatus.disposed:
        raise TenantNotTerminated("disposed")
    moment = now or utcnow()
    previous = tenant.status
    tenant.status = TenantStatus.terminated
    tenant.terminated_at = moment
    tenant.dispose_after = moment + timedelta(days=grace_days)
    tenant.updated_at = moment
    s.flush()
    audit.record(
        s,
        actor,
        "tenant.terminate",
        "tenant",
        tenant.code,
        detail={
            "from": previous.value,
            "to": TenantStatus.terminated.value,
            "dispose_after": tenant.dispose_after.isoformat(),
        },
        tenant_id=tenant.id,
    )
    until = f"{to_jst(tenant.dispose_after):%Y-%m-%d %H:%M}"
    notify(
        s,
        "tenant.terminated",
        tenant=tenant,
        subject="【Hokan】ご契約終了とデータ消去予定のお知らせ / Contract ended",
        body=(
            f"{tenant.name} ご担当者様\n\n"
            f"ご契約の終了を承りました。{until} (日本時間) 以降、バックアップを含む"
            "すべてのデータを消去し、データ消去証明書を発行します。\n"
            "それまでの間は、データのエクスポート (GET /api/v1/tenant/export) のみ"
            "ご利用いただけます。\n\n---\n"
            f"Your contract has ended. After {until} JST all your data, backups "
            "included, will be erased and an erasure certificate issued. Until then only "
            "the export is available.\n"
        ),
    )
    return tenant


def set_hold(
    s: Session,
    tenants: TenantService,
    ref: str,
    reason: str | None,
    actor: Principal,
    *,
    kind: str = "legal_hold",
) -> Tenant:
    """Place (``reason``) or release (None) a legal hold or a pending-restore mark."""
    tenant = tenants.get(s, ref)
    if tenant.status is TenantStatus.disposed:
        raise TenantNotTerminated("disposed")
    value = reason.strip()[:200] if reason else None
    setattr(tenant, kind, value)
    tenant.updated_at = utcnow()
    s.flush()
    verb = "place" if value else "release"
    audit.record(
        s,
        actor,
        f"tenant.{kind}_{verb}",
        "tenant",
        tenant.code,
        detail={"reason": value} if value else None,
        tenant_id=tenant.id,
    )
    return tenant
