"""Account inventory (棚卸, IAM-7): every account of a tenant, dormant and privileged
ones marked; reviews recorded with per-account decisions; dormant accounts disabled
in bulk. Tokens are accounts too (integrations)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.identity import repository
from hokan.identity.operators import is_expired
from hokan.identity.sessions import revoke_sessions
from hokan.kit.clock import iso, utcnow
from hokan.models import (
    AccountReview,
    ApiToken,
    Operator,
    OperatorKind,
    Tenant,
    User,
    UserStatus,
)
from hokan.principals.principal import Principal, Scope
from hokan.principals.roles import Role, permissions_of
from hokan.tenants.schemas import TenantSettings

PRIVILEGED = frozenset({Scope.users_manage})


@dataclass(frozen=True)
class Account:
    kind: str  # "user", "token", "operator" or "temporary_operator"
    id: str  # serial, or token prefix
    name: str
    roles: list[str]
    permissions: list[str]
    status: str
    last_active_at: str | None
    created_at: str
    dormant: bool
    privileged: bool


class Decision(BaseModel):
    account: str = Field(max_length=40, description="Serial or token prefix")
    decision: Literal["keep", "disable", "investigate"]
    note: str = Field(default="", max_length=300)


class ReviewIn(BaseModel):
    decisions: list[Decision] = Field(max_length=10_000)
    comment: str = Field(default="", max_length=1000)


def _dormant_cutoff(tenant: Tenant, now: datetime) -> datetime:
    return now - timedelta(days=TenantSettings.model_validate(tenant.settings or {}).dormant_days)


def inventory(session: Session, tenant: Tenant) -> list[Account]:
    now = utcnow()
    cutoff = _dormant_cutoff(tenant, now)
    out: list[Account] = []
    for u in session.scalars(repository.scoped(User, tenant.id).order_by(User.created_at)):
        perms = sorted(permissions_of(u.roles))
        active = u.last_login_at or u.created_at
        out.append(
            Account(
                "user",
                u.serial,
                u.display_name,
                list(u.roles),
                perms,
                u.status.value,
                iso(u.last_login_at) if u.last_login_at else None,
                iso(u.created_at),
                u.status is UserStatus.active and active < cutoff,
                bool(PRIVILEGED & set(perms)),
            )
        )
    for t in session.scalars(repository.scoped(ApiToken, tenant.id).order_by(ApiToken.created_at)):
        live = t.revoked_at is None and t.expires_at > now
        active = t.last_used_at or t.created_at
        out.append(
            Account(
                "token",
                t.prefix,
                t.name,
                [],
                sorted(t.scopes),
                "active" if live else ("revoked" if t.revoked_at else "expired"),
                iso(t.last_used_at) if t.last_used_at else None,
                iso(t.created_at),
                live and active < cutoff,
                bool(PRIVILEGED & set(t.scopes)),
            )
        )
    return out


# 特権アカウント (§2-2-1): the roles that govern other accounts and keys.
PRIVILEGED_OPERATOR_ROLES = frozenset({Role.general_manager, Role.operations_manager})
OPERATOR_DORMANT_DAYS = 90


def operator_inventory(session: Session) -> list[Account]:
    """Hokan's own operator accounts, temporary investigation accounts included."""
    now = utcnow()
    cutoff = now - timedelta(days=OPERATOR_DORMANT_DAYS)
    out: list[Account] = []
    for o in session.scalars(select(Operator).order_by(Operator.created_at)):
        expired = is_expired(o.kind, o.expires_at, now)
        status = "expired" if expired else o.status.value
        out.append(
            Account(
                "temporary_operator" if o.kind is OperatorKind.temporary else "operator",
                o.serial,
                o.display_name,
                list(o.roles),
                [],  # operators hold no tenant-data permission of their own (OPS-1)
                status,
                iso(o.last_login_at) if o.last_login_at else None,
                iso(o.created_at),
                status == "active" and (o.last_login_at or o.created_at) < cutoff,
                bool(PRIVILEGED_OPERATOR_ROLES & set(o.roles)),
            )
        )
    return out


def as_json(accounts: list[Account]) -> list[dict[str, Any]]:
    return [asdict(a) for a in accounts]


def record_review(
    session: Session, tenant: Tenant, actor: Principal, review: ReviewIn
) -> AccountReview:
    row = AccountReview(
        tenant_id=tenant.id,
        reviewer=f"{actor.actor} {actor.display_name}"[:200],
        reviewed_at=utcnow(),
        decisions=[d.model_dump() for d in review.decisions],
        comment=review.comment,
    )
    session.add(row)
    session.flush()  # the id the answer names
    counts = {
        k: sum(d.decision == k for d in review.decisions)
        for k in ("keep", "disable", "investigate")
    }
    audit.record(
        session, actor, "accounts.review", "tenant", tenant.code, detail=counts, tenant_id=tenant.id
    )
    return row


def disable_dormant(session: Session, tenant: Tenant, actor: Principal) -> list[str]:
    """Disable dormant users and revoke dormant tokens; returns what was switched off."""
    now = utcnow()
    done: list[str] = []
    for account in inventory(session, tenant):
        if not account.dormant:
            continue
        if account.kind == "user":
            user = session.scalars(
                repository.scoped(User, tenant.id).where(User.serial == account.id)
            ).one()
            user.status = UserStatus.disabled
            revoke_sessions(session, user.id, now)
        else:
            token = session.scalars(
                repository.scoped(ApiToken, tenant.id).where(ApiToken.prefix == account.id)
            ).one()
            token.revoked_at = now
        done.append(account.id)
    session.flush()
    audit.record(
        session,
        actor,
        "accounts.disable_dormant",
        "tenant",
        tenant.code,
        detail={"accounts": done},
        tenant_id=tenant.id,
    )
    return done
