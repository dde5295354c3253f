"""Tamper evidence against whoever can write the system database (ADR 0011):
verify enumerates chains from every source, entries carry a MAC under a keyring
key, checkpoints are signed automatically and copied outside the database, and
bundles carry a checkpoint signed at export."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select, text, update
from typer.testing import CliRunner

from hokan.audit import anchors, bundle, checkpoints, mac
from hokan.audit import service as audit
from hokan.audit.canonical import entry_hash
from hokan.cli import app as cli_app
from hokan.kit.db import make_engine
from hokan.models import AuditChain, AuditEvent
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests.conftest import TenantHandle


def _verify(runtime: Runtime, chain: str | None = None) -> audit.VerifyReport:
    """Verification with everything the CLI trusts: public key, MAC key, blob copies."""
    return audit.verify(
        runtime.db,
        chain,
        runtime.keyring.audit_signing_key().public_key(),
        mac_key=runtime.keyring.audit_mac_key(),
        blobs=runtime.blobs,
    )


def _seed(client: TestClient, t: TenantHandle, n: int = 6) -> None:
    for i in range(n):
        client.put(f"/api/v1/collections/staff/records/r{i}", json={"i": i}, headers=t.headers)


def _rows(engine: Engine, chain: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        stmt = select(*AuditEvent.__table__.c).where(AuditEvent.chain == chain)
        return [dict(r) for r in conn.execute(stmt.order_by(AuditEvent.seq)).mappings()]


def _move_head(conn: Any, chain: str, seq: int, head_hash: str) -> None:
    conn.execute(
        update(AuditChain).where(AuditChain.chain == chain).values(seq=seq, head_hash=head_hash)
    )


@pytest.fixture
def cli(runtime: Runtime) -> Callable[..., Any]:
    s = runtime.settings
    env = {
        "HOKAN_DATA_DIR": str(s.data_dir),
        "HOKAN_DATABASE_URL": s.resolved_database_url,
        "HOKAN_KEYRING_DATABASE_URL": s.resolved_keyring_url,
        "HOKAN_MASTER_KEY": s.master_key.get_secret_value() if s.master_key else "",
        "HOKAN_LOG_LEVEL": "WARNING",
        "LC_ALL": "",
        "LC_MESSAGES": "",
    }

    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HOKAN_")}

    def run(*args: str, lang: str = "en_US.UTF-8") -> Any:
        return CliRunner().invoke(cli_app, list(args), env={**cleared, **env, "LANG": lang})

    return run


# -- A: verify cannot be blinded by dropping a chain from one table ------------------


def test_a_chain_dropped_from_the_head_table_is_still_verified(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    owner_engine: Engine,
    cli: Callable[..., Any],
) -> None:
    a, b = make_tenant(), make_tenant()
    _seed(client, a)
    _seed(client, b)
    checkpoints.make(runtime.db, runtime.keyring, runtime.blobs)
    chain = str(a.id)
    with owner_engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_events SET target_id = 'x' WHERE chain = :c AND seq = 4"),
            {"c": chain},
        )
        conn.execute(text("DELETE FROM audit_chains WHERE chain = :c"), {"c": chain})
    for report in (_verify(runtime), _verify(runtime, chain)):
        assert [p.chain for p in report.problems] == [chain]
        assert "head row is missing" in report.problems[0].reason
    assert _verify(runtime, str(b.id)).ok
    done = cli("audit", "verify")
    assert done.exit_code == 1
    assert "every chain is intact" not in done.stdout
    done = cli("audit", "verify", "--tenant", a.tenant.code)
    assert done.exit_code == 1 and "head row is missing" in done.stdout
    ja = cli("audit", "verify", "--tenant", a.tenant.code, lang="ja_JP.UTF-8")
    assert ja.exit_code == 1 and "ヘッド行がありません" in ja.stdout


def test_a_tenant_whose_chain_vanished_is_a_failure_naming_the_tenant(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    owner_engine: Engine,
    cli: Callable[..., Any],
) -> None:
    a = make_tenant()
    _seed(client, a)
    chain = str(a.id)
    with owner_engine.begin() as conn:
        for table in ("audit_events", "audit_chains", "audit_checkpoints"):
            conn.execute(text(f"DELETE FROM {table} WHERE chain = :c"), {"c": chain})
    report = _verify(runtime)
    assert [p.chain for p in report.problems] == [chain]
    assert a.tenant.code in report.problems[0].reason
    assert "gone" in report.problems[0].reason
    done = cli("audit", "verify")
    assert done.exit_code == 1
    broken = [line for line in done.stdout.splitlines() if line.startswith("BROKEN")]
    assert len(broken) == 1 and a.tenant.code in broken[0]


def test_checkpoints_kept_outside_the_database_name_a_deleted_chain(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    owner_engine: Engine,
) -> None:
    a = make_tenant()
    _seed(client, a)
    checkpoints.make(runtime.db, runtime.keyring, runtime.blobs)
    assert str(a.id) in anchors.read_all(runtime.blobs)
    chain = str(a.id)
    with owner_engine.begin() as conn:
        for table in ("audit_events", "audit_chains", "audit_checkpoints"):
            conn.execute(text(f"DELETE FROM {table} WHERE chain = :c"), {"c": chain})
    report = _verify(runtime, chain)
    assert [p.chain for p in report.problems] == [chain]


# -- B: the tail after the last checkpoint, forged and rewritten entries -------------


def test_a_truncated_tail_is_caught_by_the_checkpoint_copy_in_the_blob_store(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    owner_engine: Engine,
) -> None:
    a = make_tenant()
    _seed(client, a)  # entries 1..8
    made = checkpoints.run_once(runtime.db, runtime.keyring, runtime.blobs)
    assert [(m.chain, m.seq, m.refused) for m in made] == [(str(a.id), 8, "")]
    chain = str(a.id)
    # The database writer removes the tail, its checkpoint row, and moves the head.
    rows = _rows(owner_engine, chain)
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE chain = :c AND seq > 5"), {"c": chain})
        conn.execute(text("DELETE FROM audit_checkpoints WHERE chain = :c"), {"c": chain})
        _move_head(conn, chain, 5, rows[4]["entry_hash"])
    report = _verify(runtime)
    assert [(p.chain, p.seq) for p in report.problems] == [(chain, 8)]
    assert "missing from the database" in report.problems[0].reason
    # ... and the checkpointer does not bless the shortened chain.
    made = checkpoints.make(runtime.db, runtime.keyring, runtime.blobs)
    assert made and all(m.refused for m in made)
    assert _verify(runtime).problems


def test_a_forged_entry_appended_with_a_correct_hash_is_named(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    owner_engine: Engine,
) -> None:
    a = make_tenant()
    _seed(client, a)
    checkpoints.make(runtime.db, runtime.keyring, runtime.blobs)
    chain = str(a.id)
    rows = _rows(owner_engine, chain)
    forged = {**rows[-1], "id": rows[-1]["id"].__class__(int=7), "seq": 9}
    forged.update(action="record.delete", prev_hash=rows[-1]["entry_hash"], entry_mac="0" * 64)
    forged["entry_hash"] = entry_hash(forged)
    with owner_engine.begin() as conn:
        conn.execute(insert(AuditEvent).values(**forged))
        _move_head(conn, chain, 9, forged["entry_hash"])
    report = _verify(runtime)
    assert [(p.chain, p.seq) for p in report.problems] == [(chain, 9)]
    assert "not authenticated" in report.problems[0].reason
    made = checkpoints.make(runtime.db, runtime.keyring, runtime.blobs)
    assert [m.refused for m in made] and "invalid MAC" in made[0].refused


def test_an_edited_entry_with_the_rest_recomputed_is_named(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    owner_engine: Engine,
) -> None:
    a = make_tenant()
    _seed(client, a)
    chain = str(a.id)
    rows = _rows(owner_engine, chain)
    prev = rows[3]["prev_hash"]
    with owner_engine.begin() as conn:
        for i, row in enumerate(rows[3:]):
            if i == 0:
                row["target_id"] = "staff/someone-else"
            row["prev_hash"] = prev
            row["entry_hash"] = prev = entry_hash(row)
            conn.execute(
                update(AuditEvent)
                .where(AuditEvent.id == row["id"])
                .values(target_id=row["target_id"], prev_hash=row["prev_hash"], entry_hash=prev)
            )
        _move_head(conn, chain, rows[-1]["seq"], prev)
    assert audit.verify(runtime.db).ok  # hashes alone are fooled
    report = _verify(runtime)
    assert [(p.chain, p.seq) for p in report.problems] == [(chain, 4)]
    assert "not authenticated by the audit key" in report.problems[0].reason


def test_an_entry_forged_into_the_middle_is_named_not_its_neighbour(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    owner_engine: Engine,
) -> None:
    a = make_tenant()
    _seed(client, a)  # 1..8
    chain = str(a.id)
    rows = _rows(owner_engine, chain)
    forged = {**rows[4], "id": rows[4]["id"].__class__(int=9), "seq": 6, "entry_mac": None}
    forged.update(action="record.delete", prev_hash=rows[4]["entry_hash"])
    forged["entry_hash"] = entry_hash(forged)
    with owner_engine.begin() as conn:
        c = {"c": chain}
        conn.execute(text("UPDATE audit_events SET seq = -seq WHERE chain = :c AND seq > 5"), c)
        conn.execute(text("UPDATE audit_events SET seq = 1 - seq WHERE chain = :c AND seq < 0"), c)
        conn.execute(insert(AuditEvent).values(**forged))
    report = _verify(runtime)
    assert [(p.chain, p.seq, p.entry_id) for p in report.problems] == [
        (chain, 6, str(forged["id"]))
    ]
    assert "forged" in report.problems[0].reason


def test_entries_without_a_mac_verify_once_adopted(
    client: TestClient,
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    owner_engine: Engine,
    cli: Callable[..., Any],
) -> None:
    a = make_tenant()
    _seed(client, a)
    chain = str(a.id)
    with owner_engine.begin() as conn:  # as written before ADR 0011
        conn.execute(text("UPDATE audit_events SET entry_mac = NULL"))
    report = _verify(runtime)
    assert [(p.chain, p.seq) for p in report.problems] == [(chain, 1)]
    assert "--adopt-unauthenticated" in report.problems[0].reason
    done = cli("audit", "checkpoint")
    assert done.exit_code == 1 and "--adopt-unauthenticated" in done.stderr
    assert "0 checkpoints signed" in done.stdout
    done = cli("audit", "checkpoint", "--adopt-unauthenticated")
    assert done.exit_code == 0, done.stderr
    assert _verify(runtime).ok
    _seed(client, a, 2)  # new entries are authenticated
    report = _verify(runtime)
    assert report.ok, report.problems
    assert [n.seq for n in report.notes] == [9]  # the tail after the checkpoint: a note
    assert checkpoints.make(runtime.db, runtime.keyring, runtime.blobs)[0].refused == ""
    # A MAC-less entry after authenticated ones is forged, adopted or not.
    rows = _rows(owner_engine, chain)
    forged = {**rows[-1], "id": rows[-1]["id"].__class__(int=11), "seq": rows[-1]["seq"] + 1}
    forged.update(prev_hash=rows[-1]["entry_hash"], entry_mac=None)
    forged["entry_hash"] = entry_hash(forged)
    with owner_engine.begin() as conn:
        conn.execute(insert(AuditEvent).values(**forged))
        _move_head(conn, chain, forged["seq"], forged["entry_hash"])
    report = _verify(runtime)
    assert [p.seq for p in report.problems] == [forged["seq"]]
    made = checkpoints.make(runtime.db, runtime.keyring, adopt=True)
    assert made[0].refused


def test_writes_fail_closed_without_a_mac_key(runtime: Runtime, tmp_path: Path) -> None:
    engine = make_engine(runtime.settings.resolved_database_url)
    with pytest.raises(mac.MacKeyMissing):
        mac.key_for(engine)
    engine.dispose()
    key = runtime.keyring.audit_mac_key()
    assert key == runtime.keyring.audit_mac_key() and len(key) == 32


# -- 4: bundles carry a checkpoint signed at export -----------------------------------


@pytest.fixture
def exported(
    client: TestClient, runtime: Runtime, make_tenant: Callable[..., TenantHandle]
) -> dict[str, Any]:
    t = make_tenant()
    _seed(client, t)
    data = bundle.export(runtime.db, runtime.keyring, t.id)  # no checkpoint signed before
    result: dict[str, Any] = orjson.loads(data)
    return result


def test_a_bundle_with_its_tail_cut_fails(
    exported: dict[str, Any], tmp_path: Path, cli: Callable[..., Any]
) -> None:
    assert [cp["seq"] for cp in exported["checkpoints"]] == [len(exported["entries"])]
    assert bundle.verify(orjson.dumps(exported)).ok
    cut = {**exported, "entries": exported["entries"][:-5]}
    report = bundle.verify(orjson.dumps(cut))
    assert not report.ok and "removed from the end" in report.problems[0].reason
    path = tmp_path / "cut.json"
    path.write_bytes(orjson.dumps(cut))
    done = cli("audit", "verify", "--bundle", str(path))
    assert done.exit_code == 1 and "every chain is intact" not in done.stdout
    # Cutting the checkpoint too leaves a tail no signature covers: said plainly.
    bare = {**cut, "checkpoints": []}
    report = bundle.verify(orjson.dumps(bare))
    assert [p.seq for p in report.problems] == [1]
    assert "not covered by any signed checkpoint" in report.problems[0].reason


def test_each_entry_carries_the_mac_of_its_hash(runtime: Runtime) -> None:
    with runtime.db.session(write=True, system=True) as s:
        audit.record(s, SYSTEM, "test.append", "test")
    with runtime.db.reader(system=True) as conn:
        row = conn.execute(select(AuditEvent.entry_hash, AuditEvent.entry_mac)).one()
    assert row.entry_mac == mac.tag(runtime.keyring.audit_mac_key(), row.entry_hash)
