"""Detection -> first notification latency (issue 14).

Injects >= 20 outages of the API component at random moments between two probe rounds,
runs the real probe round (ledger, incidents, notices, dispatch) against a real SQLite
installation and a real SMTP server (aiosmtpd), and measures end to end from the
moment the failure began to the moment the first notice was accepted by the SMTP
server:

    end to end = (the detecting round's time - the failure's start)   [probe schedule]
               + (the real time from that round's start to SMTP's 250) [Hokan's work]

The waiting between rounds is simulated (an injected clock) so the run takes seconds,
not 20 x 90 s; everything Hokan does is real. Baseline in the same run: the probe
interval. Goal: p99 <= interval + 60 s (the whitepaper promises 5 minutes).

Run: ``make bench`` or ``.venv/bin/python bench/monitoring.py [--outages N] [--interval S]``.
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from hokan import migrations
from hokan.jobs.worker import WorkerHost
from hokan.kit import crypto
from hokan.monitoring import prober
from hokan.monitoring.probes import DOWN, UP, Probe, Result
from hokan.runtime import Runtime
from hokan.settings import Settings


class Inbox:
    def __init__(self) -> None:
        self.arrived: list[float] = []
        self.event = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrived.append(time.perf_counter())
        self.event.set()
        return "250 OK"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--outages", type=int, default=24)
    ap.add_argument("--interval", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    inbox = Inbox()
    port = _port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    status = {"api": UP}

    def fake_probes(host: Any) -> list[Probe]:
        names = [
            "api",
            "system_db",
            "keyring_db",
            "blob_store",
            "vault_store_1",
            "vault_store_2",
            "vault_store_3",
        ]
        return [
            Probe((n,), (lambda n=n: [Result(n, status.get(n, UP), "bench")]))  # type: ignore[misc]
            for n in names
        ]

    prober.probes_for = fake_probes  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        settings = Settings(  # type: ignore[call-arg]
            env="test",
            data_dir=data,
            master_key=crypto.b64encode_key(crypto.random_key()),
            smtp_url=f"smtp://127.0.0.1:{port}",
            oncall_emails=["oncall@bench.example"],
            monitor_interval_seconds=args.interval,
            monitor_timeout_seconds=min(10, args.interval - 1),
            log_level="WARNING",
        )
        rt = Runtime(settings)
        migrations.upgrade("system", rt.db.engine)
        migrations.upgrade("keyring", rt.keyring_db.engine)
        rt.vault_stores.migrate()
        rt.keyring.verify_master(initialise=True)
        clock = {"now": datetime.now(UTC)}
        host = WorkerHost(settings, rt.db, rt.resolve, lambda: clock["now"])
        interval = timedelta(seconds=args.interval)

        def tick() -> float:
            started = time.perf_counter()
            prober.probe_round(host)
            clock["now"] += interval
            return started

        schedule_part: list[float] = []
        work_part: list[float] = []
        total: list[float] = []
        for _ in range(args.outages):
            tick()
            offset = rng.uniform(0, args.interval)  # the failure begins this long after a round
            status["api"] = DOWN
            tick()  # first failing round: interval - offset after the failure
            inbox.event.clear()
            sent_before = len(inbox.arrived)
            detecting = tick()  # second failing round: the incident opens, notices go
            if not inbox.event.wait(30) or len(inbox.arrived) <= sent_before:
                raise SystemExit("no notice arrived")
            waited = (args.interval - offset) + args.interval  # failure start -> detecting round
            work = inbox.arrived[sent_before] - detecting
            schedule_part.append(waited)
            work_part.append(work)
            total.append(waited + work)
            status["api"] = UP
            tick()
            tick()  # resolved
        rt.close()
    controller.stop()

    def q(xs: list[float], p: float) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, round(p * (len(xs) - 1)))]

    p50, p99 = q(total, 0.5), q(total, 0.99)
    goal = args.interval + 60
    print(f"outages: {args.outages}; probe interval (baseline): {args.interval} s; K = 2 probes")
    print(
        f"end to end, failure -> SMTP 250: p50 {p50:.1f} s, p99 {p99:.1f} s "
        f"= {p99 / args.interval:.2f} x interval (goal p99 <= {goal} s: "
        f"{'met' if p99 <= goal else 'NOT met'})"
    )
    print(
        f"  of which waiting for the probe schedule: p50 {q(schedule_part, 0.5):.1f} s, "
        f"max {max(schedule_part):.1f} s"
    )
    work_p50 = statistics.median(work_part) * 1000
    print(
        f"  of which Hokan's work (round start -> SMTP 250): p50 {work_p50:.0f} ms, "
        f"p99 {q(work_part, 0.99) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
