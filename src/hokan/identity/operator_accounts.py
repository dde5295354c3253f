"""What operators do on their own routes (OPS-1..3): their session, operator accounts
and temporary investigation accounts, in the operator's unit of work (system scope).

Each method declares its audited action; the success entries are written here or
by :mod:`hokan.identity.operators`, failures by the unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hokan.audit.actions import action, succeeded
from hokan.identity import inventory, operator_auth, operators
from hokan.identity.operators import NewOperator
from hokan.identity.passwords import Passwords
from hokan.keyring.master import MasterKeyProvider
from hokan.models import Operator, OperatorStatus, Tenant
from hokan.principals.principal import Principal
from hokan.tenants.errors import TenantNotFound


def _serial(serial: str, *_: Any, **__: Any) -> str:
    return serial[:20]


class OperatorAccounts:
    def __init__(self, passwords: Passwords, master: MasterKeyProvider) -> None:
        self.passwords = passwords
        self.master = master

    @action("operator.logout", "session")
    def logout(self, s: Session, principal: Principal, token: str) -> None:
        operator_auth.end_session(s, token)
        succeeded(s, principal)

    @action("operator.list", "operator", "*")
    def list_operators(self, s: Session, principal: Principal) -> list[Operator]:
        rows = operators.all_operators(s)
        succeeded(s, principal)
        return rows

    @action("operator.create", "operator")
    def create(
        self,
        s: Session,
        principal: Principal,
        name: str,
        email: str,
        *,
        roles: Iterable[str],
        permitted_hours: str = "",
    ) -> NewOperator:
        """A generated password and TOTP secret (shown once); ``operators.create`` records it."""
        return operators.create(
            s,
            self.passwords,
            self.master,
            name=name,
            email=email,
            roles=roles,
            actor=principal,
            permitted_hours=permitted_hours,
        )

    @action("operator.create_temporary", "operator")
    def create_temporary(
        self,
        s: Session,
        principal: Principal,
        tenant_code: str,
        *,
        request_ref: str,
        reason: str,
        valid_for: timedelta,
        name: str,
        email: str,
        roles: Iterable[str],
    ) -> NewOperator:
        """An investigation account bound to the tenant of a customer's request (OPS-2)."""
        tenant = s.scalars(
            select(Tenant).where(Tenant.code == tenant_code.strip().lower())
        ).one_or_none()
        if tenant is None:
            raise TenantNotFound
        return operators.create(
            s,
            self.passwords,
            self.master,
            name=name,
            email=email,
            roles=roles,
            actor=principal,
            temporary_for=tenant,
            request_ref=request_ref,
            reason=reason,
            valid_for=valid_for,
        )

    @action("operator.disable", "operator", _serial)
    def disable(self, s: Session, principal: Principal, serial: str) -> Operator:
        return operators.set_status(s, serial, OperatorStatus.disabled, principal)

    @action("operator.set_roles", "operator", _serial)
    def set_roles(
        self, s: Session, principal: Principal, serial: str, roles: Iterable[str]
    ) -> Operator:
        return operators.set_roles(s, serial, roles, principal)

    @action("accounts.inventory", "operator", "*")
    def take_inventory(self, s: Session, principal: Principal) -> list[inventory.Account]:
        accounts = inventory.operator_inventory(s)
        succeeded(s, principal, detail={"count": len(accounts)})
        return accounts
