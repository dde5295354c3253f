"""AEAD envelope primitives: round-trips, context binding, tamper detection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hokan.kit import crypto

keys = st.binary(min_size=32, max_size=32)
contexts = st.dictionaries(
    st.text(min_size=1, max_size=10), st.one_of(st.text(max_size=20), st.integers()), max_size=4
)


@given(key=keys, plaintext=st.binary(max_size=4096), context=contexts)
def test_round_trip(key: bytes, plaintext: bytes, context: dict[str, str | int]) -> None:
    associated = crypto.aad("test", context)
    assert crypto.decrypt(key, crypto.encrypt(key, plaintext, associated), associated) == plaintext


@given(key=keys, plaintext=st.binary(max_size=256), a=contexts, b=contexts)
def test_other_context_never_decrypts(
    key: bytes, plaintext: bytes, a: dict[str, str | int], b: dict[str, str | int]
) -> None:
    aad_a, aad_b = crypto.aad("test", a), crypto.aad("test", b)
    blob = crypto.encrypt(key, plaintext, aad_a)
    if aad_a != aad_b:
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(key, blob, aad_b)


@given(key=keys, other=keys, plaintext=st.binary(max_size=256))
def test_other_key_never_decrypts(key: bytes, other: bytes, plaintext: bytes) -> None:
    blob = crypto.encrypt(key, plaintext, b"x")
    if key != other:
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(other, blob, b"x")


@given(
    key=keys,
    plaintext=st.binary(min_size=1, max_size=256),
    position=st.integers(min_value=0),
    bit=st.integers(0, 7),
)
def test_any_flipped_bit_is_detected(key: bytes, plaintext: bytes, position: int, bit: int) -> None:
    blob = bytearray(crypto.encrypt(key, plaintext, b"ctx"))
    blob[position % len(blob)] ^= 1 << bit
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(key, bytes(blob), b"ctx")


def test_aad_is_unambiguous() -> None:
    # Length prefixes keep concatenation-shifted contexts apart.
    assert crypto.aad("p", {"a": "b=c"}) != crypto.aad("p", {"a": "b", "c": ""})
    assert crypto.aad("p", {"n": 1}) == crypto.aad("p", {"n": "1"})  # documented: values are text
    assert crypto.aad("p", {"a": "1", "b": "2"}) == crypto.aad("p", {"b": "2", "a": "1"})
    assert crypto.aad("p", {}) != crypto.aad("q", {})


def test_key_encoding() -> None:
    key = crypto.random_key()
    assert crypto.b64decode_key(crypto.b64encode_key(key)) == key
    with pytest.raises(ValueError, match="32 bytes"):
        crypto.b64decode_key("c2hvcnQ=")
    with pytest.raises(ValueError, match="base64"):
        crypto.b64decode_key("not base64 !!")
    assert crypto.key_id(key) != crypto.key_id(crypto.random_key())
    assert len(crypto.key_id(key)) == 16


def test_errors_do_not_leak() -> None:
    assert repr(crypto.DecryptionError()) == "DecryptionError()"
