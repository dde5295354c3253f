"""Master key sources (KEY-1): environment, file, or the embedded default file.

A provider wraps and unwraps tenant keys. A KMS plug-in implements the same
two methods so the keyring never sees the master key itself.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Protocol

from hokan.keyring.errors import MasterKeyUnavailable
from hokan.kit import crypto
from hokan.settings import Settings


class MasterKeyProvider(Protocol):
    key_id: str

    def wrap(self, key: bytes, associated: bytes) -> bytes: ...

    def unwrap(self, blob: bytes, associated: bytes) -> bytes: ...


class LocalMasterKey:
    """A 256-bit master key held in process memory."""

    def __init__(self, key: bytes) -> None:
        if len(key) != crypto.KEY_BYTES:
            raise MasterKeyUnavailable("the master key must be 32 bytes")
        self._key = key
        self.key_id = crypto.key_id(key)

    def __repr__(self) -> str:
        return f"LocalMasterKey(key_id={self.key_id!r})"

    def wrap(self, key: bytes, associated: bytes) -> bytes:
        return crypto.encrypt(self._key, key, associated)

    def unwrap(self, blob: bytes, associated: bytes) -> bytes:
        return crypto.decrypt(self._key, blob, associated)


def create_master_key_file(path: Path) -> bool:
    """Create a new random master key file with mode 0600; False if it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(crypto.b64encode_key(crypto.random_key()) + "\n")
    return True


def _read_key_file(path: Path, *, strict_mode: bool) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise MasterKeyUnavailable(
            f"master key file {path} does not exist (run 'hokan init')"
        ) from None
    if strict_mode and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MasterKeyUnavailable(f"master key file {path} must not be readable by others (0600)")
    try:
        return crypto.b64decode_key(path.read_text())
    except ValueError as exc:
        raise MasterKeyUnavailable(f"master key file {path}: {exc}") from None


def load_master_key(settings: Settings) -> MasterKeyProvider:
    if settings.master_key is not None:
        try:
            return LocalMasterKey(crypto.b64decode_key(settings.master_key.get_secret_value()))
        except ValueError as exc:
            raise MasterKeyUnavailable(f"HOKAN_MASTER_KEY: {exc}") from None
    path = settings.master_key_file or settings.default_master_key_path
    return LocalMasterKey(_read_key_file(path, strict_mode=True))
