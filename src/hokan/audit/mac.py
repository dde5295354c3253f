"""Entry authentication (ADR 0011): an HMAC under a key the system database does not hold.

The hash chain alone uses no secret: whoever can write the system database can
append an entry with a correct hash, or rewrite a tail and recompute it. Each
entry therefore also carries ``entry_mac``::

    HMAC-SHA256(audit_mac_key, b"hokan-audit-mac-v1\\n" + entry_hash)

hex-encoded. ``entry_hash`` commits to the entry's canonical bytes and to the
previous entry, so the MAC authenticates both. The key lives in the keyring
database, wrapped by the master key (:meth:`Keyring.audit_mac_key`).

:func:`register` ties a system-database engine to the loader of its key (the
runtime does it when it opens the database); :func:`key_for` returns the key,
loading it once. An engine without a registered key cannot be written to
(fail closed).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

_PREFIX = b"hokan-audit-mac-v1\n"
# Keyed by the engine's dialect object: one per create_engine(), shared by the
# engine's option engines (writes go through one) and kept across dispose().
_loaders: weakref.WeakKeyDictionary[Any, Callable[[], bytes]] = weakref.WeakKeyDictionary()
_keys: weakref.WeakKeyDictionary[Any, bytes] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class MacKeyMissing(Exception):
    """No audit MAC key is registered for this database."""


def register(engine: Engine, loader: Callable[[], bytes]) -> None:
    with _lock:
        _loaders[engine.dialect] = loader
        _keys.pop(engine.dialect, None)


def key_for(engine: Engine) -> bytes:
    dialect = engine.dialect
    key = _keys.get(dialect)
    if key is not None:
        return key
    with _lock:
        key = _keys.get(dialect)
        if key is None:
            loader = _loaders.get(dialect)
            if loader is None:
                raise MacKeyMissing("no audit MAC key is registered for this database")
            key = _keys[dialect] = loader()
    return key


def tag(key: bytes, entry_hash: str) -> str:
    return hmac.new(key, _PREFIX + entry_hash.encode(), hashlib.sha256).hexdigest()


def valid(key: bytes, entry_hash: str, mac: str | None) -> bool:
    return mac is not None and hmac.compare_digest(tag(key, entry_hash), mac)
