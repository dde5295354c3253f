"""The remote target on the S3 API, against moto's server (BAK-1, BAK-4, ADR 0023): a
generation of an installation whose blobs are in S3 goes up object by object, comes back
byte-identical, and a target that is unreachable or full leaves no generation behind."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.backup import errors
from hokan.backup.s3target import S3Target
from hokan.backup.service import Backups
from hokan.blobs.s3 import S3BlobStore
from hokan.models import AuditEvent
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.backup.conftest import s3_client, s3_settings
from tests.backup.test_roundtrip import _rows
from tests.conftest import PgDatabases, TenantHandle

BASE = "/api/v1/collections/staff/records"
PDF = b"%PDF-1.7\n" + "給与明細 山田太郎\n".encode() * 4000 + b"%%EOF\n"


@pytest.fixture
def settings(
    settings_factory: Callable[..., Settings], s3_endpoint: str, s3_buckets: dict[str, str]
) -> Settings:
    return settings_factory(**s3_settings(s3_endpoint, s3_buckets))


@pytest.fixture
def backup_settings(request: pytest.FixtureRequest, backend: str, settings: Settings) -> Settings:
    if backend == "postgresql":
        pg: PgDatabases = request.getfixturevalue("pg_databases")
        return Settings(  # type: ignore[call-arg]
            **{
                **settings.model_dump(),
                "backup_database_url": pg.admin_system_url,
                "keyring_database_url": pg.admin_keyring_url,
            }
        )
    return settings


def _actions(runtime: Runtime, action: str) -> list[AuditEvent]:
    with runtime.db.session(system=True) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_s3_round_trip_streams_the_blobs_and_restores_them_byte_identical(
    backups: Backups,
    backup_settings: Settings,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    s3_endpoint: str,
    s3_buckets: dict[str, str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    backend: str,
) -> None:
    t = make_tenant()
    assert client.put(f"{BASE}/a", json={"name": "山田"}, headers=t.headers).status_code == 201
    r = client.post(
        f"{BASE}/a/attachments",
        files={"file": ("p.pdf", PDF, "application/pdf")},
        headers=t.headers,
    )
    assert r.status_code == 201, r.text
    assert isinstance(backups.blobs, S3BlobStore)
    s3 = s3_client(s3_endpoint)
    stored_blobs = {
        o["Key"]: s3.get_object(Bucket=s3_buckets["blobs"], Key=o["Key"])["Body"].read()
        for o in s3.list_objects_v2(Bucket=s3_buckets["blobs"])["Contents"]
    }
    backups.keyring.backup_kek()
    backups.keyring.audit_signing_key()
    before = _rows(backup_settings.resolved_backup_database_url)

    taken = backups.run("monthly")  # the class kept on the remote target
    assert taken["target"] == "remote"
    assert isinstance(backups.target("remote"), S3Target)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_buckets["backups"])["Contents"]]
    name = taken["generation"]
    assert f"hokan/{name}/manifest.json" in keys
    assert not any(k.endswith("INCOMPLETE") for k in keys)
    shown = backups.show(name)
    [blobs_file] = [f for f in shown["files"] if f["name"] == "blobs.pack.hbk"]
    assert blobs_file["meta"]["store"] == "s3" and blobs_file["meta"]["blobs"] >= 1
    by_tenant = shown["row_counts_by_tenant"]["system.db.hbk"]
    assert by_tenant["records"] == {str(t.id): 1}
    assert by_tenant["record_attachments"] == {str(t.id): 1}
    [listed] = backups.listing(target_name="remote")
    assert listed["generation"] == name
    [verified] = backups.verify(name)
    assert verified["ok"], verified

    restored_store = S3BlobStore(s3_client(s3_endpoint), s3_buckets["restored"], "att")
    extra: dict[str, Any] = {}
    if backend == "postgresql":
        system_to, keyring_to = request.getfixturevalue("scratch_databases")
        extra = {"to_database_url": system_to, "to_keyring_url": keyring_to}
    result = backups.restore(name, tmp_path / "restored", to_blobs=restored_store, **extra)
    assert result["duration_ms"] >= 0 and result["target"] == "remote"
    after = _rows(extra.get("to_database_url") or f"sqlite:///{tmp_path / 'restored' / 'hokan.db'}")
    assert after == before
    for key, body in stored_blobs.items():
        got = s3.get_object(Bucket=s3_buckets["restored"], Key=key)["Body"].read()
        assert got == body  # the sealed attachment, byte for byte


def test_an_unreachable_remote_fails_clearly_and_records_no_generation(
    runtime: Runtime, backup_settings: Settings
) -> None:
    dead = backup_settings.model_copy(
        update={"backup_s3_endpoint_url": "http://127.0.0.1:9", "blob_url": ""}
    )
    backups = Backups(dead, runtime.keyring, runtime.blobs, runtime.db)
    with pytest.raises(errors.TargetUnavailable) as caught:
        backups.run("monthly")
    assert caught.value.code == "backup_target_unavailable"
    assert caught.value.params["target"] == "remote"
    assert "test" not in str(caught.value.params)  # never the credentials
    [failed] = _actions(runtime, "backup.run")
    assert failed.result == "error" and failed.detail["error"] == "backup_target_unavailable"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_killed_run_on_s3_is_never_listed_and_the_next_run_removes_it(
    backups: Backups, s3_endpoint: str, s3_buckets: dict[str, str]
) -> None:
    target = backups.target("remote")
    killed = "20260101T020000Z-monthly-abcdef"
    target.begin(killed)
    target.write(killed, "system.db.hbk", [b"half"])
    target.write(killed, "manifest.json", [b"{}"])  # even with a manifest: still incomplete
    assert target.generations() == []
    taken = backups.run("monthly")
    assert taken["cleaned_incomplete"] == [killed]
    keys = [
        o["Key"]
        for o in s3_client(s3_endpoint).list_objects_v2(Bucket=s3_buckets["backups"])["Contents"]
    ]
    assert not any(killed in k for k in keys)
    assert target.generations() == [taken["generation"]]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_full_folder_target_removes_the_partial_generation(
    backups: Backups, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hokan.backup import targets

    real = os.fdopen
    written = 0

    class Full:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            nonlocal written
            written += len(data)
            if written > 64 * 1024:
                raise OSError(errno.ENOSPC, "No space left on device")
            return int(self.handle.write(data))

        def flush(self) -> None:
            self.handle.flush()

        def fileno(self) -> int:
            return int(self.handle.fileno())

    monkeypatch.setattr(targets.os, "fdopen", lambda fd, mode: Full(real(fd, mode)))
    runtime.blobs.put("backup-test/big/blob", [os.urandom(512 * 1024)])
    with pytest.raises(errors.TargetFull) as caught:
        backups.run("daily")
    assert caught.value.code == "backup_target_full"
    root = backups.settings.resolved_backup_local_dir
    assert backups.target("local").generations() == []
    assert not any((root / ".incomplete").iterdir())
    [failed] = _actions(runtime, "backup.run")
    assert failed.result == "error" and failed.detail["error"] == "backup_target_full"
