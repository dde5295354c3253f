"""Operator accounts (OPS-1..3): Hokan's own staff, apart from tenant users.

Operators have a serial, an Argon2id password and a TOTP second factor that is
always required: the secret is drawn at creation, wrapped by the master key and
shown once as an ``otpauth://`` URI. Temporary investigation accounts (OPS-2)
are operators bound to one tenant and one customer request, valid for strictly
less than 24 hours; they die at expiry whether or not a job runs (every use
checks the expiry), and the tenant admin then receives a usage report.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.identity import serials
from hokan.identity.errors import InvalidValidity, OperatorNotFound, check_email
from hokan.identity.mfa import ISSUER
from hokan.identity.passwords import Passwords, check_policy
from hokan.keyring.master import MasterKeyProvider
from hokan.kit import crypto
from hokan.kit.clock import iso, to_jst, utcnow
from hokan.models import (
    AuditEvent,
    Operator,
    OperatorKind,
    OperatorSession,
    OperatorStatus,
    Tenant,
    User,
)
from hokan.principals.principal import Principal
from hokan.principals.roles import OPERATOR_ROLES, Role, validate_roles
from hokan.tenants.notices import notify

OPERATOR_PASSWORD_MIN = 14
# OPS-2: "使用期間付(1日未満)" — strictly under one day; 24 hours or more is refused.
TEMPORARY_MAX = timedelta(hours=24)
# An investigation account works; it never manages, audits or holds privileged roles.
TEMPORARY_ROLES = frozenset(
    {Role.incident_response, Role.environment_maintenance, Role.operations_support}
)


@dataclass(frozen=True)
class NewOperator:
    operator: Operator
    password: str | None  # generated when none was given; shown once
    totp_uri: str  # shown once, for the operator's authenticator app


def _totp_aad(operator_id: uuid.UUID) -> bytes:
    return crypto.aad("operator-totp", {"operator": str(operator_id)})


def totp_secret(master: MasterKeyProvider, operator: Operator) -> str:
    return master.unwrap(operator.totp_wrapped, _totp_aad(operator.id)).decode()


def operator_roles(roles: Iterable[str]) -> list[str]:
    return validate_roles(roles, OPERATOR_ROLES)


def _free_serial(session: Session) -> str:
    """A serial used by no operator and no user (serials are globally unique)."""
    for _ in range(10):
        serial = serials.new_serial()
        taken = session.scalar(select(Operator.id).where(Operator.serial == serial)) or (
            session.scalar(select(User.id).where(User.serial == serial))
        )
        if not taken:
            return serial
    raise RuntimeError("could not draw a free serial number")


def create(
    session: Session,
    passwords: Passwords,
    master: MasterKeyProvider,
    *,
    name: str,
    email: str,
    roles: Iterable[str],
    actor: Principal,
    password: str | None = None,
    temporary_for: Tenant | None = None,
    request_ref: str = "",
    reason: str = "",
    valid_for: timedelta | None = None,
    permitted_hours: str = "",
) -> NewOperator:
    """Create an operator, or a temporary investigation account when ``temporary_for`` is set."""
    role_values = operator_roles(roles)
    check_email(email)
    now = utcnow()
    expires_at = None
    if temporary_for is not None:
        if valid_for is None or valid_for <= timedelta(0) or valid_for >= TEMPORARY_MAX:
            raise InvalidValidity("a temporary account is valid for more than 0 and under 24 hours")
        validate_roles(role_values, TEMPORARY_ROLES)
        if not request_ref.strip() or not reason.strip():
            raise InvalidValidity("a temporary account needs the customer's request and a reason")
        expires_at = now + valid_for
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(18)
    serial = _free_serial(session)
    value = check_policy(password, OPERATOR_PASSWORD_MIN, (serial, name))
    operator_id = uuid.uuid4()
    secret = pyotp.random_base32()
    operator = Operator(
        id=operator_id,
        serial=serial,
        display_name=name,
        email=email,
        roles=role_values,
        kind=OperatorKind.temporary if temporary_for is not None else OperatorKind.regular,
        password_hash=passwords.hash(value),
        totp_wrapped=master.wrap(secret.encode(), _totp_aad(operator_id)),
        totp_last_step=0,
        status=OperatorStatus.active,
        permitted_hours=permitted_hours,
        failed_count=0,
        created_at=now,
        created_by=actor.actor[:100],
        tenant_id=temporary_for.id if temporary_for is not None else None,
        request_ref=request_ref.strip()[:100],
        reason=reason.strip()[:500],
        expires_at=expires_at,
    )
    try:
        with session.begin_nested():
            session.add(operator)
    except IntegrityError:
        raise RuntimeError("could not draw a free serial number") from None
    detail: dict[str, str | list[str]] = {"roles": role_values, "serial": serial}
    if temporary_for is not None and expires_at is not None:
        detail |= {"request": operator.request_ref, "expires_at": iso(expires_at)}
    audit.record(
        session,
        actor,
        "operator.create_temporary" if temporary_for is not None else "operator.create",
        "operator",
        str(operator_id),
        detail=detail,
        # A temporary account is recorded on the tenant's own chain: the customer sees it.
        tenant_id=temporary_for.id if temporary_for is not None else None,
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=f"operator-{serial}", issuer_name=ISSUER)
    return NewOperator(operator, generated, uri)


def all_operators(session: Session) -> list[Operator]:
    return list(session.scalars(select(Operator).order_by(Operator.created_at)))


def by_serial(session: Session, serial: str) -> Operator:
    operator = session.scalars(
        select(Operator).where(Operator.serial == serials.normalise(serial))
    ).one_or_none()
    if operator is None:
        raise OperatorNotFound
    return operator


def revoke_sessions(session: Session, operator_id: uuid.UUID, now: datetime) -> None:
    session.execute(
        update(OperatorSession)
        .where(OperatorSession.operator_id == operator_id, OperatorSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def set_status(
    session: Session, serial: str, status: OperatorStatus, actor: Principal, reason: str = "admin"
) -> Operator:
    operator = by_serial(session, serial)
    operator.status = status
    if status is OperatorStatus.disabled:
        revoke_sessions(session, operator.id, utcnow())
    audit.record(
        session,
        actor,
        f"operator.{'disable' if status is OperatorStatus.disabled else 'enable'}",
        "operator",
        str(operator.id),
        detail={"reason": reason},
        tenant_id=operator.tenant_id,
    )
    return operator


def set_roles(session: Session, serial: str, roles: Iterable[str], actor: Principal) -> Operator:
    """Change an operator's roles: a privileged action (OPS-3), reviewed in the daily audit."""
    operator = by_serial(session, serial)
    before, after = list(operator.roles), operator_roles(roles)
    operator.roles = after
    revoke_sessions(session, operator.id, utcnow())  # the new roles apply from the next login
    audit.record(
        session,
        actor,
        "operator.set_roles",
        "operator",
        str(operator.id),
        detail={"before": before, "after": after},
    )
    return operator


def is_expired(kind: OperatorKind, expires_at: datetime | None, now: datetime) -> bool:
    return kind is OperatorKind.temporary and (expires_at is None or expires_at <= now)


def expire_temporary(session: Session, actor: Principal) -> list[Operator]:
    """Disable expired temporary accounts and mail each tenant a usage report (OPS-2).

    Expired accounts are already refused at every use; this job makes it
    visible (status, audit) and sends the report once.
    """
    now = utcnow()
    due = list(
        session.scalars(
            select(Operator)
            .where(
                Operator.kind == OperatorKind.temporary,
                Operator.expires_at <= now,
                Operator.report_sent_at.is_(None),
            )
            # Two runs at once (a second worker, 'hokan operator expire'): each account
            # is reported by exactly one of them (PostgreSQL; SQLite writes serialise).
            .with_for_update(skip_locked=True)
        )
    )
    for operator in due:
        if operator.status is OperatorStatus.active:
            operator.status = OperatorStatus.disabled
            revoke_sessions(session, operator.id, now)
        _send_usage_report(session, operator, now)
        operator.report_sent_at = now
        audit.record(
            session,
            actor,
            "operator.expire",
            "operator",
            str(operator.id),
            detail={"request": operator.request_ref},
            tenant_id=operator.tenant_id,
        )
    session.flush()
    return due


def usage(session: Session, operator: Operator) -> list[AuditEvent]:
    """Everything the account did, from the audit trail (its own chain entries and the tenant's)."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.actor_type == "operator", AuditEvent.actor_id == str(operator.id))
            .order_by(AuditEvent.occurred_at, AuditEvent.seq)
        )
    )


def _send_usage_report(session: Session, operator: Operator, now: datetime) -> None:
    tenant = session.get(Tenant, operator.tenant_id) if operator.tenant_id else None
    if tenant is None:
        return
    events = usage(session, operator)
    lines = [
        f"{to_jst(e.occurred_at):%Y-%m-%d %H:%M:%S} {e.action} {e.target_type}:{e.target_id} "
        f"{e.result} {e.source_ip}"
        for e in events[:500]
    ]
    if len(events) > 500:
        lines.append(f"… 他 {len(events) - 500} 件 / and {len(events) - 500} more")
    issued = operator.created_at
    body = (
        f"{tenant.name} ご担当者様\n\n"
        "お客様の調査依頼に基づき発行した一時アカウントの有効期限が終了し、無効化しました。\n"
        f"  調査依頼: {operator.request_ref}\n  目的: {operator.reason}\n"
        f"  アカウント: {operator.serial} ({operator.display_name})\n"
        f"  有効期間: {to_jst(issued):%Y-%m-%d %H:%M} 〜 "
        f"{to_jst(operator.expires_at or now):%Y-%m-%d %H:%M} (日本時間)\n"
        f"  操作件数: {len(events)}\n\n"
        "操作の記録 (日本時間, 操作, 対象, 結果, 接続元):\n"
        + ("\n".join(lines) if lines else "  (操作はありませんでした / no actions)")
        + "\n\n---\nThe temporary investigation account issued for your request "
        f"{operator.request_ref} has expired and is disabled. It performed {len(events)} "
        "recorded actions, listed above.\n"
    )
    notify(
        session,
        "operator.usage_report",
        tenant=tenant,
        subject="【Hokan】一時アカウント利用報告 / Temporary account usage report",
        body=body,
    )


# Who hears of security events at the edge (IPS bans, malware): 障害対応チーム and managers.
NOTIFIED_ROLES = frozenset({Role.incident_response, Role.operations_manager, Role.general_manager})


def emails_with_role(session: Session, role: Role) -> list[str]:
    """E-mail addresses of the active, regular operators holding ``role``."""
    rows = session.execute(
        select(Operator.email, Operator.roles).where(
            Operator.status == OperatorStatus.active, Operator.kind == OperatorKind.regular
        )
    )
    return sorted({email for email, roles in rows if role in set(roles or [])})


def notified_emails(session: Session) -> list[str]:
    """E-mail addresses of the active, regular operators who receive security notices."""
    rows = session.execute(
        select(Operator.email, Operator.roles).where(
            Operator.status == OperatorStatus.active, Operator.kind == OperatorKind.regular
        )
    )
    return sorted({email for email, roles in rows if NOTIFIED_ROLES & set(roles or [])})
