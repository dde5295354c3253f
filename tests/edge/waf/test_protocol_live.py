"""Protocol abuse against a real server, over raw sockets (what a client library would not send)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from hokan.edge.waf.engine import verdict
from hokan.edge.waf.service import Waf
from hokan.settings import Settings
from tests.conftest import LiveServer

pytestmark = pytest.mark.slow


def raw(server: LiveServer, request: bytes) -> bytes:
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(request)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except TimeoutError:
            pass
    return out


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_smuggling_with_both_content_length_and_transfer_encoding_is_refused(
    live_server: LiveServer,
) -> None:
    smuggle = (
        b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    response = raw(live_server, smuggle)
    assert status(response) in (400, 403)
    assert response.count(b"HTTP/1.1") == 1  # the smuggled request got no answer


def test_the_waf_refuses_cl_te_when_a_server_lets_it_through() -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(b"content-length", b"4"), (b"transfer-encoding", b"chunked")],
    }
    result = verdict(Waf(Settings(env="test")).inspect_head(scope), 5)
    assert result.blocked and "protocol-cl-te" in result.rules


@pytest.mark.parametrize(
    ("request_line", "rule"),
    [
        (b"GET /healthz%00.php HTTP/1.1", b"protocol-null-byte"),
        (b"GET /healthz?q=%zz HTTP/1.1", b"protocol-bad-percent-encoding"),
        (b"GET /healthz?q=%ff%fe%fd HTTP/1.1", b"protocol-bad-utf8"),
        (b"TRACE /healthz HTTP/1.1", b"protocol-method"),
        (b"GET /healthz?q=" + b"a" * 9000 + b" HTTP/1.1", b"protocol-url-too-long"),
        (b"GET /healthz?" + b"a=1&" * 1200 + b" HTTP/1.1", b"protocol-too-many-parameters"),
        (b"GET /static/..%2f..%2f..%2fetc%2fpasswd HTTP/1.1", b"lfi-"),
    ],
)
def test_protocol_abuse_gets_403(live_server: LiveServer, request_line: bytes, rule: bytes) -> None:
    response = raw(live_server, request_line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status(response) == 403
    assert b'"waf_blocked"' in response and rule in response


def test_over_long_header_gets_403(live_server: LiveServer) -> None:
    request = (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: "
        + b"a" * 9000
        + b"\r\nConnection: close\r\n\r\n"
    )
    response = raw(live_server, request)
    assert status(response) == 403 and b"protocol-header-too-long" in response


def test_ordinary_request_passes(live_server: LiveServer) -> None:
    q = b"%E6%9D%B1%E4%BA%AC%E9%83%BD%E5%8D%83%E4%BB%A3%E7%94%B0%E5%8C%BA%201-2-3"
    response = raw(
        live_server, b"GET /healthz?q=" + q + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status(response) == 200
