"""Optional TOTP second factor with one-time recovery codes (IAM-6).

The TOTP secret is sealed under the tenant's key like record payloads, so a
stolen database reveals no second factors. Setting up is two steps: ``begin``
returns the secret (and an ``otpauth://`` URI for authenticator apps) once;
``enable`` needs a first valid code and returns ten recovery codes once.
"""

from __future__ import annotations

import secrets
import uuid

import pyotp
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hokan.keyring.service import RECORDS, Keyring, Sealed
from hokan.kit import crypto
from hokan.kit.clock import utcnow
from hokan.kit.errors import Conflict, InvalidPayload
from hokan.models import RecoveryCode, User

ISSUER = "Hokan"
RECOVERY_CODES = 10


class InvalidOtp(InvalidPayload):
    code = "invalid_otp"
    message_ja = "確認コードが正しくありません。"
    message_en = "The verification code is not valid."


class TotpNotStarted(Conflict):
    code = "totp_not_started"
    message_ja = "先に二要素認証の設定を開始してください。"
    message_en = "Start the second-factor setup first."


def _context(user_id: uuid.UUID) -> dict[str, str | int]:
    return {"kind": "totp", "user": str(user_id), "revision": 0}


def _secret(keyring: Keyring, user: User) -> str | None:
    if user.totp_ciphertext is None or user.totp_wrapped is None or user.totp_key_version is None:
        return None
    sealed = Sealed(user.totp_key_version, user.totp_wrapped, user.totp_ciphertext)
    return keyring.open(user.tenant_id, RECORDS, _context(user.id), sealed).decode()


def begin(session: Session, keyring: Keyring, user: User) -> tuple[str, str]:
    """Draw a new secret (not active until :func:`enable`); returns it and its URI."""
    secret = pyotp.random_base32()
    sealed = keyring.seal(user.tenant_id, RECORDS, _context(user.id), secret.encode())
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            totp_key_version=sealed.key_version,
            totp_wrapped=sealed.wrapped_dek,
            totp_ciphertext=sealed.ciphertext,
            totp_enabled=False,
        )
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.serial, issuer_name=ISSUER)
    return secret, uri


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in code.strip().lower() if ch.isalnum())


def enable(session: Session, keyring: Keyring, user: User, code: str) -> list[str]:
    secret = _secret(keyring, user)
    if secret is None:
        raise TotpNotStarted
    step = matching_step(secret, code, user.totp_last_step)
    if step is None:
        raise InvalidOtp
    session.execute(
        update(User).where(User.id == user.id).values(totp_enabled=True, totp_last_step=step)
    )
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    for c in codes:
        session.add(
            RecoveryCode(
                tenant_id=user.tenant_id,
                user_id=user.id,
                code_hash=crypto.sha256_hex(_normalise_code(c).encode()),
            )
        )
    return codes


def matching_step(secret: str, code: str, after_step: int) -> int | None:
    """The time step (now ±1, for clock drift) whose TOTP is ``code``, if later than ``after_step``.

    Accepting only steps later than the last one used makes a code single-use:
    a code seen over someone's shoulder cannot be replayed within its 30 s.
    """
    totp = pyotp.TOTP(secret)
    code = code.strip()
    now_step = totp.timecode(utcnow())
    for step in (now_step - 1, now_step, now_step + 1):
        if step > after_step and crypto.constant_time_equals(totp.generate_otp(step), code):
            return step
    return None


def check(session: Session, keyring: Keyring, user: User, otp: str | None) -> bool:
    """A current, not yet used TOTP code, or an unused recovery code (then spent)."""
    if not otp:
        return False
    secret = _secret(keyring, user)
    step = matching_step(secret, otp, user.totp_last_step) if secret is not None else None
    if step is not None:
        # Compare-and-set, so two concurrent logins cannot both spend one code.
        claimed = session.execute(
            update(User)
            .where(User.id == user.id, User.totp_last_step < step)
            .values(totp_last_step=step)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]
    digest = crypto.sha256_hex(_normalise_code(otp).encode())
    code = session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == digest,
            RecoveryCode.used_at.is_(None),
        )
    ).one_or_none()
    if code is None:
        return False
    code.used_at = utcnow()
    return True
