"""Which of many values are not plain, found in a few fast scans of all of them joined.

:func:`hokan.edge.waf.normalise.is_plain` is the definition: a plain value holds
nothing any rule could match and skips every rule. Asking it of each of a JSON
record's ~200 values costs more than the rules of the few that need them, so
:func:`suspects` runs cheaper searches over the values joined by spaces, each a
character class or a literal first (which the regex engine scans for at C
speed), and asks :func:`is_plain` only of the values they single out.

Soundness: the result is *exactly* ``[i for i, v in enumerate(values) if not
is_plain(v)]``, never fewer. :func:`is_plain` is false only when one of its three
patterns matches the value, and every such match implies a match of a
*candidate* search in the same value, at the same place in the joined text:

- a ``_NOT_PLAIN`` match is a match of one of its branches: the first, third,
  fourth and fifth are searched as they are; the second (full-width forms other
  than plain punctuation) by its letters and digits alone, because its other
  characters are not word characters and the first branch finds them;
- a ``_PLAIN_WORDS`` match (case-insensitive) contains one of ``_WORD_HINTS`` in
  the lower-cased text, as long as lower-casing keeps every character in place
  and case-insensitive matching knows no other spellings: ``İ`` lowers to two
  characters, and ``ı``, ``ſ`` and the Kelvin sign match ``i``, ``s`` and ``k``.
  A text with one of those (``_CASE_TRAPS``) is judged value by value instead;
- a ``_LOGIC_LITERAL`` match is searched for as it is (its leading ``\\b`` moved
  behind the first letter, which matches the same), on the lower-cased text.

The joining space is neither a word character nor part of any plain value's
match, so a match inside a value is a match in the joined text too: ``\\b`` and the
look-arounds see a space where the value ended, which they treat as they treat
its end or which only adds a candidate. A match that runs into the next value
only makes its first value a candidate, and the search goes on from the next
value's start. Candidates are then checked exactly, so an extra candidate costs
time, never a verdict. ``tests/edge/waf/test_prefilter.py`` checks the equality
on generated and corpus values.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate

from hokan.edge.waf.normalise import NOT_PLAIN_BRANCHES, is_plain

_SEARCHES = tuple(
    re.compile(branch)
    for branch in (
        NOT_PLAIN_BRANCHES[0],
        *NOT_PLAIN_BRANCHES[2:],
    )
)
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
_CASE_TRAPS = "\u0130\u0131\u017f\u212a"
# Full-width letters and digits (for _NOT_PLAIN's second branch), and the case traps.
_FULLWIDTH_OR_TRAP = re.compile(f"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a{_CASE_TRAPS}]")


def suspects(values: list[str]) -> list[int]:
    """Indexes of the values that are not plain, in order (see the module docstring)."""
    if not values:
        return []
    joined = " ".join(values)
    starts = [0, *accumulate(len(v) + 1 for v in values)]
    starts.pop()
    candidates: set[int] = set()
    for m in _FULLWIDTH_OR_TRAP.finditer(joined):  # rare in business text
        if m.group() in _CASE_TRAPS:
            return [i for i, value in enumerate(values) if not is_plain(value)]
        candidates.add(bisect_right(starts, m.start()) - 1)
    lowered = joined.lower()
    for pattern in _SEARCHES:
        _search(pattern, joined, starts, candidates)
    _search(_LOGIC_LITERAL, lowered, starts, candidates)
    for hint in _WORD_HINTS:
        pos = lowered.find(hint)
        while pos >= 0:
            index = bisect_right(starts, pos) - 1
            candidates.add(index)
            if index + 1 >= len(starts):
                break
            pos = lowered.find(hint, starts[index + 1])
    return [i for i in sorted(candidates) if not is_plain(values[i])]


def _search(pattern: re.Pattern[str], text: str, starts: list[int], found: set[int]) -> None:
    """Add the index of each value with a match: one search per value at most."""
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        index = bisect_right(starts, m.start()) - 1
        found.add(index)
        if index + 1 >= len(starts):
            return
        pos = starts[index + 1]
