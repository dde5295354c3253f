"""The keyring: envelope round-trips, context binding, rotation, destruction, master key."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from hokan.keyring.errors import (
    DecryptionFailed,
    MasterKeyMismatch,
    MasterKeyUnavailable,
    TenantKeysDestroyed,
)
from hokan.keyring.master import LocalMasterKey, create_master_key_file, load_master_key
from hokan.keyring.service import RECORDS, VAULT_DIGEST, Keyring
from hokan.kit import crypto
from hokan.models import KeyStatus
from hokan.runtime import Runtime
from hokan.settings import Settings


@pytest.fixture
def keyring(runtime: Runtime) -> Keyring:
    return runtime.keyring


@settings(
    max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(payload=st.binary(max_size=2048), record=st.uuids(), revision=st.integers(1, 10_000))
def test_envelope_round_trip(
    keyring: Keyring, payload: bytes, record: uuid.UUID, revision: int
) -> None:
    tenant = uuid.UUID(int=7)
    keyring.create_tenant_keys(tenant)
    ctx = {"kind": "record", "record": str(record), "revision": revision}
    sealed = keyring.seal(tenant, RECORDS, ctx, payload)
    assert len(payload) < 16 or payload not in sealed.ciphertext
    assert keyring.open(tenant, RECORDS, ctx, sealed) == payload
    with pytest.raises(DecryptionFailed):
        keyring.open(tenant, RECORDS, {**ctx, "revision": revision + 1}, sealed)


def test_tenant_keys_differ_and_do_not_cross(keyring: Keyring) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    keyring.create_tenant_keys(a)
    keyring.create_tenant_keys(b)
    ctx = {"kind": "record", "record": "r", "revision": 1}
    sealed = keyring.seal(a, RECORDS, ctx, b"secret")
    with pytest.raises(DecryptionFailed):
        keyring.open(b, RECORDS, ctx, sealed)


def test_rotation_and_destroy(keyring: Keyring) -> None:
    t = uuid.uuid4()
    keyring.create_tenant_keys(t)
    ctx = {"kind": "record", "record": "r", "revision": 1}
    old = keyring.seal(t, RECORDS, ctx, b"v1 data")
    assert keyring.rotate(t) == 2
    new = keyring.seal(t, RECORDS, ctx, b"v2 data")
    assert (old.key_version, new.key_version) == (1, 2)
    assert keyring.open(t, RECORDS, ctx, old) == b"v1 data"
    moved = keyring.rewrap(t, RECORDS, ctx, old)
    assert moved is not None and moved.key_version == 2
    assert keyring.open(t, RECORDS, ctx, moved) == b"v1 data"
    assert keyring.rewrap(t, RECORDS, ctx, moved) is None
    statuses = {k.version: k.status for k in keyring.list_keys(t)}
    assert statuses == {1: KeyStatus.retired, 2: KeyStatus.active}

    assert keyring.destroy_tenant(t) == 2
    with pytest.raises(TenantKeysDestroyed):
        keyring.open(t, RECORDS, ctx, new)
    with pytest.raises(TenantKeysDestroyed):
        keyring.seal(t, RECORDS, ctx, b"x")
    with pytest.raises(TenantKeysDestroyed):
        keyring.rotate(t)
    assert {k.status for k in keyring.list_keys(t)} == {KeyStatus.destroyed}


def test_number_digests_are_keyed_per_tenant_and_die_with_the_tenant(keyring: Keyring) -> None:
    """The vault's duplicate check: equal numbers of a tenant and kind match, nothing else
    does, and without the tenant's key a digest is no hash anyone can recompute."""
    a, b = uuid.uuid4(), uuid.uuid4()
    number = "123456789018"
    first = keyring.number_digest(a, "individual", number)
    assert len(first) == 32 and keyring.number_digest(a, "individual", number) == first
    assert keyring.number_digest(a, "individual", "123456789026") != first
    assert keyring.number_digest(a, "corporate", number) != first
    assert keyring.number_digest(b, "individual", number) != first  # a key per tenant
    assert first not in {hashlib.sha256(number.encode()).digest(), number.encode()}
    # Made once on first use, in the keyring (never the system database), version 1 only.
    assert [(k.purpose, k.version) for k in keyring.list_keys(a)] == [(VAULT_DIGEST, 1)]

    keyring.destroy_tenant(a)
    with pytest.raises(TenantKeysDestroyed):
        keyring.number_digest(a, "individual", number)


def test_destroy_reaches_other_processes_after_cache_expiry(
    runtime: Runtime, settings: Settings
) -> None:
    t = uuid.uuid4()
    runtime.keyring.create_tenant_keys(t)
    ctx = {"kind": "record", "record": "r", "revision": 1}
    sealed = runtime.keyring.seal(t, RECORDS, ctx, b"x")
    other = Runtime(settings.model_copy(update={"key_cache_seconds": 0.0}))
    try:
        assert other.keyring.open(t, RECORDS, ctx, sealed) == b"x"
        runtime.keyring.destroy_tenant(t)
        with pytest.raises(TenantKeysDestroyed):
            other.keyring.open(t, RECORDS, ctx, sealed)
    finally:
        other.close()


def test_wrong_master_key_is_refused(runtime: Runtime, settings: Settings) -> None:
    runtime.keyring.verify_master()
    wrong = Runtime(
        settings.model_copy(
            update={"master_key": SecretStr(crypto.b64encode_key(crypto.random_key()))}
        )
    )
    try:
        with pytest.raises(MasterKeyMismatch):
            wrong.keyring.verify_master()
    finally:
        wrong.close()


def test_master_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    assert create_master_key_file(path)
    assert not create_master_key_file(path)  # never overwrites
    assert path.stat().st_mode & 0o777 == 0o600
    s = Settings(env="test", data_dir=tmp_path, master_key_file=path)
    assert isinstance(load_master_key(s), LocalMasterKey)
    path.chmod(0o644)
    with pytest.raises(MasterKeyUnavailable) as refused:
        load_master_key(s)
    assert "0600" in (refused.value.reason or "")
    path.chmod(0o600)
    path.write_text("too short")
    with pytest.raises(MasterKeyUnavailable):
        load_master_key(s)
    with pytest.raises(MasterKeyUnavailable) as missing:
        load_master_key(Settings(env="test", data_dir=tmp_path / "empty"))
    assert "hokan init" in (missing.value.reason or "")
    assert "key" not in repr(LocalMasterKey(crypto.random_key())).replace("key_id", "").replace(
        "LocalMasterKey", ""
    )
