"""Metrics benchmark (issue 13: Prometheus /metrics, the worker's scheduler).

1. The request metrics' cost on a record GET: p50 latency of
   ``GET /api/v1/collections/staff/records/{id}`` through the whole app, with and
   without :class:`RequestMetricsMiddleware`, interleaved rounds in one process
   (ASGI calls, no sockets: the layer's cost is not hidden in network noise).
   Goal: p50 with metrics <= +5 % of p50 without. Also the middleware alone (µs per
   request around an app that does nothing) and the cost of one ``/metrics`` scrape.
2. The scheduler with 50 registered jobs (a :class:`Registry` over 50 trivial jobs):
   an idle wakeup of APScheduler (nothing due), a dispatch (all 50 made due, time
   until every one ran), and ``runner.execute`` of a no-op job (its two recorded
   transactions in ``job_runs``), each against a bare call of the same function.

SQLite in a throw-away data directory, the IPS off (one client sending thousands of
requests would be rate limited, as in production).
Run: ``make bench`` or ``.venv/bin/python bench/metrics.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine

from hokan import migrations
from hokan.app import create_app
from hokan.identity import tokens
from hokan.jobs import runner
from hokan.jobs.registry import Registry
from hokan.jobs.worker import WorkerHost
from hokan.kit import crypto
from hokan.kit.clock import JST
from hokan.kit.jobs import Job, JobHost, JobResult
from hokan.models import Product
from hokan.monitoring.middleware import RequestMetricsMiddleware
from hokan.principals.principal import SYSTEM, Scope
from hokan.runtime import Runtime
from hokan.settings import Settings
from hokan.tenants.schemas import TenantCreate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
RECORD = "/api/v1/collections/staff/records/bench-0001"
JOBS = 50


def log(message: str) -> None:
    print(f"[metrics] {message}", file=sys.stderr, flush=True)


def prepare(tmp: Path) -> tuple[Runtime, str]:
    settings = Settings(
        env="test",
        data_dir=tmp / "data",
        master_key=crypto.b64encode_key(crypto.random_key()),
        ips_enabled=False,
    )
    (tmp / "data" / "vault").mkdir(parents=True)
    rt = Runtime(settings)
    migrations.upgrade("system", rt.db.engine)
    migrations.upgrade("keyring", rt.keyring_db.engine)
    rt.keyring.verify_master(initialise=True)
    for url in settings.resolved_vault_store_urls:  # the scrape reports them: real ones
        engine = create_engine(url)
        migrations.upgrade("vault", engine)
        engine.dispose()
    rt.vault_stores.identify()
    with rt.db.session(write=True, system=True) as s:
        tenant = rt.tenants.create(
            s, TenantCreate(code="bench", name="ベンチ株式会社", product=Product.staff), SYSTEM
        )
        token = tokens.issue(
            s,
            tenant.id,
            "bench",
            scopes=[Scope.records_read, Scope.records_write],
            days=30,
            actor=SYSTEM,
        ).secret
    return rt, token


async def _call(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> int:
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
        "state": {},
    }
    await app(scope, receive, send)
    return status


# -- 1. request metrics ---------------------------------------------------------


def request_cost(rt: Runtime, token: str, requests: int, rounds: int) -> dict[str, float]:
    auth = [(b"authorization", f"Bearer {token}".encode()), (b"host", b"127.0.0.1")]

    async def p50(app: Any, n: int, path: str = RECORD) -> float:
        took = []
        for _ in range(n):
            started = time.perf_counter()
            status = await _call(app, "GET", path, list(auth))
            took.append(time.perf_counter() - started)
            assert status == 200, status
        return statistics.median(took)

    async def nothing(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def per_call(app: Any, n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            await _call(app, "GET", RECORD, list(auth))
        return (time.perf_counter() - started) / n

    def without_metrics() -> Any:
        app = create_app(runtime=rt)
        app.user_middleware = [
            m for m in app.user_middleware if m.cls is not RequestMetricsMiddleware
        ]
        return app

    with_app = create_app(runtime=rt)
    without_app = without_metrics()
    control_app = without_metrics()  # A/A: the noise floor of this comparison
    loop = asyncio.new_event_loop()
    try:
        body = json.dumps({"氏名": "山田 太郎", "部署": "営業部", "等級": 3}).encode()
        put = [*auth, (b"content-type", b"application/json")]
        assert loop.run_until_complete(_call(with_app, "PUT", RECORD, put, body)) in (200, 201)
        loop.run_until_complete(p50(with_app, 100))  # warm both
        loop.run_until_complete(p50(without_app, 100))
        loop.run_until_complete(p50(control_app, 100))
        on: list[float] = []
        off: list[float] = []
        control: list[float] = []
        for i in range(rounds):  # interleaved rounds, order rotating: drift hits all alike
            trio = [(with_app, on), (without_app, off), (control_app, control)]
            shift = i % 3
            for app, into in trio[shift:] + trio[:shift]:
                into.append(loop.run_until_complete(p50(app, requests)))
        alone = RequestMetricsMiddleware(nothing)
        n_micro = requests * 20
        bare, layer = [], []
        for _ in range(rounds):
            bare.append(loop.run_until_complete(per_call(nothing, n_micro)))
            layer.append(loop.run_until_complete(per_call(alone, n_micro)))
        scrape = [loop.run_until_complete(p50(with_app, 20, "/metrics")) for _ in range(rounds)]
    finally:
        loop.close()
    p50_on, p50_off = statistics.median(on), statistics.median(off)
    return {
        "p50_on_ms": p50_on * 1000,
        "p50_off_ms": p50_off * 1000,
        "overhead": p50_on / p50_off - 1,
        "control_difference": statistics.median(control) / p50_off - 1,
        "middleware_us": (statistics.median(layer) - statistics.median(bare)) * 1e6,
        "scrape_ms": statistics.median(scrape) * 1000,
    }


# -- 2. scheduler -----------------------------------------------------------------


def _noop(host: JobHost) -> JobResult:
    return JobResult()


def scheduler_cost(rt: Runtime, rounds: int) -> dict[str, float]:
    catalogue = tuple(
        Job(
            f"bench.job_{i:02d}",
            f"every {5 + i}m" if i % 2 else f"{i} 3 * * *",
            _noop,
            "ベンチ",
            "bench",
        )
        for i in range(JOBS)
    )
    registry = Registry(rt.settings, catalogue)
    host = WorkerHost(rt.settings, rt.db, rt.resolve)

    calls = 20_000
    bare_runs = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            _noop(host)
        bare_runs.append((time.perf_counter() - started) / calls)
    bare = statistics.median(bare_runs)

    done = threading.Semaphore(0)

    def fire(sc: Any) -> None:
        _noop(host)
        done.release()

    scheduler = BackgroundScheduler(  # as hokan.jobs.worker configures it
        timezone=JST,
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    far = datetime.now(JST) + timedelta(days=365)
    for sc in registry:
        scheduler.add_job(fire, sc.trigger, args=(sc,), id=sc.name, next_run_time=far)
    scheduler.start()
    try:
        idle = []
        for _ in range(rounds):  # a wakeup with nothing due: what every tick costs
            started = time.perf_counter()
            for _ in range(200):
                scheduler._process_jobs()
            idle.append((time.perf_counter() - started) / 200)
        dispatch = []
        for _ in range(rounds):  # all 50 due at once: wakeup, dispatch to the pool, run
            started = time.perf_counter()
            now = datetime.now(JST)
            for sc in registry:
                scheduler.modify_job(sc.name, next_run_time=now)
            for _ in range(JOBS):
                assert done.acquire(timeout=30)
            dispatch.append((time.perf_counter() - started) / JOBS)
            for sc in registry:
                scheduler.modify_job(sc.name, next_run_time=far)
    finally:
        scheduler.shutdown(wait=True)

    first = next(iter(registry))
    executes = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(20):
            assert runner.execute(host, first, trigger="manual").status == "ok"
        executes.append((time.perf_counter() - started) / 20)
    return {
        "bare_call_us": bare * 1e6,
        "idle_tick_us": statistics.median(idle) * 1e6,
        "dispatch_per_job_us": statistics.median(dispatch) * 1e6,
        "execute_ms": statistics.median(executes) * 1000,
        "idle_tick_x_bare": statistics.median(idle) / bare,
        "dispatch_x_bare": statistics.median(dispatch) / bare,
        "execute_x_bare": statistics.median(executes) / bare,
    }


# -- main -----------------------------------------------------------------------


def render(out: dict[str, Any]) -> str:
    r, s = out["requests"], out["scheduler"]
    goal = "met" if r["overhead"] <= 0.05 else "MISSED"
    return "\n".join(
        [
            f"record GET p50, metrics on   {r['p50_on_ms']:.3f} ms",
            f"record GET p50, metrics off  {r['p50_off_ms']:.3f} ms",
            f"overhead                     {r['overhead'] * 100:+.2f} % (goal <= +5 %: {goal})",
            f"A/A control (both off)       {r['control_difference'] * 100:+.2f} % (noise floor)",
            f"metrics middleware alone     {r['middleware_us']:.1f} µs/request",
            f"one /metrics scrape          {r['scrape_ms']:.2f} ms",
            f"bare function call           {s['bare_call_us']:.3f} µs",
            f"scheduler idle tick, {JOBS} jobs {s['idle_tick_us']:.1f} µs "
            f"({s['idle_tick_x_bare']:.0f} x bare)",
            f"dispatch per due job         {s['dispatch_per_job_us']:.1f} µs "
            f"({s['dispatch_x_bare']:.0f} x bare)",
            f"runner.execute, no-op job    {s['execute_ms']:.2f} ms "
            f"({s['execute_x_bare']:.0f} x bare; two job_runs transactions)",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="GETs per A/B round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    out: dict[str, Any] = {"settings": vars(args)}
    with tempfile.TemporaryDirectory(prefix="hokan-metrics-bench-") as tmp_name:
        rt, token = prepare(Path(tmp_name))
        try:
            log("request metrics: record GET with and without the middleware")
            out["requests"] = request_cost(rt, token, args.requests, args.rounds)
            log(f"scheduler: {JOBS} jobs")
            out["scheduler"] = scheduler_cost(rt, args.rounds)
        finally:
            rt.close()
    print(render(out))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"metrics-{stamp}.json").write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
