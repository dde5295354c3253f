"""AEAD envelope primitives (AES-256-GCM from ``cryptography``).

Every ciphertext is ``version byte || 12-byte nonce || ciphertext+tag`` and is
bound to its context through associated data built by :func:`aad`, so a
ciphertext copied onto another object, revision or tenant fails to decrypt.
Nothing here invents a cipher.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT_V1 = b"\x01"


class DecryptionError(Exception):
    """The ciphertext does not open under this key and context."""

    def __repr__(self) -> str:
        return "DecryptionError()"


def random_key() -> bytes:
    return os.urandom(KEY_BYTES)


def aad(purpose: str, fields: Mapping[str, str | int]) -> bytes:
    """Canonical associated data: purpose then sorted ``name=value`` pairs.

    Values are length-prefixed so no two different contexts serialise alike.
    """
    parts = [b"hokan-aad-v1", purpose.encode()]
    for name in sorted(fields):
        value = str(fields[name]).encode()
        parts.append(name.encode() + b"=" + len(value).to_bytes(4, "big") + value)
    return b"\x00".join(parts)


def encrypt(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_V1 + nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def decrypt(key: bytes, blob: bytes, associated: bytes) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != FORMAT_V1:
        raise DecryptionError
    nonce = blob[1 : 1 + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, blob[1 + NONCE_BYTES :], associated)
    except InvalidTag:
        raise DecryptionError from None


def key_id(key: bytes) -> str:
    """A public identifier of a key (never the key): 16 hex chars of a keyed hash."""
    return hmac.new(key, b"hokan-key-id", hashlib.sha256).hexdigest()[:16]


def b64decode_key(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise ValueError("not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"must decode to {KEY_BYTES} bytes")
    return raw


def b64encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)
