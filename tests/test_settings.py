"""Settings: invalid values stop start-up naming the variable; production guards."""

from __future__ import annotations

from pathlib import Path

import pytest

from hokan.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("HOKAN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_are_the_embedded_setup() -> None:
    s = load_settings()
    assert s.resolved_database_url.startswith("sqlite:///var/")
    assert s.resolved_keyring_url.endswith("keyring.db")
    assert s.port == 8080


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HOKAN_PORT", "eighty"),
        ("HOKAN_PORT", "70000"),
        ("HOKAN_ENV", "staging"),
        ("HOKAN_MAX_RECORD_BYTES", "5"),
        ("HOKAN_LOG_LEVEL", "LOUD"),
    ],
)
def test_invalid_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_keyring_must_be_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOKAN_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("HOKAN_KEYRING_DATABASE_URL", "sqlite:///x.db")
    with pytest.raises(SettingsError, match="HOKAN_KEYRING_DATABASE_URL"):
        load_settings()


def test_production_needs_an_explicit_master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOKAN_ENV", "production")
    monkeypatch.setenv("HOKAN_DATABASE_URL", "postgresql+psycopg://h/db")
    monkeypatch.setenv("HOKAN_KEYRING_DATABASE_URL", "postgresql+psycopg://h/keys")
    monkeypatch.setenv(
        "HOKAN_VAULT_STORE_URLS", "postgresql+psycopg://h/v1,postgresql+psycopg://h/v2"
    )
    with pytest.raises(SettingsError, match="master key"):
        load_settings()
    monkeypatch.setenv("HOKAN_MASTER_KEY_FILE", "/etc/hokan/master.key")
    assert load_settings().is_production


def test_production_refuses_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOKAN_ENV", "production")
    monkeypatch.setenv("HOKAN_MASTER_KEY_FILE", "/etc/hokan/master.key")
    with pytest.raises(SettingsError, match="refuses SQLite"):
        load_settings()


def test_secret_is_not_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOKAN_MASTER_KEY", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=")
    s = load_settings()
    assert "c2VjcmV0" not in repr(s)


def test_blocking_mode_follows_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().inline_blocking  # SQLite: inline on the event loop
    monkeypatch.setenv("HOKAN_DATABASE_URL", "postgresql+psycopg://h/db")
    assert not load_settings().inline_blocking  # PostgreSQL: bounded threadpool
    monkeypatch.setenv("HOKAN_BLOCKING", "inline")
    assert load_settings().inline_blocking
    monkeypatch.setenv("HOKAN_BLOCKING", "sometimes")
    with pytest.raises(SettingsError, match="HOKAN_BLOCKING"):
        load_settings()
