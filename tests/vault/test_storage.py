"""Encrypt-then-split storage (MYN-1, MYN-3, MYN-6): what the bytes on disk show, losing
stores, corrupt fragments, repair, and crypto-shredding. SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, select, text, update
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from hokan.cli import app as cli_app
from hokan.kit.db import Database, make_engine
from hokan.models import VaultEntry, VaultEntryKey, VaultFragment
from hokan.principals.principal import Principal, PrincipalKind
from hokan.runtime import Runtime
from hokan.settings import Settings
from hokan.vault import maintenance
from hokan.vault.errors import VaultEntryExists
from hokan.vault.numbers import NumberKind
from hokan.vault.views import RecordLink
from tests.conftest import MASTER_KEY, TenantHandle
from tests.vault.conftest import PNG, VAULT_SCOPES, valid_number

REVEAL = "/api/v1/vault/entries/{}/reveal"
DOWNLOAD = "/api/v1/vault/entries/{}/download"


def _register_both(client: TestClient, h: TenantHandle, number: str, doc: bytes) -> tuple[str, str]:
    r = client.post(
        "/api/v1/vault/numbers", json={"number": number, "record_id": "s-1"}, headers=h.headers
    )
    assert r.status_code == 201, r.text
    d = client.post(
        "/api/v1/vault/documents?record_id=s-1",
        content=doc,
        headers={**h.headers, "Content-Type": "image/png"},
    )
    assert d.status_code == 201, d.text
    return r.json()["id"], d.json()["id"]


def _reads(client: TestClient, h: TenantHandle, num_id: str, doc_id: str) -> tuple[int, int]:
    r = client.post(REVEAL.format(num_id), json={"purpose": "tax"}, headers=h.headers)
    d = client.post(DOWNLOAD.format(doc_id), json={"purpose": "tax"}, headers=h.headers)
    return r.status_code, d.status_code


def _lose(runtime: Runtime, backend: str, idx: int) -> None:
    """Store ``idx`` loses everything: its SQLite file is deleted / its database emptied."""
    store = runtime.vault_stores.dbs[idx]
    if backend == "sqlite":
        store.dispose()
        path = Path(make_url(runtime.vault_stores.urls[idx]).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        with store.engine.begin() as conn:
            conn.execute(text("TRUNCATE vault_fragments"))


def _unreachable(runtime: Runtime, backend: str, idx: int, tmp_path: Path) -> Database:
    """Swap store ``idx`` for one that cannot be opened at all; returns the original."""
    original = runtime.vault_stores.dbs[idx]
    url = (
        f"sqlite:///{tmp_path}"  # a directory: SQLite cannot open it
        if backend == "sqlite"
        else original.engine.url.set(database="hokan_no_such_db").render_as_string(False)
    )
    runtime.vault_stores.dbs[idx] = Database(make_engine(url))
    return original


def test_plaintext_never_reaches_disk_databases_or_logs(
    client: TestClient,
    runtime: Runtime,
    settings: Settings,
    backend: str,
    clerk_token: TenantHandle,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    number = valid_number()
    marker = os.urandom(24)
    doc = PNG + marker + b"distinctive identity document" + marker
    num_id, doc_id = _register_both(client, clerk_token, number, doc)
    assert _reads(client, clerk_token, num_id, doc_id) == (200, 200)
    client.get("/api/v1/vault/entries", headers=clerk_token.headers)

    needles = [number.encode(), number.encode().hex().encode(), marker, marker.hex().encode()]
    if backend == "sqlite":
        files = [p for p in settings.data_dir.rglob("*") if p.is_file()]
        assert len([p for p in files if p.parent.name == "vault"]) >= 3
        blobs = {str(p): p.read_bytes() for p in files}
    else:
        urls = [settings.resolved_database_url, settings.resolved_keyring_url]
        blobs = {}
        for url in urls + settings.resolved_vault_store_urls:
            engine = create_engine(url)
            with engine.connect() as conn:
                for table in inspect(conn).get_table_names():
                    rows = conn.execute(text(f'SELECT t::text FROM "{table}" t')).scalars()
                    blobs[f"{url}/{table}"] = "\n".join(rows).encode()
            engine.dispose()
    out, err = capfd.readouterr()
    blobs["logs"] = (caplog.text + out + err).encode()
    for where, blob in blobs.items():
        for needle in needles:
            assert needle not in blob, f"plaintext found in {where}"


def test_any_single_store_may_go_two_may_not_and_repair_restores(
    client: TestClient, runtime: Runtime, backend: str, clerk_token: TenantHandle, tmp_path: Path
) -> None:
    num_id, doc_id = _register_both(client, clerk_token, valid_number(), PNG)
    for idx in range(3):  # unreachable (server down)
        original = _unreachable(runtime, backend, idx, tmp_path)
        assert _reads(client, clerk_token, num_id, doc_id) == (200, 200)
        runtime.vault_stores.dbs[idx] = original
    for idx in range(3):  # lost (file deleted, database emptied), then repaired
        _lose(runtime, backend, idx)
        assert _reads(client, clerk_token, num_id, doc_id) == (200, 200)
        report = maintenance.check(runtime.db, runtime.vault_stores)
        assert not report.healthy and report.stores[idx].ok == 0
        report = maintenance.repair(runtime.db, runtime.vault_stores)
        assert report.healthy and report.repaired == 2
        assert [s.ok for s in report.stores] == [2, 2, 2]
    _lose(runtime, backend, 0)
    _lose(runtime, backend, 2)
    for url in (REVEAL.format(num_id), DOWNLOAD.format(doc_id)):
        r = client.post(url, json={"purpose": "tax"}, headers=clerk_token.headers)
        assert (r.status_code, r.json()["error"]) == (503, "vault_unavailable")
        assert "number" not in r.json()
    assert maintenance.repair(runtime.db, runtime.vault_stores).unrecoverable == 2


def test_write_needs_every_store(
    client: TestClient, runtime: Runtime, backend: str, clerk_token: TenantHandle, tmp_path: Path
) -> None:
    original = _unreachable(runtime, backend, 2, tmp_path)
    r = client.post(
        "/api/v1/vault/numbers",
        json={"number": valid_number(), "record_id": "s-1"},
        headers=clerk_token.headers,
    )
    assert (r.status_code, r.json()["error"]) == (503, "vault_unavailable")
    runtime.vault_stores.dbs[2] = original
    assert client.get("/api/v1/vault/entries", headers=clerk_token.headers).json()["items"] == []
    for store in runtime.vault_stores.dbs:  # the partial write was rolled back
        with store.session() as s:
            assert s.scalars(select(VaultFragment)).all() == []


def test_a_flipped_byte_is_detected_and_not_used(
    client: TestClient, runtime: Runtime, clerk_token: TenantHandle
) -> None:
    number = valid_number()
    num_id, doc_id = _register_both(client, clerk_token, number, PNG)

    def flip(idx: int, entry: str) -> None:
        with runtime.vault_stores.dbs[idx].session(write=True) as s:
            row = s.get(VaultFragment, uuid.UUID(entry))
            assert row is not None
            data = bytearray(row.data)
            data[len(data) // 2] ^= 0x01
            s.execute(
                update(VaultFragment)
                .where(VaultFragment.entry_id == row.entry_id)
                .values(data=bytes(data))
            )

    flip(0, num_id)
    flip(1, doc_id)
    r = client.post(REVEAL.format(num_id), json={"purpose": "tax"}, headers=clerk_token.headers)
    assert r.json()["number"] == number
    d = client.post(DOWNLOAD.format(doc_id), json={"purpose": "tax"}, headers=clerk_token.headers)
    assert d.content == PNG
    report = maintenance.check(runtime.db, runtime.vault_stores)
    assert [s.corrupt for s in report.stores] == [1, 1, 0] and not report.healthy
    flip(2, num_id)  # two of three corrupt: refuse rather than return wrong data
    r = client.post(REVEAL.format(num_id), json={"purpose": "tax"}, headers=clerk_token.headers)
    assert (r.status_code, r.json()["error"]) == (503, "vault_unavailable")
    report = maintenance.repair(runtime.db, runtime.vault_stores)
    assert report.repaired == 1 and report.unrecoverable == 1  # the doc is fixed, the number not


def test_after_delete_old_fragment_copies_no_longer_decrypt(
    client: TestClient, runtime: Runtime, clerk_token: TenantHandle
) -> None:
    """Backups of the stores and the catalogue from before the deletion stay unreadable."""
    num_id, _ = _register_both(client, clerk_token, valid_number(), PNG)
    eid = uuid.UUID(num_id)
    backup: list[dict[str, object]] = []
    for store in runtime.vault_stores.dbs:
        with store.session() as s:
            row = s.get(VaultFragment, eid)
            assert row is not None
            backup.append({c.key: getattr(row, c.key) for c in VaultFragment.__table__.columns})
    with runtime.db.session(system=True) as s:
        entry = s.get(VaultEntry, eid)
        assert entry is not None
        catalogue = {c.key: getattr(entry, c.key) for c in VaultEntry.__table__.columns}
    r = client.delete(
        f"/api/v1/vault/entries/{num_id}?reason=purpose_ended", headers=clerk_token.headers
    )
    assert r.status_code == 200
    # Restore the old copies everywhere but the keyring.
    for store, values in zip(runtime.vault_stores.dbs, backup, strict=True):
        with store.session(write=True) as s:
            s.add(VaultFragment(**values))
    with runtime.db.session(write=True, system=True) as s:
        s.add(VaultEntry(**catalogue))
    assert runtime.keyring.entry_keys(clerk_token.id, {eid: "individual"}) == {}
    r = client.post(REVEAL.format(num_id), json={"purpose": "tax"}, headers=clerk_token.headers)
    assert (r.status_code, r.json()["error"]) == (410, "vault_entry_key_destroyed")


def test_cli_check_repair_and_purge_show_no_contents(
    client: TestClient,
    runtime: Runtime,
    settings: Settings,
    backend: str,
    clerk_token: TenantHandle,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    number = valid_number()
    _register_both(client, clerk_token, number, PNG)
    env = {k: None for k in os.environ if k.startswith("HOKAN_")} | {
        "HOKAN_DATA_DIR": str(settings.data_dir),
        "HOKAN_DATABASE_URL": settings.resolved_database_url,
        "HOKAN_KEYRING_DATABASE_URL": settings.resolved_keyring_url,
        "HOKAN_VAULT_STORE_URLS": ",".join(settings.resolved_vault_store_urls),
        "HOKAN_MASTER_KEY": MASTER_KEY,
        "HOKAN_LOG_LEVEL": "WARNING",
    }

    def hokan(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli_app, list(args), env=env)
        assert number not in result.output and number[-4:] not in result.output
        return result.exit_code, result.output

    assert hokan("vault", "check") == (
        0,
        "entries: 2\n"
        + "".join(f"store {i}: ok  good 2  missing 0  corrupt 0  orphans 0\n" for i in (1, 2, 3)),
    )
    _lose(runtime, backend, 1)
    code, out = hokan("vault", "check")
    assert code == 1 and "store 2: NEEDS REPAIR" in out  # (file lost: says so on SQLite)
    assert "good 0  missing 2" in out and "hokan vault repair" in out
    code, out = hokan("vault", "repair")
    assert code == 0 and "repaired 2 fragments" in out
    assert hokan("vault", "purge-due") == (0, "deleted 0 entries\n")


def test_a_registration_that_does_not_commit_leaves_nothing_behind(
    runtime: Runtime, clerk_token: TenantHandle
) -> None:
    """E.g. the audit entry cannot be written: no fragment and no live key outlive it."""
    clerk = Principal(PrincipalKind.token, "t", "t", clerk_token.id, VAULT_SCOPES)
    link = RecordLink("staff", "s-1")
    registered: list[uuid.UUID] = []

    def failing_transaction() -> None:
        with runtime.db.session(write=True, tenant=clerk_token.id) as s:
            view = runtime.vault.register_number(
                s, clerk, valid_number(), NumberKind.individual, link
            )
            registered.append(view.id)
            raise RuntimeError("the transaction fails after the vault's writes")

    with pytest.raises(RuntimeError):
        failing_transaction()
    [lost] = registered
    with runtime.db.session(write=True, tenant=clerk_token.id) as s:
        kept = runtime.vault.register_number(s, clerk, valid_number(), NumberKind.individual, link)
    for store in runtime.vault_stores.dbs:
        with store.session() as s:
            assert set(s.scalars(select(VaultFragment.entry_id))) == {kept.id}
    keys = runtime.keyring.entry_keys(clerk_token.id, {lost: "individual", kept.id: "individual"})
    assert set(keys) == {kept.id}
    assert maintenance.check(runtime.db, runtime.vault_stores).healthy


def test_a_concurrent_double_registration_makes_one_entry_and_one_refusal(
    runtime: Runtime, clerk_token: TenantHandle
) -> None:
    """The twin waits for the first registration's transaction (PostgreSQL: on the unique
    index; SQLite: on the writer lock), then is refused with the entry that won; it leaves
    no row, fragment or key behind."""
    clerk = Principal(PrincipalKind.token, "t", "t", clerk_token.id, VAULT_SCOPES)
    link = RecordLink("staff", "s-1")
    number = valid_number()
    outcomes: list[object] = []

    def register(at: RecordLink = link) -> None:
        try:
            with runtime.db.session(write=True, tenant=clerk_token.id) as s:
                view = runtime.vault.register_number(s, clerk, number, NumberKind.individual, at)
            outcomes.append(view.id)
        except VaultEntryExists as exc:
            outcomes.append(exc)

    with runtime.db.session(write=True, tenant=clerk_token.id) as s:
        first = runtime.vault.register_number(s, clerk, number, NumberKind.individual, link)
        twin = threading.Thread(target=register)
        twin.start()
        twin.join(0.5)
        assert twin.is_alive()  # blocked until the first commits
    twin.join(30)
    [refused] = outcomes
    assert isinstance(refused, VaultEntryExists)
    assert refused.params == {"entry_id": str(first.id)}

    # Two at once, neither ahead: one entry, one refusal naming it.
    outcomes.clear()
    start = threading.Barrier(2)

    def racer() -> None:
        start.wait(10)
        register(RecordLink("staff", "s-2"))

    racers = [threading.Thread(target=racer) for _ in range(2)]
    for t in racers:
        t.start()
    for t in racers:
        t.join(30)
    [won] = [o for o in outcomes if isinstance(o, uuid.UUID)]
    [lost] = [o for o in outcomes if isinstance(o, VaultEntryExists)]
    assert lost.params == {"entry_id": str(won)}

    with runtime.db.session(system=True) as s:
        assert set(s.scalars(select(VaultEntry.id))) == {first.id, won}
    for store in runtime.vault_stores.dbs:
        with store.session() as s:
            assert set(s.scalars(select(VaultFragment.entry_id))) == {first.id, won}
    with runtime.keyring_db.session() as s:
        assert set(s.scalars(select(VaultEntryKey.entry_id))) == {first.id, won}
