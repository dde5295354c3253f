"""Every way a stored generation can be damaged is caught, with its own code naming the
generation, file and chunk (BAK-3): flipped byte, dropped chunk, reordered chunks, a chunk
from another generation, truncation, a wrong key, a missing file."""

from __future__ import annotations

from pathlib import Path

import pytest

from hokan.backup import container, errors
from hokan.backup.container import HEADER
from hokan.backup.service import SYSTEM_FILE, Backups
from hokan.keyring.master import LocalMasterKey
from hokan.keyring.service import Keyring
from hokan.kit import crypto

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _records(raw: bytes) -> list[bytes]:
    out, at = [], 0
    while at < len(raw):
        length = HEADER.unpack(raw[at : at + HEADER.size])[4]
        out.append(raw[at : at + HEADER.size + length])
        at += HEADER.size + length
    return out


@pytest.fixture
def small_chunks(backups: Backups) -> Backups:
    """1 MiB chunks over an incompressible system copy, so the file has several chunks."""
    backups.settings = backups.settings.model_copy(update={"backup_chunk_mib": 1})
    return backups


def _generation(backups: Backups, runtime_blob: bytes | None = None) -> tuple[str, Path]:
    if runtime_blob is not None:
        assert backups.blobs is not None
        backups.blobs.put("backup-test/big/blob", [runtime_blob])
    name = backups.run("daily")["generation"]
    return name, backups.settings.resolved_backup_local_dir / name


def _failure(backups: Backups, name: str) -> dict[str, object]:
    [result] = backups.verify(name)
    assert result["ok"] is False
    return result


@pytest.fixture
def damaged(small_chunks: Backups) -> tuple[Backups, str, Path, list[bytes]]:
    import os

    name, folder = _generation(small_chunks, os.urandom(3 * 1024 * 1024 + 5))
    records = _records((folder / "blobs.pack.hbk").read_bytes())
    assert len(records) >= 4
    return small_chunks, name, folder, records


def test_a_clean_generation_verifies(damaged: tuple[Backups, str, Path, list[bytes]]) -> None:
    backups, name, _, _ = damaged
    [result] = backups.verify(name)
    assert result["ok"] is True and result["bytes_verified"] > 3 * 1024 * 1024


def test_flipped_byte(damaged: tuple[Backups, str, Path, list[bytes]]) -> None:
    backups, name, folder, records = damaged
    raw = bytearray((folder / "blobs.pack.hbk").read_bytes())
    raw[len(records[0]) + 100] ^= 0x01  # inside chunk 1's ciphertext
    (folder / "blobs.pack.hbk").write_bytes(bytes(raw))
    result = _failure(backups, name)
    assert result["error"] == "backup_chunk_tampered"
    assert result["where"] == {"generation": name, "file": "blobs.pack.hbk", "chunk": 1}


def test_dropped_chunk(damaged: tuple[Backups, str, Path, list[bytes]]) -> None:
    backups, name, folder, records = damaged
    (folder / "blobs.pack.hbk").write_bytes(b"".join(records[:1] + records[2:]))
    result = _failure(backups, name)
    assert result["error"] == "backup_chunk_missing"
    assert result["where"]["chunk"] == 1  # type: ignore[index]


def test_reordered_chunks(damaged: tuple[Backups, str, Path, list[bytes]]) -> None:
    backups, name, folder, records = damaged
    swapped = [records[0], records[2], records[1], *records[3:]]
    (folder / "blobs.pack.hbk").write_bytes(b"".join(swapped))
    assert _failure(backups, name)["error"] == "backup_chunk_missing"  # 2 came where 1 was due
    (folder / "blobs.pack.hbk").write_bytes(b"".join([records[0], records[0], *records[1:]]))
    assert _failure(backups, name)["error"] == "backup_chunk_reordered"


def test_chunk_swapped_in_from_another_generation(
    damaged: tuple[Backups, str, Path, list[bytes]],
) -> None:
    backups, name, folder, records = damaged
    _, other_folder = _generation(backups)
    foreign = _records((other_folder / "blobs.pack.hbk").read_bytes())
    (folder / "blobs.pack.hbk").write_bytes(b"".join([foreign[0], *records[1:]]))
    result = _failure(backups, name)
    assert result["error"] == "backup_chunk_foreign"
    assert result["where"]["chunk"] == 0  # type: ignore[index]


def test_truncated_at_a_chunk_boundary_and_inside_a_chunk(
    damaged: tuple[Backups, str, Path, list[bytes]],
) -> None:
    backups, name, folder, records = damaged
    (folder / "blobs.pack.hbk").write_bytes(b"".join(records[:-1]))
    [quick] = backups.verify(name, full=False)  # the nightly existence and size check
    assert quick["error"] == "backup_size_mismatch"
    result = _failure(backups, name)
    assert result["error"] == "backup_truncated"
    assert result["where"]["chunk"] == len(records) - 1  # type: ignore[index]
    (folder / "blobs.pack.hbk").write_bytes(b"".join(records)[:-10])
    result = _failure(backups, name)
    assert result["error"] == "backup_truncated"
    assert result["where"]["chunk"] == len(records) - 1  # type: ignore[index]


def test_missing_file(damaged: tuple[Backups, str, Path, list[bytes]]) -> None:
    backups, name, folder, _ = damaged
    (folder / SYSTEM_FILE).unlink()
    result = _failure(backups, name)
    assert result["error"] == "backup_file_missing"
    assert result["where"] == {"generation": name, "file": SYSTEM_FILE}


def test_altered_manifest(damaged: tuple[Backups, str, Path, list[bytes]]) -> None:
    backups, name, folder, _ = damaged
    text = (folder / "manifest.json").read_text().replace('"daily"', '"monthly"', 1)
    (folder / "manifest.json").write_text(text)
    assert _failure(backups, name)["error"] == "backup_manifest_invalid"


def test_wrong_master_key_is_refused_by_name(
    damaged: tuple[Backups, str, Path, list[bytes]], tmp_path: Path
) -> None:
    backups, name, _, _ = damaged
    stranger = Keyring(backups.keyring.db, LocalMasterKey(crypto.random_key()), 0)
    wrong = Backups(backups.settings, stranger)
    with pytest.raises(errors.WrongKey) as caught:
        wrong.restore(name, tmp_path / "restored")
    assert caught.value.code == "backup_wrong_key"
    assert caught.value.params == {"generation": name}
    with pytest.raises(errors.WrongKey):
        container.unwrap_key(crypto.random_key(), b"\x01" + b"\x00" * 60, name, "data")


def test_restore_refuses_a_tampered_generation(
    damaged: tuple[Backups, str, Path, list[bytes]], tmp_path: Path
) -> None:
    backups, name, folder, records = damaged
    raw = bytearray((folder / "blobs.pack.hbk").read_bytes())
    raw[-5] ^= 0xFF
    (folder / "blobs.pack.hbk").write_bytes(bytes(raw))
    with pytest.raises(errors.ChunkTampered) as caught:
        backups.restore(name, tmp_path / "restored")
    assert caught.value.params["chunk"] == len(records) - 1
