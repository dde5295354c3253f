"""LIFE-1/LIFE-2: onboard → use → back up → terminate → dispose → every check passes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hokan.backup.service import Backups
from hokan.keyring.errors import TenantKeyMissing
from hokan.keyring.service import Keyring
from hokan.kit.clock import utcnow
from hokan.kit.db import Database, make_engine
from hokan.lifecycle import repository
from hokan.lifecycle.errors import (
    ConfirmationMismatch,
    GracePeriodRunning,
    LegalHold,
    RestorePending,
    TenantNotTerminated,
)
from hokan.models import AuditEvent, MailMessage, Tenant, TenantDisposal, TenantStatus, User
from hokan.principals.principal import SYSTEM
from hokan.runtime import Runtime
from tests.conftest import TenantHandle
from tests.lifecycle.conftest import ALL, BASE, use


def _after_grace() -> object:
    return utcnow() + timedelta(days=31)


def test_onboarding_makes_everything_and_mails_the_link(
    runtime: Runtime, onboard: Callable[..., object]
) -> None:
    done = onboard("acme")
    with runtime.db.session(system=True) as s:
        tenant = s.scalars(select(Tenant).where(Tenant.code == "acme")).one()
        [admin] = s.scalars(select(User).where(User.tenant_id == tenant.id)).all()
        assert admin.roles == ["tenant_admin"] and admin.password_change_required
        [mail] = s.scalars(select(MailMessage).where(MailMessage.kind == "lifecycle.welcome"))
        assert mail.recipients == ["admin@acme.example.jp"]
        assert "hps_" in mail.body and admin.serial in mail.body
        actions = set(s.scalars(select(AuditEvent.action).where(AuditEvent.tenant_id == tenant.id)))
    assert {"tenant.create", "user.create", "certificate.issue", "lifecycle.onboard"} <= actions
    assert done.pkcs12 and done.pkcs12_password  # type: ignore[attr-defined]
    assert done.pkcs12_password not in mail.body  # type: ignore[attr-defined]
    assert {k.purpose for k in runtime.keyring.list_keys(tenant.id)} == {"records"}


def test_the_setup_link_sets_the_password_once(
    runtime: Runtime, client: TestClient, onboard: Callable[..., object]
) -> None:
    onboard("setup", terminal=None)
    with runtime.db.session(system=True) as s:
        body = s.scalars(
            select(MailMessage.body).where(MailMessage.kind == "lifecycle.welcome")
        ).one()
    token = body.split("#", 1)[1].split()[0]
    password = "春の小川はさらさら行くよ"
    r = client.post("/api/v1/password-setup", json={"token": token, "password": password})
    assert r.status_code == 200, r.text
    serial = r.json()["serial"]
    again = client.post("/api/v1/password-setup", json={"token": token, "password": password + "x"})
    assert again.status_code == 400 and again.json()["error"] == "setup_link_invalid"
    login = client.post("/api/v1/auth/login", json={"serial": serial, "password": password})
    assert login.status_code == 200, login.text
    assert login.json().get("password_change_required") in (False, None)


def test_a_failure_part_way_leaves_nothing(
    runtime: Runtime, onboard: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hokan.lifecycle import onboarding

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the CA is on fire")

    monkeypatch.setattr(onboarding.certificates, "issue", broken)
    with pytest.raises(RuntimeError):
        onboard("halfway")
    with runtime.db.session(system=True) as s:
        assert s.scalars(select(Tenant).where(Tenant.code == "halfway")).first() is None
        assert s.scalars(select(User)).all() == []
        assert s.scalars(select(MailMessage)).all() == []
    assert runtime.keyring.list_keys() == []


def test_terminated_tenant_is_refused_everywhere_but_the_export(
    runtime: Runtime, client: TestClient, make_tenant: Callable[..., TenantHandle]
) -> None:
    t = make_tenant(scopes=ALL)
    assert client.put(f"{BASE}/a", json={"x": 1}, headers=t.headers).status_code == 201
    runtime.lifecycle.terminate(t.tenant.code, SYSTEM)
    r = client.get(f"{BASE}/a", headers=t.headers)
    assert r.status_code == 403 and r.json()["error"] == "tenant_terminated"
    r = client.get("/api/v1/tenant", headers=t.headers)
    assert r.status_code == 403 and r.json()["error"] == "tenant_terminated"


def test_refusals_have_clear_codes(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle], backups: Backups
) -> None:
    t = make_tenant()
    code = t.tenant.code
    life = runtime.lifecycle
    with pytest.raises(TenantNotTerminated) as active:
        life.dispose(code, SYSTEM, confirm=code)
    assert active.value.code == "tenant_not_terminated"
    life.terminate(code, SYSTEM)
    with pytest.raises(ConfirmationMismatch):
        life.dispose(code, SYSTEM, confirm="someone-else", now=_after_grace())  # type: ignore[arg-type]
    with pytest.raises(GracePeriodRunning):
        life.dispose(code, SYSTEM, confirm=code)
    life.hold(code, "訴訟 2026(ワ)123", SYSTEM, kind="legal_hold")
    with pytest.raises(LegalHold):
        life.dispose(code, SYSTEM, confirm=code, now=_after_grace())  # type: ignore[arg-type]
    life.hold(code, None, SYSTEM, kind="legal_hold")
    life.hold(code, "REQ-42", SYSTEM, kind="restore_pending")
    with pytest.raises(RestorePending):
        life.dispose(code, SYSTEM, confirm=code, now=_after_grace())  # type: ignore[arg-type]
    with runtime.db.session(system=True) as s:
        assert s.get(Tenant, t.id).status is TenantStatus.terminated  # type: ignore[union-attr]


def test_full_disposal_is_verified_and_spares_the_other_tenant(
    runtime: Runtime,
    client: TestClient,
    make_tenant: Callable[..., TenantHandle],
    backups: Backups,
    ca: None,
    tmp_path: Path,
) -> None:
    doomed = use(client, make_tenant(scopes=ALL))
    kept = use(client, make_tenant(scopes=ALL))
    tid = doomed.handle.id
    with runtime.db.session(write=True, system=True) as s:
        from hokan.certificates import service as certificates

        certificates.issue(s, runtime.ca, s.get(Tenant, tid), "端末A", 30, SYSTEM)
    old = backups.run("daily")
    backups.run("vault")
    code = doomed.handle.tenant.code
    runtime.lifecycle.terminate(code, SYSTEM)
    out = runtime.lifecycle.dispose(code, SYSTEM, confirm=code, now=_after_grace())  # type: ignore[arg-type]
    report = out["report"]
    assert out["verified"] and report["verification"]["ok"]
    assert report["verification"]["sample_ciphertext"] is True
    assert {b["result"] for b in report["verification"]["backups"]} == {"no_key"}
    assert len(report["backups"]) == 2
    assert report["blobs_deleted"] == 1
    assert sum(report["vault_fragments_deleted"]) >= 2 * 3
    # Nothing of the tenant anywhere.
    with runtime.db.session(system=True) as s:
        assert repository.remaining(s, repository.system_tables(), tid) == {}
        tenant = s.get(Tenant, tid)
        assert tenant is not None and tenant.status is TenantStatus.disposed
        record = s.scalars(select(TenantDisposal)).one()
        assert record.verified
        kept_actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.tenant_id == tid)))
    assert (
        "lifecycle.dispose_verify" in kept_actions and "records.create" in " ".join(kept_actions)
    ) or kept_actions
    assert runtime.keyring.list_keys(tid) == []
    assert list(runtime.blobs.keys(f"{tid}/")) == []
    # The terminal's serial stays on the CRL.
    assert any(serial for serial in report["terminals"]["serials"])
    # The other tenant is intact.
    r = client.get(f"{BASE}/r1", headers=kept.handle.headers)
    assert r.status_code == 200 and r.json()["data"]["v"] == 1
    assert client.get("/api/v1/vault/entries", headers=kept.handle.headers).status_code == 200
    # An old generation restored after disposal cannot decrypt the tenant.
    if runtime.settings.resolved_database_url.startswith("sqlite"):
        restored = backups.restore(old["generation"], tmp_path / "restored")
        keyring = Keyring(
            Database(
                make_engine(f"sqlite:///{tmp_path / 'restored' / 'keyring.db'}", create=False)
            ),
            runtime.master_key,
            0,
        )
        with pytest.raises(TenantKeyMissing):
            keyring.active_version(tid, "records")
        assert keyring.active_version(kept.handle.id, "records") == 1
        keyring.db.dispose()
        assert any(str(f).endswith("keyring.db") for f in restored["files"])
    assert backups.verify() and all(v["ok"] for v in backups.verify())


def test_a_rerun_after_disposal_is_refused(
    runtime: Runtime, make_tenant: Callable[..., TenantHandle], backups: Backups
) -> None:
    t = make_tenant()
    code = t.tenant.code
    runtime.lifecycle.terminate(code, SYSTEM)
    runtime.lifecycle.dispose(code, SYSTEM, confirm=code, now=_after_grace())  # type: ignore[arg-type]
    with pytest.raises(TenantNotTerminated):
        runtime.lifecycle.dispose(code, SYSTEM, confirm=code, now=_after_grace())  # type: ignore[arg-type]
    assert uuid.UUID(str(t.id))
