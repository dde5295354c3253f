"""The k-of-n Reed-Solomon erasure code: known answers and properties (ADR 0007)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hokan.vault import erasure


def slow_mul(a: int, b: int) -> int:
    """Carry-less multiplication modulo x^8+x^4+x^3+x^2+1, bit by bit (independent of the tables)."""
    out = 0
    while b:
        if b & 1:
            out ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11D
        b >>= 1
    return out


def test_field_tables_agree_with_bitwise_multiplication() -> None:
    for a in range(256):
        for b in range(0, 256, 7):
            assert erasure.gf_mul(a, b) == slow_mul(a, b)
        if a:
            assert slow_mul(a, erasure.gf_inv(a)) == 1


def test_known_answer_k2_n3() -> None:
    # Parity row for k=2: [1/(2^0), 1/(2^1)] = [inv(2), inv(3)] = [0x8e, 0xf4].
    assert erasure.generator(2, 3) == ((1, 0), (0, 1), (0x8E, 0xF4))
    fragments = erasure.encode(b"Hokan!", 2, 3)
    assert fragments[:2] == [b"Hok", b"an!"]
    expected = bytes(
        slow_mul(0x8E, a) ^ slow_mul(0xF4, b) for a, b in zip(b"Hok", b"an!", strict=True)
    )
    assert fragments[2] == expected
    assert fragments[2].hex() == expected.hex() == "f068a4"


def test_known_answer_k3_n5_padding() -> None:
    fragments = erasure.encode(b"abcdefg", 3, 5)
    assert fragments[:3] == [b"abc", b"def", b"g\x00\x00"]
    assert [len(f) for f in fragments] == [3] * 5
    for combo in itertools.combinations(range(5), 3):
        assert erasure.decode({i: fragments[i] for i in combo}, 3, 5, 7) == b"abcdefg"


def test_fewer_than_k_fragments_rebuild_nothing() -> None:
    fragments = erasure.encode(b"secret ciphertext", 2, 3)
    with pytest.raises(ValueError, match="need 2 fragments"):
        erasure.decode({2: fragments[2]}, 2, 3, 17)


@settings(max_examples=60, deadline=None)
@given(
    st.binary(min_size=0, max_size=3000),
    st.integers(1, 6).flatmap(lambda k: st.tuples(st.just(k), st.integers(k, k + 4))),
    st.randoms(use_true_random=False),
)
def test_any_k_fragments_rebuild_the_data(data: bytes, kn: tuple[int, int], rnd: object) -> None:
    k, n = kn
    fragments = erasure.encode(data, k, n)
    assert len(fragments) == n
    chosen = rnd.sample(range(n), k)  # type: ignore[attr-defined]
    assert erasure.decode({i: fragments[i] for i in chosen}, k, n, len(data)) == data
