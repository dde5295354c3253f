"""A restore refuses a damaged generation with a code naming the generation, the file and the
chunk, and leaves no half-written file behind (BAK-4, ADR 0023): a tampered chunk, a missing
chunk, a chunk swapped in from another generation, a wrong master key — on a folder target
and on the S3 remote."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from hokan.backup import errors
from hokan.backup.service import Backups
from hokan.keyring.master import LocalMasterKey
from hokan.keyring.service import Keyring
from hokan.kit import crypto
from hokan.settings import Settings
from tests.backup.conftest import s3_client, s3_settings
from tests.backup.test_tampering import _records

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
FILE = "blobs.pack.hbk"


@pytest.fixture
def settings(
    settings_factory: Callable[..., Settings], s3_endpoint: str, s3_buckets: dict[str, str]
) -> Settings:
    # 1 MiB chunks: the blob pack has several; the remote target is S3 (moto).
    overrides = s3_settings(s3_endpoint, s3_buckets)
    overrides.pop("blob_url")
    return settings_factory(backup_chunk_mib=1, **overrides)


@pytest.fixture
def backup_settings(settings: Settings) -> Settings:
    return settings


class Stored:
    """One file of a generation on either target, read and replaced as raw bytes."""

    def __init__(self, backups: Backups, target: str, name: str, bucket: str) -> None:
        self.backups, self.target, self.name, self.bucket = backups, target, name, bucket
        self.s3 = s3_client(backups.settings.backup_s3_endpoint_url)

    def read(self, file: str = FILE, name: str | None = None) -> bytes:
        name = name or self.name
        if self.target == "local":
            return (self.backups.settings.resolved_backup_local_dir / name / file).read_bytes()
        return bytes(
            self.s3.get_object(Bucket=self.bucket, Key=f"hokan/{name}/{file}")["Body"].read()
        )

    def write(self, raw: bytes, file: str = FILE) -> None:
        if self.target == "local":
            (self.backups.settings.resolved_backup_local_dir / self.name / file).write_bytes(raw)
        else:
            self.s3.put_object(Bucket=self.bucket, Key=f"hokan/{self.name}/{file}", Body=raw)


@pytest.fixture(params=["local", "remote"])
def stored(request: pytest.FixtureRequest, backups: Backups, s3_buckets: dict[str, str]) -> Stored:
    assert backups.blobs is not None
    backups.blobs.put("backup-test/big/blob", [os.urandom(3 * 1024 * 1024 + 5)])
    name = backups.run("daily", request.param)["generation"]
    return Stored(backups, request.param, name, s3_buckets["backups"])


def _refused(backups: Backups, name: str, to: Path) -> errors.BackupError:
    with pytest.raises(errors.BackupError) as caught:
        backups.restore(name, to)
    leftovers = [p.name for p in to.rglob("*") if p.is_file()] if to.exists() else []
    assert not [p for p in leftovers if p.endswith((".part", ".restoring"))], leftovers
    assert "blobs" not in {p.name for p in to.iterdir()} or not any(
        (to / "blobs").rglob("big/*")
    ), "the damaged blob pack wrote nothing it could not prove"
    return caught.value


def test_a_tampered_chunk(stored: Stored, tmp_path: Path) -> None:
    raw = bytearray(stored.read())
    first = len(_records(bytes(raw))[0])
    raw[first + 200] ^= 0x01  # inside chunk 1
    stored.write(bytes(raw))
    error = _refused(stored.backups, stored.name, tmp_path / "r")
    assert error.code == "backup_chunk_tampered"
    assert error.params == {"generation": stored.name, "file": FILE, "chunk": 1}


def test_a_missing_chunk(stored: Stored, tmp_path: Path) -> None:
    records = _records(stored.read())
    stored.write(b"".join([records[0], *records[2:]]))
    error = _refused(stored.backups, stored.name, tmp_path / "r")
    assert error.code == "backup_chunk_missing"
    assert error.params == {"generation": stored.name, "file": FILE, "chunk": 1}


def test_a_chunk_swapped_in_from_another_generation(stored: Stored, tmp_path: Path) -> None:
    other = stored.backups.run("daily", stored.target)["generation"]
    foreign = _records(stored.read(name=other))
    records = _records(stored.read())
    stored.write(b"".join([records[0], foreign[1], *records[2:]]))
    error = _refused(stored.backups, stored.name, tmp_path / "r")
    assert error.code == "backup_chunk_foreign"
    assert error.params == {"generation": stored.name, "file": FILE, "chunk": 1}


def test_a_wrong_master_key(stored: Stored, tmp_path: Path) -> None:
    stranger = Keyring(stored.backups.keyring.db, LocalMasterKey(crypto.random_key()), 0)
    wrong = Backups(stored.backups.settings, stranger)
    error = _refused(wrong, stored.name, tmp_path / "r")
    assert error.code == "backup_wrong_key"
    assert error.params == {"generation": stored.name}
    assert not (tmp_path / "r" / "keyring.db").exists()  # refused before a byte was written
