"""Who acts: principals, permission scopes and roles (IAM-2).

A small base package below every domain, so that audit, identity, operators,
the HTTP kit and the services share one vocabulary without importing each other.
"""

from hokan.principals.principal import (
    ALL_TOKEN_SCOPES,
    ANONYMOUS,
    DEFAULT_TOKEN_SCOPES,
    SYSTEM,
    Principal,
    PrincipalKind,
    Scope,
)
from hokan.principals.roles import OPERATOR_ROLES, TENANT_ROLES, Role

__all__ = [
    "ALL_TOKEN_SCOPES",
    "ANONYMOUS",
    "DEFAULT_TOKEN_SCOPES",
    "OPERATOR_ROLES",
    "SYSTEM",
    "TENANT_ROLES",
    "Principal",
    "PrincipalKind",
    "Role",
    "Scope",
]
