"""Which of many values are not plain, found in a few fast scans of all of them joined.

:func:`hokan.edge.waf.normalise.is_plain` is the definition: a plain value holds
nothing any rule could match and skips every rule. Asking it of each of a JSON
record's ~200 values costs more than the rules of the few that need them, so
:func:`suspects` runs cheaper searches over the values joined by spaces, each a
character class or a literal first (which the regex engine scans for at C
speed), and asks :func:`is_plain` only of the values they single out.

Soundness: the result is *exactly* ``[i for i, v in enumerate(values) if not
is_plain(v)]``, so no value the rules would see is ever skipped.
:func:`is_plain` is false only when one of its three patterns matches the value:

- ``_NOT_PLAIN``: its branches are searched one by one, each a character class
  or a literal first. A match of any but the line-break branch lies inside one
  value (none can match the joining space) and *is* a ``_NOT_PLAIN`` match: that
  value is certainly not plain. The line break's look-ahead may see the next
  value, so its matches only make candidates;
- ``_PLAIN_WORDS`` (case-insensitive): every match contains one of
  ``_WORD_HINTS`` in the lower-cased text, as long as lower-casing keeps every
  character in place and case-insensitive matching knows no other spellings:
  ``İ`` lowers to two characters, and ``ı``, ``ſ`` and the Kelvin sign match
  ``i``, ``s`` and ``k``. A text with one of those (``_CASE_TRAPS``) is judged
  value by value instead. Values holding a hint are candidates;
- ``_LOGIC_LITERAL``: searched for as it is (its leading ``\\b`` moved behind the
  first letter, which matches the same), on the lower-cased text; candidates.

A match inside a value is also a match in the joined text: ``\\b`` and the
look-arounds see a space where the value ended, which they treat as its end
(``\\b``) or which can only add a match (the line break's look-ahead). A match
that runs on into the next value only makes its first value a candidate, and the
search goes on from the next value's start, so the next value is searched in
full. Candidates are checked with :func:`is_plain` itself: an extra candidate
costs time, never a verdict. ``tests/edge/waf/test_prefilter.py`` checks the
equality on generated and corpus values, and that a plain value gives no hit.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate

from hokan.edge.waf.normalise import LINE_BREAK_BRANCH, NOT_PLAIN_BRANCHES, is_plain

# _NOT_PLAIN's branches but the line break: a match is a match of _NOT_PLAIN, so the value
# is not plain. None can match a space, so none runs from one value into the next.
_CERTAIN = tuple(re.compile(b) for b in NOT_PLAIN_BRANCHES if b != LINE_BREAK_BRANCH)
# The line break's look-ahead may see the next value: its matches are candidates only.
_LINE_BREAK = re.compile(LINE_BREAK_BRANCH)
_LOGIC_LITERAL = re.compile(
    r"(?:a(?<!\wa)nd|o(?<!\wo)r|x(?<!\wx)or)\s+(?:\d+|true|false|null)\s+"
    r"(?:like|rlike|regexp|between|is|in|div|mod)\b"
)
# What every match of normalise._PLAIN_WORDS contains, lower-cased.
_WORD_HINTS = (
    "union",
    "select",
    "having",
    "procedure",
    "order",
    "group",
    "aced0005",
    "classloader",
    "java",
    "org.",
    "com.sun",
    "ro0ab",
)
_FEW = 4  # for a handful of values (a request's head), asking each costs less
_CASE_TRAPS = re.compile("[\u0130\u0131\u017f\u212a]")


def suspects(values: list[str]) -> list[int]:
    """Indexes of the values that are not plain, in order (see the module docstring)."""
    if len(values) <= _FEW:
        return [i for i, value in enumerate(values) if not is_plain(value)]
    joined = " ".join(values)
    starts = [0, *accumulate(len(v) + 1 for v in values)]
    starts.pop()
    if _CASE_TRAPS.search(joined):
        return [i for i, value in enumerate(values) if not is_plain(value)]
    certain: set[int] = set()
    for pattern in _CERTAIN:
        _search(pattern, joined, starts, certain)
    maybe: set[int] = set()
    _search(_LINE_BREAK, joined, starts, maybe)
    lowered = joined.lower()
    _search(_LOGIC_LITERAL, lowered, starts, maybe)
    for hint in _WORD_HINTS:
        pos = lowered.find(hint)
        while pos >= 0:
            index = bisect_right(starts, pos) - 1
            maybe.add(index)
            if index + 1 >= len(starts):
                break
            pos = lowered.find(hint, starts[index + 1])
    maybe = {i for i in maybe - certain if not is_plain(values[i])}
    return sorted(certain | maybe)


def _search(pattern: re.Pattern[str], text: str, starts: list[int], found: set[int]) -> None:
    """Add the index of each value with a match: one search per value at most."""
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        index = bisect_right(starts, m.start()) - 1
        found.add(index)
        if index + 1 >= len(starts):
            return
        pos = starts[index + 1]
