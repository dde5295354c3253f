"""ModSecurity v3 + the OWASP CRS in nginx, as deploy/nginx/modsecurity configures it.

Used by tests/edge/test_mtls.py and test_modsecurity.py (the production front with
mTLS) and by bench/waf.py (a plain-HTTP front, with and without ModSecurity, to
compare detection and measure its CPU per request). Nothing here is Hokan's code:
it copies the deploy files, reads nginx's error log and turns a
corpus :class:`~tests.edge.waf_corpus.corpus.Probe` into an HTTP request.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from tests.edge.waf_corpus.corpus import Probe

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy" / "nginx" / "modsecurity"
DEPLOYED_AT = "/etc/hokan/nginx/modsecurity/"
MODULE = Path("/usr/lib/nginx/modules/ngx_http_modsecurity_module.so")
CRS_RULES = Path("/usr/share/modsecurity-crs/rules")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def missing() -> str | None:
    """Why the front cannot run here, or None."""
    if NGINX is None:
        return "nginx is not installed (apt-get install nginx-light)"
    if not MODULE.exists():
        return (
            "ModSecurity for nginx is not installed (apt-get install libnginx-mod-http-modsecurity)"
        )
    if not CRS_RULES.is_dir():
        return "the OWASP CRS is not installed (apt-get install modsecurity-crs)"
    return None


def load_module() -> str:
    """The main-context line Debian's /etc/nginx/modules-enabled adds."""
    return f"load_module {MODULE};"


def install_rules(work: Path) -> Path:
    """deploy/nginx/modsecurity copied under ``work``; the directory."""
    target = work / "modsecurity"
    shutil.copytree(DEPLOY, target, dirs_exist_ok=True)
    return target


def rules_logged(error_log: Path, request_id: str) -> set[str]:
    """The CRS rule ids nginx's error log (level info) records for one request."""
    ids: set[str] = set()
    for line in error_log.read_text(errors="replace").splitlines():
        if f'[unique_id "{request_id}"]' in line:
            ids.update(re.findall(r'\[id "(\d+)"\]', line))
    return ids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _main_conf(work: Path, body: str) -> Path:
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / name).mkdir(exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(
        f"""
{load_module()}
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
{body}
}}
"""
    )
    return conf


def plain_front_conf(
    work: Path, upstream: int, fronts: dict[str, tuple[int, bool]], instant: bool = False
) -> Path:
    """Plain-HTTP fronts to 127.0.0.1:``upstream``: ``{name: (port, modsecurity on?)}``.

    The ModSecurity server carries the same directives as deploy/nginx/hokan.conf.
    ``instant``: the same nginx serves ``upstream`` too, answering 200 at once."""
    rules = install_rules(work)
    servers = [
        f"upstream app {{ server 127.0.0.1:{upstream}; keepalive 32; }}",
    ]
    if instant:
        servers.append(
            f"server {{ listen 127.0.0.1:{upstream}; modsecurity off; "
            "location / { return 200 '{}'; } }"
        )
    for port, waf in fronts.values():
        modsec = (
            f"""modsecurity on;
        modsecurity_rules_file {rules}/hokan-modsecurity.conf;
        modsecurity_transaction_id "$request_id";
        error_page 403 = @waf_blocked;"""
            if waf
            else "modsecurity off;"
        )
        servers.append(
            f"""
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 2m;
        {modsec}
        location @waf_blocked {{
            default_type application/json;
            return 403 '{{"error":"waf_blocked","request_id":"$request_id"}}';
        }}
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}"""
        )
    return _main_conf(work, "\n".join(servers))


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    work: Path

    def worker_cpu_seconds(self) -> float:
        """CPU (user + system) of nginx's worker processes so far."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for child in (
            Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        ):
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        return total


@contextmanager
def running(conf: Path, ports: list[int]) -> Iterator[Running]:
    """nginx with ``conf`` until the block ends; fails if a port does not open."""
    from tests.conftest import wait_port

    assert NGINX is not None
    work = conf.parent
    check = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(work)], capture_output=True)
    if check.returncode != 0:
        raise RuntimeError(check.stderr.decode())
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(work)], stderr=subprocess.PIPE)
    try:
        for port in ports:
            if not wait_port(port, proc=proc):
                log = (work / "error.log").read_text()[-2000:]
                raise RuntimeError(f"nginx did not start: {log}")
        yield Running(proc, work)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


def request_of(probe: Probe) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """(method, path?query, headers, body) of a corpus probe, as a client sends it."""
    scope = probe.scope
    path = scope["raw_path"].decode("latin-1")
    if not path.isascii():
        path = quote(path, safe="/%")
    query = scope["query_string"].decode("ascii")
    target = f"{path}?{query}" if query else path
    headers = [
        (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k != b"host"
    ]
    if probe.content_type and not any(k == "content-type" for k, _ in headers):
        headers.append(("content-type", probe.content_type))
    return scope["method"], target, headers, probe.body


def refused_by_front(status: int, body: bytes) -> bool:
    """The front's own refusal (its @waf_blocked answer carries a request id)."""
    return status == 403 and b'"waf_blocked"' in body and b'"request_id"' in body
