"""The prefilter skips exactly the plain values: never one the rules would have seen.

``prefilter.suspects`` must equal asking ``is_plain`` of each value, on generated
values near every edge of the plain check and on the corpus, and a body must be
judged exactly as its values one by one.
"""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hokan.edge.waf import extract
from hokan.edge.waf.engine import Inspector
from hokan.edge.waf.normalise import is_plain
from hokan.edge.waf.prefilter import suspects
from hokan.edge.waf.service import Waf
from hokan.settings import Settings
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
        "XInclude",
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
@given(st.lists(st.one_of(_VALUE, st.text(max_size=12)), max_size=20))
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


def test_a_body_is_judged_as_each_of_its_values_alone() -> None:
    inspector = Inspector(1)
    for record in corpus.benign_records(100):
        record["notes"] = [*corpus.tricky()[:20], *corpus.payloads("sqli")[:5]]
        names, values = extract.json_strings(json.dumps(record, ensure_ascii=False).encode())
        alone = [h for n, v in zip(names, values, strict=True) for h in inspector.inspect(n, v)]
        assert inspector.inspect_strings(names, values) == alone


def test_a_condition_spaced_with_tabs_is_not_skipped_in_a_body() -> None:
    # The earlier shortcut looked for " or " with spaces and let this JSON value pass.
    waf = Waf(Settings(env="test"))
    body = json.dumps({"name": "山田", "q": "1\tor 1 like 1"}).encode()
    assert [h.rule for h in waf.inspect_body("application/json", body)] == ["sqli-tautology"]
