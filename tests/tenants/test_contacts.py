"""A tenant's contacts over the tenant admin API, and who hears which notice (issue 12, 9)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.certificates import service as certificates
from hokan.identity import sessions, users
from hokan.identity.errors import InvalidCredentials
from hokan.models import AuditEvent, MailMessage, Tenant
from hokan.principals.principal import SYSTEM, Scope
from hokan.runtime import Runtime
from hokan.tenants import notices
from hokan.tenants.contacts import MAX_CONTACTS, stored
from tests import pki
from tests.conftest import TenantHandle

URL = "/api/v1/tenant/contacts"
PASSWORD = "春の小川はさらさら行くよ"


def _person(runtime: Runtime, t: TenantHandle, email: str, role: str) -> str:
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        user, _ = users.create(
            s,
            runtime.passwords,
            tenant,
            name="山田 太郎",
            email=email,
            roles=[role],
            password=PASSWORD,
            actor=SYSTEM,
        )
        return user.serial


def _mails(runtime: Runtime, kind: str) -> list[list[str]]:
    with runtime.db.session(system=True) as s:
        rows = s.scalars(select(MailMessage).where(MailMessage.kind == kind))
        return [list(m.recipients) for m in rows]


def _lock(runtime: Runtime, serial: str) -> None:
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            sessions.login(runtime.db, runtime.passwords, serial, password="wrong password!!")


def test_add_list_merge_and_remove(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    assert client.get(URL, headers=t.headers).json() == []
    body = {"email": "soumu@acme.example.jp", "roles": ["notice"], "name": "総務", "language": "en"}
    r = client.post(URL, json=body, headers=t.headers)
    assert r.status_code == 201, r.text
    added = r.json()
    assert added["roles"] == ["notice"] and added["language"] == "en"
    uuid.UUID(added["id"])
    # The same address again (in another case) merges the roles into the same contact.
    again = client.post(
        URL, json={"email": "SOUMU@acme.example.jp", "roles": ["security"]}, headers=t.headers
    )
    assert again.status_code == 200
    assert again.json()["id"] == added["id"]
    assert again.json()["roles"] == ["notice", "security"]
    listed = client.get(URL, headers=t.headers).json()
    assert [(c["id"], c["email"], c["name"]) for c in listed] == [
        (added["id"], "soumu@acme.example.jp", "総務")
    ]
    # The tenant profile shows the same list.
    assert client.get("/api/v1/tenant", headers=t.headers).json()["contacts"] == listed
    replaced = client.put(
        f"{URL}/{added['id']}",
        json={"email": "it@acme.example.jp", "roles": ["technical"]},
        headers=t.headers,
    )
    assert replaced.status_code == 200 and replaced.json()["id"] == added["id"]
    assert client.delete(f"{URL}/{added['id']}", headers=t.headers).status_code == 204
    assert client.get(URL, headers=t.headers).json() == []
    gone = client.delete(f"{URL}/{added['id']}", headers=t.headers)
    assert (gone.status_code, gone.json()["error"]) == (404, "contact_not_found")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"email": "not-an-address", "roles": ["security"]}, "email"),
        ({"email": "a@b", "roles": ["security"]}, "email"),
        ({"email": "soumu@acme.example.jp", "roles": ["boss"]}, "role"),
        ({"email": "soumu@acme.example.jp", "roles": ["security", "admin2"]}, "role"),
        ({"email": "soumu@acme.example.jp", "roles": ["notice"], "language": "fr"}, "language"),
    ],
)
def test_a_bad_contact_is_400_with_its_reason(
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    body: dict[str, object],
    reason: str,
) -> None:
    t = make_tenant()
    r = client.post(URL, json=body, headers={**t.headers, "Accept-Language": "en"})
    assert r.status_code == 400
    assert (r.json()["error"], r.json()["reason"]) == ("invalid_contact", reason)
    if reason == "role":
        assert "security, notice, billing, technical" in r.json()["detail"]
    assert client.get(URL, headers=t.headers).json() == []


def test_an_address_is_one_contact_and_the_list_is_capped(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    ids = [
        client.post(
            URL, json={"email": f"p{i}@acme.example.jp", "roles": ["notice"]}, headers=t.headers
        ).json()["id"]
        for i in range(MAX_CONTACTS)
    ]
    over = client.post(
        URL, json={"email": "one-more@acme.example.jp", "roles": ["notice"]}, headers=t.headers
    )
    assert (over.status_code, over.json()["error"]) == (409, "too_many_contacts")
    # Merging into an existing contact is not a new one.
    merged = client.post(
        URL, json={"email": "p0@acme.example.jp", "roles": ["billing"]}, headers=t.headers
    )
    assert merged.status_code == 200
    taken = client.put(
        f"{URL}/{ids[1]}",
        json={"email": "p0@acme.example.jp", "roles": ["notice"]},
        headers=t.headers,
    )
    assert (taken.status_code, taken.json()["reason"]) == (400, "duplicate")


def test_only_tenant_admins_manage_contacts(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant(scopes=frozenset({Scope.records_read, Scope.records_write}))
    assert client.get(URL, headers=t.headers).status_code == 403
    r = client.post(
        URL, json={"email": "x@acme.example.jp", "roles": ["security"]}, headers=t.headers
    )
    assert (r.status_code, r.json()["error"]) == (403, "insufficient_scope")


def test_another_tenant_neither_sees_nor_removes_contacts(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    a, b = make_tenant(), make_tenant()
    mine = client.post(
        URL, json={"email": "soumu@a.example.jp", "roles": ["security"]}, headers=a.headers
    ).json()
    assert client.get(URL, headers=b.headers).json() == []
    r = client.delete(f"{URL}/{mine['id']}", headers=b.headers)
    assert (r.status_code, r.json()["error"]) == (404, "contact_not_found")
    r = client.put(
        f"{URL}/{mine['id']}",
        json={"email": "evil@b.example.jp", "roles": ["security"]},
        headers=b.headers,
    )
    assert r.status_code == 404
    assert [c["email"] for c in client.get(URL, headers=a.headers).json()] == ["soumu@a.example.jp"]


def test_the_audit_names_contacts_by_id_never_by_address(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    added = client.post(
        URL, json={"email": "soumu@acme.example.jp", "roles": ["security"]}, headers=t.headers
    ).json()
    client.delete(f"{URL}/{added['id']}", headers=t.headers)
    client.post(URL, json={"email": "bad address", "roles": ["security"]}, headers=t.headers)
    with runtime.db.session(system=True) as s:
        events = list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.like("tenant.contact%"))
                .order_by(AuditEvent.seq)
            )
        )
    assert [(e.action, e.result, e.target_id) for e in events[:2]] == [
        ("tenant.contact_add", "success", added["id"]),
        ("tenant.contact_remove", "success", added["id"]),
    ]
    assert events[2].result == "error"
    assert all(
        "@" not in f"{e.target_id} {e.detail}" and "soumu" not in str(e.detail) for e in events
    )


def test_a_lockout_reaches_the_security_contact_added_over_the_api(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    for body in (
        {"email": "sec@acme.example.jp", "roles": ["security"]},
        {"email": "news@acme.example.jp", "roles": ["notice"]},
        {"email": "both@acme.example.jp", "roles": ["notice", "security"]},
        {"email": "money@acme.example.jp", "roles": ["billing"]},
    ):
        assert client.post(URL, json=body, headers=t.headers).status_code == 201
    _person(runtime, t, "kanri@acme.example.jp", "tenant_admin")
    victim = _person(runtime, t, "yamada@acme.example.jp", "staff_user")
    _lock(runtime, victim)
    # The security contacts and the admins; a notice or billing contact is not told.
    assert _mails(runtime, "auth.lock") == [
        ["both@acme.example.jp", "kanri@acme.example.jp", "sec@acme.example.jp"]
    ]


def test_without_a_security_contact_the_admins_are_told(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle], client: TestClient
) -> None:
    t = make_tenant()
    client.post(URL, json={"email": "news@acme.example.jp", "roles": ["notice"]}, headers=t.headers)
    _person(runtime, t, "kanri@acme.example.jp", "tenant_admin")
    _lock(runtime, _person(runtime, t, "yamada@acme.example.jp", "staff_user"))
    assert _mails(runtime, "auth.lock") == [["kanri@acme.example.jp"]]


def test_service_notices_go_to_notice_contacts_else_admins_else_are_counted(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    before = dict(notices.unrouted)

    def send(kind: str) -> list[str] | None:
        with runtime.db.session(write=True, system=True) as s:
            row = notices.notify(s, kind, tenant=t.id, subject="件名", body="本文")
            return None if row is None else list(row.recipients)

    assert send("service.maintenance") is None  # no contact, no admin: nobody, but counted
    assert (
        notices.unrouted[("service.maintenance", "nobody")]
        == before.get(("service.maintenance", "nobody"), 0) + 1
    )
    _person(runtime, t, "kanri@acme.example.jp", "tenant_admin")
    assert send("service.incident") == ["kanri@acme.example.jp"]  # the fallback, counted
    assert notices.unrouted[("service.incident", "fallback")] >= 1
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        tenant.contacts = [
            {"email": "news@acme.example.jp", "roles": ["notice"]},
            {"email": "sec@acme.example.jp", "roles": ["security"]},
            {"email": "money@acme.example.jp", "roles": ["billing"]},
        ]
    assert send("service.incident") == ["news@acme.example.jp"]
    assert send("billing") == ["money@acme.example.jp"]
    assert send("technical") == ["kanri@acme.example.jp"]


def test_a_revoked_terminal_certificate_is_told_to_the_security_contacts(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle], client: TestClient
) -> None:
    t = make_tenant()
    client.post(
        URL, json={"email": "sec@acme.example.jp", "roles": ["security"]}, headers=t.headers
    )
    runtime.ca.init(key=pki.ca_key())
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        issued = certificates.issue(s, runtime.ca, tenant, "受付端末", 30, SYSTEM)
        certificates.revoke(s, issued.certificate, SYSTEM, "lost")
    assert _mails(runtime, "certificate.revoked") == [["sec@acme.example.jp"]]


def test_stored_contacts_of_the_old_shape_keep_working() -> None:
    tenant_id = uuid.uuid4()
    old = [
        {"name": "総務", "email": "soumu@acme.example.jp", "roles": ["admin"]},
        {"name": "担当者", "email": "Soumu@acme.example.jp", "roles": ["notice"]},
        {"email": "info@acme.example.jp", "phone": "03-1234-5678"},
    ]
    read = stored(tenant_id, old)
    assert [(c.email, [r.value for r in c.roles]) for c in read] == [
        ("soumu@acme.example.jp", ["notice", "security"]),  # admin reads as security, merged
        ("info@acme.example.jp", ["notice"]),
    ]
    assert [c.id for c in stored(tenant_id, old)] == [c.id for c in read]  # stable ids
