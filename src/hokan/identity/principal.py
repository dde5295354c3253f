"""Moved to :mod:`hokan.principals.principal` (transitional re-export, removed with issue 11)."""

from hokan.principals.principal import (
    ALL_TOKEN_SCOPES,
    ANONYMOUS,
    DEFAULT_TOKEN_SCOPES,
    SYSTEM,
    Principal,
    PrincipalKind,
    Scope,
)

__all__ = [
    "ALL_TOKEN_SCOPES",
    "ANONYMOUS",
    "DEFAULT_TOKEN_SCOPES",
    "SYSTEM",
    "Principal",
    "PrincipalKind",
    "Scope",
]
