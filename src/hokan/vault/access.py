"""Who may touch the vault, and for which purposes (MYN-4).

Checked twice: by the routes' typed dependencies and again by the service.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from hokan.principals.principal import Principal, PrincipalKind, Scope
from hokan.principals.roles import Role
from hokan.vault.errors import InvalidPurpose, VaultAccessDenied

TARGET = "vault_entry"  # the audit entries' target type
_ALLOWED_KINDS = frozenset({PrincipalKind.user, PrincipalKind.token})


class Purpose(StrEnum):
    """利用目的 (番号法 第9条): the only reasons a number may be looked at."""

    social_security = "social_security"  # 社会保障
    tax = "tax"  # 税
    disaster = "disaster"  # 災害対策


def parse_purpose(value: str | None) -> Purpose:
    try:
        return Purpose(value or "")
    except ValueError:
        raise InvalidPurpose from None


def purpose_label(value: str | None) -> str:
    """The purpose for an audit entry: a known value or "invalid", never the raw input."""
    try:
        return Purpose(value or "").value
    except ValueError:
        return "invalid"


def vault_tenant(principal: Principal, scope: Scope) -> uuid.UUID:
    """The tenant whose vault this principal may use for ``scope``, or VaultAccessDenied.

    Only tenant users holding the My Number clerk role and tenant API tokens
    with the vault scope pass; operator and system principals never do (MYN-4).
    """
    if principal.kind not in _ALLOWED_KINDS or principal.tenant_id is None:
        raise VaultAccessDenied
    if not principal.has_scope(scope):
        raise VaultAccessDenied
    if principal.kind is PrincipalKind.user and Role.mynumber_clerk.value not in principal.roles:
        raise VaultAccessDenied
    return principal.tenant_id
