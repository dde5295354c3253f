"""Request parsing at the HTTP boundary: bounded parameters, one JSON path, body limits."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from hokan.runtime import Runtime
from tests.conftest import TenantHandle
from tests.vault.conftest import PNG, VAULT_SCOPES

RECORD = "/api/v1/collections/staff/records/s-1"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/audit/events?cursor=9223372036854775808",
        "/api/v1/audit/events?cursor=-1",
        "/api/v1/audit/events?limit=99999999999999999999",
        f"{RECORD}/revisions/9223372036854775808",
        f"{RECORD}/revisions/2147483648",
        f"{RECORD}/revisions/0",
        f"{RECORD}/revisions/x",
    ],
)
def test_out_of_range_integers_are_invalid_parameters(
    client: TestClient, make_tenant: Callable[..., TenantHandle], path: str
) -> None:
    t = make_tenant()
    client.put(RECORD, json={"name": "山田"}, headers=t.headers)
    r = client.get(path, headers=t.headers)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "invalid_parameter"
    assert body["detail"] == "パラメーターの値が正しくありません。"
    assert body["problems"][0]["loc"][0] in {"query", "path"}
    r = client.get(path, headers={**t.headers, "Accept-Language": "en"})
    assert r.json()["detail"] == "A parameter is not valid."


def test_the_largest_revision_is_a_plain_not_found(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    client.put(RECORD, json={"name": "山田"}, headers=t.headers)
    r = client.get(f"{RECORD}/revisions/2147483647", headers=t.headers)
    assert (r.status_code, r.json()["error"]) == (404, "revision_not_found")


def test_openapi_shows_the_bounds(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    params = spec["paths"][
        "/api/v1/collections/{collection}/records/{record_id}/revisions/{revision}"
    ]["get"]["parameters"]
    revision = next(p for p in params if p["name"] == "revision")["schema"]
    assert (revision["minimum"], revision["maximum"]) == (1, 2**31 - 1)
    params = spec["paths"]["/api/v1/audit/events"]["get"]["parameters"]
    cursor = next(p for p in params if p["name"] == "cursor")["schema"]
    assert cursor["maximum"] == 2**63 - 1


def test_invalid_bodies_use_the_error_shape(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    r = client.post("/api/v1/tokens", json={"name": 1, "days": 10**30}, headers=t.headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_payload"
    assert r.json()["detail"] == "データの形式が正しくありません。"
    assert all(p["loc"][0] == "body" for p in r.json()["problems"])


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/vault/numbers"),
        ("POST", "/api/v1/tokens"),
        ("PUT", RECORD),
    ],
)
def test_one_json_path_for_every_route(
    client: TestClient, make_tenant: Callable[..., TenantHandle], method: str, path: str
) -> None:
    t = make_tenant(scopes=VAULT_SCOPES | {"records:write"})
    headers = {**t.headers, "Content-Type": "application/json"}
    for bad in (DEEP, b'{"serial": ', b"\xff\xfe"):
        r = client.request(method, path, content=bad, headers=headers)
        assert (r.status_code, r.json()["error"]) == (422, "invalid_json"), (bad[:20], r.text)
        assert r.json()["detail"] == "JSONとして解釈できません。"
    r = client.request(
        method, path, content=b"{}", headers={**t.headers, "Content-Type": "text/plain"}
    )
    assert (r.status_code, r.json()["error"]) == (415, "unsupported_media_type"), r.text


def test_identity_documents_up_to_their_own_limit(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    """The vault's 10 MiB applies, not the general 2 MiB body cap (both at the boundary)."""
    t = make_tenant(scopes=VAULT_SCOPES)
    limit = runtime.settings.vault_max_document_bytes
    assert limit > runtime.settings.ips_max_body_bytes
    url = "/api/v1/vault/documents?record_id=s-001"
    h = {**t.headers, "Content-Type": "image/png"}
    scan = PNG + b"\x00" * (limit - len(PNG))
    r = client.post(url, content=scan, headers=h)
    assert r.status_code == 201, r.text[:300]
    r = client.post(url, content=scan + b"\x00", headers=h)
    assert (r.status_code, r.json()["error"]) == (413, "payload_too_large"), r.text[:300]
    assert r.json()["limit"] == limit


def test_the_general_body_limit_at_the_boundary(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    """A route without a limit of its own takes HOKAN_IPS_MAX_BODY_BYTES, to the byte."""
    t = make_tenant()
    cap = runtime.settings.ips_max_body_bytes
    head, tail = b'{"name":"', b'","scopes":["records:read"]}'
    body = head + b"a" * (cap - len(head) - len(tail)) + tail
    r = client.post("/api/v1/tokens", content=body, headers=t.headers)
    assert r.status_code == 422 and r.json()["error"] == "invalid_payload", r.text[:300]
    r = client.post("/api/v1/tokens", content=body + b" ", headers=t.headers)
    assert (r.status_code, r.json()["error"]) == (413, "payload_too_large"), r.text[:300]
    assert r.json()["limit"] == cap


def test_body_limits_are_documented(client: TestClient, runtime: Runtime) -> None:
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/vault/documents"]["post"]
    assert op["x-body-limit"] == "HOKAN_VAULT_MAX_DOCUMENT_BYTES"
    assert "413" in op["responses"]
