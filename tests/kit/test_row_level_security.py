"""PostgreSQL row-level security: the second wall behind repository scoping (TEN-2)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.exc import ProgrammingError

from hokan.models import ApiToken, Record
from hokan.runtime import Runtime
from tests.conftest import TenantHandle


@pytest.fixture
def two_tenants(
    backend: str, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> tuple[TenantHandle, TenantHandle]:
    if backend != "postgresql":
        pytest.skip("row-level security is a PostgreSQL feature")
    a, b = make_tenant(), make_tenant()
    for t in (a, b):
        for i in range(3):
            client.put(f"/api/v1/collections/staff/records/r{i}", json={"i": i}, headers=t.headers)
    return a, b


def test_the_service_role_is_not_a_superuser(runtime: Runtime, two_tenants: object) -> None:
    with runtime.db.engine.connect() as conn:
        row = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
    assert tuple(row) == (False, False)


def test_an_unscoped_query_sees_only_the_tagged_tenant(
    runtime: Runtime, two_tenants: tuple[TenantHandle, TenantHandle]
) -> None:
    a, b = two_tenants
    # A query that forgot its WHERE clause still cannot cross tenants.
    with runtime.db.session(tenant=a.id) as s:
        assert {r.tenant_id for r in s.scalars(select(Record))} == {a.id}
        assert {t.tenant_id for t in s.scalars(select(ApiToken))} == {a.id}
    with runtime.db.session() as s:  # untagged: deny by default
        assert s.scalars(select(Record)).all() == []
    with runtime.db.session(system=True) as s:
        assert {r.tenant_id for r in s.scalars(select(Record))} == {a.id, b.id}


def test_writes_into_another_tenant_are_refused(
    runtime: Runtime, two_tenants: tuple[TenantHandle, TenantHandle]
) -> None:
    a, b = two_tenants
    with runtime.db.session(write=True, tenant=a.id) as s:
        moved = s.execute(update(Record).where(Record.tenant_id == b.id).values(revision=99))
        assert moved.rowcount == 0  # type: ignore[attr-defined]
    with (
        pytest.raises(ProgrammingError, match="row-level security"),
        runtime.db.session(write=True, tenant=a.id) as s,
    ):
        s.execute(update(Record).where(Record.tenant_id == a.id).values(tenant_id=b.id))
    with runtime.db.session(system=True) as s:
        assert all(r.revision == 1 for r in s.scalars(select(Record)))
        assert len(s.scalars(select(Record).where(Record.tenant_id == a.id)).all()) == 3


def test_a_made_up_tenant_sees_nothing(runtime: Runtime, two_tenants: object) -> None:
    with runtime.db.session(tenant=uuid.uuid4()) as s:
        assert s.scalars(select(Record)).all() == []
