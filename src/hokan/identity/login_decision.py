"""The one login decision, shared by tenant users and operators (IAM-3, OPS-4).

After the password has been verified (always, found or not, outside any write
transaction), a login attempt is decided the same way for both kinds of
account: a refusal the caller found (disabled, locked, …) is recorded; the
second factor is checked and counts like the password; a wrong one is counted
(and locks at the threshold); otherwise the counters reset, the password hash
is upgraded if its parameters are old, and a session row is opened. Every
outcome is audited under the kind's own action (``auth.login`` or
``operator.login``) in the caller's transaction.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.audit.context import cert_fingerprint_var
from hokan.identity.passwords import Passwords
from hokan.kit import crypto, metrics
from hokan.models import Operator, User
from hokan.principals.principal import Principal


@dataclass(frozen=True)
class Checked:
    """A serial and password, checked before any write transaction opens (the
    Argon2id work never holds the writer). ``row`` is the account, if any."""

    serial: str
    row: Any
    password_ok: bool
    password: str = field(repr=False)  # kept only to re-hash with newer parameters


@dataclass(frozen=True, slots=True)
class Attempt:
    """One login attempt on a known account, as the decision sees it."""

    model: type[User] | type[Operator]
    account_id: uuid.UUID
    tenant_id: uuid.UUID | None  # the user's tenant, a temporary operator's bound tenant
    actor: Principal
    password_hash: str
    action: str  # "auth.login" | "operator.login"
    target_type: str  # "user" | "operator"
    lock_action: str  # "auth.lock" | "operator.lock"
    bad_reason: str  # the refusal reason of a wrong password (or second factor)

    def record(self, s: Session, reason: str | None = None, **extra: Any) -> None:
        """The attempt's audit entry: denied with ``reason``, or the success."""
        audit.record(
            s,
            self.actor,
            self.action,
            self.target_type,
            str(self.account_id),
            result=audit.DENIED if reason else audit.SUCCESS,
            detail={"reason": reason, **extra} if reason else None,
            tenant_id=self.tenant_id,
        )

    def failed(
        self,
        s: Session,
        failures: int | None,
        *,
        locked_now: bool,
        threshold: int,
        minutes: int,
        revoke: Callable[[], None],
    ) -> None:
        """Record a counted failure (``failures`` None: a concurrent attempt locked the
        account first, not counted) and, when this one locked it, end its sessions."""
        if failures is None:
            self.record(s, "locked")
            return
        self.record(s, self.bad_reason, failures=failures)
        if locked_now:
            metrics.LOCKOUTS.labels(self.target_type).inc()
            revoke()
            audit.record(
                s,
                self.actor,
                self.lock_action,
                self.target_type,
                str(self.account_id),
                detail={"failures": threshold, "minutes": minutes},
                tenant_id=self.tenant_id,
            )


@dataclass(frozen=True, slots=True)
class Opened:
    """A session opened by a successful login: the secrets go to the client only."""

    session_token: str
    csrf_token: str
    session_hash: str
    csrf_hash: str
    cert_fingerprint: str


def decide(
    s: Session,
    attempt: Attempt,
    *,
    refused: str | None,
    password_ok: bool,
    second_factor: Callable[[], bool],
    count_failure: Callable[[], None],
    passwords: Passwords,
    password: str,
    now: datetime,
) -> Opened | None:
    """Decide a login on a known account; None when refused (already recorded).

    ``refused`` is the kind's own refusal reason found before any password check
    (disabled, locked, expired …); ``second_factor`` is asked only after a right
    password; ``count_failure`` counts a wrong one.
    """
    if refused is not None:
        attempt.record(s, refused)
        return None
    if password_ok:  # the second factor counts like the password
        password_ok = second_factor()
    if not password_ok:
        count_failure()
        return None
    values: dict[str, Any] = {"failed_count": 0, "locked_until": None, "last_login_at": now}
    if passwords.needs_rehash(attempt.password_hash):
        values["password_hash"] = passwords.hash(password)
    model = attempt.model
    s.execute(update(model).where(model.id == attempt.account_id).values(**values))
    session_token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    attempt.record(s)
    return Opened(
        session_token,
        csrf_token,
        crypto.sha256_hex(session_token.encode()),
        crypto.sha256_hex(csrf_token.encode()),
        cert_fingerprint_var.get(),
    )
