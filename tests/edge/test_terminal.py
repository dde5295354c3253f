"""Client-certificate identity (EDGE-1) through the trusted front's headers, in process;
the real nginx and 'hokan serve --tls' runs are in test_mtls.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.certificates import service
from hokan.certificates.ca import pem_pair
from hokan.identity import sessions
from hokan.models import AuditEvent, Tenant, UserSession
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests import pki
from tests.conftest import TenantHandle, create_user

FRONT = "127.0.0.1"  # the trusted proxy in these tests
pytestmark = pytest.mark.edge_settings(trusted_proxies="127.0.0.1/32")


def _cert_headers(issued: pki.Issued, verify: str = "SUCCESS") -> dict[str, str]:
    # As nginx sends them: $ssl_client_escaped_cert and $ssl_client_verify.
    return {"X-Client-Cert": quote(issued.cert_pem.decode()), "X-Client-Verify": verify}


@dataclass
class Edge:
    """Hokan's CA made, and what the tests use: the runtime, clients by peer, tenants."""

    runtime: Runtime
    app_client: Callable[[str], TestClient]
    make_tenant: Callable[..., TenantHandle]
    tmp: Path


@pytest.fixture
def edge(
    runtime: Runtime,
    app_client: Callable[[str], TestClient],
    make_tenant: Callable[..., TenantHandle],
    tmp_path: Path,
) -> Edge:
    pki.init_ca(runtime)
    return Edge(runtime, app_client, make_tenant, tmp_path)


def _events(runtime: Runtime, action: str) -> list[AuditEvent]:
    with runtime.db.session(system=True) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_app_knows_the_terminal_and_audits_its_fingerprint(
    edge: Edge,
) -> None:
    t = edge.make_tenant()
    cert = pki.issue(edge.runtime, t.id, edge.tmp)
    r = edge.app_client(FRONT).get("/api/v1/tenant", headers={**t.headers, **_cert_headers(cert)})
    assert r.status_code == 200
    [read] = _events(edge.runtime, "tenant.read")
    assert read.cert_fingerprint == cert.fingerprint and len(cert.fingerprint) == 95
    # Without a certificate (not required outside production) the entry says so.
    assert edge.app_client(FRONT).get("/api/v1/tenant", headers=t.headers).status_code == 200
    assert {e.cert_fingerprint for e in _events(edge.runtime, "tenant.read")} == {
        cert.fingerprint,
        "",
    }


def test_refusals_for_foreign_expired_revoked_and_unverified_certificates(
    edge: Edge,
) -> None:
    t = edge.make_tenant()
    front = edge.app_client(FRONT)
    cases = {
        "certificate_unknown": _cert_headers(pki.foreign(edge.tmp)),
        "certificate_expired": _cert_headers(pki.issue_expired(edge.runtime, t.id, edge.tmp)),
    }
    cert = pki.issue(edge.runtime, t.id, edge.tmp)
    cases["certificate_unknown "] = _cert_headers(cert, verify="FAILED:certificate revoked")
    for code, headers in cases.items():
        r = front.get("/api/v1/tenant", headers={**t.headers, **headers})
        assert (r.status_code, r.json()["error"]) == (403, code.strip()), code
    # A tenant admin revokes the terminal through the API; it is refused at once.
    ok = {**t.headers, **_cert_headers(cert)}
    assert front.get("/api/v1/tenant", headers=ok).status_code == 200
    r = front.post(f"/api/v1/terminals/{cert.serial}/revoke", json={"reason": "lost"}, headers=ok)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = front.get("/api/v1/tenant", headers=ok)
    assert (r.status_code, r.json()["error"]) == (403, "certificate_revoked")
    assert {e.detail["error"] for e in _events(edge.runtime, "edge.refused")} == {
        "certificate_unknown",
        "certificate_expired",
        "certificate_revoked",
    }


def test_a_certificate_of_tenant_a_with_credentials_of_tenant_b_is_refused(
    edge: Edge,
) -> None:
    a, b = edge.make_tenant(), edge.make_tenant()
    cert_a = pki.issue(edge.runtime, a.id, edge.tmp)
    r = edge.app_client(FRONT).get("/api/v1/tenant", headers={**b.headers, **_cert_headers(cert_a)})
    assert (r.status_code, r.json()["error"]) == (403, "certificate_tenant_mismatch")
    [denied] = _events(edge.runtime, "edge.admit")
    assert denied.tenant_id == b.id and denied.cert_fingerprint == cert_a.fingerprint
    assert denied.target_id == cert_a.serial


def test_certificate_headers_from_anyone_but_the_front_are_stripped(
    edge: Edge,
) -> None:
    a, b = edge.make_tenant(), edge.make_tenant()
    cert_a = pki.issue(edge.runtime, a.id, edge.tmp)
    # From a direct caller the forged headers mean nothing: no terminal, no mismatch.
    r = edge.app_client("133.1.1.1").get(
        "/api/v1/tenant", headers={**b.headers, **_cert_headers(cert_a)}
    )
    assert r.status_code == 200
    assert {e.cert_fingerprint for e in _events(edge.runtime, "tenant.read")} == {""}


@pytest.mark.edge_settings(client_cert_required=True)
def test_when_required_a_request_without_certificate_is_refused_but_health_is_not(
    edge: Edge,
) -> None:
    t = edge.make_tenant()
    front = edge.app_client(FRONT)
    r = front.get("/api/v1/tenant", headers=t.headers)
    assert (r.status_code, r.json()["error"]) == (403, "certificate_required")
    assert front.get("/healthz").status_code == 200
    cert = pki.issue(edge.runtime, t.id, edge.tmp)
    assert (
        front.get("/api/v1/tenant", headers={**t.headers, **_cert_headers(cert)}).status_code == 200
    )
    forged = edge.app_client("133.1.1.1").get(
        "/api/v1/tenant", headers={**t.headers, **_cert_headers(cert)}
    )
    assert forged.json()["error"] == "certificate_required"


def test_a_session_stays_bound_to_the_terminal_it_was_opened_on(
    edge: Edge,
) -> None:
    t = edge.make_tenant()
    password = "春の小川はさらさら行くよ"
    with edge.runtime.db.session(write=True, system=True) as s:
        row = s.get(Tenant, t.id)
        assert row is not None
        user, _ = create_user(
            s,
            edge.runtime.passwords,
            row,
            name="端末 太郎",
            email="t@example.jp",
            roles=["staff_user"],
            password=password,
            actor=SYSTEM,
        )
        serial = user.serial
    one, two = (
        pki.issue(edge.runtime, t.id, edge.tmp, "pc-1"),
        pki.issue(edge.runtime, t.id, edge.tmp, "pc-2"),
    )
    front = edge.app_client(FRONT)
    login = front.post(
        "/api/v1/auth/login",
        json={"serial": serial, "password": password},
        headers=_cert_headers(one),
    )
    assert login.status_code == 200
    jar = {"Cookie": f"{sessions.SESSION_COOKIE}={login.cookies[sessions.SESSION_COOKIE]}"}
    assert front.get("/api/v1/tenant", headers={**jar, **_cert_headers(one)}).status_code == 200
    moved = front.get("/api/v1/tenant", headers={**jar, **_cert_headers(two)})
    assert moved.json()["error"] == "session_certificate_mismatch"
    # Another tenant's terminal cannot even open a session.
    elsewhere = pki.issue(edge.runtime, edge.make_tenant().id, edge.tmp, "pc-x")
    refused = front.post(
        "/api/v1/auth/login",
        json={"serial": serial, "password": password},
        headers=_cert_headers(elsewhere),
    )
    assert (refused.status_code, refused.json()["error"]) == (403, "certificate_tenant_mismatch")
    assert sessions.SESSION_COOKIE not in refused.cookies
    with edge.runtime.db.session(system=True) as s:
        rows = list(s.scalars(select(UserSession).where(UserSession.tenant_id == t.id)))
    assert sorted(r.revoked_at is not None for r in rows) == [False, True]  # made, then revoked
    assert edge.runtime.edge_refusals.snapshot()["certificate_tenant_mismatch"] == 1


def test_tenant_admins_list_only_their_own_terminals(
    edge: Edge,
) -> None:
    a, b = edge.make_tenant(), edge.make_tenant()
    mine = pki.issue(edge.runtime, a.id, edge.tmp, "pc-a")
    theirs = pki.issue(edge.runtime, b.id, edge.tmp, "pc-b")
    client = edge.app_client("133.1.1.1")
    listed = client.get("/api/v1/terminals", headers=a.headers).json()
    assert [(c["serial"], c["terminal"], c["status"]) for c in listed] == [
        (mine.serial, "pc-a", "valid")
    ]
    r = client.post(f"/api/v1/terminals/{theirs.serial}/revoke", json={}, headers=a.headers)
    assert (r.status_code, r.json()["error"]) == (404, "certificate_not_found")
    assert client.get("/api/v1/terminals").status_code == 401


def test_operator_terminals_serve_operators_only(
    edge: Edge,
) -> None:
    import asyncio

    from starlette.requests import Request

    from hokan.certificates.errors import CertificateTenantMismatch
    from hokan.edge.binding import admit_principal
    from hokan.edge.terminal import STATE_KEY, Terminal
    from hokan.principals.principal import Principal, PrincipalKind

    t = edge.make_tenant()
    with edge.runtime.db.session(write=True, system=True) as s:
        issued = service.issue(s, edge.runtime.ca, None, "ops-pc", 30, SYSTEM, password="x" * 12)
        assert issued.certificate.tenant_id is None
        ops_cert = issued.certificate
    assert "OU=Hokan operator terminal" in ops_cert.subject
    [event] = [
        e for e in _events(edge.runtime, "certificate.issue") if e.target_id == ops_cert.serial
    ]
    assert event.chain == "system"
    # Tenant credentials from an operator terminal: refused.
    key, cert, _ = pkcs12.load_key_and_certificates(issued.pkcs12, b"x" * 12)
    assert key is not None and cert is not None
    headers = {
        "X-Client-Cert": quote(pem_pair(cert, key)[0].decode()),
        "X-Client-Verify": "SUCCESS",
    }  # type: ignore[arg-type]
    r = edge.app_client(FRONT).get("/api/v1/tenant", headers={**t.headers, **headers})
    assert (r.status_code, r.json()["error"]) == (403, "certificate_tenant_mismatch")

    # An operator inside the tenant (consent grant): an operator terminal, never the tenant's.
    operator = Principal(PrincipalKind.operator, "op-1", "運用 太郎", t.id)
    tenant_terminal = pki.issue(edge.runtime, t.id, edge.tmp, "pc-t")

    def request_from(terminal_tenant: uuid.UUID | None, serial: str) -> Request:
        state = {
            STATE_KEY: Terminal(serial, "AA", terminal_tenant, "x"),
            "hokan.client_ip": "133.1.1.1",
        }
        return Request({"type": "http", "headers": [], "state": state, "client": ("133.1.1.1", 1)})

    asyncio.run(admit_principal(edge.runtime, request_from(None, ops_cert.serial), operator))
    with pytest.raises(CertificateTenantMismatch):
        asyncio.run(
            admit_principal(edge.runtime, request_from(t.id, tenant_terminal.serial), operator)
        )
