"""Fallback load client for ``bench/run.py`` when ``wrk`` is not installed.

A closed-loop HTTP/1.1 keep-alive client on asyncio streams (uvloop when available), run
in its own process: ``python bench/pyclient.py SPEC.json``. Each connection sends one
request, reads the whole response, records the latency and sends the next, until the
deadline. It prints one line ``BENCH_JSON {...}`` with the same fields as the wrk script.

It costs more CPU per request than wrk, so on a 2-core machine it can cap the bare
baseline; ``run.py`` reports the client's CPU use next to every result.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a uvicorn[standard] dependency
    uvloop = None  # type: ignore[assignment]


class Stats:
    def __init__(self) -> None:
        self.latencies_us: list[float] = []
        self.bytes = 0
        self.errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}


def _request(spec: dict[str, Any], rng: random.Random) -> bytes:
    key = f"{spec['id_prefix']}{rng.randint(1, spec['records']):05d}"
    path = f"{spec['path_prefix']}{key}"
    head = [
        f"{spec['method']} {path} HTTP/1.1",
        f"Host: {spec['host']}:{spec['port']}",
        f"Authorization: Bearer {spec['token']}",
    ]
    body = b""
    if spec["method"] == "PUT":
        body = rng.choice(spec["bodies"]).encode()
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _connection(spec: dict[str, Any], deadline: float, stats: Stats, seed: int) -> None:
    rng = random.Random(seed)
    timeout = float(spec["timeout_s"])
    try:
        reader, writer = await asyncio.open_connection(spec["host"], spec["port"])
    except OSError:
        stats.errors["connect"] += 1
        return
    try:
        while time.perf_counter() < deadline:
            request = _request(spec, rng)
            started = time.perf_counter()
            try:
                writer.write(request)
                await writer.drain()
            except OSError:
                stats.errors["write"] += 1
                return
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await asyncio.wait_for(reader.readexactly(length), timeout)
            except TimeoutError:
                stats.errors["timeout"] += 1
                return
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                stats.errors["read"] += 1
                return
            elapsed = time.perf_counter() - started
            status = int(head[9:12])
            if status > 399:
                stats.errors["status"] += 1
            stats.bytes += len(head) + len(body)
            stats.latencies_us.append(elapsed * 1e6)
    finally:
        writer.close()


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


async def _run(spec: dict[str, Any]) -> dict[str, Any]:
    stats = Stats()
    started = time.perf_counter()
    deadline = started + float(spec["duration_s"])
    await asyncio.gather(
        *(_connection(spec, deadline, stats, seed) for seed in range(int(spec["connections"])))
    )
    duration = time.perf_counter() - started
    lat = sorted(stats.latencies_us)
    return {
        "requests": len(lat),
        "duration_us": round(duration * 1e6),
        "bytes": stats.bytes,
        **stats.errors,
        "p50_us": _percentile(lat, 50),
        "p90_us": _percentile(lat, 90),
        "p99_us": _percentile(lat, 99),
        "mean_us": sum(lat) / len(lat) if lat else 0.0,
        "max_us": lat[-1] if lat else 0.0,
    }


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    result = uvloop.run(_run(spec)) if uvloop is not None else asyncio.run(_run(spec))
    sys.stdout.write("BENCH_JSON " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
