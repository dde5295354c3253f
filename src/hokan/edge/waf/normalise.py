"""Decode what an attacker may have encoded, so rules see the value the application will.

Every inspected value is reduced to a few *views*: the text as received and the
fully decoded one (URL-decoding repeated, ``%uXXXX``, HTML entities, JavaScript
escapes, NFKC folding of full-width forms, null bytes and control characters
removed). Rules look at every view, so double encoding or ``＜script＞`` gains
nothing. Decoding also reports the anomalies it met (null bytes, invalid
percent-encoding, invalid UTF-8), which the protocol rules score.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import NamedTuple

MAX_ROUNDS = 4  # URL-decoding rounds: double and triple encoding are common evasions

_PCT = re.compile(rb"%([0-9A-Fa-f]{2})")
_BAD_PCT = re.compile(r"%(?![0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4})")
_PCT_U = re.compile(r"%u([0-9A-Fa-f]{4})", re.IGNORECASE)
_JS_ESCAPE = re.compile(r"\\(?:u\{?([0-9A-Fa-f]{4})\}?|x([0-9A-Fa-f]{2}))")
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
_UTF7 = re.compile(r"\+(AD[w4IcsA]|ACI|ACc|ACk|ACg|ADs)-?")
_UTF7_CHARS = {
    "ADw": "<",
    "AD4": ">",
    "ACI": '"',
    "ACc": "'",
    "ACg": "(",
    "ACk": ")",
    "ADs": ";",
    "ADI": "2",
    "ADc": "7",
    "ADA": "0",
}
# Overlong UTF-8 forms of '.', '/' and '\\' (``%c0%ae`` and friends) that lax decoders accept.
_OVERLONG = {
    b"\xc0\xae": b".",
    b"\xe0\x80\xae": b".",
    b"\xc0\xaf": b"/",
    b"\xe0\x80\xaf": b"/",
    b"\xc1\x9c": b"\\",
    b"\xc1\x81": b"\\",
    b"\xc0\xbc": b"<",
    b"\xc0\xbe": b">",
    b"\xc0\xa7": b"'",
    b"\xc0\xa2": b'"',
}
_OVERLONG_RE = re.compile(b"|".join(re.escape(k) for k in _OVERLONG))


# Slash look-alikes NFKC leaves alone but some decoders map to '/' or '\\'.
_LOOKALIKES = str.maketrans(
    {"\u2215": "/", "\u2044": "/", "\u29f8": "/", "\u2216": "\\", "\u29f9": "\\"}
)


_LOOKALIKE_CHARS = re.compile("[\u2215\u2044\u29f8\u2216\u29f9]")


class Views(NamedTuple):
    raw: str
    decoded: str  # fully decoded, NFKC-folded, control characters removed
    lowered: str  # ``decoded.lower()`` (case folding once, for the rules that ignore case)
    null_byte: bool = False
    bad_percent: bool = False
    bad_utf8: bool = False


def percent_decode(text: str) -> tuple[str, bool]:
    """One round of ``%XX`` decoding of ``text``; report whether the bytes were valid UTF-8."""
    if "%" not in text:
        return text, True
    raw = _PCT.sub(lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8", "surrogatepass"))
    raw = _OVERLONG_RE.sub(lambda m: _OVERLONG[m.group(0)], raw)
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), False


def has_bad_percent(text: str) -> bool:
    return "%" in text and _BAD_PCT.search(text) is not None


def _deep_decode(text: str) -> tuple[str, bool]:
    """Decode until nothing changes; report whether the *first* %-decoding was valid UTF-8.

    Later rounds decode what the application would not (text that merely looks
    encoded), so only the first one is a protocol question.
    """
    ok = True
    for round_ in range(MAX_ROUNDS):
        before = text
        if "%" in text:
            text = _PCT_U.sub(lambda m: chr(int(m.group(1), 16)), text)
            text, valid = percent_decode(text)
            ok = ok and (valid or round_ > 0)
        if "&" in text:
            text = html.unescape(text)
        if "\\" in text:
            text = _JS_ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)
        if text == before:
            break
    return text, ok


def views(value: str, *, url_encoded: bool = True) -> Views:
    """The views of one value; ``url_encoded`` says whether ``%`` is an escape in its place."""
    null_byte = "\x00" in value
    bad_percent = url_encoded and has_bad_percent(value)
    decoded, utf8_ok = _deep_decode(value)
    if not decoded.isascii():
        decoded = unicodedata.normalize("NFKC", decoded)
        if _LOOKALIKE_CHARS.search(decoded):
            decoded = decoded.translate(_LOOKALIKES)
    null_byte = null_byte or "\x00" in decoded
    if null_byte:  # dropped: "java\0script:" is "javascript:" to a lax parser
        decoded = decoded.replace("\x00", "")
    if _CONTROL.search(decoded):  # spaces: "union\x0bselect" is "union select" to MySQL
        decoded = _CONTROL.sub(" ", decoded)
    if "+AD" in decoded:  # UTF-7: +ADw-script+AD4-
        decoded = _UTF7.sub(lambda m: _UTF7_CHARS[m.group(1)], decoded)
    return Views(
        value, decoded, decoded.lower(), null_byte, bad_percent, url_encoded and not utf8_ok
    )


# Values made only of word characters (kanji, kana and Latin letters included),
# spaces, line breaks before Japanese text and common separators cannot carry any
# family's payload: a cheap first look that lets most business data through
# without running the rules.
# Full-width forms (U+FF01-FF5E) fold to ASCII under NFKC, so most get the full
# look (＜ｓｃｒｉｐｔ＞); the punctuation of ordinary Japanese text （）：～！？－，．＠＋
# stays plain on its own, since no interpreter reads "（" as "(" and an attack
# needs full-width letters or brackets besides, which are not plain.
_PLAIN_FULLWIDTH = "\uff01\uff08\uff09\uff0b\uff0c\uff0d\uff0e\uff1a\uff1f\uff20\uff5e"
LINE_BREAK_BRANCH = r"\n(?=[\x00-\x7f])"
# One pattern per branch; :mod:`.prefilter` runs them one by one, which is faster.
NOT_PLAIN_BRANCHES = (
    rf"[^\w \t\n.,:@+\-\u3000-\u30ff{_PLAIN_FULLWIDTH}]",
    rf"[\uff01-\uff5e](?<![{_PLAIN_FULLWIDTH}])",
    r"--",
    r"\+A[CD][w4IcsAgk]",
    LINE_BREAK_BRANCH,
)
_NOT_PLAIN = re.compile("|".join(NOT_PLAIN_BRANCHES))
# Without punctuation only these words still make an injection (``1 union select 2``).
_PLAIN_WORDS = re.compile(
    r"(?i:union|select|having|procedure|(?:order|group)\s+by|aced0005|classloader"
    r"|java\.|javax\.|org\.apache|org\.springframework|com\.sun)|rO0AB"
)


# "1 and 1 like 1": an SQL condition made of words and digits only.
_LOGIC_LITERAL = re.compile(
    r"\b(?:and|or|xor)\s+(?:\d+|true|false|null)\s+(?:like|rlike|regexp|between|is|in|div|mod)\b"
)


def is_plain(value: str) -> bool:
    """True when ``value`` holds nothing any rule could match (see ``_NOT_PLAIN``)."""
    return (
        _NOT_PLAIN.search(value) is None
        and _PLAIN_WORDS.search(value) is None
        and _LOGIC_LITERAL.search(value.lower()) is None
    )
