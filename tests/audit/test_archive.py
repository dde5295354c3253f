"""Archival: old entries move to compressed segment files and stay verifiable."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hokan.audit import archive, bundle, checkpoints
from hokan.audit import service as audit
from hokan.kit.clock import utcnow
from hokan.runtime import Runtime
from tests.conftest import TenantHandle


def _archive_all(runtime: Runtime, tmp_path: Path) -> list[archive.Archived]:
    return archive.archive(runtime.db, tmp_path / "segments", utcnow() + timedelta(seconds=1))


def test_archived_chain_still_verifies_and_exports(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle], tmp_path: Path
) -> None:
    t = make_tenant()
    for i in range(5):
        client.put(f"/api/v1/collections/staff/records/r{i}", json={"i": i}, headers=t.headers)
    checkpoints.make(runtime.db, runtime.keyring)
    done = _archive_all(runtime, tmp_path)
    assert [(a.first_seq, a.last_seq) for a in done] == [(1, 7)]
    assert done[0].path.exists()
    with runtime.db.session(system=True) as s:
        assert s.execute(text("SELECT count(*) FROM audit_events")).scalar() == 0
    client.get(
        "/api/v1/collections/staff/records/r0", headers=t.headers
    )  # entry 8, in the database
    key = runtime.keyring.audit_signing_key().public_key()
    report = audit.verify(runtime.db, public_key=key, archive_dir=tmp_path / "segments")
    assert report.ok, report.problems
    assert report.entries == 8
    assert _archive_all(runtime, tmp_path)[0].first_seq == 8  # the next run continues the archive
    assert audit.verify(runtime.db, public_key=key, archive_dir=tmp_path / "segments").ok
    data = bundle.export(runtime.db, runtime.keyring, t.id, tmp_path / "segments")
    assert bundle.verify(data, checkpoints.public_key_pem(runtime.keyring)).entries == 8


def test_a_missing_or_altered_segment_is_reported(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle], tmp_path: Path
) -> None:
    t = make_tenant()
    client.put("/api/v1/collections/staff/records/r", json={}, headers=t.headers)
    [seg] = _archive_all(runtime, tmp_path)
    lines = gzip.decompress(seg.path.read_bytes()).replace(b"records.create", b"records.delete")
    seg.path.write_bytes(gzip.compress(lines))
    report = audit.verify(runtime.db, archive_dir=tmp_path / "segments")
    assert [("altered" in p.reason) for p in report.problems] == [True]
    seg.path.unlink()
    report = audit.verify(runtime.db, archive_dir=tmp_path / "segments")
    assert [("missing" in p.reason) for p in report.problems] == [True]


def test_only_archived_entries_can_be_deleted(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    client.put("/api/v1/collections/staff/records/r", json={}, headers=t.headers)
    with (
        pytest.raises(DBAPIError, match="append-only"),
        runtime.db.session(write=True, system=True) as s,
    ):
        s.execute(text("DELETE FROM audit_events"))
    assert audit.verify(runtime.db).ok
