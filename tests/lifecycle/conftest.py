"""Lifecycle fixtures: a tenant in use (records, an attachment, vault numbers, a token)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from hokan.backup.service import Backups
from hokan.lifecycle.onboarding import OnboardIn
from hokan.models import Product
from hokan.principals.principal import ALL_TOKEN_SCOPES, SYSTEM
from hokan.runtime import Runtime
from hokan.settings import Settings
from tests.conftest import PgDatabases, TenantHandle
from tests.vault.conftest import valid_number

BASE = "/api/v1/collections/staff/records"
PDF = b"%PDF-1.7\n" + "給与明細 山田太郎 2026年11月\n".encode() * 50 + b"%%EOF\n"
ALL = ALL_TOKEN_SCOPES


@dataclass
class InUse:
    handle: TenantHandle
    attachment_sha256: str
    vault_entries: int


@pytest.fixture
def lifecycle_settings(
    request: pytest.FixtureRequest, backend: str, settings_factory: Callable[..., Settings]
) -> Settings:
    """On PostgreSQL the backup reads as the owner (HOKAN_BACKUP_DATABASE_URL)."""
    if backend == "postgresql":
        pg: PgDatabases = request.getfixturevalue("pg_databases")
        return settings_factory(
            backup_database_url=pg.admin_system_url, keyring_database_url=pg.admin_keyring_url
        )
    return settings_factory()


@pytest.fixture
def settings(lifecycle_settings: Settings) -> Settings:
    return lifecycle_settings


@pytest.fixture
def backups(runtime: Runtime) -> Backups:
    return Backups(runtime.settings, runtime.keyring, runtime.blobs, runtime.db)


@pytest.fixture
def ca(runtime: Runtime) -> None:
    runtime.ca.init("Hokan Test CA", 3650)


def use(client: TestClient, t: TenantHandle, records: int = 3, numbers: int = 2) -> InUse:
    """Records (two revisions each), one attachment, vault numbers."""
    for i in range(records):
        for v in range(2):
            r = client.put(f"{BASE}/r{i}", json={"name": f"社員 {i}", "v": v}, headers=t.headers)
            assert r.status_code in (200, 201), r.text
    r = client.post(
        f"{BASE}/r0/attachments",
        files={"file": ("給与明細.pdf", PDF, "application/pdf")},
        headers=t.headers,
    )
    assert r.status_code == 201, r.text
    for i in range(numbers):
        r = client.post(
            "/api/v1/vault/numbers",
            json={"number": valid_number(), "record_id": f"r{i}"},
            headers=t.headers,
        )
        assert r.status_code == 201, r.text
    return InUse(t, r.json().get("sha256", ""), numbers)


@pytest.fixture
def onboard(runtime: Runtime, ca: None) -> Callable[..., object]:
    def make(code: str, terminal: str | None = "受付端末1") -> object:
        return runtime.lifecycle.onboard(
            OnboardIn(
                code,
                f"{code} 株式会社",
                Product.staff,
                "管理 太郎",
                f"admin@{code}.example.jp",
                terminal,
            ),
            SYSTEM,
        )

    return make
