"""Consent grants (OPS-1): a tenant's permission for operators to enter its environment.

A tenant admin grants one operator, or a whole operator team (role), access
with a scope, a reason and an expiry of at most seven days, and may revoke it
at any time. Without an active grant an operator reaches no tenant data: the
attempt is refused and audited on the tenant's own chain. Allowed access runs
under the grant, whose id goes into every audit entry it causes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.audit.actions import action, succeeded
from hokan.identity import repository
from hokan.identity.errors import ConsentRequired, GrantNotFound, InvalidScope, InvalidValidity
from hokan.identity.operator_auth import OperatorIdentity
from hokan.identity.operators import by_serial, operator_roles
from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.kit.errors import Forbidden
from hokan.models import ConsentGrant, OperatorKind, Tenant, TenantStatus
from hokan.principals.principal import Principal, Scope

MAX_GRANT = timedelta(days=7)
# What a grant may open: tenant data, never user administration or grants themselves.
GRANTABLE = frozenset(
    {Scope.records_read, Scope.records_write, Scope.collections_manage, Scope.audit_read}
)
TENANT_HEADER = "x-hokan-tenant"


def _scoped(tenant_id: uuid.UUID) -> Select[ConsentGrant]:
    return repository.scoped(ConsentGrant, tenant_id)


def create(
    session: Session,
    tenant_id: uuid.UUID,
    actor: Principal,
    *,
    scopes: Iterable[str],
    reason: str,
    valid_for: timedelta,
    operator_serial: str | None = None,
    team: str | None = None,
) -> ConsentGrant:
    if (operator_serial is None) == (team is None):
        raise InvalidValidity("grant either one operator (operator_serial) or one team (team)")
    if valid_for <= timedelta(0) or valid_for > MAX_GRANT:
        raise InvalidValidity("a consent grant lasts at most 7 days")
    wanted = sorted(set(scopes))
    if not wanted or any(s not in GRANTABLE for s in wanted):
        raise InvalidScope(f"grantable scopes: {', '.join(sorted(GRANTABLE))}")
    if not reason.strip():
        raise InvalidValidity("a consent grant needs a reason")
    grantee_id = by_serial(session, operator_serial).id if operator_serial else None
    grantee_role = operator_roles([team])[0] if team else ""
    now = utcnow()
    grant = ConsentGrant(
        tenant_id=tenant_id,
        grantee_operator_id=grantee_id,
        grantee_role=grantee_role,
        scopes=wanted,
        reason=reason.strip()[:500],
        created_by=actor.actor[:100],
        created_at=now,
        expires_at=now + valid_for,
    )
    session.add(grant)
    session.flush()
    audit.record(
        session,
        actor,
        "grant.create",
        "consent_grant",
        str(grant.id),
        detail={
            "scopes": wanted,
            "grantee": str(grantee_id) if grantee_id else f"team:{grantee_role}",
            "hours": int(valid_for.total_seconds() // 3600),
        },
        tenant_id=tenant_id,
    )
    return grant


def for_tenant(session: Session, tenant_id: uuid.UUID) -> list[ConsentGrant]:
    return list(session.scalars(_scoped(tenant_id).order_by(ConsentGrant.created_at.desc())))


def revoke(
    session: Session, tenant_id: uuid.UUID, grant_id: uuid.UUID, actor: Principal
) -> ConsentGrant:
    grant = session.scalars(_scoped(tenant_id).where(ConsentGrant.id == grant_id)).one_or_none()
    if grant is None:
        raise GrantNotFound
    if grant.revoked_at is None:
        grant.revoked_at = utcnow()
        grant.revoked_by = actor.actor[:100]
        audit.record(
            session, actor, "grant.revoke", "consent_grant", str(grant.id), tenant_id=tenant_id
        )
    return grant


def is_active(grant: ConsentGrant, now: datetime) -> bool:
    return grant.revoked_at is None and grant.expires_at > now


def _active_grant(
    session: Session, tenant_id: uuid.UUID, identity: OperatorIdentity, now: datetime
) -> ConsentGrant | None:
    p = identity.principal
    clauses = [ConsentGrant.grantee_operator_id == uuid.UUID(p.id)]
    if p.roles:
        clauses.append(ConsentGrant.grantee_role.in_(sorted(p.roles)))
    return session.scalars(
        _scoped(tenant_id)
        .where(
            or_(*clauses),
            ConsentGrant.revoked_at.is_(None),
            ConsentGrant.expires_at > now,
        )
        .order_by(ConsentGrant.expires_at.desc())
        .limit(1)
    ).one_or_none()


def enter_tenant(db: Database, identity: OperatorIdentity, tenant_ref: str) -> Principal:
    """The operator's principal inside a tenant, under that tenant's consent grant.

    Refused with :class:`ConsentRequired` (and audited) without an active grant,
    for a temporary account outside its request's tenant, or for an unknown or
    inactive tenant (which is not told apart, so tenants cannot be probed).
    """
    now = utcnow()
    operator = identity.principal
    with db.session(system=True) as s:
        tenant = s.scalars(select(Tenant).where(Tenant.code == tenant_ref.strip().lower()))
        found = tenant.one_or_none()
        reason = ""
        grant = None
        if found is None:
            reason = "unknown_tenant"
        elif found.status is not TenantStatus.active:
            reason = "tenant_inactive"
        elif identity.kind is OperatorKind.temporary and identity.bound_tenant != found.id:
            reason = "temporary_account_other_tenant"
        else:
            grant = _active_grant(s, found.id, identity, now)
            if grant is None:
                reason = "no_grant"
    if grant is None or found is None:
        with db.session(write=True, system=found is None, tenant=found.id if found else None) as s:
            audit.record(
                s,
                operator,
                "operator.tenant_access",
                "tenant",
                str(found.id) if found else tenant_ref[:64],
                result=audit.DENIED,
                detail={"reason": reason},
                tenant_id=found.id if found else None,
            )
        raise ConsentRequired
    return Principal(
        kind=operator.kind,
        id=operator.id,
        display_name=operator.display_name,
        tenant_id=found.id,
        scopes=frozenset(grant.scopes) & GRANTABLE,
        roles=operator.roles,
        grant_id=str(grant.id),
    )


def _grant_id(grant_id: uuid.UUID, *_: object, **__: object) -> str:
    return str(grant_id)


def _tenant_of(principal: Principal) -> uuid.UUID:
    if principal.tenant_id is None:
        raise Forbidden
    return principal.tenant_id


class Grants:
    """A tenant admin's consent grants, in the caller's unit of work."""

    @action("grant.create", "consent_grant")
    def create(
        self,
        s: Session,
        principal: Principal,
        *,
        scopes: Iterable[str],
        reason: str,
        valid_for: timedelta,
        operator_serial: str | None = None,
        team: str | None = None,
    ) -> ConsentGrant:
        """Scope, reason, expiry (at most 7 days); ``create`` records it."""
        return create(
            s,
            _tenant_of(principal),
            principal,
            scopes=scopes,
            reason=reason,
            valid_for=valid_for,
            operator_serial=operator_serial,
            team=team,
        )

    @action("grant.list", "consent_grant", "*")
    def list_grants(self, s: Session, principal: Principal) -> list[ConsentGrant]:
        rows = for_tenant(s, _tenant_of(principal))
        succeeded(s, principal)
        return rows

    @action("grant.revoke", "consent_grant", _grant_id)
    def revoke(self, s: Session, principal: Principal, grant_id: uuid.UUID) -> ConsentGrant:
        return revoke(s, _tenant_of(principal), grant_id, principal)
