"""The keyring service: tenant keys in their own database, data keys per object.

``seal`` encrypts a payload under a fresh data key (DEK) and wraps the DEK with
the tenant's active key; both bind the object's context (tenant, object,
revision …) as associated data. ``open`` reverses it or raises
:class:`DecryptionFailed`. Unwrapped tenant keys are cached in memory for
``HOKAN_KEY_CACHE_SECONDS``; a destroy in this process clears the cache at
once, other processes drop it when the entry expires.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hokan.keyring import repository
from hokan.keyring.errors import (
    DecryptionFailed,
    MasterKeyMismatch,
    TenantKeyMissing,
    TenantKeysDestroyed,
)
from hokan.keyring.master import MasterKeyProvider
from hokan.kit import crypto
from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.kit.prepared import PreparedInsert
from hokan.models import KeyringMeta, KeyStatus, TenantKey, VaultEntryKey

RECORDS = "records"
VAULT = "vault"  # made on a tenant's first vault use; wraps per-entry keys (MYN-3)
# Keys the vault's number digests (duplicate check); made on first use, only version 1
# is ever used: rotating it would only orphan the digests, and it keys no secret data.
VAULT_DIGEST = "vault_digest"
PURPOSES = (RECORDS,)
_CHECK_NAME = "master_check"
_AUDIT_KEY_NAME = "audit_signing_key"
_AUDIT_MAC_NAME = "audit_mac_key"
_BACKUP_KEK_NAME = "backup_kek"
_CHECK_PLAINTEXT = b"hokan master key check v1"


_SAVE_ENTRY_KEY = PreparedInsert(VaultEntryKey)


@dataclass(frozen=True, slots=True)
class Sealed:
    key_version: int
    wrapped_dek: bytes
    ciphertext: bytes


@dataclass(frozen=True, slots=True)
class KeyInfo:
    tenant_id: uuid.UUID
    purpose: str
    version: int
    status: KeyStatus
    master_key_id: str


@dataclass(frozen=True, slots=True)
class DataKey:
    """A fresh data key for a streamed object (attachments), and its wrapped form to store."""

    key_version: int
    key: bytes
    wrapped: bytes

    def __repr__(self) -> str:  # never the key
        return f"DataKey(key_version={self.key_version})"


Context = Mapping[str, str | int]


class Keyring:
    def __init__(self, db: Database, master: MasterKeyProvider, cache_seconds: float) -> None:
        self.db = db
        self.master = master
        self.cache_seconds = cache_seconds
        self._keys: dict[tuple[uuid.UUID, str, int], tuple[bytes, float]] = {}
        self._active: dict[tuple[uuid.UUID, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    # -- master key -------------------------------------------------------

    def verify_master(self, *, initialise: bool = False) -> None:
        """Check that the loaded master key is the one this keyring was made with."""
        associated = crypto.aad("master-check", {})
        with self.db.session(write=initialise) as s:
            row = s.get(KeyringMeta, _CHECK_NAME)
            if row is None:
                if not initialise:
                    raise MasterKeyMismatch("the keyring is not initialised (run 'hokan init')")
                s.add(
                    KeyringMeta(
                        name=_CHECK_NAME, value=self.master.wrap(_CHECK_PLAINTEXT, associated)
                    )
                )
                return
            try:
                ok = self.master.unwrap(row.value, associated) == _CHECK_PLAINTEXT
            except crypto.DecryptionError:
                ok = False
            if not ok:
                raise MasterKeyMismatch

    # -- the audit signing key ------------------------------------------------

    def audit_signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key that signs audit checkpoints (AUD-2), made on first use.

        Kept in the keyring database wrapped by the master key, like tenant keys.
        """
        associated = crypto.aad("audit-signing-key", {})
        with self.db.session(write=True) as s:
            row = s.get(KeyringMeta, _AUDIT_KEY_NAME)
            if row is None:
                key = Ed25519PrivateKey.generate()
                raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
                s.add(KeyringMeta(name=_AUDIT_KEY_NAME, value=self.master.wrap(raw, associated)))
                return key
            try:
                raw = self.master.unwrap(row.value, associated)
            except crypto.DecryptionError:
                raise MasterKeyMismatch("the audit signing key does not open") from None
        return Ed25519PrivateKey.from_private_bytes(raw)

    def audit_mac_key(self) -> bytes:
        """The 256-bit HMAC key that authenticates every audit entry (ADR 0011), made on first use.

        It lives here, wrapped by the master key, so whoever can write the system
        database alone cannot compute a valid entry MAC.
        """
        associated = crypto.aad("audit-mac-key", {})
        for _ in range(2):
            try:
                with self.db.session(write=True) as s:
                    row = s.get(KeyringMeta, _AUDIT_MAC_NAME)
                    if row is None:
                        key = crypto.random_key()
                        s.add(
                            KeyringMeta(
                                name=_AUDIT_MAC_NAME, value=self.master.wrap(key, associated)
                            )
                        )
                        return key
                    wrapped = row.value
            except IntegrityError:  # another process made it first: read theirs
                continue
            try:
                return self.master.unwrap(wrapped, associated)
            except crypto.DecryptionError:
                raise MasterKeyMismatch("the audit MAC key does not open") from None
        raise MasterKeyMismatch("the audit MAC key could not be read")

    def backup_kek(self) -> bytes:
        """The 256-bit key that wraps each backup generation's data key, made on first use.

        Wrapped by the master key like the audit keys. The keyring's own backup is not
        sealed under it (it lives in the keyring): that set's data key is wrapped by
        the master key directly (ADR 0021, KEY-2).
        """
        associated = crypto.aad("backup-kek", {})
        for _ in range(2):
            try:
                with self.db.session(write=True) as s:
                    row = s.get(KeyringMeta, _BACKUP_KEK_NAME)
                    if row is None:
                        key = crypto.random_key()
                        s.add(
                            KeyringMeta(
                                name=_BACKUP_KEK_NAME, value=self.master.wrap(key, associated)
                            )
                        )
                        return key
                    wrapped = row.value
            except IntegrityError:  # another process made it first: read theirs
                continue
            try:
                return self.master.unwrap(wrapped, associated)
            except crypto.DecryptionError:
                raise MasterKeyMismatch("the backup key does not open") from None
        raise MasterKeyMismatch("the backup key could not be read")

    # -- tenant keys ------------------------------------------------------

    def _wrap_aad(self, tenant_id: uuid.UUID, purpose: str, version: int) -> bytes:
        return crypto.aad(
            "tenant-key", {"tenant": str(tenant_id), "purpose": purpose, "version": version}
        )

    def _add_version(self, s: Session, tenant_id: uuid.UUID, purpose: str, version: int) -> None:
        s.add(
            TenantKey(
                tenant_id=tenant_id,
                purpose=purpose,
                version=version,
                status=KeyStatus.active,
                wrapped_key=self.master.wrap(
                    crypto.random_key(), self._wrap_aad(tenant_id, purpose, version)
                ),
                master_key_id=self.master.key_id,
            )
        )

    def create_tenant_keys(self, tenant_id: uuid.UUID) -> None:
        """Create version 1 of every purpose's key for a new tenant (idempotent)."""
        with self.db.session(write=True) as s:
            for purpose in PURPOSES:
                if s.get(TenantKey, (tenant_id, purpose, 1)) is None:
                    self._add_version(s, tenant_id, purpose, 1)

    def rotate(self, tenant_id: uuid.UUID, purpose: str = RECORDS) -> int:
        """Add a new active version; older versions are retired but still decrypt (KEY-3)."""
        with self.db.session(write=True) as s:
            rows = s.scalars(repository.tenant_keys(tenant_id, purpose)).all()
            if not rows:
                raise TenantKeyMissing
            if any(r.status is KeyStatus.destroyed for r in rows):
                raise TenantKeysDestroyed
            now = utcnow()
            for row in rows:
                if row.status is KeyStatus.active:
                    row.status = KeyStatus.retired
                    row.retired_at = now
            version = rows[-1].version + 1
            self._add_version(s, tenant_id, purpose, version)
        with self._lock:
            self._active.pop((tenant_id, purpose), None)
        return version

    def destroy_tenant(self, tenant_id: uuid.UUID) -> int:
        """Erase every wrapped key of a tenant (crypto-shredding, LIFE-2)."""
        with self.db.session(write=True) as s:
            result = s.execute(repository.destroy_tenant_keys(tenant_id))
            count = int(getattr(result, "rowcount", 0) or 0)
        with self._lock:
            for cache_key in [k for k in self._keys if k[0] == tenant_id]:
                del self._keys[cache_key]
            for active_key in [k for k in self._active if k[0] == tenant_id]:
                del self._active[active_key]
        return count

    def list_keys(self, tenant_id: uuid.UUID | None = None) -> list[KeyInfo]:
        with self.db.session() as s:
            return [
                KeyInfo(r.tenant_id, r.purpose, r.version, r.status, r.master_key_id)
                for r in s.scalars(repository.listing(tenant_id))
            ]

    def active_version(self, tenant_id: uuid.UUID, purpose: str) -> int:
        now = time.monotonic()
        cached = self._active.get((tenant_id, purpose))
        if cached and cached[1] > now:
            return cached[0]
        with self.db.session() as s:
            rows = s.execute(repository.key_versions(tenant_id, purpose)).all()
        if not rows:
            raise TenantKeyMissing
        version, status = rows[0]
        if status is KeyStatus.destroyed:
            raise TenantKeysDestroyed
        with self._lock:
            self._active[(tenant_id, purpose)] = (version, now + self.cache_seconds)
        return int(version)

    def _tenant_key(self, tenant_id: uuid.UUID, purpose: str, version: int) -> bytes:
        now = time.monotonic()
        cached = self._keys.get((tenant_id, purpose, version))
        if cached and cached[1] > now:
            return cached[0]
        with self.db.session() as s:
            row = s.get(TenantKey, (tenant_id, purpose, version))
            if row is None:
                raise TenantKeyMissing
            if row.status is KeyStatus.destroyed or row.wrapped_key is None:
                raise TenantKeysDestroyed
            wrapped = row.wrapped_key
        try:
            key = self.master.unwrap(wrapped, self._wrap_aad(tenant_id, purpose, version))
        except crypto.DecryptionError:
            raise MasterKeyMismatch("a tenant key does not open under the master key") from None
        with self._lock:
            self._keys[(tenant_id, purpose, version)] = (key, now + self.cache_seconds)
        return key

    # -- objects ----------------------------------------------------------

    @staticmethod
    def _dek_aad(tenant_id: uuid.UUID, purpose: str, version: int, context: Context) -> bytes:
        fields: dict[str, str | int] = dict(context)
        fields.update({"~tenant": str(tenant_id), "~purpose": purpose, "~key_version": version})
        return crypto.aad("dek", fields)

    @staticmethod
    def _payload_aad(tenant_id: uuid.UUID, purpose: str, context: Context) -> bytes:
        fields: dict[str, str | int] = dict(context)
        fields.update({"~tenant": str(tenant_id), "~purpose": purpose})
        return crypto.aad("payload", fields)

    def seal(
        self, tenant_id: uuid.UUID, purpose: str, context: Context, plaintext: bytes
    ) -> Sealed:
        version = self.active_version(tenant_id, purpose)
        tenant_key = self._tenant_key(tenant_id, purpose, version)
        dek = crypto.random_key()
        return Sealed(
            key_version=version,
            wrapped_dek=crypto.encrypt(
                tenant_key, dek, self._dek_aad(tenant_id, purpose, version, context)
            ),
            ciphertext=crypto.encrypt(
                dek, plaintext, self._payload_aad(tenant_id, purpose, context)
            ),
        )

    def _unwrap_dek(
        self, tenant_id: uuid.UUID, purpose: str, context: Context, version: int, wrapped: bytes
    ) -> bytes:
        tenant_key = self._tenant_key(tenant_id, purpose, version)
        try:
            return crypto.decrypt(
                tenant_key, wrapped, self._dek_aad(tenant_id, purpose, version, context)
            )
        except crypto.DecryptionError:
            raise DecryptionFailed from None

    def open(self, tenant_id: uuid.UUID, purpose: str, context: Context, sealed: Sealed) -> bytes:
        dek = self._unwrap_dek(tenant_id, purpose, context, sealed.key_version, sealed.wrapped_dek)
        try:
            return crypto.decrypt(
                dek, sealed.ciphertext, self._payload_aad(tenant_id, purpose, context)
            )
        except crypto.DecryptionError:
            raise DecryptionFailed from None

    def new_data_key(self, tenant_id: uuid.UUID, purpose: str, context: Context) -> DataKey:
        """A fresh DEK wrapped by the tenant's active key, for objects sealed chunk by chunk."""
        version = self.active_version(tenant_id, purpose)
        tenant_key = self._tenant_key(tenant_id, purpose, version)
        dek = crypto.random_key()
        wrapped = crypto.encrypt(
            tenant_key, dek, self._dek_aad(tenant_id, purpose, version, context)
        )
        return DataKey(version, dek, wrapped)

    def open_data_key(
        self, tenant_id: uuid.UUID, purpose: str, context: Context, version: int, wrapped: bytes
    ) -> bytes:
        """Unwrap a DEK made by :meth:`new_data_key`; fails once the tenant key is destroyed."""
        return self._unwrap_dek(tenant_id, purpose, context, version, wrapped)

    def rewrap(
        self, tenant_id: uuid.UUID, purpose: str, context: Context, sealed: Sealed
    ) -> Sealed | None:
        """Re-wrap an object's DEK under the active tenant key; None if already there.

        Only the 60-byte wrapped DEK changes: the payload is not re-encrypted.
        """
        active = self.active_version(tenant_id, purpose)
        if sealed.key_version == active:
            return None
        dek = self._unwrap_dek(tenant_id, purpose, context, sealed.key_version, sealed.wrapped_dek)
        new_key = self._tenant_key(tenant_id, purpose, active)
        wrapped = crypto.encrypt(new_key, dek, self._dek_aad(tenant_id, purpose, active, context))
        return Sealed(active, wrapped, sealed.ciphertext)

    # -- vault entry keys (MYN-3, MYN-6) ----------------------------------------

    @staticmethod
    def _entry_aad(tenant_id: uuid.UUID, entry_id: uuid.UUID, kind: str, version: int) -> bytes:
        fields = {"tenant": str(tenant_id), "entry": str(entry_id), "kind": kind}
        return crypto.aad("vault-entry-key", {**fields, "version": version})

    def _make_first_version(self, tenant_id: uuid.UUID, purpose: str) -> None:
        try:
            with self.db.session(write=True) as s:
                if s.get(TenantKey, (tenant_id, purpose, 1)) is None:
                    self._add_version(s, tenant_id, purpose, 1)
        except IntegrityError:
            pass  # another process made it first

    def _vault_version(self, tenant_id: uuid.UUID) -> int:
        try:
            return self.active_version(tenant_id, VAULT)
        except TenantKeyMissing:
            self._make_first_version(tenant_id, VAULT)
            return self.active_version(tenant_id, VAULT)

    def number_digest(self, tenant_id: uuid.UUID, kind: str, digits: str) -> bytes:
        """HMAC-SHA256 of a normalised vault number under the tenant's digest key.

        Equal numbers of one tenant and kind give equal digests, so the vault finds a
        duplicate without decrypting anything; without the key (here only) a digest
        cannot be tested against the 10^11 possible numbers. Never shown or logged.
        """
        try:
            key = self._tenant_key(tenant_id, VAULT_DIGEST, 1)
        except TenantKeyMissing:
            self._make_first_version(tenant_id, VAULT_DIGEST)
            key = self._tenant_key(tenant_id, VAULT_DIGEST, 1)
        message = crypto.aad(
            "vault-number-digest", {"tenant": str(tenant_id), "kind": kind, "number": digits}
        )
        return hmac.new(key, message, hashlib.sha256).digest()

    def new_entry_key(
        self, tenant_id: uuid.UUID, entry_id: uuid.UUID, kind: str
    ) -> tuple[bytes, Callable[[], None]]:
        """A fresh key for one vault entry, and the call that stores it here wrapped by the
        tenant's vault key (the caller may run it alongside its own writes)."""
        version = self._vault_version(tenant_id)
        tenant_key = self._tenant_key(tenant_id, VAULT, version)
        key = crypto.random_key()
        wrapped = crypto.encrypt(
            tenant_key, key, self._entry_aad(tenant_id, entry_id, kind, version)
        )
        row = {
            "entry_id": entry_id,
            "tenant_id": tenant_id,
            "key_version": version,
            "wrapped_key": wrapped,
            "created_at": utcnow(),
        }

        def save() -> None:
            _SAVE_ENTRY_KEY(self.db, row)

        return key, save

    def entry_keys(
        self, tenant_id: uuid.UUID, entries: Mapping[uuid.UUID, str]
    ) -> dict[uuid.UUID, bytes]:
        """The unwrapped keys of these entries (id → kind); destroyed or missing ones are absent."""
        if not entries:
            return {}
        with self.db.reader() as conn:
            if len(entries) == 1:
                params = {"tenant_id": tenant_id, "entry_id": next(iter(entries))}
                rows = conn.execute(repository.ENTRY_KEY, params).all()
            else:
                rows = conn.execute(repository.entry_keys(tenant_id, entries)).all()
        out: dict[uuid.UUID, bytes] = {}
        for entry_id, version, wrapped in rows:
            if wrapped is None:
                continue
            tenant_key = self._tenant_key(tenant_id, VAULT, version)
            associated = self._entry_aad(tenant_id, entry_id, entries[entry_id], version)
            try:
                out[entry_id] = crypto.decrypt(tenant_key, wrapped, associated)
            except crypto.DecryptionError:
                raise DecryptionFailed from None
        return out

    def destroy_entry_key(self, tenant_id: uuid.UUID, entry_id: uuid.UUID) -> bool:
        """Erase one entry's key (crypto-shredding); True if a live key was destroyed."""
        with self.db.session(write=True) as s:
            result = s.execute(repository.destroy_entry_key(tenant_id, entry_id))
            destroyed = bool(getattr(result, "rowcount", 0))
        if destroyed and self.db.dialect == "sqlite":
            # Push the erased page out of the WAL into the (secure_delete) main file.
            with self.db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return destroyed
