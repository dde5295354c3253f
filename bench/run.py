"""Records over HTTP: Hokan against a bare Starlette app, same client, same uvicorn settings.

``make bench`` (or ``.venv/bin/python bench/run.py --help``). For each backend (SQLite, then
PostgreSQL) it starts a real ``hokan serve`` process with one worker in a throw-away data
directory, seeds records, and loads ``GET`` and ``PUT`` on random record ids with concurrent
keep-alive connections. In the same run it loads ``bench/bare_app.py`` under the same uvicorn
settings with the same client, and reports requests/s, p50/p99 latency and Hokan/bare ratios
against the goals (GET >= 0.25, PUT >= 0.15 of bare). Results go to the terminal and to
``bench/results/records-<timestamp>.json``.

This is a report, not a test: missed goals never change the exit status. The exit status is
non-zero only when the harness itself could not run a target that was not skipped.
Everything runs on loopback and every load run is bounded in time.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
VENV_BIN = Path(sys.executable).parent

HOST = "127.0.0.1"
COLLECTION = "staff"
ID_PREFIX = "rec-"
PATH_PREFIX = f"/api/v1/collections/{COLLECTION}/records/"
GOALS = {"GET": 0.25, "PUT": 0.15}
OPS = ("GET", "PUT")
PUT_BODY_VARIANTS = 64
CLIENT_TIMEOUT_S = 10
START_TIMEOUT_S = 60.0
TOKEN_RE = re.compile(r"^hk_[a-z2-7]{8}_[A-Za-z0-9_-]{43}$")
BUSY_WARNING_PCT = 15.0
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


# --------------------------------------------------------------------------- data


_SURNAMES = [
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
    ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"),
    ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
]  # fmt: skip
_GIVEN = [
    ("太郎", "タロウ"), ("花子", "ハナコ"), ("翔太", "ショウタ"), ("美咲", "ミサキ"),
    ("健一", "ケンイチ"), ("由美", "ユミ"), ("大輔", "ダイスケ"), ("さくら", "サクラ"),
    ("拓也", "タクヤ"), ("陽菜", "ヒナ"), ("直樹", "ナオキ"), ("恵子", "ケイコ"),
]  # fmt: skip
_DEPARTMENTS = ["営業部", "総務部", "人事部", "経理部", "開発部", "品質管理部", "物流センター"]
_POSITIONS = ["部長", "課長", "係長", "主任", "一般", "契約社員", "パート"]
_PLACES = [
    ("東京都", "千代田区", "100-0001"), ("大阪府", "大阪市北区", "530-0001"),
    ("神奈川県", "横浜市西区", "220-0011"), ("愛知県", "名古屋市中区", "460-0008"),
    ("福岡県", "福岡市博多区", "812-0011"), ("北海道", "札幌市中央区", "060-0001"),
]  # fmt: skip
_SKILLS = ["フォークリフト", "簿記2級", "普通自動車免許", "危険物取扱者", "TOEIC 800", "衛生管理者"]
_NOTES = [
    "夜勤可。繁忙期は土曜出勤に対応できます。",
    "育児短時間勤務中(9時〜16時)。在宅勤務は週2日まで。",
    "資格手当の対象者です。次回の更新講習は来年4月の予定。",
    "通勤経路の変更届を提出済み。定期代は来月から精算します。",
]


def make_record(index: int, seed: int) -> dict[str, Any]:
    """A staff record of about 400-500 bytes of JSON with Japanese text."""
    rng = random.Random(seed * 1_000_003 + index)
    surname, surname_kana = rng.choice(_SURNAMES)
    given, given_kana = rng.choice(_GIVEN)
    prefecture, city, postal = rng.choice(_PLACES)
    block = f"{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
    return {
        "employee_no": f"E{index:06d}",
        "name": f"{surname} {given}",
        "name_kana": f"{surname_kana} {given_kana}",
        "department": rng.choice(_DEPARTMENTS),
        "position": rng.choice(_POSITIONS),
        "email": f"e{index:06d}@example.co.jp",
        "phone": f"0{rng.randint(3, 9)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        "address": {
            "postal_code": postal,
            "prefecture": prefecture,
            "city": city,
            "line": f"{block} 保管ビル{rng.randint(1, 9)}階",
        },
        "hired_on": f"{rng.randint(1995, 2025)}-{rng.randint(1, 12):02d}-01",
        "skills": rng.sample(_SKILLS, rng.randint(1, 3)),
        "note": rng.choice(_NOTES),
        "active": True,
    }


def encode(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def record_key(number: int) -> str:
    return f"{ID_PREFIX}{number:05d}"


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ProcUsage:
    user_s: float
    system_s: float
    context_switches: int

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.system_s


def proc_usage(pid: int) -> ProcUsage:
    """CPU seconds (user, system) and context switches of one process and its threads."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ProcUsage(0.0, 0.0, 0)
    fields = stat[stat.rindex(")") + 2 :].split()
    tick = os.sysconf("SC_CLK_TCK")
    switches = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        with contextlib.suppress(OSError):
            for line in status.read_text().splitlines():
                if "ctxt_switches:" in line:
                    switches += int(line.split(":")[1])
    return ProcUsage(int(fields[11]) / tick, int(fields[12]) / tick, switches)


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies over all cores since boot."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(sum(values) - idle), float(sum(values))


def background_cpu_pct(seconds: float = 1.0) -> float:
    """How busy the machine is before the bench starts, % of all CPUs."""
    busy, total = machine_cpu()
    time.sleep(seconds)
    busy_after, total_after = machine_cpu()
    return round(100 * (busy_after - busy) / max(1.0, total_after - total), 1)


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Server:
    """One server process in its own session, stopped by its own pid."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, port: int):
        self.name = name
        self.port = port
        self.log = log
        self._log_handle = log.open("wb")
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.tail()}")
            try:
                status, _ = http_call(self.port, "GET", "/healthz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout:.0f} s")

    def tail(self, lines: int = 15) -> str:
        if not self._log_handle.closed:
            self._log_handle.flush()
        text = self.log.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(no output)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self._log_handle.close()


def http_call(
    port: int,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: bytes | None = None,
    timeout: float = 30,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def seed_records(port: int, token: str, bodies: list[bytes], workers: int = 8) -> float:
    """PUT every record once over keep-alive connections; returns seconds taken."""
    started = time.perf_counter()
    jobs = list(enumerate(bodies, start=1))

    def work(chunk: list[tuple[int, bytes]]) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            for number, body in chunk:
                conn.request("PUT", PATH_PREFIX + record_key(number), body=body, headers=headers)
                response = conn.getresponse()
                text = response.read()
                if response.status not in (200, 201):
                    raise RuntimeError(f"seeding PUT answered {response.status}: {text[:200]!r}")
        finally:
            conn.close()

    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(work, [jobs[i::workers] for i in range(workers)]):
            pass
    return time.perf_counter() - started


# --------------------------------------------------------------------------- load clients


@dataclass
class LoadSpec:
    port: int
    method: str
    token: str
    records: int
    connections: int
    threads: int
    bodies: list[str]


class LoadClient(Protocol):
    name: str
    description: str

    def run(self, spec: LoadSpec, duration: int, workdir: Path) -> dict[str, Any]: ...


def _parse_bench_json(output: str, what: str) -> dict[str, Any]:
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            parsed: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            return parsed
    raise RuntimeError(f"{what} printed no result line: {output[-500:]}")


_WRK_SCRIPT = """\
-- Generated by bench/run.py: random record ids, latency summary as one JSON line.
local method = "{method}"
local records = {records}
local prefix = "{path_prefix}{id_prefix}"
local bodies = {{
{bodies}
}}
wrk.method = method
wrk.headers["Authorization"] = "Bearer {token}"
{content_type}
math.randomseed(os.time())

request = function()
  local path = prefix .. string.format("%05d", math.random(1, records))
  if method == "PUT" then
    return wrk.format(method, path, nil, bodies[math.random(1, #bodies)])
  end
  return wrk.format(method, path)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,' ..
    '"mean_us":%.1f,"max_us":%.0f}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
"""


class WrkClient:
    name = "wrk"

    def __init__(self, path: str) -> None:
        self.path = path
        probe = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
        first = (probe.stdout + probe.stderr).strip().splitlines()
        self.description = first[0].split(" Copyright")[0] if first else "wrk"

    def _script(self, spec: LoadSpec, workdir: Path) -> Path:
        bodies = []
        for body in spec.bodies if spec.method == "PUT" else ["{}"]:
            if "]==]" in body:
                raise ValueError("a PUT body contains the Lua long-string terminator")
            bodies.append(f"  [==[{body}]==],")
        script = _WRK_SCRIPT.format(
            method=spec.method,
            records=spec.records,
            path_prefix=PATH_PREFIX,
            id_prefix=ID_PREFIX,
            bodies="\n".join(bodies),
            token=spec.token,
            content_type=(
                'wrk.headers["Content-Type"] = "application/json"' if spec.method == "PUT" else ""
            ),
        )
        path = workdir / f"wrk-{spec.method.lower()}-{spec.port}.lua"
        path.write_text(script, encoding="utf-8")
        return path

    def run(self, spec: LoadSpec, duration: int, workdir: Path) -> dict[str, Any]:
        argv = [
            self.path,
            "-t", str(spec.threads),
            "-c", str(spec.connections),
            "-d", f"{duration}s",
            "--timeout", f"{CLIENT_TIMEOUT_S}s",
            "-s", str(self._script(spec, workdir)),
            f"http://{HOST}:{spec.port}",
        ]  # fmt: skip
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=duration + 60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-500:]}")
        return _parse_bench_json(done.stdout, "wrk")


class PythonClient:
    name = "python"

    def __init__(self) -> None:
        try:
            import uvloop  # noqa: F401

            loop = "uvloop"
        except ImportError:
            loop = "asyncio"
        self.description = f"bench/pyclient.py (asyncio streams, {loop}, 1 process)"

    def run(self, spec: LoadSpec, duration: int, workdir: Path) -> dict[str, Any]:
        spec_path = workdir / f"pyclient-{spec.method.lower()}-{spec.port}.json"
        spec_path.write_text(
            json.dumps(
                {
                    "host": HOST,
                    "port": spec.port,
                    "method": spec.method,
                    "token": spec.token,
                    "records": spec.records,
                    "connections": spec.connections,
                    "duration_s": duration,
                    "timeout_s": CLIENT_TIMEOUT_S,
                    "path_prefix": PATH_PREFIX,
                    "id_prefix": ID_PREFIX,
                    "bodies": spec.bodies,
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        done = subprocess.run(
            [sys.executable, str(BENCH_DIR / "pyclient.py"), str(spec_path)],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pyclient failed ({done.returncode}): {done.stderr[-500:]}")
        return _parse_bench_json(done.stdout, "pyclient")


def pick_client(choice: str) -> LoadClient:
    wrk = shutil.which("wrk")
    if choice == "wrk" and wrk is None:
        raise SystemExit("--client wrk: wrk is not installed (Debian: apt-get install wrk)")
    if choice in ("auto", "wrk") and wrk is not None:
        return WrkClient(wrk)
    return PythonClient()


# --------------------------------------------------------------------------- profiling


def find_py_spy() -> str | None:
    candidate = VENV_BIN / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


def summarize_profile(raw: Path, top: int = 12) -> dict[str, Any]:
    """Self time by package and the top functions (self and inclusive) of a py-spy raw file."""
    total = 0
    idle = 0
    by_package: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        if _is_idle_worker(frames):
            idle += count
            continue
        total += count
        self_time[frames[-1]] += count
        by_package[_package(frames[-1])] += count
        for name in set(frames):
            inclusive[name] += count

    def pct(counter: Counter[str], limit: int) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(limit)]

    return {
        "samples": total,
        "idle_worker_samples_dropped": idle,
        "self_by_package_pct": pct(by_package, 20) if total else [],
        "self_top_pct": pct(self_time, top) if total else [],
        "inclusive_top_pct": pct(inclusive, top * 3) if total else [],
    }


def _is_idle_worker(frames: list[str]) -> bool:
    """A thread-pool worker waiting for work (py-spy does not always see these as idle)."""
    return frames[-1].startswith("Condition.wait (threading") and any(
        f.startswith("WorkerThread.run (") or f.startswith("_worker (concurrent") for f in frames
    )


def _frame_name(frame: str) -> str:
    """``func (pkg/mod.py:12)`` -> ``func (pkg/mod.py)``."""
    return re.sub(r":\d+\)$", ")", frame.strip())


def _package(frame: str) -> str:
    match = re.search(r"\(([^)]*)\)$", frame)
    path = match.group(1) if match else frame
    head = path.split("/", 1)[0]
    if head.startswith("<"):
        return head
    return head.removesuffix(".py")


# --------------------------------------------------------------------------- scenarios


@dataclass
class Options:
    duration: int
    warmup: int
    connections: int
    threads: int
    records: int
    profile_dir: Path | None
    profile_mode: str
    py_spy: str | None
    workdir: Path
    hokan_env: dict[str, str] = field(default_factory=dict)
    server_cpus: str | None = None
    rounds: int = 3


def pinned(argv: list[str], opts: Options) -> list[str]:
    """Run a server on the given CPUs only (``--server-cpus``), else as it is."""
    return ["taskset", "--cpu-list", opts.server_cpus, *argv] if opts.server_cpus else argv


@dataclass
class Outcome:
    target: str
    backend: str | None
    status: str  # "ok", "skipped", "failed"
    reason: str = ""
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    setup: dict[str, Any] = field(default_factory=dict)


def measure(
    client: LoadClient, spec: LoadSpec, server: Server, opts: Options, label: str
) -> dict[str, Any]:
    if opts.warmup > 0:
        client.run(spec, opts.warmup, opts.workdir)
    profiler = None
    raw_profile = None
    if opts.profile_dir is not None and opts.py_spy is not None:
        raw_profile = opts.profile_dir / f"{label}-{spec.method.lower()}-{opts.profile_mode}.txt"
        profiler = subprocess.Popen(
            [
                opts.py_spy, "record", "--pid", str(server.pid), "--duration", str(opts.duration),
                "--rate", "100", "--format", "raw", "--output", str(raw_profile),
                *(["--gil"] if opts.profile_mode == "gil" else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
    usage = proc_usage(server.pid)
    machine_busy, machine_total = machine_cpu()
    client_cpu = children_cpu_seconds()
    wall = time.perf_counter()
    raw = client.run(spec, opts.duration, opts.workdir)
    wall = time.perf_counter() - wall
    client_cpu = children_cpu_seconds() - client_cpu
    usage_after = proc_usage(server.pid)
    server_cpu = usage_after.cpu_s - usage.cpu_s
    requests = max(1, raw["requests"])
    busy_after, total_after = machine_cpu()
    machine_pct = 100 * (busy_after - machine_busy) / max(1.0, total_after - machine_total)
    # Everything else on the machine (PostgreSQL's backends, other jobs), in % of one core.
    other_pct = machine_pct * (os.cpu_count() or 1) - 100 * (server_cpu + client_cpu) / wall
    seconds = raw["duration_us"] / 1e6
    result: dict[str, Any] = {
        "op": spec.method,
        "requests": raw["requests"],
        "seconds": round(seconds, 3),
        # Successful responses only: a refusal (a 503 while degraded) is not throughput.
        "rps": round(max(0, raw["requests"] - raw["status"]) / seconds, 1) if seconds else 0.0,
        "rps_all_responses": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "mean_ms": round(raw["mean_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "bytes_per_response": round(raw["bytes"] / raw["requests"]) if raw["requests"] else 0,
        "non_2xx_3xx": raw["status"],
        "socket_errors": {k: raw[k] for k in ("connect", "read", "write", "timeout")},
        "server_cpu_pct": round(100 * server_cpu / wall, 1),
        "server_cpu_ms_per_request": round(1000 * server_cpu / requests, 3),
        "server_system_cpu_pct": round(100 * (usage_after.system_s - usage.system_s) / wall, 1),
        "server_context_switches_per_request": round(
            (usage_after.context_switches - usage.context_switches) / requests, 1
        ),
        "client_cpu_pct": round(100 * client_cpu / wall, 1),
        "machine_cpu_pct": round(machine_pct, 1),
        "other_cpu_pct": round(max(0.0, other_pct), 1),
    }
    if profiler is not None and raw_profile is not None:
        try:
            profiler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            profiler.kill()
            profiler.wait()
        if raw_profile.exists():
            result["profile"] = {"raw": str(raw_profile), **summarize_profile(raw_profile)}
        else:
            result["profile"] = {"error": "py-spy wrote no profile (ptrace not permitted?)"}
    return result


@dataclass
class Target:
    """A running server under test: the bare baseline or one Hokan installation."""

    name: str
    backend: str | None
    size: int  # records the tenant holds (addressed + filler)
    server: Server | None = None
    token: str = "bare-token-unused"
    outcome: Outcome | None = None
    cleanup: list[Any] = field(default_factory=list)


def start_bare(opts: Options) -> Target:
    target = Target("bare", None, 0)
    target.outcome = Outcome("bare", None, "ok")
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(BENCH_DIR),
        "--host", HOST, "--port", str(port), "--workers", "1",
        "--log-level", "warning", "--no-access-log", "--no-server-header", "--no-proxy-headers",
    ]  # fmt: skip
    log("bare: starting Starlette baseline")
    server = Server("bare", pinned(argv, opts), base_env(), opts.workdir / "bare.log", port)
    target.server = server
    try:
        server.wait_ready()
        status, _ = http_call(port, "GET", PATH_PREFIX + record_key(1))
        if status != 200:
            raise RuntimeError(f"bare GET answered {status}")
        target.outcome.setup["server_pid"] = server.pid
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        target.outcome.status, target.outcome.reason = "failed", str(exc)
    return target


def base_env() -> dict[str, str]:
    """The caller's environment without any HOKAN_* setting, so the bench is isolated."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HOKAN_")}


def hokan_env(
    opts: Options, data_dir: Path, database_url: str = "", keyring_url: str = ""
) -> dict[str, str]:
    env = base_env()
    env.update(
        {
            "HOKAN_DATA_DIR": str(data_dir),
            "HOKAN_ENV_FILE": str(data_dir.parent / "no-such.env"),
            "HOKAN_LOG_LEVEL": "WARNING",
            # The load comes from one address: the IPS still counts every request
            # (its cost is in the numbers) but its limits are out of reach.
            "HOKAN_IPS_IP_REQUESTS": "1000000000",
            "HOKAN_IPS_ACCOUNT_REQUESTS": "1000000000",
            "HOKAN_IPS_TENANT_REQUESTS": "1000000000",
            "HOKAN_IPS_MAX_CONCURRENT_PER_IP": "10000",
        }
    )
    if database_url:
        env["HOKAN_DATABASE_URL"] = database_url
        env["HOKAN_KEYRING_DATABASE_URL"] = keyring_url
    env.update(opts.hokan_env)
    return env


def hokan_bin() -> str:
    candidate = VENV_BIN / "hokan"
    found = str(candidate) if candidate.exists() else shutil.which("hokan")
    if found is None:
        raise RuntimeError("the hokan command is not installed (run 'make install')")
    return found


# Filler: copies of the first seeded record under other ids (never addressed), so the
# tenant holds ``size`` records; each with its own updated_at, like real data.
_SQLITE_FILLER = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO records (id, tenant_id, collection_id, record_key, revision, key_version,
                     wrapped_dek, ciphertext, size, created_at, updated_at, deleted_at)
SELECT lower(hex(randomblob(16))), r.tenant_id, r.collection_id, 'filler-' || n.i, 1,
       r.key_version, r.wrapped_dek, r.ciphertext, r.size, r.created_at,
       strftime('%Y-%m-%d %H:%M:%f', r.created_at, printf('-%d seconds', n.i)) || '000', NULL
FROM n, (SELECT * FROM records WHERE record_key = ?) AS r
"""
_PG_FILLER = """
INSERT INTO records (id, tenant_id, collection_id, record_key, revision, key_version,
                     wrapped_dek, ciphertext, size, created_at, updated_at, deleted_at)
SELECT gen_random_uuid(), r.tenant_id, r.collection_id, 'filler-' || i, 1,
       r.key_version, r.wrapped_dek, r.ciphertext, r.size, r.created_at,
       r.created_at - make_interval(secs => i), NULL
FROM generate_series(1, %s) AS i, (SELECT * FROM records WHERE record_key = %s) AS r
"""


def add_filler(target: Target, admin_url: str | None, data_dir: Path, count: int) -> None:
    """Bring the tenant to ``target.size`` records, then refresh the planner statistics
    (what the ``records.analyze`` job and autovacuum keep doing in a real installation)."""
    if admin_url is None:
        import sqlite3

        with contextlib.closing(sqlite3.connect(data_dir / "hokan.db", timeout=60)) as db:
            if count:
                db.execute(_SQLITE_FILLER, (count, record_key(1)))
                db.commit()
            db.execute("PRAGMA analysis_limit=2000")
            db.execute("ANALYZE")
        return
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT set_config('hokan.scope', 'system', false)")
        if count:
            conn.execute(_PG_FILLER, (count, record_key(1)))
        conn.execute("ANALYZE")


def start_hokan(
    backend: str, size: int, seed_bodies: list[bytes], opts: Options, admin_url: str
) -> Target:
    """``hokan init --demo`` (as the databases' owner), then ``hokan serve`` (on PostgreSQL
    as a role that is neither superuser nor BYPASSRLS, as the README prescribes)."""
    name = f"hokan-{backend}-{size // 1000}k" if size >= 1000 else f"hokan-{backend}-{size}"
    target = Target(name, backend, size)
    outcome = target.outcome = Outcome(name, backend, "ok")
    data_dir = opts.workdir / name / "data"
    data_dir.parent.mkdir(parents=True)
    pg_admin: str | None = None
    try:
        if backend == "postgresql":
            databases = postgres_databases(admin_url)
            found = databases.__enter__()
            target.cleanup.append(databases)
            outcome.setup["server_version"] = found.server_version
            outcome.setup["role"] = found.role
            init_env = hokan_env(opts, data_dir, found.admin_urls[0], found.admin_urls[1])
            serve_env = hokan_env(opts, data_dir, found.database_url, found.keyring_url)
            pg_admin = found.admin_conninfo
        else:
            init_env = serve_env = hokan_env(opts, data_dir)
        log(f"{name}: hokan init --demo")
        init = subprocess.run(
            [hokan_bin(), "init", "--demo"],
            env=init_env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        lines = init.stdout.strip().splitlines()
        token = lines[-1].strip() if lines else ""
        if init.returncode != 0 or not TOKEN_RE.match(token):
            raise RuntimeError(
                f"hokan init --demo failed ({init.returncode}): {init.stderr[-500:]}"
            )
        if backend == "postgresql":
            found.grant()
        port = free_port()
        # As in production (deploy/): jobs run in 'hokan worker', not in the server.
        argv = [hokan_bin(), "serve", "--host", HOST, "--port", str(port), "--workers", "1"]
        argv.append("--no-worker")
        server = Server(name, pinned(argv, opts), serve_env, opts.workdir / f"{name}.log", port)
        target.server, target.token = server, token
        server.wait_ready()
        outcome.setup["server_pid"] = server.pid
        seconds = seed_records(port, token, seed_bodies)
        outcome.setup["seed_seconds"] = round(seconds, 2)
        filler = max(0, size - len(seed_bodies))
        started = time.perf_counter()
        add_filler(target, pg_admin, data_dir, filler)
        outcome.setup["filler_records"] = filler
        outcome.setup["filler_seconds"] = round(time.perf_counter() - started, 2)
        log(f"{name}: seeded {len(seed_bodies)} records in {seconds:.1f} s, {filler} filler")
        status, body = http_call(port, "GET", PATH_PREFIX + record_key(1), token=token)
        if status != 200 or json.loads(body).get("data") is None:
            raise RuntimeError(f"GET of a seeded record answered {status}: {body[:200]!r}")
    except Exception as exc:  # whatever keeps this target from running: report, go on
        detail = " ".join(str(exc).split())
        outcome.status = "skipped" if "unusable" in detail else "failed"
        outcome.reason = detail[:600]
        log(f"{name}: {outcome.status}: {outcome.reason}")
    return target


def stop(target: Target) -> None:
    if target.server is not None:
        target.server.stop()
        if target.outcome is not None:
            target.outcome.setup["server_log_tail"] = target.server.tail(5)
    for held in reversed(target.cleanup):
        with contextlib.suppress(Exception):
            held.__exit__(None, None, None)


@dataclass
class PgDatabases:
    database_url: str  # as the service's role
    keyring_url: str
    admin_urls: tuple[str, str]  # as the owner (migrations, init)
    admin_conninfo: str  # the system database as the owner, for psycopg
    role: str
    server_version: str
    grant: Any = None


# What the service role may do (README: not the owner, not superuser, not BYPASSRLS).
_GRANTS = (
    "GRANT USAGE ON SCHEMA public TO {}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}",
)


@contextlib.contextmanager
def postgres_databases(admin_url: str) -> Iterator[PgDatabases]:
    """Two fresh databases and a non-superuser, non-BYPASSRLS login role for the service;
    all dropped afterwards. Names carry the process id and a random part."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)
    host = url.host or ""
    if host and host not in ("localhost", "::1") and not host.startswith("127."):
        raise RuntimeError(f"PostgreSQL unusable: host {host!r} is not a loopback address")
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    stem = f"hokan_bench_{os.getpid()}_{secrets.token_hex(3)}"
    names = (stem, f"{stem}_keyring")
    role = f"{stem}_app"
    try:
        admin = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        raise RuntimeError(f"PostgreSQL unusable at {admin_url}: {exc}") from exc
    created: list[str] = []
    role_made = False
    try:
        for name in names:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            created.append(name)
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS").format(sql.Identifier(role))
        )
        role_made = True

        def as_(database: str, user: str | None) -> str:
            u = url.set(drivername="postgresql+psycopg", database=database)
            if user:
                u = u.set(username=user, password=None)
            return u.render_as_string(hide_password=False)

        def grant() -> None:
            for name in names:
                db_url = url.set(drivername="postgresql", database=name)
                with psycopg.connect(db_url.render_as_string(hide_password=False)) as c:
                    ident = sql.Identifier(role)
                    for grant_sql in _GRANTS:
                        c.execute(sql.SQL(grant_sql).format(ident))

        yield PgDatabases(
            as_(names[0], role),
            as_(names[1], role),
            (as_(names[0], None), as_(names[1], None)),
            url.set(drivername="postgresql", database=names[0]).render_as_string(
                hide_password=False
            ),
            role,
            admin.info.parameter_status("server_version") or "?",
            grant,
        )
    finally:
        for name in created:
            try:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            except psycopg.Error as exc:
                log(f"hokan-postgresql: could not drop database {name}: {exc}")
        if role_made:
            with contextlib.suppress(psycopg.Error):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        admin.close()


def run_rounds(
    client: LoadClient, targets: list[Target], put_bodies: list[str], opts: Options
) -> None:
    """A/B rounds: each round measures every running target once per operation, the
    order rotating from round to round, so load from elsewhere hits all of them alike."""
    live = [t for t in targets if t.outcome and t.outcome.status == "ok" and t.server]
    for number in range(opts.rounds):
        for op in OPS:
            shift = (number * len(OPS) + OPS.index(op)) % max(1, len(live))
            for target in live[shift:] + live[:shift]:
                assert target.server is not None
                assert target.outcome is not None
                spec = LoadSpec(
                    port=target.server.port,
                    method=op,
                    token=target.token,
                    records=opts.records,
                    connections=opts.connections,
                    threads=opts.threads,
                    bodies=put_bodies,
                )
                scenario = measure(client, spec, target.server, opts, target.name)
                scenario["round"] = number + 1
                target.outcome.scenarios.append(scenario)
                log(
                    f"  round {number + 1} {target.name:<20} {op:<4} {scenario['rps']:>9.1f} "
                    f"req/s  p99 {scenario['p99_ms']:.2f} ms  "
                    f"{scenario['server_cpu_ms_per_request']:.3f} ms CPU/req"
                )
                if target.server.proc.poll() is not None:
                    target.outcome.status = "failed"
                    target.outcome.reason = f"exited during the run: {target.server.tail()}"


# --------------------------------------------------------------------------- report


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def summary(outcome: Outcome) -> dict[str, dict[str, Any]]:
    """Per operation: medians over the rounds."""
    out: dict[str, dict[str, Any]] = {}
    for op in OPS:
        runs = [s for s in outcome.scenarios if s["op"] == op]
        if not runs:
            continue
        out[op] = {
            "rounds": len(runs),
            "rps": round(_median([s["rps"] for s in runs]), 1),
            "p50_ms": round(_median([s["p50_ms"] for s in runs]), 2),
            "p99_ms": round(_median([s["p99_ms"] for s in runs]), 2),
            "errors": sum(s["non_2xx_3xx"] + sum(s["socket_errors"].values()) for s in runs),
            "server_cpu_pct": round(_median([s["server_cpu_pct"] for s in runs]), 1),
            "cpu_ms": round(_median([s["server_cpu_ms_per_request"] for s in runs]), 3),
            "client_cpu_pct": round(_median([s["client_cpu_pct"] for s in runs]), 1),
            "other_cpu_pct": round(_median([s["other_cpu_pct"] for s in runs]), 1),
        }
    return out


def ratios(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """Hokan / bare req/s per round (the bare run of the same round), median over rounds."""
    bare = next((o for o in outcomes if o.target == "bare" and o.status == "ok"), None)
    if bare is None:
        return []
    bare_rps = {(s["op"], s.get("round", 1)): s["rps"] for s in bare.scenarios}
    rows = []
    for outcome in outcomes:
        if outcome.backend is None or outcome.status != "ok":
            continue
        for op in OPS:
            per_round = [
                s["rps"] / bare_rps[(op, s.get("round", 1))]
                for s in outcome.scenarios
                if s["op"] == op and bare_rps.get((op, s.get("round", 1)))
            ]
            if not per_round:
                continue
            ratio = _median(per_round)
            rows.append(
                {
                    "target": outcome.target,
                    "op": op,
                    "ratio": round(ratio, 3),
                    "per_round": [round(r, 3) for r in per_round],
                    "goal": GOALS[op],
                    "meets_goal": ratio >= GOALS[op],
                }
            )
    return rows


def flatness(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """GET at the largest size against GET at the smallest, per engine (goal <= 1.2x)."""
    rows = []
    for backend in ("sqlite", "postgresql"):
        mine = [o for o in outcomes if o.backend == backend and o.status == "ok"]
        sized = sorted(mine, key=lambda o: int(o.setup.get("size", 0)))
        if len(sized) < 2:
            continue
        small, large = summary(sized[0]).get("GET"), summary(sized[-1]).get("GET")
        if not small or not large or not large["rps"]:
            continue
        rows.append(
            {
                "backend": backend,
                "small": sized[0].target,
                "large": sized[-1].target,
                "rps_small_over_large": round(small["rps"] / large["rps"], 3),
                "cpu_large_over_small": round(large["cpu_ms"] / max(small["cpu_ms"], 1e-9), 3),
                "goal": 1.2,
            }
        )
    return rows


def render_table(outcomes: Sequence[Outcome], meta: dict[str, Any]) -> str:
    ratio_of = {(r["target"], r["op"]): r for r in ratios(outcomes)}
    lines = [
        "Hokan records over HTTP vs bare Starlette (same client, same uvicorn settings)",
        f"  client  : {meta['client']} — {meta['connections']} connections, "
        f"{meta['client_threads']} thread(s); {meta['duration_s']} s measured after "
        f"{meta['warmup_s']} s warm-up per scenario, {meta['rounds']} interleaved round(s)",
        f"  server  : uvicorn {meta['uvicorn']} (loop {meta['loop']}, http {meta['http']}), "
        f"1 worker, on {meta['cpus']} CPUs ({meta['background_cpu_pct']}% busy before start)",
        f"  data    : {meta['records']} addressed records (~{meta['record_bytes']} B JSON each) "
        f"in tenants of {', '.join(str(n) for n in meta['sizes'])} records; "
        "GET and PUT (unconditional replace) on random addressed ids",
        "  PostgreSQL: the service connects as a role that is neither superuser nor BYPASSRLS",
    ]
    if meta["hokan_env"]:
        lines.append("  settings: " + " ".join(f"{k}={v}" for k, v in meta["hokan_env"].items()))
    if meta["server_cpus"]:
        lines.append(f"  pinning : every server process on CPU(s) {meta['server_cpus']}")
    lines.append("")
    header = (
        f"{'target':<23}{'op':<5}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'srv CPU':>9}{'ms CPU/req':>11}{'cli CPU':>9}{'oth CPU':>9}{'x bare':>8}  goal"
    )
    lines += [header, "-" * len(header)]
    for outcome in outcomes:
        if outcome.status != "ok":
            lines.append(f"{outcome.target:<23}{outcome.status.upper()}: {outcome.reason}")
            continue
        for op, m in summary(outcome).items():
            r = ratio_of.get((outcome.target, op))
            ratio = f"{r['ratio']:.3f}" if r else "-"
            goal = f">= {r['goal']:.2f} {'met' if r['meets_goal'] else 'MISSED'}" if r else ""
            lines.append(
                f"{outcome.target:<23}{op:<5}{m['rps']:>10.1f}{m['p50_ms']:>9.2f}"
                f"{m['p99_ms']:>9.2f}{m['errors']:>8}{m['server_cpu_pct']:>8.0f}%"
                f"{m['cpu_ms']:>11.3f}{m['client_cpu_pct']:>8.0f}%{m['other_cpu_pct']:>8.0f}%"
                f"{ratio:>8}  {goal}".rstrip()
            )
    for row in flatness(outcomes):
        verdict = "met" if row["rps_small_over_large"] <= row["goal"] else "MISSED"
        lines.append(
            f"flat cost {row['backend']}: GET req/s {row['small']} / {row['large']} = "
            f"{row['rps_small_over_large']:.3f} (goal <= {row['goal']}: {verdict}); "
            f"CPU/req large / small = {row['cpu_large_over_small']:.3f}"
        )
    lines.append("")
    lines.append(
        "Medians over the rounds; x bare: median of per-round ratios against the bare run of\n"
        "the same round. srv/cli/oth CPU: the server process, the load client and everything\n"
        "else (PostgreSQL, other jobs), % of one core; ms CPU/req: server CPU per request."
    )
    if any(s.get("profile") for o in outcomes for s in o.scenarios):
        lines.append("Profiled with py-spy during the measured window: numbers above include")
        lines.append("its sampling overhead; see the profile summary below.")
        for outcome in outcomes:
            for s in outcome.scenarios:
                profile = s.get("profile")
                if not profile or "samples" not in profile:
                    continue
                lines.append("")
                lines.append(
                    f"profile {outcome.target} {s['op']} ({meta['profile']} threads, "
                    f"{profile['samples']} samples)"
                )
                packages = ", ".join(f"{n} {p}%" for n, p in profile["self_by_package_pct"][:8])
                lines.append(f"  self time by package: {packages}")
                lines.append("  top self time:")
                lines += [f"    {p:>5.1f}%  {n}" for n, p in profile["self_top_pct"][:10]]
    return "\n".join(lines)


def library_versions() -> dict[str, str]:
    import uvicorn

    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    try:
        import httptools  # noqa: F401

        http_impl = "httptools"
    except ImportError:
        http_impl = "h11"
    return {"uvicorn": uvicorn.__version__, "loop": loop, "http": http_impl}


def git_commit() -> str | None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if done.returncode == 0:
            dirty = subprocess.run(
                ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout.strip()
            return done.stdout.strip() + ("-dirty" if dirty else "")
    return None


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Hokan records over HTTP vs a bare Starlette app (see bench/README.md).",
    )
    parser.add_argument("--duration", type=int, help="measured seconds per scenario (default 10)")
    parser.add_argument("--warmup", type=int, help="warm-up seconds per scenario (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--client-threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--records", type=int, help="records seeded and addressed (default 1000)")
    parser.add_argument(
        "--sizes",
        help="records each tenant holds, comma-separated: one Hokan server per size and "
        "backend, the addressed records plus never-read filler (default 1000,100000)",
    )
    parser.add_argument("--rounds", type=int, help="interleaved A/B rounds (default 3)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 s per scenario, 1 s warm-up, 300 records, one size, one round",
    )
    parser.add_argument(
        "--backend",
        action="append",
        choices=["sqlite", "postgresql"],
        help="run only this Hokan backend (repeatable; default both)",
    )
    parser.add_argument(
        "--client", choices=["auto", "wrk", "python"], default="auto", help="load client"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("HOKAN_BENCH_PG_URL", DEFAULT_PG_URL),
        help="PostgreSQL admin URL on loopback (creates and drops two databases)",
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="active",
        choices=["active", "gil"],
        help="also sample the server with py-spy during each measured window: 'active' "
        "threads (default) or only the thread holding the GIL ('gil')",
    )
    parser.add_argument(
        "--hokan-env",
        action="append",
        default=[],
        metavar="HOKAN_NAME=VALUE",
        help="extra setting for the Hokan servers, e.g. HOKAN_DB_POOL_SIZE=40 (repeatable)",
    )
    parser.add_argument(
        "--server-cpus",
        metavar="LIST",
        help="pin every server process to these CPUs with taskset, e.g. 1 (default: unpinned)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated records")
    parser.add_argument("--output", type=Path, help="JSON results file (default bench/results/)")
    args = parser.parse_args(argv)
    args.duration = args.duration or (3 if args.quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    args.records = args.records or (300 if args.quick else 1000)
    args.rounds = args.rounds or (1 if args.quick else 3)
    try:
        sizes = [
            int(x) for x in (args.sizes or ("300" if args.quick else "1000,100000")).split(",")
        ]
    except ValueError:
        parser.error("--sizes wants numbers such as 1000,100000")
    if not sizes or min(sizes) < args.records or max(sizes) > 2_000_000:
        parser.error("--sizes: each at least --records, at most 2000000")
    args.sizes = sorted(set(sizes))
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be 1..20")
    if not 1 <= args.duration <= 600 or not 0 <= args.warmup <= 120:
        parser.error("--duration must be 1..600 s and --warmup 0..120 s")
    if not 1 <= args.connections <= 1024 or not 1 <= args.client_threads <= args.connections:
        parser.error("--connections must be 1..1024 and --client-threads 1..connections")
    if not 1 <= args.records <= 99_999:
        parser.error("--records must be 1..99999")
    if args.server_cpus is not None:
        if not re.fullmatch(r"[0-9,-]+", args.server_cpus):
            parser.error("--server-cpus wants a CPU list such as 1 or 0-1")
        if shutil.which("taskset") is None:
            parser.error("--server-cpus needs taskset (util-linux)")
    extra: dict[str, str] = {}
    for item in args.hokan_env:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("HOKAN_"):
            parser.error(f"--hokan-env wants HOKAN_NAME=VALUE, got {item!r}")
        extra[name] = value
    args.hokan_env = extra
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    client = pick_client(args.client)
    backends = args.backend or ["sqlite", "postgresql"]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    py_spy = find_py_spy() if args.profile else None
    if args.profile and py_spy is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    profile_dir = RESULTS_DIR / f"profile-{stamp}" if args.profile else None
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)

    seed_data = [make_record(i, args.seed) for i in range(1, args.records + 1)]
    seed_bodies = [encode(r).encode() for r in seed_data]
    put_bodies = [
        encode(make_record(args.records + i, args.seed + 1)) for i in range(PUT_BODY_VARIANTS)
    ]
    record_bytes = round(sum(len(b) for b in seed_bodies) / len(seed_bodies))
    meta: dict[str, Any] = {
        "timestamp": stamp,
        "git": git_commit(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "client": f"{client.name} ({client.description})",
        "connections": args.connections,
        "client_threads": args.client_threads if client.name == "wrk" else 1,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "records": args.records,
        "sizes": args.sizes,
        "rounds": args.rounds,
        "record_bytes": record_bytes,
        "profile": args.profile,
        "hokan_env": args.hokan_env,
        "server_cpus": args.server_cpus,
        "background_cpu_pct": background_cpu_pct(),
        **library_versions(),
    }
    log(f"client: {meta['client']}; {args.connections} connections; {args.duration} s per scenario")
    if meta["background_cpu_pct"] > BUSY_WARNING_PCT:
        log(
            f"warning: the machine is already {meta['background_cpu_pct']}% busy before start; "
            "results will be noisy"
        )

    with tempfile.TemporaryDirectory(prefix="hokan-bench-") as tmp:
        opts = Options(
            duration=args.duration,
            warmup=args.warmup,
            connections=args.connections,
            threads=args.client_threads,
            records=args.records,
            profile_dir=profile_dir,
            profile_mode=args.profile or "active",
            py_spy=py_spy,
            workdir=Path(tmp),
            hokan_env=args.hokan_env,
            server_cpus=args.server_cpus,
            rounds=args.rounds,
        )
        targets = [start_bare(opts)]
        try:
            for backend in ("sqlite", "postgresql"):
                if backend not in backends:
                    continue
                for size in args.sizes:
                    target = start_hokan(backend, size, seed_bodies, opts, args.pg_url)
                    assert target.outcome is not None
                    target.outcome.setup["size"] = size
                    targets.append(target)
            run_rounds(client, targets, put_bodies, opts)
        finally:
            for target in targets:
                stop(target)
        outcomes = [t.outcome for t in targets if t.outcome is not None]

    report = {
        "meta": meta,
        "goals": GOALS,
        "targets": [
            {
                "target": o.target,
                "backend": o.backend,
                "status": o.status,
                "reason": o.reason,
                "setup": o.setup,
                "scenarios": o.scenarios,
            }
            for o in outcomes
        ],
        "summary": {o.target: summary(o) for o in outcomes},
        "ratios": ratios(outcomes),
        "flat_cost": flatness(outcomes),
    }
    output = args.output or RESULTS_DIR / f"records-{stamp}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(render_table(outcomes, meta))
    print(f"\nresults: {output}")
    return 1 if any(o.status == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
