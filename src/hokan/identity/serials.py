"""16-digit user serial numbers whose last digit is a Luhn check digit (IAM-1).

A mistyped serial is caught before any database lookup or password check.
"""

from __future__ import annotations

import secrets

LENGTH = 16


def luhn_check_digit(payload: str) -> int:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # these get doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def is_valid(serial: str) -> bool:
    if len(serial) != LENGTH or not serial.isascii() or not serial.isdigit():
        return False
    return luhn_check_digit(serial[:-1]) == int(serial[-1])


def new_serial() -> str:
    # The first digit is never 0, so serials never lose digits in a spreadsheet.
    payload = str(secrets.randbelow(9) + 1) + "".join(
        str(secrets.randbelow(10)) for _ in range(LENGTH - 2)
    )
    return payload + str(luhn_check_digit(payload))


def normalise(text: str) -> str:
    """Accept full-width digits, spaces and hyphens as people type them."""
    import unicodedata

    folded = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in folded if ch not in " -")
