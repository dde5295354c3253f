"""``hokan serve --workers 2``: every worker's counts on whichever worker answers /metrics."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hokan.monitoring.exposition import parse
from tests.conftest import wait_ready

SRC = Path(__file__).resolve().parents[2] / "src"


def test_two_workers_share_their_counters(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOKAN_", "PROMETHEUS_"))}
    env |= {
        "HOKAN_DATA_DIR": str(tmp_path / "data"),
        "HOKAN_LOG_LEVEL": "WARNING",
        "HOKAN_IPS_IP_REQUESTS": "100000",
        "PYTHONPATH": str(SRC),
    }
    hokan = [sys.executable, "-m", "hokan"]
    subprocess.run(
        [*hokan, "init"], env=env, cwd=tmp_path, check=True, timeout=120, capture_output=True
    )
    stale = tmp_path / "data" / "prometheus"
    stale.mkdir()
    (stale / "counter_999.db").write_bytes(b"left from an earlier run")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*hokan, "serve", "--port", str(port), "--workers", "2", "--no-worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        if not wait_ready(f"{url}/readyz", proc=proc):
            pytest.fail("hokan serve did not become ready: " + log_path.read_text())
        assert not (stale / "counter_999.db").exists()  # emptied at start
        sent = 0
        while sent < 40 or len(_pids(stale)) < 2:  # until both workers have answered some
            # A new connection each: the kernel hands them to either worker.
            assert httpx.get(f"{url}/healthz").status_code == 200
            sent += 1
            assert sent < 2000, "one worker answered everything"
        for _ in range(6):  # whichever worker answers, the sum over both
            text = httpx.get(f"{url}/metrics").text
            counts = [
                v
                for n, ls, v in parse(text)
                if n == "hokan_http_requests_total" and ls.get("route") == "/healthz"
            ]
            assert sum(counts) == sent, counts
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _pids(directory: Path) -> set[str]:
    """Worker pids that wrote request counters (files are named ``<kind>_<pid>.db``)."""
    return {p.stem.rsplit("_", 1)[-1] for p in directory.glob("counter_*.db")}
