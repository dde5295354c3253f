"""Nobody but the tenant's clerks reaches vault contents, by construction (MYN-4).

Routes and CLI commands are enumerated, not listed by hand, so a route or
command added later without the vault's wall fails here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

import hokan
from hokan.app import create_app
from hokan.cli import app as cli_app
from hokan.httpkit import routes as edge_routes
from hokan.identity.sessions import user_principal
from hokan.models import AuditEvent, DeletionReason
from hokan.principals.principal import SYSTEM, Principal, PrincipalKind, Scope
from hokan.principals.roles import OPERATOR_ROLES, Role
from hokan.runtime import Runtime
from hokan.settings import Settings
from hokan.vault import dependencies as vault_deps
from hokan.vault import numbers
from hokan.vault.errors import VaultAccessDenied, VaultEntryNotFound
from hokan.vault.service import RecordLink
from tests.conftest import OperatorHandle, TenantHandle
from tests.vault.conftest import PNG, valid_number

SRC = Path(hokan.__file__).parent
ALL_SCOPES = frozenset(Scope)


def _dependency_names(route: APIRoute) -> set[str]:
    names: set[str] = set()
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if dep.call is not None:
            names.add(getattr(dep.call, "__name__", ""))
        stack.extend(dep.dependencies)
    return names


def test_every_vault_route_sits_behind_the_vault_dependency() -> None:
    app = create_app(Settings(env="test", data_dir=Path("/nonexistent")))
    routes = list(edge_routes._walk(app.routes))
    vault = [r for r in routes if r.path.startswith("/api/v1/vault")]
    assert len(vault) == 8
    for route in vault:
        assert route.name.startswith("vault."), route.path
        assert any(n.startswith("vault_work_") for n in _dependency_names(route)), route.path
    # No other route's module reaches the vault service.
    for module in SRC.rglob("api.py"):
        if module.parent.name != "vault":
            assert "runtime.vault" not in module.read_text(), module


def _commands(group: Any, prefix: str = "") -> list[str]:
    out = []
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):  # a group
            out += _commands(cmd, f"{prefix}{name} ")
        else:
            out.append(f"{prefix}{name}")
    return out


def test_no_command_line_reads_vault_contents() -> None:
    commands = _commands(typer.main.get_group(cli_app))
    assert sorted(c for c in commands if c.startswith("vault")) == [
        "vault check",
        "vault purge-due",
        "vault repair",
    ]
    readers = re.compile(r"\b(reveal|download|list_entries|_open|entry_keys)\(")
    for module in (SRC / "cli").glob("*.py"):
        assert not readers.search(module.read_text()), module


def _attempts(
    runtime: Runtime, principal: Principal, entry_id: uuid.UUID
) -> list[Callable[[], object]]:
    vault = runtime.vault
    link = RecordLink("staff", "s-1")

    def on(fn: Callable[..., object], *args: object) -> Callable[[], object]:
        def run() -> object:
            with runtime.db.session(write=True, tenant=principal.tenant_id) as s:
                return fn(s, principal, *args)

        return run

    return [
        on(vault.register_number, valid_number(), numbers.NumberKind.individual, link),
        on(vault.register_document, PNG, link),
        on(lambda s, p: vault.list_entries(s, p)),
        on(vault.reveal, entry_id, "tax"),
        on(vault.download, entry_id, "tax"),
        on(vault.schedule_deletion, entry_id, None, DeletionReason.purpose_ended),
        on(vault.delete_now, entry_id, DeletionReason.purpose_ended),
        on(lambda s, p: vault.deletions(s, p)),
    ]


def test_service_refuses_every_operator_role_the_system_and_non_clerks(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle], clerk_token: TenantHandle
) -> None:
    """The second wall: even a principal that carries every scope and the tenant's id is
    refused unless it is one of the tenant's clerks or its API client."""
    clerk = user_principal(uuid.uuid4(), "事務 花子", clerk_token.id, [Role.mynumber_clerk.value])
    with runtime.db.session(write=True, tenant=clerk_token.id) as s:
        entry = runtime.vault.register_number(
            s, clerk, valid_number(), numbers.NumberKind.individual, RecordLink("staff", "s-1")
        )
    refused = [
        Principal(
            PrincipalKind.operator,
            f"op-{role}",
            role,
            clerk_token.id,
            ALL_SCOPES,
            frozenset({role}),
        )
        for role in sorted(OPERATOR_ROLES)
    ]
    refused += [
        SYSTEM,
        Principal(PrincipalKind.system, "job", "job", clerk_token.id, ALL_SCOPES),
        user_principal(uuid.uuid4(), "管理者", clerk_token.id, [Role.tenant_admin.value]),
        user_principal(uuid.uuid4(), "スタッフ", clerk_token.id, [Role.staff_user.value]),
        # scopes forged onto a non-clerk user still fail the role check
        Principal(
            PrincipalKind.user, "u", "u", clerk_token.id, ALL_SCOPES, frozenset({"tenant_admin"})
        ),
        Principal(PrincipalKind.token, "t", "t", clerk_token.id, frozenset({Scope.records_read})),
        Principal(PrincipalKind.anonymous, "-", "anonymous", clerk_token.id, ALL_SCOPES),
    ]
    for principal in refused:
        for attempt in _attempts(runtime, principal, entry.id):
            with pytest.raises(VaultAccessDenied):
                attempt()
    other_clerk = user_principal(
        uuid.uuid4(), "他社", make_tenant().id, [Role.mynumber_clerk.value]
    )
    for attempt in _attempts(runtime, other_clerk, entry.id)[3:7]:
        with pytest.raises(VaultEntryNotFound):
            attempt()


@pytest.mark.parametrize("role", sorted(OPERATOR_ROLES))
def test_operator_principals_get_403_on_every_vault_route(
    role: str,
    client: TestClient,
    runtime: Runtime,
    clerk_token: TenantHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """However an operator authenticates, the vault routes refuse the operator kind."""
    operator = Principal(
        PrincipalKind.operator, f"op-{role}", role, clerk_token.id, ALL_SCOPES, frozenset({role})
    )

    async def as_operator(_request: object) -> Principal:
        return operator

    monkeypatch.setattr(vault_deps, "admitted", as_operator)
    entry_id = "00000000-0000-4000-8000-000000000000"
    calls = [
        ("POST", "/api/v1/vault/numbers", {"json": {"number": valid_number(), "record_id": "s"}}),
        ("POST", "/api/v1/vault/documents?record_id=s", {"content": PNG}),
        ("GET", "/api/v1/vault/entries", {}),
        ("POST", f"/api/v1/vault/entries/{entry_id}/reveal", {"json": {"purpose": "tax"}}),
        ("POST", f"/api/v1/vault/entries/{entry_id}/download", {"json": {"purpose": "tax"}}),
        ("PUT", f"/api/v1/vault/entries/{entry_id}/deletion", {"json": {"delete_after": None}}),
        ("DELETE", f"/api/v1/vault/entries/{entry_id}", {}),
        ("GET", "/api/v1/vault/deletions", {}),
    ]
    for method, url, body in calls:
        r = client.request(method, url, **body)  # type: ignore[arg-type]
        assert (r.status_code, r.json()["error"]) == (403, "vault_access_denied"), url
    with runtime.db.session(system=True) as s:
        denied = [e for e in s.scalars(select(AuditEvent)) if e.action.startswith("vault.")]
    assert len(denied) == len(calls)
    assert {(e.result, e.actor_type, e.role) for e in denied} == {("denied", "operator", role)}


def test_a_real_operator_with_the_widest_grant_still_reaches_no_vault_route(
    runtime: Runtime,
    ops_client: TestClient,
    clerk_token: TenantHandle,
    make_operator: Callable[..., OperatorHandle],
) -> None:
    """MYN-4 end to end: operator session + the tenant's consent grant opens records, never
    the vault (vault scopes are not grantable), and every attempt is audited."""
    from hokan.identity import grants
    from tests.identity.test_operators import op_login

    op = make_operator(("general_manager",))
    with runtime.db.session(write=True, system=True) as s:
        grants.create(
            s,
            clerk_token.id,
            SYSTEM,
            scopes=sorted(grants.GRANTABLE),
            reason="障害調査",
            valid_for=timedelta(hours=2),
            team="general_manager",
        )
    headers = {**op_login(ops_client, op), "X-Hokan-Tenant": clerk_token.tenant.code}
    assert ops_client.get("/api/v1/collections", headers=headers).status_code == 200
    for method, path, body in (
        ("get", "/api/v1/vault/entries", None),
        ("post", "/api/v1/vault/numbers", {"number": "621498320257", "record_id": "r1"}),
    ):
        r = ops_client.request(method.upper(), path, headers=headers, json=body)
        assert r.status_code == 403, (path, r.text)
    with runtime.db.session(system=True) as s:
        denied = s.scalars(
            select(AuditEvent).where(
                AuditEvent.actor_type == "operator", AuditEvent.action.like("vault.%")
            )
        ).all()
    assert denied and all(e.result == "denied" for e in denied)
