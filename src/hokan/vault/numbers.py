"""Individual numbers (個人番号, 12 digits) and corporate numbers (法人番号, 13 digits).

Input is normalised (NFKC: full-width digits; spaces and hyphens removed) and
checked against the official check digit before anything is stored (MYN-2).
The rejected input is never echoed: errors carry only a code.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from hokan.vault.errors import NumberCheckDigitMismatch, NumberMalformed, NumberNotIssuable

# Individual number: weights of digits 1..11 (from the left), 行政手続における特定の個人を
# 識別するための番号の利用等に関する法律施行令 第8条.
_INDIVIDUAL_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_SEPARATORS = frozenset(" -\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\t")


class NumberKind(StrEnum):
    individual = "individual"  # 個人番号
    corporate = "corporate"  # 法人番号


LENGTHS = {NumberKind.individual: 12, NumberKind.corporate: 13}


def normalise(raw: str, kind: NumberKind) -> str:
    """Digits only (ASCII), or :class:`NumberMalformed`."""
    text = unicodedata.normalize("NFKC", raw)
    digits = "".join(ch for ch in text if ch not in _SEPARATORS)
    if len(digits) != LENGTHS[kind] or not (digits.isascii() and digits.isdigit()):
        raise NumberMalformed("digits", kind=kind.value, digits=LENGTHS[kind])
    return digits


def individual_check_digit(first11: str) -> int:
    remainder = sum(int(d) * w for d, w in zip(first11, _INDIVIDUAL_WEIGHTS, strict=True)) % 11
    return 0 if remainder <= 1 else 11 - remainder


def corporate_check_digit(base12: str) -> int:
    # 法人番号: 9 - (Σ Pn × Qn mod 9), Pn the n-th digit from the right, Qn = 1 (odd n) or 2.
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base12), start=1))
    return 9 - total % 9


def validate(raw: str, kind: NumberKind = NumberKind.individual) -> str:
    """The normalised number if it is well-formed with a correct check digit."""
    digits = normalise(raw, kind)
    if kind is NumberKind.individual:
        ok = individual_check_digit(digits[:11]) == int(digits[11])
    else:
        ok = corporate_check_digit(digits[1:]) == int(digits[0])
    if not ok:
        raise NumberCheckDigitMismatch
    if len(set(digits)) == 1:  # 000000000000 passes the check digit but is never issued
        raise NumberNotIssuable
    return digits


def masked(digits: str) -> str:
    """``********1234``: the last four digits only (MYN-5)."""
    return "*" * (len(digits) - 4) + digits[-4:]
