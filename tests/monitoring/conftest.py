"""Monitoring tests read ``/metrics`` as Prometheus would and compare values before
and after: the instruments are process-wide, so other tests' counts are there too."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.testclient import TestClient

from hokan.monitoring.exposition import parse

Labels = Mapping[str, str]


def scrape(client: TestClient) -> list[tuple[str, dict[str, str], float]]:
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return list(parse(r.text))


def value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when none)."""
    return sum(
        v
        for n, ls, v in samples
        if n == name and all(ls.get(k) == want for k, want in labels.items())
    )
