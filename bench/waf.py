"""WAF benchmark (issue 7, EDGE-3), in one process: cost per request, detection, false positives.

The same Hokan app (SQLite, one data directory) is built twice in the same run,
with the WAF on and off, and driven through ASGI directly (no sockets, so the
numbers are the application's own time). Requests alternate between the two
apps so drift on a shared machine hits both alike:

- a typical ``GET /api/v1/collections/staff/records/{id}`` with browser-like headers;
- a ``PUT`` of a 10 KB Japanese staff record;
- a 1 MB multipart upload to a streaming route (file content is not inspected).

Reports p50/p99 per app and the added share at p50 (goal: at most 20 % for the
GET and the PUT), then the detection rate per family and the false-positive rate
on the corpus in ``tests/edge/waf_corpus``. A report, not a test: missed goals
never change the exit status.

Run: ``make bench`` or ``.venv/bin/python bench/waf.py [--requests N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.edge.waf_corpus

from fastapi import FastAPI, Request
from tests.edge.waf_corpus import corpus

from hokan import migrations
from hokan.app import create_app
from hokan.identity import tokens
from hokan.kit import crypto
from hokan.models import Product
from hokan.principals.principal import ALL_TOKEN_SCOPES, SYSTEM
from hokan.runtime import Runtime
from hokan.settings import Settings
from hokan.tenants.schemas import TenantCreate

GOAL = 0.20
PATH = "/api/v1/collections/staff/records/"
BOUNDARY = "benchBOUNDARY7"
UA = (
    b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    b"Chrome/124.0 Safari/537.36"
)


def _runtime(data_dir: Path, key: str, waf: bool) -> Runtime:
    return Runtime(
        Settings(
            env="test",
            data_dir=data_dir,
            master_key=key,
            waf_enabled=waf,
            ips_enabled=False,  # its per-IP rate limit would refuse a benchmark's request rate
            log_level="ERROR",
        )
    )


def _app(rt: Runtime) -> FastAPI:
    app = create_app(runtime=rt)

    @app.post("/bench/upload")
    async def upload(request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"bytes": size}

    return app


def _record_10k() -> dict[str, Any]:
    records = corpus.benign_records(40, seed=7)
    doc: dict[str, Any] = {"staff": []}
    for record in records:
        doc["staff"].append(record)
        if len(json.dumps(doc, ensure_ascii=False).encode()) >= 10_000:
            break
    return doc


def _variant(node: Any, i: int) -> Any:
    """The record with every string made unique, so no inspection result is reused."""
    if isinstance(node, str):
        return f"{node}{i}"
    if isinstance(node, dict):
        return {k: _variant(v, i) for k, v in node.items()}
    if isinstance(node, list):
        return [_variant(v, i) for v in node]
    return node


def _multipart(size: int) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\n'
        f'月次報告書\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="報告書.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    return head + bytes(range(256)) * (size // 256) + f"\r\n--{BOUNDARY}--\r\n".encode()


Call = Callable[[], Awaitable[int]]


def _caller(
    app: FastAPI,
    method: str,
    path: str,
    query: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes | list[bytes],
) -> Call:
    bodies = body if isinstance(body, list) else [body]
    turn = 0
    scope_base = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
        "headers": headers,
    }

    async def call() -> int:
        nonlocal turn
        data = bodies[turn % len(bodies)]
        turn += 1
        queue = [data[i : i + 65536] for i in range(0, len(data), 65536)] or [b""]
        status = 0
        scope = dict(scope_base)
        if data:
            scope["headers"] = [*headers, (b"content-length", str(len(data)).encode())]

        async def receive() -> dict[str, Any]:
            if queue:
                chunk = queue.pop(0)
                return {"type": "http.request", "body": chunk, "more_body": bool(queue)}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    return call


async def _measure(on: Call, off: Call, n: int) -> tuple[list[float], list[float]]:
    times_on: list[float] = []
    times_off: list[float] = []
    for _ in range(max(5, n // 20)):  # warm-up
        await on()
        await off()
    for i in range(n):
        pair = ((on, times_on), (off, times_off)) if i % 2 else ((off, times_off), (on, times_on))
        for call, out in pair:
            started = time.perf_counter()
            status = await call()
            out.append((time.perf_counter() - started) * 1000)
            if status >= 400:
                raise SystemExit(f"request failed with {status}")
    return times_on, times_off


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        key = crypto.b64encode_key(crypto.random_key())
        rt_on, rt_off = _runtime(Path(tmp), key, True), _runtime(Path(tmp), key, False)
        migrations.upgrade("system", rt_on.db.engine)
        migrations.upgrade("keyring", rt_on.keyring_db.engine)
        rt_on.keyring.verify_master(initialise=True)
        with rt_on.db.session(write=True, system=True) as s:
            tenant = rt_on.tenants.create(
                s,
                TenantCreate(
                    code=f"b-{uuid.uuid4().hex[:6]}", name="ベンチ株式会社", product=Product.staff
                ),
                SYSTEM,
            )
            secret = tokens.issue(
                s, tenant.id, "bench", scopes=ALL_TOKEN_SCOPES, days=30, actor=SYSTEM
            ).secret
        apps = {"on": _app(rt_on), "off": _app(rt_off)}
        common = [
            (b"host", b"hokan.example"),
            (b"user-agent", UA),
            (b"accept", b"application/json, text/plain, */*"),
            (b"accept-language", b"ja,en-US;q=0.9,en;q=0.8"),
            (b"authorization", f"Bearer {secret}".encode()),
            (b"referer", b"https://app.example.co.jp/staff/list?page=2"),
        ]
        doc = _record_10k()
        n_put = args.requests // 3
        records = [
            json.dumps(_variant(doc, i), ensure_ascii=False).encode()
            for i in range(2 * n_put + 2 * max(5, n_put // 20) + 1)
        ]
        upload = _multipart(1_048_576)
        json_headers = [*common, (b"content-type", b"application/json")]
        put_on = _caller(apps["on"], "PUT", PATH + "rec-1", b"", json_headers, records[-1])
        await put_on()  # the record the GETs read
        scenarios = [
            ("GET", "GET", PATH + "rec-1", b"include_deleted=false", common, b"", args.requests),
            ("PUT 10KB", "PUT", PATH + "rec-1", b"", json_headers, records[:-1], n_put),
            (
                "upload 1MB",
                "POST",
                "/bench/upload",
                b"",
                [*common, (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())],
                upload,
                max(20, args.requests // 20),
            ),
        ]
        print(
            f"WAF cost per request (in-process ASGI, SQLite; {len(records[0])}-byte records, "
            "every string unique per request)"
        )
        print(
            f"{'scenario':<12} {'n':>5} {'off p50':>8} {'on p50':>8} {'off p99':>8} "
            f"{'on p99':>8} {'added p50':>10}  goal"
        )
        for name, method, path, query, headers, body, n in scenarios:
            on = _caller(apps["on"], method, path, query, headers, body)
            off = _caller(apps["off"], method, path, query, headers, body)
            t_on, t_off = await _measure(on, off, n)
            p50_on, p50_off = statistics.median(t_on), statistics.median(t_off)
            added = (p50_on - p50_off) / p50_off
            goal = "" if name.startswith("upload") else ("ok" if added <= GOAL else "MISSED")
            print(
                f"{name:<12} {n:>5} {p50_off:>8.3f} {p50_on:>8.3f} {_pct(t_off, 0.99):>8.3f} "
                f"{_pct(t_on, 0.99):>8.3f} {added * 100:>9.1f}%  {goal and f'<= 20% {goal}'}"
            )
        rt_on.close()
        rt_off.close()


def _rates(requests: int) -> None:
    from hokan.edge.waf.service import Waf

    waf = Waf(Settings(env="test"))
    print("\nDetection on tests/edge/waf_corpus (each payload in 7 placements), paranoia 1")
    for family in corpus.FAMILIES:
        rate, misses = corpus.detection(waf, family)
        print(
            f"  {family:<6} {rate * 100:6.1f} %  "
            f"({len(corpus.payloads(family))} payloads, {len(misses)} misses)"
        )
    started = time.perf_counter()
    rate, total, fps = corpus.false_positives(waf, count=1500)
    seconds = time.perf_counter() - started
    print(
        f"False positives on benign Japanese business requests: {rate * 100:.3f} % "
        f"({len(fps)}/{total}; goal <= 0.1 %)"
    )
    print(
        f"  ({total / seconds:,.0f} benign requests judged per second, Faker generation included)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1500, help="GETs per app (PUTs: a third)")
    args = parser.parse_args()
    asyncio.run(_run(args))
    _rates(args.requests)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
