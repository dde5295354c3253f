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

from hokan.kit.errors import InvalidPayload, because
from hokan.settings import Settings

MAX_LENGTH = 256


class WeakPassword(InvalidPayload):
    code = "weak_password"
    message_ja = "パスワードがポリシーを満たしていません。"
    message_en = "The password does not meet the policy."
    reasons = because(
        too_short=("{min_length}文字以上にしてください。", "Use at least {min_length} characters."),
        too_long=("{max_length}文字以下にしてください。", "Use at most {max_length} characters."),
        common=("よく使われるパスワードは使えません。", "A commonly used password cannot be used."),
        repetitive=(
            "異なる文字をもっと使ってください。",
            "Use more different characters.",
        ),
        sequence=("連続した数字は使えません。", "A sequence of digits cannot be used."),
        personal=(
            "シリアル番号・テナントコード・氏名を含めないでください。",
            "Do not include the serial number, tenant code or name.",
        ),
        unchanged=(
            "現在のパスワードとは別のものにしてください。",
            "Choose a password other than the current one.",
        ),
    )


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
        raise WeakPassword("too_short", min_length=min_length)
    if len(value) > MAX_LENGTH:
        raise WeakPassword("too_long", max_length=MAX_LENGTH)
    lowered = value.lower()
    if lowered in _deny_list() or _core(value) in _deny_list():
        raise WeakPassword("common")
    if len(set(value)) < 4:
        raise WeakPassword("repetitive")
    if lowered.isdigit() and (
        lowered in "01234567890123456789" or lowered in "98765432109876543210"
    ):
        raise WeakPassword("sequence")
    for word in avoid:
        if word and len(word) >= 4 and word.lower() in lowered:
            raise WeakPassword("personal")
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
