"""Hokan's settings: one class, every value from ``HOKAN_*`` environment variables.

An optional ``.env`` file (or the file named by ``HOKAN_ENV_FILE``) is read too.
Invalid values stop start-up with a message naming the variable
(:func:`load_settings`).
"""

from __future__ import annotations

import os
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "HOKAN_"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class BlockingMode(StrEnum):
    auto = "auto"  # inline on SQLite (sub-millisecond, local), threads otherwise
    inline = "inline"
    threads = "threads"


class WafMode(StrEnum):
    block = "block"
    detect = "detect"  # detect-only: audit and count, let the request through


class LogFormat(StrEnum):
    json = "json"
    text = "text"


class SettingsError(Exception):
    """Settings cannot be used; the message names the variable and the reason."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=os.environ.get("HOKAN_ENV_FILE", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    env: Environment = Environment.development
    data_dir: Path = Field(default=Path("var"), description="Data directory (embedded default)")

    # Databases. Empty means the embedded default: SQLite files in data_dir.
    database_url: str = Field(default="", description="System database URL")
    keyring_database_url: str = Field(default="", description="Keyring database URL (KEY-2)")
    db_pool_size: int = Field(default=10, ge=1, le=200)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)

    # Master key (KEY-1): an explicit source is required in production.
    master_key: SecretStr | None = Field(default=None, description="base64 32-byte master key")
    master_key_file: Path | None = None
    key_cache_seconds: float = Field(default=30.0, ge=0, le=3600)

    audit_archive_dir: Path | None = Field(
        default=None,
        description="Where archived audit segments go (default DATA_DIR/audit-archive)",
    )
    audit_archive_after_days: int = Field(
        default=0, ge=0, description="Archive audit entries older than this; 0 keeps them all"
    )

    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_kib: int = Field(default=65_536, ge=8_192, le=4_194_304)
    argon2_parallelism: int = Field(default=4, ge=1, le=16)

    spraying_serials: int = Field(
        default=10, ge=2, le=10_000, description="Serials one IP may fail with before an alert"
    )
    spraying_window_seconds: int = Field(default=600, ge=10, le=86_400)

    smtp_url: str = Field(
        default="", description="smtp://host:port, smtp+starttls://user:pass@host:587 or smtps://…"
    )
    mail_from: str = Field(default="Hokan <noreply@hokan.invalid>", max_length=200)

    redis_url: str = ""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    blocking: BlockingMode = Field(
        default=BlockingMode.auto,
        description="Where database work runs: inline on the event loop or in threads",
    )
    threads: int = Field(
        default=8, ge=1, le=256, description="Threads per process for blocking work (DB, crypto)"
    )

    max_record_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    max_schema_bytes: int = Field(default=262_144, ge=1024, le=16 * 1_048_576)
    page_size_default: int = Field(default=50, ge=1, le=1000)
    page_size_max: int = Field(default=500, ge=1, le=10_000)
    token_default_days: int = Field(default=90, ge=1, le=3650)

    # WAF (EDGE-3): anomaly scoring over query, path, headers, cookies and bodies.
    waf_enabled: bool = Field(default=True, description="Inspect requests with the WAF")
    waf_mode: WafMode = Field(default=WafMode.block, description="block, or detect (only log)")
    waf_threshold: int = Field(
        default=5, ge=1, le=1000, description="Anomaly score at which a request is blocked"
    )
    waf_paranoia: int = Field(
        default=1, ge=1, le=4, description="1 (fewest false positives) … 4 (strictest)"
    )
    waf_max_body_bytes: int = Field(
        default=1_048_576,
        ge=0,
        le=64 * 1_048_576,
        description="Bodies up to this size are inspected; larger ones pass uninspected",
    )

    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    log_format: LogFormat = LogFormat.json

    @model_validator(mode="after")
    def _check_combination(self) -> Settings:
        if self.page_size_default > self.page_size_max:
            raise ValueError("HOKAN_PAGE_SIZE_DEFAULT must not exceed HOKAN_PAGE_SIZE_MAX")
        if self.resolved_database_url == self.resolved_keyring_url:
            raise ValueError(
                "HOKAN_KEYRING_DATABASE_URL must name a different database than "
                "HOKAN_DATABASE_URL: the keyring is kept apart from the data it protects"
            )
        if self.env is Environment.production:
            if self.master_key is None and self.master_key_file is None:
                raise ValueError(
                    "production needs an explicit master key source: set HOKAN_MASTER_KEY_FILE "
                    "(or HOKAN_MASTER_KEY); a key generated inside the data directory would sit "
                    "next to the data it protects"
                )
            for name, url in (
                ("HOKAN_DATABASE_URL", self.resolved_database_url),
                ("HOKAN_KEYRING_DATABASE_URL", self.resolved_keyring_url),
            ):
                if url.startswith("sqlite"):
                    raise ValueError(
                        f"{name}: production refuses SQLite: it serves one host only, cannot be "
                        "shared by several 'hokan serve' processes on several machines and has no "
                        "role separation; use postgresql+psycopg://…"
                    )
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'hokan.db').as_posix()}"

    @cached_property
    def resolved_keyring_url(self) -> str:
        return self.keyring_database_url or f"sqlite:///{(self.data_dir / 'keyring.db').as_posix()}"

    @property
    def resolved_audit_archive_dir(self) -> Path:
        return self.audit_archive_dir or self.data_dir / "audit-archive"

    @property
    def default_master_key_path(self) -> Path:
        return self.data_dir / "keys" / "master.key"

    @property
    def inline_blocking(self) -> bool:
        if self.blocking is BlockingMode.auto:
            return self.resolved_database_url.startswith("sqlite")
        return self.blocking is BlockingMode.inline

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        loc = [str(part) for part in item.get("loc", ()) if part != "__root__"]
        name = (ENV_PREFIX + loc[0].upper()) if loc else "settings"
        msg = str(item.get("msg", "invalid"))
        msg = msg.removeprefix("Value error, ")
        lines.append(f"{name}: {msg}")
    return "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, raising :class:`SettingsError` on bad values."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
