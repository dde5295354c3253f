"""The production front's WAF cost (issue 18): nginx with and without ModSecurity + CRS.

Two plain-HTTP servers of one nginx (deploy/nginx/modsecurity's rules, PL1) proxy to
a third that answers 200 at once, so what differs is ModSecurity alone. Requests
alternate between the two fronts; nginx's worker CPU (user + system, from /proc) is
read around each batch, so the figure is CPU per request, which is what capacity
is made of, not latency on a shared machine:

- a ``GET`` with browser-like headers and a query;
- a ``PUT`` of a 10 KB Japanese JSON record (every string unique per request);
- detection and false positives of the same front on tests/edge/waf_corpus
  (imported by bench/waf.py for the side-by-side table).

Run: ``.venv/bin/python bench/waf_front.py [--requests N]``. A report, not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.edge.waf_corpus

from tests.edge.waf_corpus import corpus, front

UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
HEADERS = {
    "Host": "hokan.example",
    "User-Agent": UA,
    "Accept": "application/json, text/plain, */*",
    "Accept-Language": "ja,en-US;q=0.9,en;q=0.8",
    "Authorization": "Bearer hk_0123456789abcdef0123456789abcdef",
    "Referer": "https://app.example.co.jp/staff/list?page=2",
}
PATH = "/api/v1/collections/staff/records/rec-1"


class Fronts:
    """One nginx: ``on`` (ModSecurity + CRS) and ``off`` before an instant upstream."""

    def __init__(self, running: front.Running, ports: dict[str, int]) -> None:
        self.running = running
        self.conns = {
            k: http.client.HTTPConnection("127.0.0.1", p, timeout=30) for k, p in ports.items()
        }

    def send(
        self, which: str, method: str, target: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        conn = self.conns[which]
        conn.request(method, target, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()


@contextmanager
def fronts() -> Iterator[Fronts]:
    if (why := front.missing()) is not None:
        raise SystemExit(why)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        upstream, on, off = front.free_port(), front.free_port(), front.free_port()
        conf = front.plain_front_conf(
            work, upstream, {"on": (on, True), "off": (off, False)}, instant=True
        )
        conf.write_text(conf.read_text().replace("error.log info;", "error.log error;"))
        with front.running(conf, [upstream, on, off]) as running:
            yield Fronts(running, {"on": on, "off": off})


def record_10k() -> dict[str, Any]:
    doc: dict[str, Any] = {"staff": []}
    for record in corpus.benign_records(40, seed=7):
        doc["staff"].append(record)
        if len(json.dumps(doc, ensure_ascii=False).encode()) >= 10_000:
            break
    return doc


def variant(node: Any, i: int) -> Any:
    if isinstance(node, str):
        return f"{node}{i}"
    if isinstance(node, dict):
        return {k: variant(v, i) for k, v in node.items()}
    if isinstance(node, list):
        return [variant(v, i) for v in node]
    return node


def cpu_per_request(f: Fronts, n: int) -> dict[str, dict[str, float]]:
    """{scenario: {on/off: worker CPU ms per request, plus wall p50s}}."""
    doc = record_10k()
    bodies = [json.dumps(variant(doc, i), ensure_ascii=False).encode() for i in range(n)]
    put_headers = {**HEADERS, "Content-Type": "application/json"}
    scenarios: dict[str, Callable[[int], tuple[str, str, dict[str, str], bytes | None]]] = {
        "GET": lambda i: ("GET", f"{PATH}?include_deleted=false&page={i}", HEADERS, None),
        "PUT 10KB": lambda i: ("PUT", PATH, put_headers, bodies[i % len(bodies)]),
    }
    out: dict[str, dict[str, float]] = {}
    for name, make in scenarios.items():
        cpu = {"on": 0.0, "off": 0.0}
        wall: dict[str, list[float]] = {"on": [], "off": []}
        for which in ("on", "off"):  # warm-up
            for i in range(20):
                f.send(which, *make(i))
        batch = 50
        for start in range(0, n, batch):
            order = ("on", "off") if (start // batch) % 2 else ("off", "on")
            for which in order:
                before = f.running.worker_cpu_seconds()
                for i in range(start, min(n, start + batch)):
                    t = time.perf_counter()
                    status, _ = f.send(which, *make(i))
                    wall[which].append((time.perf_counter() - t) * 1000)
                    if status != 200:
                        raise SystemExit(f"{name} via {which}: {status}")
                cpu[which] += f.running.worker_cpu_seconds() - before
        out[name] = {
            "on": cpu["on"] * 1000 / n,
            "off": cpu["off"] * 1000 / n,
            "wall_on": statistics.median(wall["on"]),
            "wall_off": statistics.median(wall["off"]),
            "bytes": float(len(bodies[0]) if name.startswith("PUT") else 0),
        }
    return out


def judge(f: Fronts, probe: corpus.Probe) -> bool:
    """Refused by the ModSecurity front?"""
    method, target, headers, body = front.request_of(probe)
    status, data = f.send(
        "on", method, target, {**dict(headers), "Host": "hokan.example"}, body or None
    )
    return front.refused_by_front(status, data)


def detection(f: Fronts) -> dict[str, tuple[Counter[str], Counter[str]]]:
    """Per family: (refused per placement, sent per placement)."""
    out = {}
    for family in corpus.FAMILIES:
        hit: Counter[str] = Counter()
        sent: Counter[str] = Counter()
        for payload in corpus.payloads(family):
            for probe in corpus.placements(payload):
                sent[probe.placement] += 1
                hit[probe.placement] += judge(f, probe)
        out[family] = (hit, sent)
    return out


def report_cost(cost: dict[str, dict[str, float]], n: int) -> None:
    print(f"ModSecurity v3 + CRS 3.3.4 (PL1) in nginx: worker CPU per request ({n} per scenario)")
    print(f"{'scenario':<10} {'off ms':>8} {'on ms':>8} {'added ms':>9} {'wall p50 off/on ms':>20}")
    for name, c in cost.items():
        print(
            f"{name:<10} {c['off']:>8.3f} {c['on']:>8.3f} {c['on'] - c['off']:>9.3f} "
            f"{c['wall_off']:>9.3f} / {c['wall_on']:.3f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with fronts() as f:
        report_cost(cpu_per_request(f, args.requests), args.requests)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
