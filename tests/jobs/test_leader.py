"""Two real 'hokan worker' processes: exactly one leads; kill -9 the leader and the
standby runs the next due job within one lock poll plus the job's interval; SIGTERM
ends a worker cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from hokan.models import JobRun
from hokan.runtime import Runtime
from tests.conftest import wait_until

INTERVAL = 2
POLL = 1
# Only one cheap job, often; the others off, so the test measures the lock, not the jobs.
SCHEDULES = {
    "vault.purge_due": f"every {INTERVAL}s",
    "audit.checkpoint": "off",
    "audit.daily_review": "off",
    "identity.expire_temporary_operators": "off",
    "mail.deliver": "off",
    "certificates.publish_crl": "off",
    "jobs.prune_history": "off",
}


def _env(runtime: Runtime) -> dict[str, str]:
    s = runtime.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKAN_")}
    env.update(
        HOKAN_DATA_DIR=str(s.data_dir),
        HOKAN_DATABASE_URL=s.resolved_database_url,
        HOKAN_KEYRING_DATABASE_URL=s.resolved_keyring_url,
        HOKAN_VAULT_STORE_URLS=s.vault_store_urls or "",
        HOKAN_MASTER_KEY=s.master_key.get_secret_value() if s.master_key else "",
        HOKAN_LOG_LEVEL="WARNING",
        HOKAN_WORKER_LOCK_POLL_SECONDS=str(POLL),
        HOKAN_WORKER_SHUTDOWN_SECONDS="5",
        HOKAN_JOB_SCHEDULES=json.dumps(SCHEDULES),
    )
    return env


@contextmanager
def _workers(runtime: Runtime, cwd: Path, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "hokan", "worker"],
            env=_env(runtime),
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)


def _runs_by(runtime: Runtime) -> dict[int, int]:
    with runtime.db.session(system=True) as s:
        workers = s.scalars(select(JobRun.worker).where(JobRun.job == "vault.purge_due")).all()
    out: dict[int, int] = {}
    for w in workers:
        pid = int(w.rsplit(":", 1)[1])
        out[pid] = out.get(pid, 0) + 1
    return out


def test_one_leader_and_a_standby_that_takes_over_after_kill_9(
    runtime: Runtime, tmp_path: Path
) -> None:
    with _workers(runtime, tmp_path, 2) as (a, b):
        assert wait_until(lambda: bool(_runs_by(runtime)), 60), "no worker ran the job"
        time.sleep(3 * INTERVAL)
        by = _runs_by(runtime)
        assert len(by) == 1, f"more than one worker ran jobs: {by}"
        (leader_pid,) = by
        leader, standby = (a, b) if leader_pid == a.pid else (b, a)
        assert by[leader_pid] >= 2

        leader.send_signal(signal.SIGKILL)
        leader.wait(timeout=10)
        killed_at = time.monotonic()
        assert wait_until(lambda: standby.pid in _runs_by(runtime), 15 + INTERVAL + 5), (
            "the standby did not take over"
        )
        took = time.monotonic() - killed_at
        assert took <= 15 + INTERVAL, took
        assert standby.poll() is None

        standby.send_signal(signal.SIGTERM)  # graceful: running jobs finish, lock released
        assert standby.wait(timeout=20) == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_worker_that_cannot_reach_its_database_retries_and_says_so(
    runtime: Runtime, tmp_path: Path
) -> None:
    env = _env(runtime) | {"HOKAN_LOG_LEVEL": "INFO", "HOKAN_LOG_FORMAT": "json"}
    env["HOKAN_DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hokan", "worker"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(6)
        assert proc.poll() is None, "the worker died instead of retrying"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    lines = [json.loads(x) for x in out.decode().splitlines() if x.startswith("{")]
    retries = [x for x in lines if "database unreachable" in x.get("msg", x.get("message", ""))]
    assert 2 <= len(retries) <= 4, out.decode()[-2000:]  # backoff 1, 2, 4 s: never a spin
