"""S3-compatible object storage (AWS, MinIO, Ceph …) through boto3.

Uploads go through boto3's managed transfer, which sends multipart uploads of
``part_bytes`` pieces: memory stays bounded whatever the blob's size.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from hokan.blobs.store import READ_CHUNK, BlobMissing, check_key

if TYPE_CHECKING:
    from hokan.settings import Settings

_PART_BYTES = 8 * 1024 * 1024


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of chunks (what boto3's upload wants)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self.size += n
        return n


class S3BlobStore:
    name = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self._transfer = TransferConfig(
            multipart_threshold=_PART_BYTES, multipart_chunksize=_PART_BYTES, use_threads=False
        )

    @classmethod
    def from_settings(cls, settings: Settings, bucket: str, prefix: str) -> S3BlobStore:
        secret = settings.blob_s3_secret_access_key
        client = boto3.client(
            "s3",
            endpoint_url=settings.blob_s3_endpoint_url or None,
            region_name=settings.blob_s3_region,
            aws_access_key_id=settings.blob_s3_access_key_id or None,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                read_timeout=60,
                s3={"addressing_style": "path"},
            ),
        )
        return cls(client, bucket, prefix)

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        reader = _ChunkReader(chunks)
        self.client.upload_fileobj(
            io.BufferedReader(reader, READ_CHUNK),
            self.bucket,
            self._key(key),
            Config=self._transfer,
        )
        return reader.size

    def open(self, key: str) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise BlobMissing from None
            raise
        return _stream(body)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def keys(self, prefix: str) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield str(item["Key"])[len(self.prefix) :]

    def purge(self, prefix: str) -> int:
        """Delete every object under ``prefix``, and on a versioned bucket every old
        version and delete marker too: a disposed tenant's bytes must not survive as
        a noncurrent version (LIFE-2)."""
        found = list(self.keys(prefix))
        doomed = [{"Key": self.prefix + k} for k in found]
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        for page in pages:
            for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                if item.get("VersionId") not in (None, "null"):
                    doomed.append({"Key": item["Key"], "VersionId": item["VersionId"]})
        for start in range(0, len(doomed), 1000):  # DeleteObjects takes up to 1000 keys
            batch = doomed[start : start + 1000]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(found)

    def listing(self) -> Iterator[tuple[str, int]]:
        """Every blob's key and size, in key order (what a backup streams, ADR 0023)."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                yield str(item["Key"])[len(self.prefix) :], int(item["Size"])

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError:
            return False
        return True


def _stream(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(READ_CHUNK)
    finally:
        body.close()
