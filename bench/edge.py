"""Edge benchmark (issue 6: terminal certificates and network admission).

1. Requests/s of an authenticated GET (``/api/v1/tenant`` with an API token)
   through nginx with mTLS (deploy/nginx/hokan.conf) vs plain HTTP straight to
   the same ``hokan serve`` process, in the same run: the ratio.
2. TLS handshake cost against that nginx: full handshakes (client certificate
   verified) vs resumed sessions.
3. Cost of the admission checks (trusted-proxy parsing of X-Forwarded-For and
   the geo lookup) per request, against the time of the same request through the
   app without them: goal ≤ 5 %.

SQLite, one server worker. Needs nginx (Debian: apt-get install nginx-light);
without it parts 1 and 2 are reported as skipped.
Run: ``make bench`` or ``.venv/bin/python bench/edge.py [--duration S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hokan import migrations
from hokan.app import create_app
from hokan.certificates import service
from hokan.certificates.ca import pem_pair
from hokan.edge.admission import AdmissionMiddleware
from hokan.edge.terminal import TerminalIdentityMiddleware
from hokan.identity import tokens
from hokan.kit import crypto
from hokan.models import Product
from hokan.principals.principal import SYSTEM, Scope
from hokan.runtime import Runtime
from hokan.settings import Settings
from hokan.tenants.schemas import TenantCreate
from run import Server, free_port

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def log(message: str) -> None:
    print(f"[edge] {message}", file=sys.stderr, flush=True)


# -- set-up -------------------------------------------------------------------


def prepare(tmp: Path, key: str) -> tuple[Runtime, str, dict[str, Path]]:
    # The IPS is off in every measured app alike: one client address sending thousands
    # of requests would otherwise be rate limited (429) and banned, as in production.
    settings = Settings(
        env="test",
        data_dir=tmp / "data",
        master_key=key,
        trusted_proxies="127.0.0.1/32",
        ips_enabled=False,
    )
    rt = Runtime(settings)
    (tmp / "data").mkdir()
    migrations.upgrade("system", rt.db.engine)
    migrations.upgrade("keyring", rt.keyring_db.engine)
    rt.keyring.verify_master(initialise=True)
    rt.ca.init()
    tls = tmp / "tls"
    tls.mkdir()
    with rt.db.session(write=True, system=True) as s:
        tenant = rt.tenants.create(
            s, TenantCreate(code="bench", name="ベンチ株式会社", product=Product.staff), SYSTEM
        )
        token = tokens.issue(
            s, tenant.id, "bench", scopes=[Scope.records_read], days=30, actor=SYSTEM
        ).secret
        issued = service.issue(s, rt.ca, tenant, "bench-pc", 30, SYSTEM, password="bench-bench-1")
        (tls / "crl.pem").write_bytes(service.crl(s, rt.ca, 30))
    from cryptography.hazmat.primitives.serialization import pkcs12

    k, c, _ = pkcs12.load_key_and_certificates(issued.pkcs12, b"bench-bench-1")
    client_pem, client_key = pem_pair(c, k)  # type: ignore[arg-type]
    server_pem, server_key = pem_pair(*rt.ca.issue_server(["127.0.0.1"], 30))
    files = {
        "client.pem": client_pem,
        "client.key": client_key,
        "server.pem": server_pem,
        "server.key": server_key,
        "client-ca.pem": rt.ca.certificate_pem(),
    }
    for name, data in files.items():
        (tls / name).write_bytes(data)
    return rt, token, {name.split(".")[0] + name[-4:]: tls / name for name in files} | {"dir": tls}


def nginx_conf(work: Path, tls: Path, port: int, app_port: int) -> Path:
    site = (ROOT / "deploy" / "nginx" / "hokan.conf").read_text()
    for old, new in {
        "/etc/hokan/tls/": f"{tls}/",
        "server 127.0.0.1:8080;": f"server 127.0.0.1:{app_port};",
        "    listen 443 ssl;\n": f"    listen 127.0.0.1:{port} ssl;\n",
        "    listen [::]:443 ssl;\n": "",
        "    listen 80;\n": f"    listen 127.0.0.1:{free_port()};\n",
        "    listen [::]:80;\n": "",
    }.items():
        site = site.replace(old, new)
    (work / "hokan.conf").write_text(site)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / name).mkdir(exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""
    temp = " ".join(f"{n}_temp_path {work}/{n};" for n in ("proxy", "fastcgi", "uwsgi", "scgi"))
    (work / "nginx.conf").write_text(
        f"{user}\nworker_processes 1;\ndaemon off;\npid {work}/nginx.pid;\n"
        f"error_log {work}/error.log warn;\nevents {{ worker_connections 256; }}\n"
        f"http {{ access_log off; client_body_temp_path {work}/body; {temp}\n"
        f"include {work}/hokan.conf; }}\n"
    )
    return work / "nginx.conf"


def wait_port(port: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


# -- 1. throughput ------------------------------------------------------------


def load(
    url: str, headers: dict[str, str], verify: Any, seconds: float, connections: int
) -> dict[str, float]:
    """Closed-loop GETs on keep-alive connections; requests/s and latency percentiles."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    start_at = time.monotonic() + 0.5
    stop_at = start_at + seconds

    def worker(i: int) -> None:
        with httpx.Client(verify=verify, timeout=10, headers=headers) as c:
            c.get(url)  # connect (and handshake) outside the window
            while time.monotonic() < start_at:
                time.sleep(0.001)
            while (now := time.monotonic()) < stop_at:
                r = c.get(url)
                latencies[i].append(time.monotonic() - now)
                if r.status_code != 200:
                    errors[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = sorted(x for part in latencies for x in part)
    return {
        "req_s": len(flat) / seconds,
        "p50_ms": flat[len(flat) // 2] * 1000 if flat else 0.0,
        "p99_ms": flat[int(len(flat) * 0.99)] * 1000 if flat else 0.0,
        "errors": float(sum(errors)),
    }


# -- 2. handshakes ------------------------------------------------------------


def handshakes(port: int, ctx: ssl.SSLContext, n: int) -> dict[str, float]:
    """Mean ms of TCP connect + TLS handshake (client certificate verified by nginx),
    full vs resumed; one request per connection, outside the timing (TLS 1.3 hands
    out the session only after the handshake)."""
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

    def once(session: ssl.SSLSession | None) -> tuple[float, ssl.SSLSession | None, bool]:
        started = time.perf_counter()
        raw = socket.create_connection(("127.0.0.1", port))
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session) as tls:
            took = time.perf_counter() - started
            tls.sendall(request)
            while tls.recv(65536):
                pass
            return took, tls.session, tls.session_reused

    full = [once(None)[0] for _ in range(n)]
    _, saved, _ = once(None)
    resumed, reused = [], 0
    for _ in range(n):
        took, new, was_reused = once(saved)
        resumed.append(took)
        reused += was_reused
        saved = new or saved
    return {
        "full_ms": statistics.median(full) * 1000,
        "resumed_ms": statistics.median(resumed) * 1000,
        "resumed_fraction": reused / n,
    }


# -- 3. admission cost ----------------------------------------------------------


async def _asgi_get(app: Any, path: str, headers: list[tuple[bytes, bytes]], peer: str) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": (peer, 40000),
        "server": ("127.0.0.1", 8080),
        "state": {},
    }
    await app(scope, receive, send)
    return status


def admission_cost(
    rt: Runtime, token: str, cert_pem: bytes, requests: int, rounds: int
) -> dict[str, float]:
    """Per-request µs of the admission layer alone (a trusted proxy's X-Forwarded-For
    with two hops, a Japanese client), and A/B of the app with and without it; also
    the terminal layer alone with a forwarded certificate (cached parse, fresh lookup)."""
    headers = [
        (b"authorization", f"Bearer {token}".encode()),
        (b"x-forwarded-for", b"8.8.8.8, 133.1.1.1"),
        (b"host", b"127.0.0.1"),
    ]

    async def nothing(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    cert_headers = [
        *headers,
        (b"x-client-cert", quote(cert_pem.decode()).encode()),
        (b"x-client-verify", b"SUCCESS"),
    ]

    async def timed(
        app: Any, peer: str, n: int, sent: list[tuple[bytes, bytes]] = headers
    ) -> float:
        started = time.perf_counter()
        for _ in range(n):
            status = await _asgi_get(app, "/api/v1/tenant", list(sent), peer)
            assert status == 200, status  # the client 133.1.1.1 (from the header) is admitted
        return (time.perf_counter() - started) / n

    loop = asyncio.new_event_loop()
    try:
        alone = AdmissionMiddleware(nothing, rt)
        n_micro = requests * 20
        bare, layer = [], []
        for _ in range(rounds):
            bare.append(loop.run_until_complete(timed(nothing, "127.0.0.1", n_micro)))
            layer.append(loop.run_until_complete(timed(alone, "127.0.0.1", n_micro)))
        layer_us = (statistics.median(layer) - statistics.median(bare)) * 1e6
        terminal = TerminalIdentityMiddleware(nothing, rt)
        with_cert = [
            loop.run_until_complete(timed(terminal, "127.0.0.1", requests, cert_headers))
            for _ in range(rounds)
        ]
        terminal_us = (statistics.median(with_cert) - statistics.median(bare)) * 1e6

        with_app = create_app(runtime=rt)
        without_app = create_app(runtime=rt)
        without_app.user_middleware = [
            m for m in without_app.user_middleware if m.cls is not AdmissionMiddleware
        ]
        with_s, without_s = [], []
        loop.run_until_complete(timed(with_app, "127.0.0.1", 50))  # warm both
        loop.run_until_complete(timed(without_app, "127.0.0.1", 50))
        for i in range(rounds):  # interleaved A/B, order alternating: drift hits both alike
            pair = [(with_app, "127.0.0.1", with_s), (without_app, "127.0.0.1", without_s)]
            for app, peer, into in pair if i % 2 == 0 else pair[::-1]:
                into.append(loop.run_until_complete(timed(app, peer, requests)))
    finally:
        loop.close()
    request_us = statistics.median(without_s) * 1e6
    return {
        "layer_us": layer_us,
        "request_us": request_us,
        "layer_share": layer_us / request_us,
        "terminal_us": terminal_us,
        "ab_with_us": statistics.median(with_s) * 1e6,
        "ab_without_us": request_us,
        "ab_share": statistics.median(with_s) / statistics.median(without_s) - 1,
    }


# -- main -----------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per load scenario")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--handshakes", type=int, default=150)
    parser.add_argument("--requests", type=int, default=300, help="per A/B round (part 3)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    out: dict[str, Any] = {"settings": vars(args)}
    with tempfile.TemporaryDirectory(prefix="hokan-edge-bench-") as tmp_name:
        tmp = Path(tmp_name)
        key = crypto.b64encode_key(crypto.random_key())
        rt, token, files = prepare(tmp, key)
        auth = {"Authorization": f"Bearer {token}"}
        log("part 3: admission cost (in process)")
        cert_pem = files["client.pem"].read_bytes()
        out["admission"] = admission_cost(rt, token, cert_pem, args.requests, args.rounds)
        rt.close()
        if nginx is None:
            out["nginx"] = "skipped: nginx is not installed"
        else:
            app_port, tls_port = free_port(), free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("HOKAN_")} | {
                "HOKAN_ENV": "test",
                "HOKAN_DATA_DIR": str(tmp / "data"),
                "HOKAN_MASTER_KEY": key,
                "HOKAN_TRUSTED_PROXIES": "127.0.0.1/32",
                "HOKAN_IPS_ENABLED": "false",
                "HOKAN_LOG_LEVEL": "WARNING",
            }
            hokan = str(Path(sys.executable).with_name("hokan"))
            server = Server(
                "hokan", [hokan, "serve", "--port", str(app_port)], env, tmp / "serve.log", app_port
            )
            work = tmp / "nginx"
            work.mkdir()
            conf = nginx_conf(work, files["dir"], tls_port, app_port)
            front = subprocess.Popen(
                [nginx, "-c", str(conf), "-p", str(work)], stderr=subprocess.DEVNULL
            )
            try:
                server.wait_ready()
                wait_port(tls_port)
                ctx = ssl.create_default_context(cafile=str(files["client-ca.pem"]))
                ctx.load_cert_chain(str(files["client.pem"]), str(files["client.key"]))
                log("part 1: plain HTTP straight to the app")
                plain = load(
                    f"http://127.0.0.1:{app_port}/api/v1/tenant",
                    auth,
                    False,
                    args.duration,
                    args.connections,
                )
                log("part 1: through nginx with mTLS")
                mtls = load(
                    f"https://127.0.0.1:{tls_port}/api/v1/tenant",
                    auth,
                    ctx,
                    args.duration,
                    args.connections,
                )
                out["throughput"] = {
                    "plain": plain,
                    "mtls": mtls,
                    "ratio": mtls["req_s"] / plain["req_s"],
                }
                log("part 2: handshakes")
                out["handshakes"] = handshakes(tls_port, ctx, args.handshakes)
            finally:
                front.terminate()
                front.wait(timeout=10)
                server.stop()
    print(render(out))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"edge-{stamp}.json").write_text(json.dumps(out, indent=2))
    return 0


def render(out: dict[str, Any]) -> str:
    a = out["admission"]
    goal = "met" if a["layer_share"] <= 0.05 else "MISSED"
    lines = [
        f"admission layer alone   {a['layer_us']:8.1f} µs/request"
        f" = {a['layer_share'] * 100:5.2f} % of a {a['request_us'] / 1000:.2f} ms"
        f" authenticated GET (goal <= 5 %: {goal})",
        f"A/B app with/without    {a['ab_with_us'] / 1000:8.3f} / {a['ab_without_us'] / 1000:.3f}"
        f" ms = {a['ab_share'] * 100:+5.2f} % (median of interleaved rounds; noisy)",
        f"terminal layer alone    {a['terminal_us']:8.1f} µs/request (forwarded certificate:"
        " cached parse and CA check, fresh revocation lookup)",
    ]
    if "throughput" not in out:
        return "\n".join([*lines, f"nginx parts: {out.get('nginx')}"])
    t = out["throughput"]
    for name, label in (("plain", "plain HTTP -> app"), ("mtls", "nginx mTLS -> app")):
        r = t[name]
        lines.append(
            f"{label:22}  {r['req_s']:8.1f} req/s  p50 {r['p50_ms']:6.2f} ms"
            f"  p99 {r['p99_ms']:6.2f} ms  errors {int(r['errors'])}"
        )
    lines.append(f"mTLS / plain ratio      {t['ratio']:8.3f}")
    h = out["handshakes"]
    lines.append(
        f"TCP connect + TLS handshake (median): full {h['full_ms']:.2f} ms,"
        f" resumed {h['resumed_ms']:.2f} ms ({h['resumed_fraction'] * 100:.0f} % resumed)"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
