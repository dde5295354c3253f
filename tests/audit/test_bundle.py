"""Verifiable export bundles (AUD-3): verify offline, fail on any altered byte,
carry nothing of another tenant."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from hokan.audit import bundle, checkpoints
from hokan.runtime import Runtime
from tests.conftest import TenantHandle


def _exported(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> tuple[bytes, TenantHandle, TenantHandle]:
    a, b = make_tenant(), make_tenant()
    for i in range(4):
        client.put(f"/api/v1/collections/staff/records/a{i}", json={"i": i}, headers=a.headers)
        client.put(f"/api/v1/collections/staff/records/b{i}", json={"i": i}, headers=b.headers)
    checkpoints.make(runtime.db, runtime.keyring)
    client.get("/api/v1/collections/staff/records/a0", headers=a.headers)  # past the checkpoint
    r = client.get("/api/v1/audit/bundle", headers=a.headers)
    assert r.status_code == 200
    return r.content, a, b


def test_bundle_verifies_offline_and_holds_only_its_tenant(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle], tmp_path: Path
) -> None:
    data, _, b = _exported(client, runtime, make_tenant)
    report = bundle.verify(data, checkpoints.public_key_pem(runtime.keyring))
    assert report.ok, report.problems
    assert report.entries == 7  # tenant + token creation, 4 writes, 1 read
    assert report.checkpoints == 2  # the one signed before, and one signed at export
    assert str(b.id).encode() not in data
    assert b.tenant.code.encode() not in data
    assert b"staff/b0" not in data
    # Offline, in a fresh process with no settings or database at all.
    path = tmp_path / "bundle.json"
    path.write_bytes(data)
    pem = tmp_path / "audit.pem"
    pem.write_text(checkpoints.public_key_pem(runtime.keyring))
    env = {"PATH": "/usr/bin:/bin", "HOKAN_DATA_DIR": str(tmp_path / "nothing-here")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hokan",
            "audit",
            "verify",
            "--bundle",
            str(path),
            "--public-key",
            str(pem),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout
    assert not (tmp_path / "nothing-here").exists()


def test_any_altered_byte_fails_verification(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    data, _, _ = _exported(client, runtime, make_tenant)
    pem = checkpoints.public_key_pem(runtime.keyring)
    start = data.index(b'"entries"')  # every byte of the chain and its checkpoints counts
    rng = random.Random(7)
    positions = sorted(rng.sample(range(start, len(data)), 60))
    for position in positions:
        original = data[position]
        if original in b" \n":  # layout white space carries no meaning
            continue
        altered = bytearray(data)
        altered[position] = ord("0") if original != ord("0") else ord("1")
        report = bundle.verify(bytes(altered), pem)
        assert not report.ok, f"byte {position} ({chr(original)!r}) altered unnoticed"


def test_bundle_with_a_foreign_public_key_fails(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    data, _, _ = _exported(client, runtime, make_tenant)
    other = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert not bundle.verify(data, other).ok
