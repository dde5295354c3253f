"""Every records route leaves the entry of the action its service declared (ADR 0014):
success when it works, ``auth.scope_denied`` when the token lacks the scope (and
nothing under the action), error when it fails — by action name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hokan.principals.principal import ALL_TOKEN_SCOPES, Scope
from hokan.runtime import Runtime
from tests.conftest import TenantHandle
from tests.route_audit import only, refused, trail

BASE = "/api/v1/collections"
REC = f"{BASE}/staff/records/r1"
SCHEMA = {"type": "object", "properties": {"v": {"type": "integer"}}}

# (method, path, json body, status on success, action, scope, (failing path, body, status))
Call = tuple[str, str, Any, int, str, Scope, tuple[str, Any, int]]
ROUTES: list[Call] = [
    ("GET", BASE, None, 200, "collections.list", Scope.records_read, ("", None, 0)),
    (
        "GET",
        f"{BASE}/staff/schema",
        None,
        200,
        "collections.schema_read",
        Scope.records_read,
        (f"{BASE}/nope/schema", None, 404),
    ),
    (
        "PUT",
        f"{BASE}/staff/schema",
        SCHEMA,
        200,
        "collections.schema_set",
        Scope.collections_manage,
        (f"{BASE}/staff/schema", {"type": "no-such-type"}, 422),
    ),
    (
        "DELETE",
        f"{BASE}/staff/schema",
        None,
        200,
        "collections.schema_delete",
        Scope.collections_manage,
        (f"{BASE}/nope/schema", None, 404),
    ),
    (
        "GET",
        f"{BASE}/staff/records",
        None,
        200,
        "records.list",
        Scope.records_read,
        (f"{BASE}/staff/records?cursor=garbage", None, 400),
    ),
    (
        "POST",
        f"{BASE}/staff/records",
        {"v": 2},
        201,
        "records.create",
        Scope.records_write,
        (f"{BASE}/staff/records", [1], 422),
    ),
    ("GET", REC, None, 200, "records.read", Scope.records_read, (f"{REC}x", None, 404)),
    ("PUT", REC, {"v": 3}, 200, "records.replace", Scope.records_write, (REC, [1], 422)),
    (
        "PATCH",
        REC,
        {"v": 4},
        200,
        "records.patch",
        Scope.records_write,
        (f"{REC}x", {"v": 1}, 404),
    ),
    ("DELETE", REC, None, 204, "records.delete", Scope.records_write, (f"{REC}x", None, 404)),
    (
        "GET",
        f"{REC}/revisions",
        None,
        200,
        "records.history",
        Scope.records_read,
        (f"{REC}x/revisions", None, 404),
    ),
    (
        "GET",
        f"{REC}/revisions/1",
        None,
        200,
        "records.revision_read",
        Scope.records_read,
        (f"{REC}/revisions/99", None, 404),
    ),
]


def _send(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> int:
    extra: dict[str, Any] = {"headers": headers}
    if body is not None:
        extra["json"] = body
        if method == "PATCH":
            extra["headers"] = {**headers, "Content-Type": "application/merge-patch+json"}
    return client.request(method, path, **extra).status_code


@pytest.mark.parametrize("call", ROUTES, ids=[f"{c[0]} {c[1]}" for c in ROUTES])
def test_records_route_audit(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    call: Call,
) -> None:
    method, path, body, status, action, scope, (bad_path, bad_body, bad_status) = call
    t = make_tenant()
    assert client.put(REC, json={"v": 1}, headers=t.headers).status_code == 201
    assert client.put(f"{BASE}/staff/schema", json=SCHEMA, headers=t.headers).status_code == 200

    with trail(runtime) as found:
        assert _send(client, method, path, body, t.headers) == status
    only(found, action, "success")

    lacking = make_tenant(scopes=ALL_TOKEN_SCOPES - {scope})
    with trail(runtime) as found:
        assert _send(client, method, path, body, lacking.headers) == 403
    refused(found, "auth.scope_denied", action)

    if bad_status:
        with trail(runtime) as found:
            assert _send(client, method, bad_path, bad_body, t.headers) == bad_status
        only(found, action, "error")


def test_a_failed_put_is_audited_as_the_create_it_was(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    assert client.put(f"{BASE}/staff/schema", json=SCHEMA, headers=t.headers).status_code == 200
    with trail(runtime) as found:
        r = client.put(f"{BASE}/staff/records/new", json={"v": "x"}, headers=t.headers)
        assert r.status_code == 422
    only(found, "records.create", "error")
