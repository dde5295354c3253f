"""Audit trail benchmark (issue: tamper-evident audit trail).

In one process, on SQLite and PostgreSQL:

- append: entries/s through ``audit.record`` (chain-head lock, canonical hash,
  insert, head update; one transaction per entry, as the service writes them)
  vs plain inserts of the same rows in the same number of transactions.
  Goal: >= 0.5 of plain.
- verify: entries/s and MB/s of ``audit.verify`` over the chain vs
  ``hashlib.sha256`` over the same canonical bytes. Goal: >= 0.3.

Ratios are against baselines measured in the same run. Run: ``make bench`` or
``.venv/bin/python bench/audit.py [--entries N] [--backend sqlite|postgresql]``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import insert

from hokan import migrations
from hokan.audit import repository
from hokan.audit import service as audit
from hokan.audit.canonical import canonical_bytes
from hokan.kit import crypto
from hokan.models import AuditEvent, Product
from hokan.principals.principal import SYSTEM, Principal, PrincipalKind
from hokan.runtime import Runtime
from hokan.settings import Settings
from hokan.tenants.schemas import TenantCreate

GOALS = {"append": 0.5, "verify": 0.3}
ACTOR = Principal(PrincipalKind.token, str(uuid.uuid4()), "給与システム連携", uuid.uuid4())


@contextlib.contextmanager
def runtime_for(backend: str, pg_url: str) -> Iterator[Runtime]:
    with tempfile.TemporaryDirectory() as tmp:
        key = crypto.b64encode_key(crypto.random_key())
        if backend == "sqlite":
            rt = Runtime(Settings(env="test", data_dir=Path(tmp), master_key=key))
            _migrate(rt)
            yield rt
            rt.close()
            return
        from run import postgres_databases

        with postgres_databases(pg_url) as pg:
            rt = Runtime(
                Settings(
                    env="test",
                    data_dir=Path(tmp),
                    master_key=key,
                    database_url=pg.database_url,
                    keyring_database_url=pg.keyring_url,
                )
            )
            _migrate(rt)
            yield rt
            rt.close()


def _migrate(rt: Runtime) -> None:
    migrations.upgrade("system", rt.db.engine)
    migrations.upgrade("keyring", rt.keyring_db.engine)


def bench_append(rt: Runtime, n: int) -> tuple[float, float]:
    with rt.db.session(write=True, system=True) as s:
        code = f"bench-{uuid.uuid4().hex[:8]}"
        made = rt.tenants.create(
            s, TenantCreate(code=code, name=code, product=Product.staff), SYSTEM
        )
        tenant = made.id
    actor = Principal(ACTOR.kind, ACTOR.id, ACTOR.display_name, tenant)
    started = time.perf_counter()
    for i in range(n):
        with rt.db.session(write=True, tenant=tenant) as s:
            audit.record(
                s, actor, "records.read", "record", f"staff/s-{i:06d}", detail={"revision": 3}
            )
    chained = n / (time.perf_counter() - started)
    # Plain: the same rows (hashes precomputed, no head lock) in as many transactions.
    with rt.db.reader(system=True) as conn:
        rows = [dict(row) for row in repository.entries(conn, audit.chain_of(tenant))]
    other = str(uuid.uuid4())
    for row in rows:
        row.update(id=uuid.uuid4(), chain=other)
    stmt = insert(AuditEvent)
    started = time.perf_counter()
    for row in rows:
        with rt.db.session(write=True, system=True) as s:
            s.connection().execute(stmt, row)
    plain = n / (time.perf_counter() - started)
    return chained, plain


def bench_verify(rt: Runtime) -> tuple[float, float, float]:
    # The chain audit.record wrote (hashes, MACs, head); the plain copy has no head row.
    with rt.db.reader(system=True) as conn:
        chain = max(repository.chains(conn), key=lambda head: head.seq).chain
    report = audit.verify(
        rt.db,
        chain,
        rt.keyring.audit_signing_key().public_key(),
        mac_key=rt.keyring.audit_mac_key(),
    )
    assert report.ok, report.problems
    with rt.db.reader(system=True) as conn:
        blobs = [canonical_bytes(row) for row in repository.entries(conn, chain)]
    started = time.perf_counter()
    for blob in blobs:
        hashlib.sha256(blob).hexdigest()
    seconds = time.perf_counter() - started
    return (
        report.entries_per_second,
        report.bytes / 1_048_576 / report.seconds,
        len(blobs) / seconds,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=3000)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "HOKAN_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    print(f"audit trail benchmark: {args.entries} entries, one process")
    print(f"{'backend':<11} {'measure':<8} {'hokan':>14} {'baseline':>14}  {'ratio':>6}  goal")
    for backend in args.backend or ["sqlite", "postgresql"]:
        try:
            with runtime_for(backend, args.pg_url) as rt:
                chained, plain = bench_append(rt, args.entries)
                verify_rate, verify_mb, sha_rate = bench_verify(rt)
        except Exception as exc:  # a backend that cannot run is reported, not fatal
            print(f"{backend:<11} skipped: {type(exc).__name__}: {exc}")
            continue
        for name, ours, base, unit in (
            ("append", chained, plain, "entries/s"),
            ("verify", verify_rate, sha_rate, "entries/s"),
        ):
            ratio = ours / base
            mark = "met" if ratio >= GOALS[name] else "MISSED"
            rates = f"{ours:>9,.0f} {unit[:3]}/s {base:>9,.0f} {unit[:3]}/s"
            print(f"{backend:<11} {name:<8} {rates}  {ratio:>6.3f}  >= {GOALS[name]} {mark}")
        print(f"{backend:<11} verify   {verify_mb:>9.1f} MB/s of canonical entries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
