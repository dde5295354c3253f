"""REC-4: the folder store and the S3-compatible store (against moto's server on loopback)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer

from hokan.app import create_app
from hokan.blobs import BlobMissing, BlobStore, FolderBlobStore, make_blob_store
from hokan.blobs.s3 import S3BlobStore
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import TenantHandle


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="ap-northeast-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    import uuid

    name = f"hokan-{uuid.uuid4().hex[:12]}"
    _client(s3_endpoint).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    return name


def _exercise(store: BlobStore) -> None:
    data = [bytes([i]) * 1_000_000 for i in range(9)]  # 9 MB: a multipart upload on S3
    assert store.put("t1/obj-1", iter(data)) == 9_000_000
    assert store.exists("t1/obj-1")
    assert b"".join(store.open("t1/obj-1")) == b"".join(data)
    store.put("t1/obj-1", [b"replaced"])
    assert b"".join(store.open("t1/obj-1")) == b"replaced"
    store.delete("t1/obj-1")
    store.delete("t1/obj-1")  # idempotent
    assert not store.exists("t1/obj-1")
    with pytest.raises(BlobMissing):
        b"".join(store.open("t1/obj-1"))
    for bad in ("../etc/passwd", "t1/../../x", "/abs/path", "T1/UPPER"):
        with pytest.raises(ValueError):
            store.put(bad, [b"x"])


def test_folder_store(tmp_path: Path) -> None:
    _exercise(FolderBlobStore(tmp_path / "blobs"))


def test_folder_store_leaves_nothing_when_the_stream_fails(tmp_path: Path) -> None:
    store = FolderBlobStore(tmp_path)

    def failing() -> Iterator[bytes]:
        yield b"partial"
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        store.put("t1/obj", failing())
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_s3_store(s3_endpoint: str, s3_bucket: str) -> None:
    _exercise(S3BlobStore(_client(s3_endpoint), s3_bucket, "hokan/blobs"))


def test_attachments_on_s3_are_checked_on_read(
    s3_endpoint: str,
    s3_bucket: str,
    settings_factory: Callable[..., Settings],
    make_tenant: Callable[..., TenantHandle],
) -> None:
    settings = settings_factory(
        blob_url=f"s3://{s3_bucket}/prod",
        blob_s3_endpoint_url=s3_endpoint,
        blob_s3_access_key_id="test",
        blob_s3_secret_access_key="test",
    )
    assert isinstance(make_blob_store(settings), S3BlobStore)
    rt = Runtime(settings)
    base = "/api/v1/collections/staff/records/s-1"
    pdf = b"%PDF-1.7\n" + "請求書 株式会社テスト\n".encode() * 100
    with TestClient(create_app(runtime=rt), client=("127.0.0.1", 50000)) as c:
        t = make_tenant()
        assert c.put(base, json={"n": 1}, headers=t.headers).status_code == 201
        r = c.post(f"{base}/attachments", files={"file": ("請求書.pdf", pdf)}, headers=t.headers)
        assert r.status_code == 201, r.text
        aid = r.json()["id"]
        s3 = _client(s3_endpoint)
        [obj] = s3.list_objects_v2(Bucket=s3_bucket)["Contents"]
        assert obj["Key"] == f"prod/{t.id}/{aid}"
        stored = s3.get_object(Bucket=s3_bucket, Key=obj["Key"])["Body"].read()
        assert "請求書".encode() not in stored
        assert c.get(f"{base}/attachments/{aid}", headers=t.headers).content == pdf
        # moto keeps whatever it is given: Hokan's own check must catch a changed object.
        tampered = stored[:-1] + bytes([stored[-1] ^ 1])
        s3.put_object(Bucket=s3_bucket, Key=obj["Key"], Body=tampered)
        r = c.get(f"{base}/attachments/{aid}", headers=t.headers)
        assert r.status_code == 500
        assert r.json()["error"] == "attachment_corrupt"
    rt.close()


def test_s3_store_leaves_nothing_when_the_stream_fails(s3_endpoint: str, s3_bucket: str) -> None:
    client = _client(s3_endpoint)
    store = S3BlobStore(client, s3_bucket)

    def failing() -> Iterator[bytes]:
        for _ in range(10):  # past one 8 MB part: a multipart upload was started
            yield b"x" * 1_000_000
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        store.put("t1/obj", failing())
    assert client.list_objects_v2(Bucket=s3_bucket).get("Contents", []) == []
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
