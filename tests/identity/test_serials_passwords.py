"""Serial numbers (Luhn) and the password policy (IAM-1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hokan.identity import serials
from hokan.identity.passwords import WeakPassword, check_policy


def test_new_serials_are_valid_and_distinct() -> None:
    drawn = {serials.new_serial() for _ in range(200)}
    assert len(drawn) == 200
    assert all(len(s) == 16 and s[0] != "0" and serials.is_valid(s) for s in drawn)


@given(
    st.text(alphabet="0123456789", min_size=15, max_size=15), st.integers(0, 14), st.integers(1, 9)
)
def test_any_single_digit_typo_is_caught(payload: str, position: int, delta: int) -> None:
    serial = payload + str(serials.luhn_check_digit(payload))
    assert serials.is_valid(serial)
    typo = serial[:position] + str((int(serial[position]) + delta) % 10) + serial[position + 1 :]
    assert not serials.is_valid(typo)


def test_known_luhn_vector_and_normalisation() -> None:
    assert serials.is_valid("4111111111111111")  # the classic test card number
    assert not serials.is_valid("4111111111111112")
    assert serials.normalise("４１１１-１１１１ １１１１-１１１１") == "4111111111111111"
    assert not serials.is_valid("411111111111111")
    assert not serials.is_valid("411111111111111a")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "too_short"),
        ("Password123!", "common"),
        ("ｐａｓｓｗｏｒｄ１２３４５", "common"),  # full-width is the same word after NFKC
        ("aaaaaaaaaaaaaa", "repetitive"),
        ("123456789012", "sequence"),
        ("x" * 257, "too_long"),
        ("acme-keibi-2026!", "personal"),
    ],
)
def test_policy_refuses(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword) as caught:
        check_policy(password, 12, ("acme-keibi",))
    assert caught.value.reason == reason


def test_policy_accepts_and_normalises() -> None:
    assert check_policy("春の小川はさらさら行くよ", 12) == "春の小川はさらさら行くよ"
    assert check_policy("ｃｏｒｒｅｃｔ ｈｏｒｓｅ ｂａｔｔｅｒｙ", 12) == "correct horse battery"
