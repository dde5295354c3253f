"""XML through defusedxml; the streaming multipart scanner; request field extraction."""

from __future__ import annotations

import pytest
from defusedxml import DTDForbidden, EntitiesForbidden
from hypothesis import given, settings
from hypothesis import strategies as st

from hokan.edge.waf import extract, xmlbody
from hokan.edge.waf.exclusions import Exclusion
from hokan.edge.waf.model import Hit
from hokan.edge.waf.multipart import MultipartScanner, boundary_of

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"""


def test_defusedxml_refuses_doctype_and_entities() -> None:
    with pytest.raises(DTDForbidden):
        xmlbody.parse(LAUGHS)
    hits, _ = xmlbody.inspect(LAUGHS)
    assert [h.rule for h in hits] == ["xml-doctype"]
    assert xmlbody.parse(b"<a><b x='1'>text</b></a>").find("b").text == "text"  # type: ignore[union-attr]
    assert issubclass(EntitiesForbidden, ValueError)
    hits, fields = xmlbody.inspect("<社員><氏名 区分='正'>山田</氏名></社員>".encode())
    assert hits == [] and [f.value for f in fields] == ["山田", "正"]
    assert [h.rule for h in xmlbody.inspect(b"<a><b></a>")[0]] == ["xml-malformed"]


BODY = (
    b'--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\n\xe5\xa0\xb1\xe5\x91\x8a\r\n'
    b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
    b"Content-Type: application/pdf\r\n\r\n%PDF-1.4 --XyZ-not-a-boundary \r\n\r\n"
    b'--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nok\r\n--XyZ--\r\n'
)
EXPECTED = [
    ("multipart.title#name", "title"),
    ("multipart.title", "報告"),
    ("multipart.file.filename", "a.pdf"),
    ("multipart.file#name", "file"),
    ("multipart.note#name", "note"),
    ("multipart.note", "ok"),
]


def _scan(chunks: list[bytes]) -> list[tuple[str, str]]:
    scanner = MultipartScanner(b"XyZ", 1000)
    return [(f.name, f.value) for chunk in chunks for f in scanner.feed(chunk)]


def test_multipart_scanner_reads_names_and_small_fields() -> None:
    assert boundary_of('multipart/form-data; boundary="XyZ"') == b"XyZ"
    assert _scan([BODY]) == EXPECTED


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(BODY)), max_size=12))
def test_multipart_scanner_is_independent_of_chunking(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [BODY[a:b] for a, b in zip([0, *points], [*points, len(BODY)], strict=True)]
    assert _scan([c for c in chunks if c]) == EXPECTED


def test_json_walk_names_nested_fields_and_bounds_depth() -> None:
    fields = {(f.name, f.value) for f in extract.json_body(b'{"a": {"b": ["x", {"c": "y"}]}}')}
    assert ("json.a.b[]", "x") in fields and ("json.a.b[].c", "y") in fields
    deep: object = "bottom"
    for _ in range(100):
        deep = [deep]
    assert list(extract.walk_json(deep)) == []
    # A field name that is itself a payload is not repeated in the label.
    assert extract.safe_name("query", "<script>") == "query.?"


def test_exclusion_matches_rule_or_family_and_field_pattern() -> None:
    exclusion = Exclusion(frozenset({"ssti"}), ("json.lines[].*",), "templates")
    assert exclusion.covers(Hit("ssti-expression", "ssti", 5, "json.lines[].text"))
    assert exclusion.covers(Hit("ssti-expression", "ssti", 5, "json.lines[].text#name"))
    assert not exclusion.covers(Hit("xss-script-tag", "xss", 5, "json.lines[].text"))
    assert not exclusion.covers(Hit("ssti-expression", "ssti", 5, "json.subject"))
