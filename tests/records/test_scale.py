"""Flat cost with data size (ADR 0027): maintained collection counts, index plans at 100k.

The plans are read with EXPLAIN on the very statements the service runs, after the
tables hold 100 000 records of one tenant (bulk-inserted with Core: the test is
about the planner, not the write path).
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, create_engine, event, func, insert, select, text

from hokan.jobs.registry import CATALOGUE
from hokan.models import Collection, Record
from hokan.records import repository
from hokan.records.tasks import STATISTICS_TABLES
from hokan.runtime import Runtime
from tests.conftest import LiveServer, TenantHandle

BASE = "/api/v1/collections"
# As migration 0096 sets the counts of existing records.
COUNT_EXISTING = """UPDATE collections SET record_count = (
    SELECT count(*) FROM records
    WHERE records.collection_id = collections.id AND records.deleted_at IS NULL
)"""
SIZE = 100_000


def _counts(client: httpx.Client, headers: dict[str, str]) -> dict[str, int]:
    listed = client.get(BASE, headers=headers)
    assert listed.status_code == 200
    return {c["name"]: c["record_count"] for c in listed.json()}


def _live_in_db(runtime: Runtime, tenant_id: uuid.UUID) -> dict[str, int]:
    with runtime.db.session(tenant=tenant_id) as s:
        rows = s.execute(
            select(Collection.name, func.count(Record.id))
            .join(Record, Record.collection_id == Collection.id)
            .where(Record.tenant_id == tenant_id, Record.deleted_at.is_(None))
            .group_by(Collection.name)
        )
        return {name: int(n) for name, n in rows}


@pytest.mark.parametrize("blocking", ["threads"], indirect=True)
def test_collection_counts_stay_exact_under_concurrent_writes(
    live_server: LiveServer, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant()
    other = make_tenant()
    keys = [f"k{i}" for i in range(12)]
    url = live_server.url

    def writer(seed: int) -> None:
        rnd = random.Random(seed)
        with httpx.Client(base_url=url, timeout=30) as c:
            for _ in range(40):
                coll = rnd.choice(("staff", "sites"))
                key = rnd.choice(keys)
                path = f"{BASE}/{coll}/records/{key}"
                move = rnd.random()
                if move < 0.45:  # create, replace, or re-create a deleted one
                    r = c.put(path, json={"n": rnd.random()}, headers=t.headers)
                    assert r.status_code in (200, 201), r.text
                elif move < 0.8:
                    r = c.delete(path, headers=t.headers)
                    assert r.status_code in (204, 404), r.text
                else:
                    r = c.post(f"{BASE}/{coll}/records", json={"x": 1}, headers=t.headers)
                    assert r.status_code == 201, r.text

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    with httpx.Client(base_url=url) as c:
        other_put = c.put(f"{BASE}/staff/records/x", json={}, headers=other.headers)
        assert other_put.status_code == 201
        shown = _counts(c, t.headers)
        assert shown == _live_in_db(live_server.runtime, t.id)
        assert shown["staff"] + shown["sites"] > 0
        # Paging through the listing finds exactly as many live records.
        for name, count in shown.items():
            seen, cursor = 0, None
            while True:
                params: dict[str, Any] = {"limit": 7}
                if cursor:
                    params["cursor"] = cursor
                page = c.get(f"{BASE}/{name}/records", params=params, headers=t.headers).json()
                seen += len(page["items"])
                cursor = page["next_cursor"]
                if not cursor:
                    break
            assert seen == count
        assert _counts(c, other.headers) == {"staff": 1}


@contextmanager
def _bulk(runtime: Runtime, request: pytest.FixtureRequest, tenant_id: uuid.UUID) -> Iterator[Any]:
    """A write transaction for seeding. PostgreSQL: as the owner with triggers off (row
    by row in one transaction, the count trigger re-updates one row 100 000 times), the
    counts then set as migration 0096 sets them; SQLite: the service's own, triggers on."""
    if runtime.db.dialect == "sqlite":
        with runtime.db.session(write=True, tenant=tenant_id) as s:
            yield s
        return
    admin = create_engine(request.getfixturevalue("pg_databases").admin_system_url)
    try:
        with admin.begin() as conn:
            conn.execute(text("SELECT set_config('hokan.scope', 'system', true)"))
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            yield conn
            conn.execute(text(COUNT_EXISTING))
    finally:
        admin.dispose()


def _seed(
    runtime: Runtime,
    request: pytest.FixtureRequest,
    tenant_id: uuid.UUID,
    collection: str,
    n: int,
) -> uuid.UUID:
    """``n`` records in one collection of the tenant (Core executemany, one transaction)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with _bulk(runtime, request, tenant_id) as s:
        collection_id = uuid.uuid4()
        s.execute(
            insert(Collection).values(
                id=collection_id,
                tenant_id=tenant_id,
                name=collection,
                created_at=start,
                updated_at=start,
            )
        )
        rows = [
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "collection_id": collection_id,
                "record_key": f"r{i:06d}",
                "revision": 1,
                "size": 0,
                "created_at": start,
                "updated_at": start + timedelta(seconds=i // 3),
            }
            for i in range(n)
        ]
        s.execute(insert(Record), rows)
    return collection_id


@contextmanager
def _plans(conn: Connection) -> Iterator[list[str]]:
    """The plan of every statement ``conn`` runs meanwhile, one text per statement."""
    found: list[str] = []
    sqlite = conn.dialect.name == "sqlite"

    def explain(_conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, parameters)
        rows = cursor.fetchall()
        found.append("\n".join(str(r[-1] if sqlite else r[0]) for r in rows))

    event.listen(conn, "before_cursor_execute", explain)
    try:
        yield found
    finally:
        event.remove(conn, "before_cursor_execute", explain)


def _analyze_as_owner(runtime: Runtime, request: pytest.FixtureRequest) -> dict[str, Any]:
    """What ``records.analyze`` does; on PostgreSQL the tests' service role does not own
    the tables (autovacuum keeps their statistics), so the owner runs it there."""
    job = next(j for j in CATALOGUE if j.name == "records.analyze")
    summary = dict(job.run(runtime).summary)  # type: ignore[arg-type]
    if runtime.db.dialect == "postgresql":
        assert summary["skipped"] == list(STATISTICS_TABLES)  # not the owner: left to autovacuum
        admin = create_engine(request.getfixturevalue("pg_databases").admin_system_url)
        with admin.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text("ANALYZE collections, records"))
        admin.dispose()
    else:
        assert summary == {"analyzed": len(STATISTICS_TABLES), "skipped": []}
    return summary


def test_plans_are_index_ranges_at_100k_records(
    runtime: Runtime,
    make_tenant: Callable[..., TenantHandle],
    request: pytest.FixtureRequest,
) -> None:
    t = make_tenant()
    small = make_tenant()
    collection_id = _seed(runtime, request, t.id, "staff", SIZE)
    _seed(runtime, request, t.id, "sites", 50)
    _seed(runtime, request, small.id, "staff", 20)
    _analyze_as_owner(runtime, request)

    with runtime.db.session(tenant=t.id) as s:
        conn = s.connection()
        with _plans(conn) as plans:
            row = repository.record_by_name(conn, t.id, "staff", "r054321")
        assert row is not None and row.record_key == "r054321"
        point = plans[-1]
        unique = (
            "(tenant_id=? AND collection_id=? AND record_key=?)"  # SQLite's autoindex of the key
            if runtime.db.dialect == "sqlite"
            else "uq_records_tenant_id_collection_id_record_key"
        )
        assert unique in point, point
        assert "ix_records_listing" not in point, point

        after = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=30_000), "r090000")
        for cursor in (None, after):
            stmt = repository.page_statement(
                t.id,
                collection_id,
                limit=51,
                after=cursor,
                updated_since=None,
                include_deleted=False,
            )
            with _plans(conn) as plans:
                got = list(s.scalars(stmt))
            assert len(got) == 51
            plan = plans[-1]
            assert "ix_records_listing" in plan, plan
            assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
            if cursor is not None:
                assert got[0].record_key == "r090001"
                # The cursor is part of the index range, not a filter over the collection.
                if runtime.db.dialect == "sqlite":
                    assert "(updated_at,record_key)>(?,?)" in plan, plan
                else:
                    index_cond = next(x for x in plan.splitlines() if "Index Cond" in x)
                    assert "ROW(updated_at, (record_key)::text) >" in index_cond, plan

        counts = s.execute(
            select(Collection.name, Collection.record_count).where(Collection.tenant_id == t.id)
        ).all()
    assert dict(counts) == {"staff": SIZE, "sites": 50}
