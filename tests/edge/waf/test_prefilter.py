"""The prefilter skips exactly the plain values, and a skipped value has nothing to find.

``prefilter.suspects`` must equal asking ``is_plain`` of each value (never fewer:
a value it skipped is never inspected), and a plain value must give no hit at any
paranoia level: together, a skip can never hide what the full inspection flags.
"""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hokan.edge.waf.engine import ALL_FAMILIES, Inspector
from hokan.edge.waf.normalise import is_plain
from hokan.edge.waf.prefilter import suspects
from tests.edge.waf_corpus import corpus

# Characters and fragments near every edge of the plain check: ASCII punctuation,
# line breaks, full-width forms, case traps (İ ı ſ K), SQL words, UTF-7, kana and kanji.
_FRAGMENTS = st.sampled_from(
    [
        " ",
        "\t",
        "\n",
        "\r",
        "\u3000",
        "-",
        "--",
        "+",
        "+ADw-",
        "+ACI",
        ".",
        ",",
        ":",
        "@",
        "'",
        '"',
        "<",
        "/",
        "(",
        "（",
        "）",
        "～",
        "：",
        "＜",
        "Ａ",
        "ａ",
        "１",
        "＿",
        "İ",
        "ı",
        "ſ",
        "K",
        "Σ",
        "é",
        "union",
        "UNION",
        "unıon",
        "ſelect",
        "select",
        "Having",
        "procedure",
        "order by",
        "group\tby",
        "ordeR\u3000By",
        "aced0005",
        "ClassLoader",
        "java.",
        "javax.",
        "org.apache",
        "com.sun",
        "rO0AB",
        "ro0ab",
        " or ",
        "\tOR\t",
        " xor ",
        "and",
        "1",
        "42",
        "true",
        "null",
        " like ",
        " in ",
        "mod",
        "ifor",
        "1or",
        "山田",
        "太郎",
        "営業部",
        "カタカナ",
        "ひらがな",
        "株式会社",
        "x",
    ]
)
_VALUE = st.lists(_FRAGMENTS, max_size=12).map("".join)


def _exact(values: list[str]) -> list[int]:
    return [i for i, value in enumerate(values) if not is_plain(value)]


@settings(max_examples=400, deadline=None)
@given(st.lists(_VALUE, max_size=20))
@example(["1\tor 1 like 1"])
@example(["x", "1\u3000or\u30001\u3000like\u30001"])
@example(["İ", "1 union select 2"])
@example(["ſelect x", "y"])
def test_suspects_are_exactly_the_values_that_are_not_plain(values: list[str]) -> None:
    assert suspects(values) == _exact(values)


def _corpus_values() -> list[str]:
    values = [p for family in corpus.FAMILIES for p in corpus.payloads(family)]
    values += corpus.tricky()
    for record in corpus.benign_records(300):
        values += _strings(record)
    return values


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in [k, *_strings(v)]]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def test_suspects_on_the_corpus() -> None:
    values = _corpus_values()
    assert suspects(values) == _exact(values)
    for start in range(0, len(values), 97):  # and in record-sized groups
        group = values[start : start + 97]
        assert suspects(group) == _exact(group)


@settings(max_examples=300, deadline=None)
@given(_VALUE)
def test_a_plain_value_gives_no_hit(value: str) -> None:
    if not is_plain(value):
        return
    for paranoia in (1, 2, 3, 4):
        inspector = Inspector(paranoia)
        for url_encoded in (False, True):
            assert _rules(inspector, value, url_encoded) == set(), (paranoia, value)


def _rules(inspector: Inspector, value: str, url_encoded: bool = False) -> set[str]:
    # Paranoia 4 counts SQL punctuation (":", "-", "+" included), which plain values
    # were never given: "1986-08-10T11:00:00+09:00" is plain at every level.
    return set(inspector._judge(value, url_encoded, ALL_FAMILIES)) - {"sqli-special-characters"}


def test_plain_corpus_values_give_no_hit() -> None:
    inspector = Inspector(4)
    for value in _corpus_values():
        if is_plain(value):
            assert _rules(inspector, value) == set(), json.dumps(value, ensure_ascii=False)
