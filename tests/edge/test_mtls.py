"""The real thing (EDGE-1): nginx from Debian with deploy/nginx/hokan.conf in front of
the app, and 'hokan serve --tls', each on a loopback port with Hokan's CA, against
httpx clients holding no certificate, another CA's, a revoked, an expired, another
tenant's and a valid one."""

from __future__ import annotations

import logging
import os
import socket
import ssl
import subprocess
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from hokan.app import create_app
from hokan.certificates import service
from hokan.certificates.ca import pem_pair
from hokan.edge import tls as edge_tls
from hokan.models import AuditEvent
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests import pki
from tests.conftest import LiveServer, TenantHandle, wait_port
from tests.edge.waf_corpus import front

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.edge_settings(trusted_proxies="127.0.0.1/32")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Pki:
    dir: Path
    a: TenantHandle
    b: TenantHandle
    valid: pki.Issued
    other_tenant: pki.Issued
    expired: pki.Issued
    revoked_early: pki.Issued  # revoked before the front started: in its CRL
    revoked_late: pki.Issued  # revoked while running: only the app knows
    foreign: pki.Issued
    server_cert: Path
    server_key: Path
    client_ca: Path
    crl: Path


@pytest.fixture
def mtls_pki(runtime: Runtime, make_tenant: Callable[..., TenantHandle], tmp_path: Path) -> Pki:
    pki.init_ca(runtime)
    a, b = make_tenant(), make_tenant()
    d = tmp_path / "tls"
    p = Pki(
        d,
        a,
        b,
        pki.issue(runtime, a.id, d, "pc-valid"),
        pki.issue(runtime, b.id, d, "pc-b"),
        pki.issue_expired(runtime, a.id, d),
        pki.issue(runtime, a.id, d, "pc-revoked-early"),
        pki.issue(runtime, a.id, d, "pc-revoked-late"),
        pki.foreign(d),
        d / "server.pem",
        d / "server.key",
        d / "client-ca.pem",
        d / "crl.pem",
    )
    cert, key = runtime.ca.issue_server(["127.0.0.1", "localhost"], 30)
    cert_pem, key_pem = pem_pair(cert, key)
    p.server_cert.write_bytes(cert_pem)
    p.server_key.write_bytes(key_pem)
    p.client_ca.write_bytes(runtime.ca.certificate_pem())
    with runtime.db.session(write=True, system=True) as s:
        service.revoke(s, service.get(s, p.revoked_early.serial), SYSTEM, "lost")
        p.crl.write_bytes(service.crl(s, runtime.ca, 30))
    return p


def _client(p: Pki, cert: pki.Issued | None) -> httpx.Client:
    ctx = ssl.create_default_context(cafile=str(p.client_ca))  # the server cert is from Hokan's CA
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert_file), str(cert.key_file))
    return httpx.Client(verify=ctx, timeout=10)


def _revoke_late(runtime: Runtime, p: Pki) -> None:
    with runtime.db.session(write=True, system=True) as s:
        service.revoke(s, service.get(s, p.revoked_late.serial), SYSTEM, "stolen")


def _nginx_conf(p: Pki, work: Path, port: int, redirect_port: int, app_port: int) -> Path:
    site = (ROOT / "deploy" / "nginx" / "hokan.conf").read_text()
    rules = front.install_rules(work)  # ModSecurity + CRS (tests/edge/test_modsecurity.py)
    replacements = {
        "/etc/hokan/tls/": f"{p.dir}/",
        front.DEPLOYED_AT: f"{rules}/",
        "server 127.0.0.1:8080;": f"server 127.0.0.1:{app_port};",
        "    listen 443 ssl;\n": f"    listen 127.0.0.1:{port} ssl;\n",
        "    listen [::]:443 ssl;\n": "",
        "    listen 80;\n": f"    listen 127.0.0.1:{redirect_port};\n",
        "    listen [::]:80;\n": "",
    }
    for old, new in replacements.items():
        assert old in site, f"deploy/nginx/hokan.conf no longer contains {old!r}"
        site = site.replace(old, new)
    (work / "hokan.conf").write_text(site)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / name).mkdir(exist_ok=True)
    main = f"""
{front.load_module()}
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log info;
events {{ worker_connections 128; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    include {work}/hokan.conf;
}}
"""
    conf = work / "nginx.conf"
    conf.write_text(main)
    return conf


@pytest.fixture
def nginx_front(mtls_pki: Pki, live_server: LiveServer, tmp_path: Path) -> Iterator[str]:
    if (why := front.missing()) is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{why}; .ci/run installs it")
        pytest.skip(why)
    assert front.NGINX is not None
    work = tmp_path / "nginx"
    work.mkdir()
    port, redirect_port = _free_port(), _free_port()
    app_port = int(live_server.url.rsplit(":", 1)[1])
    conf = _nginx_conf(mtls_pki, work, port, redirect_port, app_port)
    check = subprocess.run(
        [front.NGINX, "-t", "-c", str(conf), "-p", str(work)], capture_output=True
    )
    assert check.returncode == 0, check.stderr.decode()
    proc = subprocess.Popen([front.NGINX, "-c", str(conf), "-p", str(work)], stderr=subprocess.PIPE)
    try:
        if not wait_port(port):
            pytest.fail(f"nginx did not start: {(work / 'error.log').read_text()[-2000:]}")
        yield f"https://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture
def tls_server(mtls_pki: Pki, runtime: Runtime) -> Iterator[str]:
    """The app as 'hokan serve --tls' runs it (same uvicorn options), on a loopback port."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(runtime=runtime),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        **edge_tls.uvicorn_options(
            mtls_pki.server_cert, mtls_pki.server_key, mtls_pki.client_ca, mtls_pki.crl
        ),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not wait_port(port):
        pytest.fail("TLS server did not start")
    yield f"https://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _get(p: Pki, url: str, cert: pki.Issued | None, headers: dict[str, str]) -> httpx.Response:
    with _client(p, cert) as c:
        return c.get(f"{url}/api/v1/tenant", headers=headers)


def _fingerprints(runtime: Runtime, action: str) -> list[str]:
    with runtime.db.session(system=True) as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return [r.cert_fingerprint for r in rows]


def _other_tenants_terminal_is_refused(p: Pki, url: str) -> None:
    """B's terminal with A's token, and A's terminal with B's token."""
    for cert, headers in ((p.other_tenant, p.a.headers), (p.valid, p.b.headers)):
        r = _get(p, url, cert, headers)
        assert (r.status_code, r.json()["error"]) == (403, "certificate_tenant_mismatch")


def _revoked_while_running_is_refused_at_once(p: Pki, url: str, runtime: Runtime) -> None:
    """Revoked while the front runs (its CRL does not know yet): the app refuses at once."""
    assert _get(p, url, p.revoked_late, p.a.headers).status_code == 200
    _revoke_late(runtime, p)
    r = _get(p, url, p.revoked_late, p.a.headers)
    assert (r.status_code, r.json()["error"]) == (403, "certificate_revoked")
    reads = set(_fingerprints(runtime, "tenant.read"))
    assert reads == {p.valid.fingerprint, p.revoked_late.fingerprint}


def test_nginx_front_admits_only_valid_terminals_of_the_callers_tenant(
    nginx_front: str, mtls_pki: Pki, runtime: Runtime
) -> None:
    p, url = mtls_pki, nginx_front
    a = p.a.headers
    refused = {
        "certificate_required": None,
        "certificate_unknown": p.foreign,
        "certificate_expired": p.expired,
        "certificate_revoked": p.revoked_early,
    }
    for code, cert in refused.items():
        r = _get(p, url, cert, a)
        assert (r.status_code, r.json()["error"]) == (403, code), code
        assert r.headers["strict-transport-security"].startswith("max-age=")
    ok = _get(p, url, p.valid, a)
    assert ok.status_code == 200 and ok.json()["id"] == str(p.a.id)
    assert ok.headers["content-security-policy"].startswith("default-src 'none'")
    _other_tenants_terminal_is_refused(p, url)
    # A caller's own certificate headers never reach the app: nginx sets them.
    forged = {**a, "X-Client-Cert": "forged", "X-Forwarded-For": "8.8.8.8"}
    assert _get(p, url, p.valid, forged).status_code == 200
    _revoked_while_running_is_refused_at_once(p, url, runtime)
    # TLS below 1.2 is not offered.
    ctx = ssl.create_default_context(cafile=str(p.client_ca))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # that is the point
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with pytest.raises(httpx.TransportError), httpx.Client(verify=ctx) as c:
        c.get(url)


def test_hokan_serve_tls_admits_only_valid_terminals_of_the_callers_tenant(
    tls_server: str, mtls_pki: Pki, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    p, url = mtls_pki, tls_server
    a, b = p.a.headers, p.b.headers
    # No certificate, or a revoked one: an answer the client can show (issue 12 item 5),
    # as behind nginx -- not an empty reply.
    for code, cert in (("certificate_required", None), ("certificate_revoked", p.revoked_early)):
        r = _get(p, url, cert, a)
        assert (r.status_code, r.json()["error"]) == (403, code), code
    # Another CA's or an expired one: the handshake fails, logged and counted.
    before = sum(edge_tls.handshake_refusals.values())
    edge_tls._last_logged.clear()  # one line per reason per minute: start this test afresh
    with caplog.at_level(logging.WARNING, "hokan.tls"):
        for cert in (p.foreign, p.expired):
            with pytest.raises(httpx.TransportError):
                _get(p, url, cert, a)
    assert sum(edge_tls.handshake_refusals.values()) >= before + 2
    reasons = {str(getattr(r, "fields", {}).get("reason")) for r in caplog.records}
    assert any("expired" in x for x in reasons), reasons
    ok = _get(p, url, p.valid, a)
    assert ok.status_code == 200 and ok.json()["id"] == str(p.a.id)
    _other_tenants_terminal_is_refused(p, url)
    # Headers cannot impersonate a terminal when the TLS layer is ours.
    forged = {**b, "X-Client-Cert": "x", "X-Client-Verify": "SUCCESS"}
    r = _get(p, url, p.valid, forged)
    assert r.json()["error"] == "certificate_tenant_mismatch"
    _revoked_while_running_is_refused_at_once(p, url, runtime)
