"""Check digits of individual (12) and corporate (13) numbers (MYN-2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hokan.vault import numbers
from hokan.vault.errors import NumberCheckDigitMismatch, NumberMalformed, NumberNotIssuable
from hokan.vault.numbers import NumberKind, individual_check_digit, validate

WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


@pytest.mark.parametrize("number", ["621498320257", "123456789018", "111111111118"])
def test_known_valid_individual_numbers(number: str) -> None:
    assert validate(number) == number


def test_known_invalid_individual_number() -> None:
    with pytest.raises(NumberCheckDigitMismatch):
        validate("621498320258")


@pytest.mark.parametrize(
    "raw",
    [
        "６２１４９８３２０２５７",
        "6214-9832-0257",
        " 6214 9832 0257 ",
        "6214−9832−0257",
        "６２１４　９８３２　０２５７",
    ],
)
def test_normalisation(raw: str) -> None:
    assert validate(raw) == "621498320257"


@pytest.mark.parametrize(
    "raw", ["", "62149832025", "6214983202570", "62149832025a", "٦٢١٤٩٨٣٢٠٢٥٧"]
)
def test_malformed(raw: str) -> None:
    with pytest.raises(NumberMalformed) as caught:
        validate(raw)
    assert raw.strip() == "" or raw not in str(caught.value) + repr(caught.value)


def test_corporate_numbers() -> None:
    assert validate("7000012050002", NumberKind.corporate) == "7000012050002"  # 国税庁
    with pytest.raises(NumberCheckDigitMismatch):
        validate("8000012050002", NumberKind.corporate)
    with pytest.raises(NumberMalformed):
        validate("621498320257", NumberKind.corporate)


def test_masked() -> None:
    assert numbers.masked("621498320257") == "********0257"


def _remainder(digits: str) -> int:
    return sum(int(d) * w for d, w in zip(digits[:11], WEIGHTS, strict=True)) % 11


@given(
    st.text(alphabet="0123456789", min_size=11, max_size=11),
    st.integers(0, 11),
    st.integers(1, 9),
)
def test_single_digit_substitutions_are_caught_or_a_known_collision(
    first11: str, position: int, delta: int
) -> None:
    """Every single-digit substitution is rejected, except the one known collision class:
    remainders 0 and 1 both give check digit 0, so a change of a body digit that moves the
    weighted sum's remainder between 0 and 1 goes unnoticed (weights and differences are
    never multiples of 11, so no other remainder can repeat)."""
    valid = first11 + str(individual_check_digit(first11))
    digits = list(valid)
    digits[position] = str((int(digits[position]) + delta) % 10)
    changed = "".join(digits)
    try:
        validate(changed)
    except NumberCheckDigitMismatch:
        return
    assert position < 11
    assert {_remainder(valid), _remainder(changed)} == {0, 1}


@pytest.mark.parametrize(
    ("raw", "kind"),
    [("000000000000", NumberKind.individual), ("0000-0000-0000", NumberKind.individual)],
)
def test_all_same_digits_are_never_issued(raw: str, kind: NumberKind) -> None:
    """000000000000 has a valid check digit but is never issued: a stable code."""
    with pytest.raises(NumberNotIssuable):
        validate(raw, kind)
