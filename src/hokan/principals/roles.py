"""Roles and what they may do (IAM-2): the one table from role to permissions.

Permissions are the :class:`~hokan.principals.principal.Scope` StrEnum that tokens
carry too; routes declare the one they need through typed dependencies.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from hokan.principals.errors import InvalidRole
from hokan.principals.principal import Scope


class Role(StrEnum):
    # tenant roles
    tenant_admin = "tenant_admin"
    staff_user = "staff_user"
    mynumber_clerk = "mynumber_clerk"  # 事務取扱担当者
    api_client = "api_client"
    # operator roles (Hokan's own staff)
    general_manager = "general_manager"  # 総括責任者
    operations_manager = "operations_manager"  # 運用責任者
    auditor = "auditor"  # 監査者
    incident_response = "incident_response"  # 障害対応チーム
    environment_maintenance = "environment_maintenance"  # 環境保守チーム
    operations_support = "operations_support"  # 運用保守チーム


TENANT_ROLES = frozenset({Role.tenant_admin, Role.staff_user, Role.mynumber_clerk, Role.api_client})
OPERATOR_ROLES = frozenset(Role) - TENANT_ROLES

# Operators hold no tenant-data permission by role: access to a tenant's
# environment comes only from that tenant's consent grant (OPS-1).
ROLE_PERMISSIONS: dict[Role, frozenset[Scope]] = {
    Role.tenant_admin: frozenset(
        {
            Scope.records_read,
            Scope.records_write,
            Scope.collections_manage,
            Scope.audit_read,
            Scope.users_manage,
            Scope.grants_manage,
        }
    ),
    Role.staff_user: frozenset({Scope.records_read, Scope.records_write}),
    # The vault scopes belong to the My Number clerk alone (MYN-4).
    Role.mynumber_clerk: frozenset({Scope.records_read, Scope.vault_read, Scope.vault_write}),
    Role.api_client: frozenset({Scope.records_read, Scope.records_write}),
    **{role: frozenset() for role in OPERATOR_ROLES},
}


def permissions_of(roles: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for role in roles:
        out |= ROLE_PERMISSIONS.get(Role(role), frozenset())
    return frozenset(out)


def validate_roles(roles: Iterable[str], allowed: frozenset[Role]) -> list[str]:
    """Sorted role values, all within ``allowed``, at least one; else :class:`InvalidRole`."""
    try:
        wanted = sorted({Role(r) for r in roles})
    except ValueError:
        wanted = []
    if not wanted or any(r not in allowed for r in wanted):
        raise InvalidRole(f"roles: {', '.join(sorted(allowed))}")
    return [r.value for r in wanted]
