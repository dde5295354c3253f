"""Moved to :mod:`hokan.principals.roles` (transitional re-export, removed with issue 11)."""

from hokan.principals.roles import (
    OPERATOR_ROLES,
    ROLE_PERMISSIONS,
    TENANT_ROLES,
    Role,
    permissions_of,
    validate_roles,
)

__all__ = [
    "OPERATOR_ROLES",
    "ROLE_PERMISSIONS",
    "TENANT_ROLES",
    "Role",
    "permissions_of",
    "validate_roles",
]
