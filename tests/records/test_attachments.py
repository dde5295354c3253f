"""REC-4/REC-5/EDGE-6: attachments are sniffed, scanned, sealed, stored, verified and shredded."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.models import AttachmentStatus, AuditEvent, MailMessage, RecordAttachment, Tenant
from hokan.principals.principal import Principal
from hokan.runtime import Runtime
from hokan.scanning.scanner import _EICAR
from tests.conftest import TenantHandle

BASE = "/api/v1/collections/staff/records"
PDF = b"%PDF-1.7\n" + "給与明細 山田太郎 2026年11月\n".encode() * 50 + b"%%EOF\n"


def _record(client: TestClient, t: TenantHandle, key: str = "s-1") -> str:
    assert client.put(f"{BASE}/{key}", json={"name": "山田"}, headers=t.headers).status_code == 201
    return f"{BASE}/{key}/attachments"


def _blobs(runtime: Runtime) -> list[Path]:
    root = runtime.settings.data_dir / "blobs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _actions(runtime: Runtime, t: TenantHandle) -> list[str]:
    with runtime.db.session(system=True) as s:
        rows = s.scalars(
            select(AuditEvent.action).where(AuditEvent.tenant_id == t.id).order_by(AuditEvent.seq)
        )
        return list(rows)


def test_upload_list_download_delete(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    url = _record(client, t)
    r = client.post(
        url, files={"file": ("給与明細.pdf", PDF, "application/pdf")}, headers=t.headers
    )
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["filename"] == "給与明細.pdf"
    assert meta["content_type"] == "application/pdf"
    assert meta["size"] == len(PDF)
    assert r.headers["location"] == f"{url}/{meta['id']}"

    listed = client.get(url, headers=t.headers).json()
    assert [a["id"] for a in listed] == [meta["id"]]

    r = client.get(f"{url}/{meta['id']}", headers=t.headers)
    assert r.status_code == 200
    assert r.content == PDF
    assert r.headers["content-type"] == "application/pdf"
    assert "UTF-8''%E7%B5%A6" in r.headers["content-disposition"]
    assert r.headers["x-content-type-options"] == "nosniff"

    # Encrypted at rest: the blob holds none of the plaintext.
    [blob] = _blobs(runtime)
    stored = blob.read_bytes()
    assert "山田太郎".encode() not in stored and b"%PDF" not in stored

    assert client.delete(f"{url}/{meta['id']}", headers=t.headers).status_code == 204
    assert client.get(f"{url}/{meta['id']}", headers=t.headers).status_code == 404
    assert _blobs(runtime) == []
    actions = _actions(runtime, t)
    for action in (
        "attachments.upload",
        "attachments.list",
        "attachments.read",
        "attachments.delete",
    ):
        assert action in actions


def test_raw_body_upload_of_a_shift_jis_csv(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    url = _record(client, t)
    csv = "氏名,住所\n山田太郎,東京都千代田区丸の内1-1\n".encode("cp932")
    r = client.post(
        url,
        params={"filename": "名簿.csv"},
        content=csv,
        headers={**t.headers, "Content-Type": "application/vnd.ms-excel"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "text/csv; charset=shift_jis"
    got = client.get(f"{url}/{r.json()['id']}", headers=t.headers)
    assert got.content.decode("cp932").startswith("氏名,住所")


@pytest.mark.parametrize(
    ("content", "declared", "code"),
    [
        (PDF, "image/png", "attachment_type_mismatch"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "application/pdf", "attachment_type_mismatch"),
        (
            b"PK\x03\x04" + b"\x00" * 100 + b"payload.js",
            "application/zip",
            "attachment_type_not_allowed",
        ),
        (b"\x00\x01\x02\x03binary", None, "attachment_type_not_allowed"),
        (PDF, "application/x-msdownload", "attachment_type_not_allowed"),
    ],
)
def test_types_are_sniffed_against_the_allow_list(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    content: bytes,
    declared: str | None,
    code: str,
) -> None:
    t = make_tenant()
    url = _record(client, t)
    part = ("file.bin", content, declared) if declared else ("file.bin", content)
    r = client.post(url, files={"file": part}, headers=t.headers)
    assert r.status_code == 415
    assert r.json()["error"] == code
    assert _blobs(runtime) == []  # nothing half-stored


def _detections() -> float:
    """Malware detections counted for /metrics, over every scanner."""
    from prometheus_client import REGISTRY

    return sum(
        s.value
        for m in REGISTRY.collect()
        if m.name == "hokan_malware_detections"
        for s in m.samples
        if s.name.endswith("_total")
    )


def test_malware_is_refused_quarantined_audited_and_reported(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    with runtime.db.session(write=True, system=True) as s:
        tenant = s.get(Tenant, t.id)
        assert tenant is not None
        tenant.contacts = [
            {"name": "総務", "email": "soumu@acme.example.jp", "roles": ["security"]}
        ]
    runtime.attachments.operator_emails = ["soc@hokan.example.jp"]
    url = _record(client, t)
    infected = b"report text\n" * 10_000 + _EICAR + b"\nmore\n"  # past the first chunk
    detections = _detections()
    r = client.post(url, files={"file": ("report.txt", infected, "text/plain")}, headers=t.headers)
    assert r.status_code == 422
    assert _detections() == detections + 1  # counted on /metrics
    assert r.json()["error"] == "malware_detected"
    assert r.json()["signature"] == "EICAR-Test-File"
    assert client.get(url, headers=t.headers).json() == []

    with runtime.db.session(system=True) as s:
        [row] = list(s.scalars(select(RecordAttachment)))
        assert row.status is AttachmentStatus.quarantined
        assert row.signature == "EICAR-Test-File"
        [mail] = list(
            s.scalars(select(MailMessage).where(MailMessage.kind == "attachments.malware"))
        )
        assert set(mail.recipients) == {"soumu@acme.example.jp", "soc@hokan.example.jp"}
        assert "EICAR-Test-File" in mail.body
    [blob] = _blobs(runtime)  # the quarantined copy, encrypted
    assert b"EICAR" not in blob.read_bytes()
    assert client.get(f"{url}/{row.id}", headers=t.headers).status_code == 404
    assert "attachments.quarantined" in _actions(runtime, t)


def test_disguised_executable_is_malware(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    url = _record(client, t)
    # A PDF whose body launches an embedded program.
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Action /S /Launch /F (invoice.exe) >> endobj\n"
    r = client.post(url, files={"file": ("invoice.pdf", pdf, "application/pdf")}, headers=t.headers)
    assert r.status_code == 422
    assert r.json()["error"] == "malware_detected"


def test_size_limit_413_leaves_nothing(
    settings_factory: Callable[..., object], make_tenant: Callable[..., TenantHandle]
) -> None:
    settings = settings_factory(attachment_max_bytes=4096)
    rt = Runtime(settings)  # type: ignore[arg-type]
    from hokan.app import create_app

    with TestClient(create_app(runtime=rt), client=("127.0.0.1", 50000)) as c:
        t = make_tenant()
        url = _record(c, t)
        big = b"a" * 5000
        r = c.post(url, files={"file": ("big.txt", big, "text/plain")}, headers=t.headers)
        assert r.status_code == 413
        # Without a Content-Length the stream itself is cut at the limit.
        r = c.post(
            url,
            content=iter([b"a" * 3000, b"b" * 3000]),
            headers={**t.headers, "Content-Type": "text/plain"},
        )
        assert r.status_code == 413
        assert c.get(url, headers=t.headers).json() == []
        assert _blobs(rt) == []
    rt.close()


def test_tampered_or_truncated_blob_is_refused(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    url = _record(client, t)
    content = b"%PDF-1.7\n" + bytes(range(256)) * 1024  # 256 KiB: several sealed chunks
    a = client.post(url, files={"file": ("a.pdf", content, "application/pdf")}, headers=t.headers)
    assert a.status_code == 201
    [blob] = _blobs(runtime)
    original = blob.read_bytes()

    flipped = bytearray(original)
    flipped[100] ^= 0x01
    blob.write_bytes(bytes(flipped))
    r = client.get(f"{url}/{a.json()['id']}", headers=t.headers)
    assert r.status_code == 500
    assert r.json()["error"] == "attachment_corrupt"

    # Cut after the first sealed chunk: the first bytes open, the end is missing.
    frame = 4 + int.from_bytes(original[4:8], "big")
    blob.write_bytes(original[: 4 + frame])
    with runtime.db.session(write=True, tenant=t.id) as s:
        _, stream = runtime.attachments.open(
            s, _principal(t), "staff", "s-1", uuid.UUID(a.json()["id"])
        )
    with pytest.raises(Exception) as caught:
        b"".join(stream)
    assert getattr(caught.value, "code", None) == "attachment_corrupt"

    blob.write_bytes(original)
    assert client.get(f"{url}/{a.json()['id']}", headers=t.headers).content == content


def _principal(t: TenantHandle) -> Principal:
    from hokan.principals.principal import ALL_TOKEN_SCOPES, PrincipalKind

    return Principal(PrincipalKind.token, "test", "test", t.id, ALL_TOKEN_SCOPES)


def test_record_deletion_and_key_destruction_shred_attachments(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    url = _record(client, t)
    r = client.post(url, files={"file": ("a.pdf", PDF, "application/pdf")}, headers=t.headers)
    assert r.status_code == 201
    assert client.delete(f"{BASE}/s-1", headers=t.headers).status_code == 204
    assert _blobs(runtime) == []
    with runtime.db.session(system=True) as s:
        assert list(s.scalars(select(RecordAttachment))) == []
    # Re-created, the record starts without the old files.
    assert client.put(f"{BASE}/s-1", json={"v": 2}, headers=t.headers).status_code == 201
    assert client.get(url, headers=t.headers).json() == []

    r = client.post(url, files={"file": ("b.pdf", PDF, "application/pdf")}, headers=t.headers)
    assert runtime.keyring.destroy_tenant(t.id) == 1
    got = client.get(f"{url}/{r.json()['id']}", headers=t.headers)
    assert got.status_code == 410
    assert got.json()["error"] == "tenant_keys_destroyed"


def test_another_tenants_attachment_is_not_found(
    client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    a, b = make_tenant(), make_tenant()
    url = _record(client, a)
    r = client.post(url, files={"file": ("a.pdf", PDF, "application/pdf")}, headers=a.headers)
    _record(client, b)  # b has a record with the same id
    assert client.get(f"{url}/{r.json()['id']}", headers=b.headers).status_code == 404
    assert client.delete(f"{url}/{r.json()['id']}", headers=b.headers).status_code == 404
    assert client.get(url, headers=b.headers).json() == []
    assert client.get(f"{url}/{r.json()['id']}", headers=a.headers).content == PDF
    assert client.post(url, files={"file": ("a.pdf", PDF)}).status_code == 401


def test_executable_posing_as_a_pdf_is_quarantined_not_just_refused(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    url = _record(client, t)
    exe = b"MZ\x90\x00" + b"\x00" * 0x38 + (0x80).to_bytes(4, "little") + b"\x00" * 0x40
    exe += b"PE\x00\x00" + b"\x00" * 4000
    r = client.post(url, files={"file": ("invoice.pdf", exe, "application/pdf")}, headers=t.headers)
    assert r.status_code == 422
    assert r.json()["signature"] == "Executable.Win.PE"
    with runtime.db.session(system=True) as s:
        [row] = list(s.scalars(select(RecordAttachment)))
    assert (row.status, row.content_type) == (
        AttachmentStatus.quarantined,
        "application/octet-stream",
    )


def test_key_rotation_keeps_attachments_readable_and_rewrap_moves_them(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    from hokan.records.tasks import rewrap_tenant

    t = make_tenant()
    url = _record(client, t)
    r = client.post(url, files={"file": ("a.pdf", PDF, "application/pdf")}, headers=t.headers)
    assert runtime.keyring.rotate(t.id) == 2
    assert client.get(f"{url}/{r.json()['id']}", headers=t.headers).content == PDF
    assert rewrap_tenant(runtime.db, runtime.keyring, t.id) == 3  # record, revision, attachment
    with runtime.db.session(system=True) as s:
        [row] = list(s.scalars(select(RecordAttachment)))
    assert row.key_version == 2
    assert client.get(f"{url}/{r.json()['id']}", headers=t.headers).content == PDF
