"""LIFE-4: the export holds every record, revision and attachment, checkably."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from hokan.audit import bundle
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests.conftest import TenantHandle
from tests.lifecycle.conftest import ALL, BASE, PDF, use


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_export_re_imports_with_the_same_counts_and_hashes(
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    tmp_path: Path,
) -> None:
    t = make_tenant(scopes=ALL)
    use(client, t, records=4, numbers=0)
    other = make_tenant(scopes=ALL)
    use(client, other, records=2, numbers=0)
    runtime.lifecycle.terminate(t.tenant.code, SYSTEM)  # export stays allowed in the grace
    manifest = runtime.lifecycle.export(t.tenant.code, tmp_path / "out", SYSTEM)
    root = Path(manifest["path"])
    assert root.parent == tmp_path / "out" and not list((tmp_path / "out").glob(".*"))
    # Every file is the one the manifest hashes.
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert on_disk - {"manifest.json"} == set(manifest["files"])
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == digest, name
    # Re-import: counts and contents.
    current = _lines(root / "collections" / "staff.jsonl")
    history = _lines(root / "collections" / "staff.revisions.jsonl")
    assert manifest["counts"]["records"] == len(current) == 4
    assert manifest["counts"]["revisions"] == len(history) == 8
    assert {r["key"]: r["data"] for r in current}["r3"] == {"name": "社員 3", "v": 1}
    assert sorted(r["data"]["v"] for r in history if r["key"] == "r1") == [0, 1]  # type: ignore[index]
    [meta] = _lines(root / "attachments.jsonl")
    stored = (root / "attachments" / str(meta["id"])).read_bytes()
    assert stored == PDF and hashlib.sha256(stored).hexdigest() == meta["sha256"]
    users = (root / "users.jsonl").read_text(encoding="utf-8")
    assert "password" not in users and "totp" not in users
    # The audit bundle verifies offline.
    report = bundle.verify((root / "audit-bundle.json").read_bytes())
    assert report.ok, report
    # Nothing of the other tenant.
    everything = b"".join((root / n).read_bytes() for n in manifest["files"])
    assert str(other.id).encode() not in everything


def test_export_cli_writes_the_folder(
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    tmp_path: Path,
    monkeypatch: object,
) -> None:
    t = make_tenant(scopes=ALL)
    assert client.put(f"{BASE}/a", json={"x": 1}, headers=t.headers).status_code == 201
    manifest = runtime.lifecycle.export(str(t.id), tmp_path, SYSTEM)
    assert manifest["counts"]["records"] == 1 and manifest["tenant"]["id"] == str(t.id)
