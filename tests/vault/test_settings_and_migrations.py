"""Fragment-store settings are validated at start-up; each store is migrated apart (MYN-1)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from hokan import migrations
from hokan.runtime import Runtime
from hokan.settings import SettingsError, load_settings

SYS = "postgresql+psycopg://app@db.internal/hokan"
KEYS = "postgresql+psycopg://keys@db.internal/hokan_keyring"


@pytest.mark.parametrize(
    ("stores", "k", "message"),
    [
        (f"{SYS},postgresql+psycopg://a@db.internal/v2", 2, "names the system or keyring"),
        # other credentials, same database: still the keyring database
        (
            "postgresql+psycopg://other:pw@db.internal/hokan_keyring,postgresql+psycopg://b@x/v",
            1,
            "store 1 names",
        ),
        ("postgresql+psycopg://a@h/v1,postgresql+psycopg://b@h/v1", 1, "store 2 repeats"),
        ("postgresql+psycopg://a@h/v1,postgresql+psycopg://b@h/v2", 3, "HOKAN_VAULT_K (3)"),
    ],
)
def test_bad_store_urls_stop_start_up(stores: str, k: int, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(
            database_url=SYS, keyring_database_url=KEYS, vault_store_urls=stores, vault_k=k
        )


def test_production_wants_postgresql_stores_each_with_its_own_user(tmp_path: object) -> None:
    base = {
        "env": "production",
        "database_url": SYS,
        "keyring_database_url": KEYS,
        "master_key_file": "/etc/k",
    }
    with pytest.raises(SettingsError, match="production refuses SQLite fragment stores"):
        load_settings(**base)
    with pytest.raises(SettingsError, match="its own database user"):
        load_settings(
            **base, vault_store_urls="postgresql+psycopg://v@h/v1,postgresql+psycopg://v@h/v2"
        )
    with pytest.raises(SettingsError, match="its own database user"):
        load_settings(
            **base, vault_store_urls="postgresql+psycopg://app@h/v1,postgresql+psycopg://v@h/v2"
        )
    ok = load_settings(
        **base,
        vault_store_urls="postgresql+psycopg://v1@h1/v, postgresql+psycopg://v2@h2/v ,postgresql+psycopg://v3@h3/v",
    )
    assert len(ok.resolved_vault_store_urls) == 3 and ok.vault_k == 2


def test_every_store_is_at_head_without_drift_and_holds_only_fragments(runtime: Runtime) -> None:
    assert runtime.vault_stores.n == 3
    for store in runtime.vault_stores.dbs:
        migrations.check("vault", store.engine)
        assert migrations.current("vault", store.engine) == migrations.head("vault")
        assert set(inspect(store.engine).get_table_names()) == {
            "alembic_version",
            "vault_fragments",
            "vault_store_identity",  # which store this is: no data
        }
    system = set(inspect(runtime.db.engine).get_table_names())
    assert "vault_fragments" not in system and {"vault_entries", "vault_deletions"} <= system
    assert "vault_entry_keys" in inspect(runtime.keyring_db.engine).get_table_names()
    assert "vault_entry_keys" not in system
