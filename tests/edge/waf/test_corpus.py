"""The evaluation corpus (tests/edge/waf_corpus): detection per family, false positives.

Goals (issue 7): at least 95 % of each family's attack requests blocked, at most
0.1 % of the benign Japanese business requests, at the default paranoia level.
"""

from __future__ import annotations

import pytest

from hokan.edge.waf.service import Waf
from hokan.settings import Settings
from tests.edge.waf_corpus import corpus


@pytest.fixture(scope="module")
def waf() -> Waf:
    return Waf(Settings(env="test"))


@pytest.mark.parametrize("family", corpus.FAMILIES)
def test_detection_per_family(waf: Waf, family: str) -> None:
    rate, misses = corpus.detection(waf, family)
    assert len(corpus.payloads(family)) >= 14
    assert rate >= 0.95, misses[:10]


def test_false_positives_on_japanese_business_data(waf: Waf) -> None:
    rate, total, fps = corpus.false_positives(waf, count=1500)
    assert total >= 5000
    assert rate <= 0.001, fps[:10]


def test_every_placement_is_inspected(waf: Waf) -> None:
    placements = {p.placement for p in corpus.placements("x")}
    assert placements == {
        "query",
        "query-double-encoded",
        "path",
        "json",
        "header",
        "cookie",
        "form",
    }
    for probe in corpus.placements("<script>alert(1)</script>"):
        assert corpus.blocked(waf, probe)[0], probe.placement
