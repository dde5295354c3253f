"""Every vault route leaves the entry of the action its service declared (ADR 0014,
MYN-4): success when it works; a caller who is not a vault accessor is refused
under the route's own action (the record of use shows the attempt); error when it
fails — by action name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hokan.principals.principal import Scope
from hokan.runtime import Runtime
from tests.conftest import TenantHandle
from tests.route_audit import only, trail
from tests.vault.conftest import PNG, valid_number

V = "/api/v1/vault"
MISSING = "00000000-0000-4000-8000-000000000000"
TAX = {"purpose": "tax"}

# (method, path, kwargs, status, action, failing call (path, kwargs, status))
Call = tuple[str, str, dict[str, Any], int, str, tuple[str, dict[str, Any], int]]


def _routes(number_id: str, document_id: str) -> list[Call]:
    return [
        (
            "POST",
            f"{V}/numbers",
            {"json": {"number": valid_number(), "record_id": "s-9"}},
            201,
            "vault.number.register",
            (f"{V}/numbers", {"json": {"number": "123456789012", "record_id": "s"}}, 422),
        ),
        (
            "POST",
            f"{V}/documents?record_id=s-9",
            {"content": PNG},
            201,
            "vault.document.register",
            (f"{V}/documents?record_id=s-9", {"content": b"not a document"}, 415),
        ),
        ("GET", f"{V}/entries", {}, 200, "vault.number.list", (f"{V}/entries?cursor=x", {}, 400)),
        (
            "POST",
            f"{V}/entries/{number_id}/reveal",
            {"json": TAX},
            200,
            "vault.number.reveal",
            (f"{V}/entries/{MISSING}/reveal", {"json": TAX}, 404),
        ),
        (
            "POST",
            f"{V}/entries/{document_id}/download",
            {"json": TAX},
            200,
            "vault.document.download",
            (f"{V}/entries/{number_id}/download", {"json": TAX}, 422),
        ),
        (
            "PUT",
            f"{V}/entries/{number_id}/deletion",
            {"json": {"delete_after": "2099-01-01T00:00:00+00:00", "reason": "purpose_ended"}},
            200,
            "vault.entry.schedule_deletion",
            (f"{V}/entries/{MISSING}/deletion", {"json": {"delete_after": None}}, 404),
        ),
        (
            "DELETE",
            f"{V}/entries/{number_id}?reason=purpose_ended",
            {},
            200,
            "vault.entry.delete",
            (f"{V}/entries/{MISSING}?reason=purpose_ended", {}, 404),
        ),
        ("GET", f"{V}/deletions", {}, 200, "vault.deletion.list", ("", {}, 0)),
    ]


ACTIONS = [r[4] for r in _routes(MISSING, MISSING)]


@pytest.mark.parametrize("index", range(len(ACTIONS)), ids=ACTIONS)
def test_vault_route_audit(
    client: TestClient,
    runtime: Runtime,
    clerk_token: TenantHandle,
    make_tenant: Callable[..., TenantHandle],
    index: int,
) -> None:
    h = clerk_token.headers
    number = client.post(
        f"{V}/numbers", json={"number": valid_number(), "record_id": "s-1"}, headers=h
    )
    document = client.post(f"{V}/documents?record_id=s-1", content=PNG, headers=h)
    assert (number.status_code, document.status_code) == (201, 201)
    method, path, kwargs, status, action, (bad_path, bad_kwargs, bad_status) = _routes(
        number.json()["id"], document.json()["id"]
    )[index]

    with trail(runtime) as found:
        r = client.request(method, path, headers=h, **kwargs)
        assert r.status_code == status, r.text
    only(found, action, "success")

    # A token of the tenant without the vault scopes: refused under the vault action.
    records_only = make_tenant(scopes=frozenset({Scope.records_read, Scope.records_write}))
    with trail(runtime) as found:
        r = client.request(method, path, headers=records_only.headers, **kwargs)
        assert (r.status_code, r.json()["error"]) == (403, "vault_access_denied")
    only(found, action, "denied")

    if bad_status:
        with trail(runtime) as found:
            r = client.request(method, bad_path, headers=h, **bad_kwargs)
            assert r.status_code == bad_status, r.text
        only(found, action, "error")


def test_a_duplicate_registration_is_refused_under_the_register_action(
    client: TestClient, runtime: Runtime, clerk_token: TenantHandle
) -> None:
    """409 ``vault_entry_exists`` is an error of ``vault.number.register``, like any refusal."""
    body = {"number": valid_number(), "record_id": "s-1"}
    first = client.post(f"{V}/numbers", json=body, headers=clerk_token.headers)
    assert first.status_code == 201
    with trail(runtime) as found:
        r = client.post(f"{V}/numbers", json=body, headers=clerk_token.headers)
        assert (r.status_code, r.json()["entry_id"]) == (409, first.json()["id"])
    only(found, "vault.number.register", "error")
