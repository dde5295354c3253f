"""The vault API end to end (MYN-2, MYN-4..7), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.keyring.service import VAULT
from hokan.kit.clock import iso, utcnow
from hokan.models import AuditEvent, VaultEntry
from hokan.runtime import Runtime
from hokan.scanning.scanner import _EICAR
from hokan.vault import tasks
from tests.conftest import TenantHandle
from tests.vault.conftest import PNG, Session, valid_number

REVEAL_URL = "/api/v1/vault/entries/{}/reveal"


def _events(runtime: Runtime, prefix: str = "vault.") -> list[AuditEvent]:
    with runtime.db.session(system=True) as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.occurred_at, AuditEvent.seq))
        return [e for e in rows if e.action.startswith(prefix)]


def _register(client: TestClient, h: TenantHandle, number: str, record: str = "s-001") -> dict:
    r = client.post(
        "/api/v1/vault/numbers", json={"number": number, "record_id": record}, headers=h.headers
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_clerk_registers_lists_masked_and_reveals_with_a_purpose(
    client: TestClient, runtime: Runtime, clerk_token: TenantHandle
) -> None:
    number = valid_number()
    # Full-width digits, spaces and hyphens are normalised.
    spaced = f"{number[:4]}-{number[4:8]} {number[8:]}".translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )
    entry = _register(client, clerk_token, spaced)
    assert entry["masked"] == "********" + number[-4:]
    assert entry["kind"] == "individual" and entry["record_id"] == "s-001"
    assert number not in str(entry)

    listed = client.get("/api/v1/vault/entries", headers=clerk_token.headers).json()
    assert [e["masked"] for e in listed["items"]] == ["********" + number[-4:]]

    url = f"/api/v1/vault/entries/{entry['id']}/reveal"
    for bad in ({"purpose": "curiosity"}, {"purpose": ""}):
        r = client.post(url, json=bad, headers=clerk_token.headers)
        assert (r.status_code, r.json()["error"]) == (422, "invalid_purpose")
    r = client.post(url, json={"purpose": "tax"}, headers=clerk_token.headers)
    assert r.status_code == 200 and r.json()["number"] == number
    assert r.headers["cache-control"] == "no-store"

    events = _events(runtime)
    actions = [(e.action, e.result) for e in events]
    assert actions == [
        ("vault.number.register", "success"),
        ("vault.number.list", "success"),
        ("vault.number.reveal", "error"),
        ("vault.number.reveal", "error"),
        ("vault.number.reveal", "success"),
    ]
    reveal = events[-1]
    assert reveal.target_id == entry["id"] and reveal.detail["purpose"] == "tax"
    assert reveal.actor_type == "token" and reveal.tenant_id == clerk_token.id
    assert events[2].detail == {"error": "invalid_purpose", "purpose": "invalid"}
    for e in events:  # never the number, nor any part of it
        assert number[-4:] not in str(e.detail) and number not in str(e.detail)


def test_invalid_numbers_are_refused_without_echo(
    client: TestClient, runtime: Runtime, clerk_token: TenantHandle
) -> None:
    wrong = "621498320258"
    for raw, code in ((wrong, "number_check_digit_mismatch"), ("12345", "number_malformed")):
        r = client.post(
            "/api/v1/vault/numbers",
            json={"number": raw, "record_id": "s-1"},
            headers=clerk_token.headers,
        )
        assert (r.status_code, r.json()["error"]) == (422, code)
        assert raw not in r.text
    r = client.post(
        "/api/v1/vault/numbers",
        json={"number": "7000012050002", "kind": "corporate", "record_id": "c-1"},
        headers=clerk_token.headers,
    )
    assert r.status_code == 201 and r.json()["masked"] == "*********0002"
    failed = [e for e in _events(runtime) if e.result != "success"]
    assert [e.detail["error"] for e in failed] == [
        "number_check_digit_mismatch",
        "number_malformed",
    ]
    assert all(wrong not in str(e.detail) for e in failed)


def test_identity_documents_by_magic_bytes_size_and_scan(
    client: TestClient, runtime: Runtime, clerk_token: TenantHandle
) -> None:
    h = {**clerk_token.headers, "Content-Type": "application/octet-stream"}
    url = "/api/v1/vault/documents?record_id=s-001"
    r = client.post(url, content=PNG, headers=h)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert (doc["kind"], doc["content_type"], doc["masked"]) == ("document", "image/png", None)

    r = client.post(
        f"/api/v1/vault/entries/{doc['id']}/download",
        json={"purpose": "social_security"},
        headers=clerk_token.headers,
    )
    assert r.status_code == 200 and r.content == PNG
    assert (
        r.headers["content-type"] == "image/png"
        and "attachment" in r.headers["content-disposition"]
    )

    # Declared type is ignored: a text file labelled image/png is refused.
    r = client.post(url, content=b"just text", headers={**h, "Content-Type": "image/png"})
    assert (r.status_code, r.json()["error"]) == (415, "unsupported_document_type")
    r = client.post(url, content=b"%PDF-1.4\n" + _EICAR, headers=h)
    assert (r.status_code, r.json()["error"]) == (422, "malware_detected")
    runtime.vault.max_document_bytes = len(PNG) - 1
    r = client.post(url, content=PNG, headers=h)
    assert (r.status_code, r.json()["error"]) == (413, "document_too_large")
    results = [(e.action, e.result) for e in _events(runtime)]
    assert results == [
        ("vault.document.register", "success"),
        ("vault.document.download", "success"),
        ("vault.document.register", "error"),
        ("vault.document.register", "error"),
        ("vault.document.register", "error"),
    ]
    assert _events(runtime)[1].detail["purpose"] == "social_security"


def test_schedule_purge_and_delete_keep_deletion_records(
    client: TestClient, runtime: Runtime, clerk_token: TenantHandle
) -> None:
    h = clerk_token.headers
    a = _register(client, clerk_token, valid_number(), "s-a")
    b = _register(client, clerk_token, valid_number(), "s-b")
    past = iso(utcnow() - timedelta(days=1))
    r = client.put(
        f"/api/v1/vault/entries/{a['id']}/deletion", json={"delete_after": past}, headers=h
    )
    assert (r.status_code, r.json()["error"]) == (422, "invalid_deletion_date")
    soon = utcnow() + timedelta(seconds=30)
    r = client.put(
        f"/api/v1/vault/entries/{a['id']}/deletion",
        json={"delete_after": iso(soon), "reason": "retention_expired"},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["deletion_reason"] == "retention_expired"

    assert tasks.purge_due(runtime.db, runtime.vault) == []  # not due yet
    with runtime.db.session(write=True, system=True) as s:
        row = s.get(VaultEntry, uuid.UUID(a["id"]))
        assert row is not None
        row.delete_after = utcnow() - timedelta(seconds=1)
    done = tasks.purge_due(runtime.db, runtime.vault)
    assert [str(d.entry_id) for d in done] == [a["id"]]

    # the reason is never assumed
    r = client.delete(f"/api/v1/vault/entries/{b['id']}", headers=h)
    assert (r.status_code, r.json()["error"]) == (400, "deletion_reason_required")
    r = client.delete(f"/api/v1/vault/entries/{b['id']}?reason=registered_in_error", headers=h)
    assert r.status_code == 200
    record = r.json()
    assert record["stores_cleared"] == [1, 2, 3] and record["key_destroyed"] is True
    assert record["reason"] == "registered_in_error" and "token:" in record["deleted_by"]

    for entry in (a, b):
        r = client.post(
            f"/api/v1/vault/entries/{entry['id']}/reveal", json={"purpose": "tax"}, headers=h
        )
        assert (r.status_code, r.json()["error"]) == (404, "vault_entry_not_found")
    assert client.get("/api/v1/vault/entries", headers=h).json()["items"] == []
    records = client.get("/api/v1/vault/deletions", headers=h).json()
    assert {(d["entry_id"], d["reason"]) for d in records} == {
        (a["id"], "retention_expired"),
        (b["id"], "registered_in_error"),
    }
    purge = [e for e in _events(runtime) if e.action == "vault.purge"]
    assert (
        len(purge) == 1 and purge[0].target_id == a["id"] and purge[0].tenant_id == clerk_token.id
    )


def test_role_matrix_over_http(
    client: TestClient,
    runtime: Runtime,
    clerk_token: TenantHandle,
    make_tenant: Callable[..., TenantHandle],
    login_as: Callable[..., Session],
) -> None:
    """Clerk allowed; admin, staff, tokens without the scope, anonymous: 403/401 and audited;
    another tenant's clerk: 404 and audited (MYN-4)."""
    entry = _register(client, clerk_token, valid_number())
    reveal = f"/api/v1/vault/entries/{entry['id']}/reveal"

    clerk = login_as("mynumber_clerk", clerk_token)
    r = client.post(reveal, json={"purpose": "disaster"}, headers=clerk.headers)
    assert r.status_code == 200, r.text
    client.cookies.clear()

    records_only = make_tenant(scopes=frozenset({"records:read", "records:write"}))
    refused = {
        "tenant_admin": login_as("tenant_admin", clerk_token).headers,
        "staff_user": login_as("staff_user", clerk_token).headers,
        "token without vault scope": records_only.headers,
    }
    for who, headers in refused.items():
        for method, url, body in (
            ("POST", reveal, {"purpose": "tax"}),
            ("GET", "/api/v1/vault/entries", None),
            ("POST", "/api/v1/vault/numbers", {"number": valid_number(), "record_id": "x"}),
        ):
            r = client.request(method, url, json=body, headers=headers)
            client.cookies.clear()
            assert (r.status_code, r.json()["error"]) == (403, "vault_access_denied"), who
    assert client.get("/api/v1/vault/entries").status_code == 401

    other = login_as("mynumber_clerk")  # a clerk of another tenant
    r = client.post(reveal, json={"purpose": "tax"}, headers=other.headers)
    assert (r.status_code, r.json()["error"]) == (404, "vault_entry_not_found")

    events = _events(runtime)
    denied = [e for e in events if e.result == "denied"]
    assert len(denied) == 3 * 3 + 1  # three callers × three routes + anonymous
    assert {e.action for e in denied} == {
        "vault.number.reveal",
        "vault.number.list",
        "vault.number.register",
    }
    assert {e.role for e in denied} >= {"tenant_admin", "staff_user", "token", "anonymous"}
    assert {e.target_id for e in denied if e.action == "vault.number.reveal"} == {entry["id"]}
    cross = [e for e in events if e.result == "error" and e.action == "vault.number.reveal"]
    assert len(cross) == 1 and cross[0].tenant_id == other.tenant.id
    assert cross[0].detail == {"error": "vault_entry_not_found", "purpose": "tax"}


def test_listing_pages_and_survives_a_vault_key_rotation(
    client: TestClient, runtime: Runtime, clerk_token: TenantHandle
) -> None:
    numbers_ = [valid_number() for _ in range(3)]
    ids = [_register(client, clerk_token, n, f"s-{i}")["id"] for i, n in enumerate(numbers_)]
    assert runtime.keyring.rotate(clerk_token.id, VAULT) == 2  # KEY-3 for the vault key too
    newer = _register(client, clerk_token, valid_number(), "s-new")
    h = clerk_token.headers
    first = client.get("/api/v1/vault/entries?limit=2", headers=h).json()
    second = client.get(
        f"/api/v1/vault/entries?limit=2&cursor={first['next_cursor']}", headers=h
    ).json()
    assert [e["id"] for e in first["items"] + second["items"]] == [*ids, newer["id"]]
    assert second["next_cursor"] is None
    assert [e["masked"][-4:] for e in first["items"] + second["items"]][:3] == [
        n[-4:] for n in numbers_
    ]
    only = client.get("/api/v1/vault/entries?record_id=s-1", headers=h).json()["items"]
    assert [e["id"] for e in only] == [ids[1]]
    r = client.post(REVEAL_URL.format(ids[0]), json={"purpose": "tax"}, headers=h)
    assert r.json()["number"] == numbers_[0]


def test_a_link_into_a_hokan_collection_must_name_a_live_record(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    """A record id that does not exist in the tenant's collection is refused (404)."""
    h = make_tenant(scopes=["records:write", "records:read", "vault:read", "vault:write"])
    put = client.put("/api/v1/collections/staff/records/s-001", json={"v": 1}, headers=h.headers)
    assert put.status_code == 201, put.text
    url = "/api/v1/vault/numbers"
    r = client.post(url, json={"number": valid_number(), "record_id": "s-999"}, headers=h.headers)
    assert (r.status_code, r.json()["error"]) == (404, "linked_record_not_found")
    assert _register(client, h, valid_number(), "s-001")["record_id"] == "s-001"
    # a collection Hokan does not keep names the customer's own system: not checkable
    other = {"number": valid_number(), "record_id": "e-1", "collection": "payroll"}
    assert client.post(url, json=other, headers=h.headers).status_code == 201


def _digests(runtime: Runtime) -> dict[str, bytes | None]:
    with runtime.db.session(system=True) as s:
        return {str(i): d for i, d in s.execute(select(VaultEntry.id, VaultEntry.number_digest))}


def test_the_same_number_for_the_same_record_and_kind_is_refused_with_the_live_entry(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """409 ``vault_entry_exists`` naming the live entry, nothing else; a deleted or purged
    entry no longer counts; another record (or tenant) may hold the same number."""
    caplog.set_level(logging.DEBUG)
    h = make_tenant(scopes=["vault:read", "vault:write"])
    url = "/api/v1/vault/numbers"
    number = valid_number()
    first = _register(client, h, number, "s-001")
    answers: list[str] = []

    def duplicate() -> dict:
        # Written otherwise (full-width, hyphens): the normalised number is compared.
        spaced = f"{number[:4]}-{number[4:8]}-{number[8:]}".translate(
            str.maketrans("0123456789", "０１２３４５６７８９")
        )
        r = client.post(url, json={"number": spaced, "record_id": "s-001"}, headers=h.headers)
        answers.append(r.text)
        assert r.status_code == 409, r.text
        return r.json()

    body = duplicate()
    assert body.pop("detail") and body == {
        "error": "vault_entry_exists",
        "reason": "entry",
        "entry_id": first["id"],
    }
    # Still live while only scheduled for deletion.
    r = client.put(
        f"/api/v1/vault/entries/{first['id']}/deletion",
        json={"delete_after": iso(utcnow() + timedelta(days=30)), "reason": "purpose_ended"},
        headers=h.headers,
    )
    assert r.status_code == 200
    assert duplicate()["entry_id"] == first["id"]

    # The same person's number on another record, or in another tenant, is not refused
    # (a second staff record of one person is the customer's to reconcile).
    other_record = _register(client, h, number, "s-002")
    other_tenant = _register(client, make_tenant(scopes=["vault:write"]), number, "s-001")
    # Documents carry no digest: front and back of a card are two entries.
    for _ in range(2):
        r = client.post("/api/v1/vault/documents?record_id=s-001", content=PNG, headers=h.headers)
        assert r.status_code == 201
    digests = _digests(runtime)
    assert len({digests[first["id"]], digests[other_record["id"]]}) == 1
    assert digests[other_tenant["id"]] != digests[first["id"]]  # a key per tenant
    assert sum(d is None for d in digests.values()) == 2

    # Deleted: the number may be registered again, and the old digest is gone with the row.
    r = client.delete(
        f"/api/v1/vault/entries/{first['id']}?reason=registered_in_error", headers=h.headers
    )
    assert r.status_code == 200
    again = _register(client, h, number, "s-001")
    assert again["id"] != first["id"] and first["id"] not in _digests(runtime)
    # Purged by the job: likewise.
    with runtime.db.session(write=True, system=True) as s:
        row = s.get(VaultEntry, uuid.UUID(again["id"]))
        assert row is not None
        row.delete_after = utcnow() - timedelta(seconds=1)
    assert [str(d.entry_id) for d in tasks.purge_due(runtime.db, runtime.vault)] == [again["id"]]
    third = _register(client, h, number, "s-001")
    assert duplicate()["entry_id"] == third["id"]

    refusals = [e for e in _events(runtime) if e.result == "error"]
    assert [(e.action, e.target_id, e.detail) for e in refusals] == [
        ("vault.number.register", eid, {"error": "vault_entry_exists", "kind": "individual"})
        for eid in (first["id"], first["id"], third["id"])
    ]
    # Neither the number nor its digest in any answer, audit entry or log line.
    secret = digests[first["id"]]
    assert secret is not None
    listed = client.get("/api/v1/vault/entries", headers=h.headers).text
    audited = str([(e.target_id, e.detail) for e in _events(runtime)])
    for text in (*answers, listed, audited, caplog.text):
        for form in (number, secret.hex(), base64.b64encode(secret).decode(), str(secret)):
            assert form not in text
    assert "digest" not in listed and "digest" not in audited


def test_entries_from_before_the_digest_are_not_checked(
    client: TestClient, runtime: Runtime, clerk_token: TenantHandle
) -> None:
    """An entry registered before migration 0062 has no digest (nothing is decrypted to
    backfill one): the same number is accepted once more, and refused from then on."""
    number = valid_number()
    legacy = _register(client, clerk_token, number)
    with runtime.db.session(write=True, system=True) as s:
        row = s.get(VaultEntry, uuid.UUID(legacy["id"]))
        assert row is not None
        row.number_digest = None
    newer = _register(client, clerk_token, number)
    r = client.post(
        "/api/v1/vault/numbers",
        json={"number": number, "record_id": "s-001"},
        headers=clerk_token.headers,
    )
    assert (r.status_code, r.json()["entry_id"]) == (409, newer["id"])
