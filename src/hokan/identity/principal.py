"""The principal: whoever a request or job acts for.

Tokens today; tenant users, operators and the system (jobs) fit the same type,
so services take a :class:`Principal` and never care how it was authenticated.
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
    vault_read = "vault:read"  # list masked, reveal, download (My Number clerks only)
    vault_write = "vault:write"  # register, schedule deletion, delete


ALL_TOKEN_SCOPES = frozenset(Scope)
DEFAULT_TOKEN_SCOPES = frozenset({Scope.records_read, Scope.records_write})


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    id: str
    display_name: str
    tenant_id: uuid.UUID | None
    scopes: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def actor(self) -> str:
        """A short, stable, non-secret label for revision and audit records."""
        return f"{self.kind.value}:{self.id}"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


ANONYMOUS = Principal(PrincipalKind.anonymous, "-", "anonymous", None)
SYSTEM = Principal(PrincipalKind.system, "hokan", "Hokan system", None, frozenset(Scope))
