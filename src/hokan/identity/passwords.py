"""Passwords (IAM-1): Argon2id hashing and the per-tenant policy.

Passwords are NFKC-normalised before hashing, so a full-width and a half-width
spelling are the same password. Nothing is silently truncated: longer than
:data:`MAX_LENGTH` characters is refused.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hokan.kit.errors import InvalidPayload
from hokan.settings import Settings

MAX_LENGTH = 256


class WeakPassword(InvalidPayload):
    code = "weak_password"
    message_ja = "パスワードがポリシーを満たしていません。"
    message_en = "The password does not meet the policy."


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


@cache
def _deny_list() -> frozenset[str]:
    text = resources.files("hokan.identity").joinpath("data/common-passwords.txt").read_text()
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def _core(password: str) -> str:
    """The word under the usual decorations: 'Password123!' → 'password'."""
    return re.sub(r"[\d\W_]+$", "", re.sub(r"^[\d\W_]+", "", password.lower()))


def check_policy(password: str, min_length: int, avoid: tuple[str, ...] = ()) -> str:
    """Return the normalised password, or raise :class:`WeakPassword` saying why."""
    value = normalise(password)
    if len(value) < min_length:
        raise WeakPassword(f"at least {min_length} characters", reason="too_short")
    if len(value) > MAX_LENGTH:
        raise WeakPassword(f"at most {MAX_LENGTH} characters", reason="too_long")
    lowered = value.lower()
    if lowered in _deny_list() or _core(value) in _deny_list():
        raise WeakPassword("a common password", reason="common")
    if len(set(value)) < 4:
        raise WeakPassword("too few different characters", reason="repetitive")
    if lowered.isdigit() and (
        lowered in "01234567890123456789" or lowered in "98765432109876543210"
    ):
        raise WeakPassword("a sequence", reason="sequence")
    for word in avoid:
        if word and len(word) >= 4 and word.lower() in lowered:
            raise WeakPassword("contains the serial, tenant code or name", reason="personal")
    return value


class Passwords:
    """Argon2id with the parameters from settings; rehash when they change."""

    def __init__(self, settings: Settings) -> None:
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        self._dummy = self.hasher.hash("hokan-dummy-password-for-timing")

    def hash(self, password: str) -> str:
        return self.hasher.hash(normalise(password))

    def verify(self, stored: str | None, password: str) -> bool:
        """Check a password; with ``stored=None`` burn the same time and fail."""
        try:
            return (
                self.hasher.verify(stored or self._dummy, normalise(password))
                and stored is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)
