"""Backup fixtures: a service over the test runtime, and a data set with records and blobs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hokan.backup.service import Backups
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import PgDatabases, TenantHandle


@pytest.fixture
def backup_settings(
    request: pytest.FixtureRequest, backend: str, settings_factory: Callable[..., Settings]
) -> Settings:
    """The test settings; on PostgreSQL the backup reads as the databases' owner (the app
    role is held by row-level security, HOKAN_BACKUP_DATABASE_URL)."""
    if backend == "postgresql":
        pg: PgDatabases = request.getfixturevalue("pg_databases")
        return settings_factory(
            backup_database_url=pg.admin_system_url, keyring_database_url=pg.admin_keyring_url
        )
    return settings_factory()


@pytest.fixture
def backups(runtime: Runtime, backup_settings: Settings) -> Backups:
    return Backups(backup_settings, runtime.keyring, runtime.blobs, runtime.db)


@pytest.fixture
def populated(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> dict[str, dict[str, object]]:
    """A tenant with a few records and a blob; returns the records as the API reads them."""
    t = make_tenant()
    shown: dict[str, dict[str, object]] = {}
    for i in range(5):
        r = client.put(
            f"/api/v1/collections/staff/records/r{i}",
            json={"name": f"社員 {i}", "i": i, "pad": "x" * (i * 1000)},
            headers=t.headers,
        )
        assert r.status_code == 201, r.text
        shown[f"r{i}"] = client.get(
            f"/api/v1/collections/staff/records/r{i}", headers=t.headers
        ).json()["data"]
    runtime.blobs.put("backup-test/one/blob", [b"blob bytes " * 1000])
    return shown


@pytest.fixture
def scratch_databases(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """Two empty PostgreSQL databases to restore a generation into."""
    pg: PgDatabases = request.getfixturevalue("pg_databases")
    base = make_url(pg.admin_system_url)
    names = [f"{base.database}_restore", f"{base.database}_restore_keyring"]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    urls = [base.set(database=n).render_as_string(hide_password=False) for n in names]
    yield urls[0], urls[1]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on loopback (the remote target and an S3 blob store talk to it)."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="ap-northeast-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture
def s3_buckets(s3_endpoint: str) -> dict[str, str]:
    """Fresh buckets for the remote target, the blob store and a restore's blob store."""
    import uuid

    client = s3_client(s3_endpoint)
    names = {k: f"{k}-{uuid.uuid4().hex[:10]}" for k in ("backups", "blobs", "restored")}
    for name in names.values():
        client.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )
    return names


def s3_settings(endpoint: str, buckets: dict[str, str]) -> dict[str, Any]:
    """Settings overrides: the remote target on S3, and an S3 blob store."""
    return {
        "backup_remote_url": f"s3://{buckets['backups']}/hokan",
        "backup_s3_endpoint_url": endpoint,
        "backup_s3_access_key_id": "test",
        "backup_s3_secret_access_key": "test",
        "blob_url": f"s3://{buckets['blobs']}/att",
        "blob_s3_endpoint_url": endpoint,
        "blob_s3_access_key_id": "test",
        "blob_s3_secret_access_key": "test",
    }
