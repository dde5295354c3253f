"""The principal: whoever a request or job acts for.

Tokens, tenant users, operators and the system (jobs) share one type, so
services take a :class:`Principal` and never care how it was authenticated.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum


class PrincipalKind(StrEnum):
    token = "token"  # noqa: S105  (a tenant API token, for integrations)
    user = "user"  # a tenant user (identity issue)
    operator = "operator"  # a Hokan operator (identity issue)
    system = "system"  # scheduled jobs and the CLI
    anonymous = "anonymous"  # no valid credentials (only ever seen in audit entries)


class Scope(StrEnum):
    records_read = "records:read"
    records_write = "records:write"
    collections_manage = "collections:manage"
    audit_read = "audit:read"
    users_manage = "users:manage"
    grants_manage = "grants:manage"  # consent grants for operator access (OPS-1)
    vault_read = "vault:read"  # list masked, reveal, download (My Number clerks only)
    vault_write = "vault:write"  # register, schedule deletion, delete


# Consent for operator access is a person's decision (a tenant admin's), never a token's.
ALL_TOKEN_SCOPES = frozenset(Scope) - {Scope.grants_manage}
DEFAULT_TOKEN_SCOPES = frozenset({Scope.records_read, Scope.records_write})


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    id: str
    display_name: str
    tenant_id: uuid.UUID | None
    scopes: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)
    # An operator acting in a tenant's environment does so under that tenant's
    # consent grant; its id goes into every audit entry (OPS-1).
    grant_id: str | None = None
    # A user's session whose password someone else set (or an admin wants changed):
    # admitted only to change that password or log out (ADR 0019).
    password_change_required: bool = False
    # A personal API token acts for its user (IAM-5): the user's id goes into every
    # audit entry it causes (``detail.for_user``), so the daily audit tells a person's
    # token from the tenant's application token.
    for_user: str | None = None
    # The caller's tenant is terminated (LIFE-2): admitted to the export only.
    tenant_terminated: bool = False

    @property
    def actor(self) -> str:
        """A short, stable, non-secret label for revision and audit records."""
        return f"{self.kind.value}:{self.id}"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


ANONYMOUS = Principal(PrincipalKind.anonymous, "-", "anonymous", None)
SYSTEM = Principal(PrincipalKind.system, "hokan", "Hokan system", None, frozenset(Scope))
