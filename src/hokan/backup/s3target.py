"""The remote backup target on the S3 API (遠隔地: AWS, MinIO, Ceph, Wasabi …) through boto3.

Objects: ``PREFIX/<generation>/<file>``. S3 has no rename, so a generation is written in
place with an ``INCOMPLETE`` marker object first; publishing deletes the marker, and a
generation counts only with its manifest and without the marker (ADR 0023). Sealed files
go up as multipart uploads of bounded parts (memory stays a few parts). A run's lock is a
host-local ``flock`` named after the bucket and prefix — two runs of this installation
never overlap; another installation must not share the prefix (said in the ADR).

Every failure of the service (unreachable endpoint, refused credentials, no such bucket,
quota) is :class:`errors.TargetUnavailable` / :class:`errors.TargetFull` naming the target
and a short cause — never the endpoint's credentials.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hokan.backup import errors
from hokan.backup.targets import MANIFEST, check_file, check_generation
from hokan.settings import Settings

_MARKER = "INCOMPLETE"
_PINS = ".pins"
_PART = 8 * 1024 * 1024
_FULL = {"QuotaExceeded", "EntityTooLarge", "InsufficientStorage", "XMinioStorageFull"}


def parse_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise errors.TargetUnavailable("target", target="remote", cause="not s3://bucket/prefix")
    return parts.netloc, parts.path.strip("/")


def client_from_settings(settings: Settings) -> Any:
    secret = settings.backup_s3_secret_access_key
    return boto3.client(
        "s3",
        endpoint_url=settings.backup_s3_endpoint_url or None,
        region_name=settings.backup_s3_region,
        aws_access_key_id=settings.backup_s3_access_key_id or None,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=Config(
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            s3={"addressing_style": "path"},
        ),
    )


def _cause(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")[:60]
    return type(exc).__name__


class _Reader(io.RawIOBase):
    """A read-only file over chunks, for boto3's managed upload."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            piece = next(self._chunks, None)
            if piece is None:
                return 0
            self._pending = piece
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self.size += n
        return n


class _Body(io.RawIOBase):
    """An object's body as a readable stream that knows its position (for progress)."""

    def __init__(self, body: Any) -> None:
        self._body = body
        self._at = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        try:
            data: bytes = self._body.read() if n is None or n < 0 else self._body.read(n)
        except (BotoCoreError, OSError) as exc:
            raise errors.TargetUnavailable(
                "target", target="remote", cause=type(exc).__name__
            ) from None
        self._at += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def tell(self) -> int:
        return self._at

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._body.close()
        super().close()


class S3Target:
    """Generations as objects under one prefix of one bucket."""

    def __init__(self, name: str, client: Any, bucket: str, prefix: str = "") -> None:
        self.name = name
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self._transfer = TransferConfig(
            multipart_threshold=_PART, multipart_chunksize=_PART, use_threads=False
        )

    def describe(self) -> str:
        return f"{self.name} (s3://{self.bucket}/{self.prefix})"

    def _key(self, generation: str, file: str) -> str:
        name = file if file == _MARKER else check_file(file)
        return f"{self.prefix}{check_generation(generation)}/{name}"

    def _fail(self, exc: Exception) -> errors.BackupError:
        cause = _cause(exc)
        if cause in _FULL:
            return errors.TargetFull("target", target=self.name, cause=cause)
        return errors.TargetUnavailable("target", target=self.name, cause=cause)

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc) from None

    def _list(self, prefix: str, delimiter: str | None = None) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        try:
            yield from paginator.paginate(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc) from None

    def _objects(self, prefix: str) -> Iterator[tuple[str, int]]:
        for page in self._list(prefix):
            for item in page.get("Contents", []):
                yield str(item["Key"]), int(item["Size"])

    def _folders(self) -> dict[str, set[str]]:
        """Each generation-like folder and the names of its objects."""
        out: dict[str, set[str]] = {}
        for key, _ in self._objects(self.prefix):
            rest = key[len(self.prefix) :]
            folder, _, file = rest.partition("/")
            if file and "/" not in file:
                out.setdefault(folder, set()).add(file)
        return out

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        tag = hashlib.sha256(f"{self.bucket}/{self.prefix}".encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"hokan-backup-s3-{tag}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise errors.BackupRunning("target", target=self.name) from None
            yield
        finally:
            os.close(fd)

    def clean_incomplete(self) -> list[str]:
        removed = []
        for folder, files in sorted(self._folders().items()):
            if _MARKER in files:
                self._remove(folder, files)
                removed.append(folder)
        return removed

    def _remove(self, folder: str, files: Iterable[str]) -> None:
        # The marker goes last: a half-removed generation stays marked incomplete.
        for file in sorted(files, key=lambda f: f == _MARKER):
            self._call("delete_object", Key=f"{self.prefix}{folder}/{file}")

    def begin(self, generation: str) -> None:
        body = b"a backup run is writing (or died writing) here\n"
        self._call("put_object", Key=self._key(generation, _MARKER), Body=body)

    def write(self, generation: str, name: str, chunks: Iterable[bytes]) -> int:
        reader = _Reader(chunks)
        try:
            self.client.upload_fileobj(
                io.BufferedReader(reader, 1024 * 1024),
                self.bucket,
                self._key(generation, name),
                Config=self._transfer,
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc) from None
        except Exception as exc:  # boto3's transfer wraps failures in its own types
            inner = exc.__cause__ or exc.__context__
            if isinstance(inner, errors.BackupError):
                raise inner from None
            if isinstance(inner, BotoCoreError | ClientError):
                raise self._fail(inner) from None
            if type(exc).__module__.startswith(("boto3", "s3transfer")):
                raise errors.TargetUnavailable(
                    "target", target=self.name, cause=type(exc).__name__
                ) from None
            raise
        return reader.size

    def open(self, generation: str, name: str, *, incomplete: bool = False) -> BinaryIO:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(generation, name))
        except ClientError as exc:
            if _cause(exc) in {"NoSuchKey", "404"}:
                raise errors.FileMissing("file", generation=generation, file=name) from None
            raise self._fail(exc) from None
        except BotoCoreError as exc:
            raise self._fail(exc) from None
        return io.BufferedReader(_Body(body["Body"]), 1024 * 1024)

    def size(self, generation: str, name: str) -> int | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(generation, name))
        except ClientError as exc:
            if _cause(exc) in {"NoSuchKey", "404", "NotFound"}:
                return None
            raise self._fail(exc) from None
        except BotoCoreError as exc:
            raise self._fail(exc) from None
        return int(head["ContentLength"])

    def publish(self, generation: str) -> None:
        self._call("delete_object", Key=self._key(generation, _MARKER))

    def abandon(self, generation: str) -> None:
        with contextlib.suppress(errors.BackupError):
            files = self._folders().get(check_generation(generation), set())
            self._remove(generation, files | {_MARKER})

    def generations(self) -> list[str]:
        out = []
        for folder, files in self._folders().items():
            with contextlib.suppress(errors.GenerationNotFound):
                check_generation(folder)
                if MANIFEST in files and _MARKER not in files:
                    out.append(folder)
        return sorted(out)

    def delete(self, generation: str) -> None:
        files = self._folders().get(check_generation(generation), set())
        # Marked first: a half-deleted generation must never look complete.
        self.begin(generation)
        self._remove(generation, files | {_MARKER})
        self.set_pin(generation, False)

    def pins(self) -> set[str]:
        return {key.rsplit("/", 1)[1] for key, _ in self._objects(f"{self.prefix}{_PINS}/")}

    def set_pin(self, generation: str, pinned: bool) -> None:
        key = f"{self.prefix}{_PINS}/{check_generation(generation)}"
        if pinned:
            self._call("put_object", Key=key, Body=b"legal hold\n")
        else:
            self._call("delete_object", Key=key)

    def probe(self) -> None:
        key = f"{self.prefix}.probe-{secrets.token_hex(4)}"
        self._call("put_object", Key=key, Body=b"hokan")
        self._call("delete_object", Key=key)
