"""Logins of tenant users and operators, for the routes that run before any
principal exists (their unit of work acts as the anonymous principal).

A login has three steps: :meth:`Logins.check` reads the account and verifies
the password (Argon2id) before any write transaction opens, so the writer is
never held for it; the decision (``login``/``operator_login``) runs in the unit
of work, where every refusal is recorded with its reason and the failure
count; :meth:`Logins.refuse` then raises the one answer every refusal gets.
A refusal is not a failure of the unit of work: its entries (and the counted
failure, the lock) must commit, so the route raises only after the commit.
"""

from __future__ import annotations

from typing import Any, NoReturn

from sqlalchemy.orm import Session

from hokan.audit.actions import action
from hokan.identity import operator_auth, sessions
from hokan.identity.errors import InvalidCredentials
from hokan.identity.lockout import RedisLockout
from hokan.identity.login_decision import Checked
from hokan.identity.operator_auth import OperatorLogin
from hokan.identity.passwords import Passwords
from hokan.identity.sessions import LoginOutcome
from hokan.identity.spraying import SprayingDetector
from hokan.keyring.master import MasterKeyProvider
from hokan.keyring.service import Keyring
from hokan.kit.db import Database
from hokan.principals.principal import Principal
from hokan.settings import Settings


def _serial(checked: Checked, *_: Any, **__: Any) -> str:
    return checked.serial[:16]


class Logins:
    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        keyring: Keyring,
        *,
        master: MasterKeyProvider,
        settings: Settings,
        spraying: SprayingDetector,
        lockout: RedisLockout | None,
    ) -> None:
        self.db = db
        self.passwords = passwords
        self.keyring = keyring
        self.master = master
        self.settings = settings
        self.spraying = spraying
        self.lockout = lockout

    # -- tenant users -------------------------------------------------------------

    def check(self, serial: str, password: str) -> Checked:
        """Read the account and verify the password (blocking; no write transaction)."""
        return sessions.check(self.db, self.passwords, serial, password)

    @action("auth.login", "user", _serial)
    def login(
        self, s: Session, principal: Principal, checked: Checked, *, otp: str | None
    ) -> LoginOutcome:
        return sessions.decide(
            s,
            checked,
            passwords=self.passwords,
            otp=otp,
            keyring=self.keyring,
            lockout=self.lockout,
            spraying=self.spraying,
        )

    def refuse(self, outcome: LoginOutcome) -> NoReturn:
        """After the refusal committed: a spraying alarm goes to the IPS; then raise."""
        sessions.refuse(outcome, self.spraying)

    # -- operators ----------------------------------------------------------------

    def check_operator(self, serial: str, password: str) -> Checked:
        """The operations network first (refused and audited from elsewhere, OPS-4),
        then the account and password (blocking; no write transaction)."""
        return operator_auth.check(self.db, self.passwords, self.settings, serial, password)

    @action("operator.login", "operator", _serial)
    def operator_login(
        self, s: Session, principal: Principal, checked: Checked, *, otp: str | None
    ) -> OperatorLogin | None:
        """None when refused (recorded with its reason); see :meth:`refuse_operator`."""
        return operator_auth.decide(
            s,
            checked,
            passwords=self.passwords,
            master=self.master,
            settings=self.settings,
            otp=otp,
        )

    @staticmethod
    def refuse_operator() -> NoReturn:
        raise InvalidCredentials
