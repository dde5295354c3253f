"""Hokan's settings: one class, every value from ``HOKAN_*`` environment variables.

An optional ``.env`` file (or the file named by ``HOKAN_ENV_FILE``) is read too.
Invalid values stop start-up with a message naming the variable
(:func:`load_settings`).
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "HOKAN_"
HOURS_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$"


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


class UnknownMinutes(StrEnum):
    """How availability counts minutes the prober did not observe (ADR 0018)."""

    exclude = "exclude"  # removed from planned service time
    up = "up"  # counted as service time without outage
    outage = "outage"  # counted as full outage


class LogFormat(StrEnum):
    json = "json"
    text = "text"


NTP_PORT = 123
_HOST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def _is_ipv6(text: str) -> bool:
    try:
        return isinstance(ip_address(text), IPv6Address)
    except ValueError:
        return False


def ntp_server(text: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` as (host, port); ValueError says what is wrong."""
    text = text.strip()
    host, port = text, str(NTP_PORT)
    if text.startswith("["):
        close = text.find("]")
        host, rest = text[1:close], text[close + 1 :]
        if close < 0 or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not host[:port] ([v6]:port for IPv6)")
        port = rest[1:] if rest else port
        valid = _is_ipv6(host)
    elif text.count(":") == 1:
        host, port = text.split(":")
        valid = bool(_HOST_NAME.match(host))
    else:
        valid = bool(_HOST_NAME.match(host))
    if not valid:
        raise ValueError(f"{text!r} is not host[:port] ([v6]:port for IPv6)")
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    return host, int(port)


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

    env: Environment = Field(
        default=Environment.development,
        description="development, test or production (production enforces the strict checks)",
    )
    data_dir: Path = Field(default=Path("var"), description="Data directory (embedded default)")

    # Databases. Empty means the embedded default: SQLite files in data_dir.
    database_url: str = Field(default="", description="System database URL")
    keyring_database_url: str = Field(default="", description="Keyring database URL (KEY-2)")
    db_pool_size: int = Field(
        default=10, ge=1, le=200, description="Database connection pool size per process"
    )
    sqlite_busy_timeout_ms: int = Field(
        default=10_000, ge=0, description="How long SQLite waits for a lock before failing (ms)"
    )

    # Master key (KEY-1): an explicit source is required in production.
    master_key: SecretStr | None = Field(default=None, description="base64 32-byte master key")
    master_key_file: Path | None = Field(
        default=None,
        description="File holding the base64 master key (default DATA_DIR/keys/master.key)",
    )
    key_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="How long unwrapped tenant keys stay cached in memory",
    )

    audit_archive_dir: Path | None = Field(
        default=None,
        description="Where archived audit segments go (default DATA_DIR/audit-archive)",
    )
    audit_archive_after_days: int = Field(
        default=0, ge=0, description="Archive audit entries older than this; 0 keeps them all"
    )
    audit_checkpoint_seconds: int = Field(
        default=3600,
        ge=5,
        le=86_400,
        description="How often the worker signs audit chain heads (job audit.checkpoint)",
    )

    # The worker (ADR 0017): scheduled controls.
    job_schedules: dict[str, str] = Field(
        default_factory=dict,
        description=(
            'Per-job schedule overrides as JSON, e.g. {"audit.daily_review": "30 0 * * *", '
            '"vault.purge_due": "every 15m", "audit.archive": "off"} (cron in JST)'
        ),
    )
    worker_lock_poll_seconds: int = Field(
        default=5,
        ge=1,
        le=15,
        description="How often a standby worker tries to become the leader",
    )
    # Monitoring (MON-1..4): probes from the worker, incidents, notices.
    public_url: str | None = Field(
        default=None,
        description="The service's public URL (status-page links, the API probe); "
        "default http://HOST:PORT",
    )
    monitor_url: str | None = Field(
        default=None, description="Where the API probe asks /readyz (default HOKAN_PUBLIC_URL)"
    )
    monitor_interval_seconds: int = Field(
        default=30, ge=5, le=3600, description="How often the prober checks every component"
    )
    monitor_timeout_seconds: float = Field(
        default=10, gt=0, le=600, description="Each probe's timeout (must be under the interval)"
    )
    monitor_fail_after: int = Field(
        default=2, ge=1, le=100, description="Consecutive failed probes that open an incident"
    )
    monitor_recover_after: int = Field(
        default=2, ge=1, le=100, description="Consecutive good probes that resolve it"
    )
    monitor_location: str = Field(
        default="primary",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
        description="This prober's location name (a second prober runs elsewhere)",
    )
    monitor_locations: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["primary"],
        description="Every prober location, comma-separated (for the quorum)",
    )
    monitor_quorum: int = Field(
        default=1, ge=1, le=16, description="Locations that must see a failure to open an incident"
    )
    monitor_webhook_url: str | None = Field(
        default=None, description="Incident notices are POSTed here too (signed, JSON)"
    )
    monitor_webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the Hokan-Signature webhook header"
    )
    job_history_days: int = Field(
        default=400, ge=7, le=3650, description="How long job run history is kept"
    )
    worker_shutdown_seconds: int = Field(
        default=30, ge=1, le=600, description="How long running jobs may take to finish on SIGTERM"
    )
    oncall_emails: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="On-call addresses for failed jobs, comma-separated (and incident operators)",
    )

    # The weekly clock check (MON-8, job clock.check).
    ntp_servers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["ntp.nict.jp"],
        description="NTP servers of the weekly clock check, comma-separated host[:port] "
        "([v6]:port for IPv6)",
    )
    clock_max_offset_ms: int = Field(
        default=1000,
        ge=1,
        le=3_600_000,
        description="Clock offset from the NTP servers above which the clock check alerts (ms)",
    )
    ntp_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="How long the clock check waits for each NTP server"
    )

    argon2_time_cost: int = Field(
        default=3, ge=1, le=20, description="Argon2id passes for password hashes"
    )
    argon2_memory_kib: int = Field(
        default=65_536, ge=8_192, le=4_194_304, description="Argon2id memory per hash (KiB)"
    )
    argon2_parallelism: int = Field(default=4, ge=1, le=16, description="Argon2id lanes per hash")

    spraying_serials: int = Field(
        default=10, ge=2, le=10_000, description="Serials one IP may fail with before an alert"
    )
    spraying_window_seconds: int = Field(
        default=600,
        ge=10,
        le=86_400,
        description="Window for counting the serials one IP fails with",
    )

    # Operators and their governance (OPS-1..4, AUD-4).
    operator_cidrs: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=lambda: [ip_network("127.0.0.0/8"), ip_network("::1/128")],
        description="The operations network (e.g. the VPN range): operators connect only from it",
    )
    operator_hours: str = Field(
        default="08:00-20:00",
        pattern=HOURS_PATTERN,
        description="Permitted operator working hours in JST (HH:MM-HH:MM), for the daily audit",
    )
    operator_session_idle_minutes: int = Field(
        default=15, ge=1, le=240, description="Operator session ends after this much inactivity"
    )
    operator_session_absolute_hours: int = Field(
        default=8,
        ge=1,
        le=24,
        description="Operator session ends this long after login, whatever happens",
    )
    operator_lockout_threshold: int = Field(
        default=5, ge=1, le=100, description="Failed operator logins before the account locks"
    )
    operator_lockout_minutes: int = Field(
        default=30,
        ge=1,
        le=7 * 24 * 60,
        description="How long a locked operator account stays locked",
    )
    audit_bulk_threshold: int = Field(
        default=500, ge=1, description="Reads/exports of customer data by one actor in a day"
    )
    audit_anomaly_factor: float = Field(
        default=5.0,
        ge=1.5,
        le=1000,
        description="Daily audit flags an actor this many times above its usual volume",
    )
    audit_anomaly_min_events: int = Field(
        default=200, ge=1, description="Fewest events in a day before the anomaly check applies"
    )
    audit_reveal_min_events: int = Field(
        default=50,
        ge=1,
        description="Fewest My Number reveals by one accessor in a day before the daily audit "
        "compares them with its normal",
    )

    smtp_url: str = Field(
        default="", description="smtp://host:port, smtp+starttls://user:pass@host:587 or smtps://…"
    )
    mail_from: str = Field(
        default="Hokan <noreply@hokan.invalid>",
        max_length=200,
        description="From address of notices",
    )

    redis_url: str = Field(
        default="",
        description="redis://… shared by every 'hokan serve': login failures, password "
        "spraying, IPS rates and bans; empty: each process's own memory",
    )

    host: str = Field(default="127.0.0.1", description="Bind address of 'hokan serve'")
    port: int = Field(default=8080, ge=1, le=65535, description="Port of 'hokan serve'")
    workers: int = Field(default=1, ge=1, le=64, description="Worker processes of 'hokan serve'")
    blocking: BlockingMode = Field(
        default=BlockingMode.auto,
        description="Where database work runs: inline on the event loop or in threads",
    )
    threads: int = Field(
        default=8, ge=1, le=256, description="Threads per process for blocking work (DB, crypto)"
    )

    max_record_bytes: int = Field(
        default=1_048_576, ge=1024, le=64 * 1_048_576, description="Largest record body"
    )
    max_schema_bytes: int = Field(
        default=262_144, ge=1024, le=16 * 1_048_576, description="Largest collection schema"
    )
    page_size_default: int = Field(
        default=50, ge=1, le=1000, description="Records per page when the client names none"
    )
    page_size_max: int = Field(
        default=500, ge=1, le=10_000, description="Most records per page a client may ask for"
    )
    token_default_days: int = Field(
        default=90, ge=1, le=3650, description="Validity of a new API token when none is given"
    )
    auth_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=1.0,
        description=(
            "Longest time a revoked API token, suspended tenant or disabled user is still "
            "accepted from a process's authentication cache (0: no cache, every request "
            "looks its token up)"
        ),
    )
    auth_cache_entries: int = Field(
        default=10_000, ge=0, le=1_000_000, description="API tokens kept in each process's cache"
    )

    # My Number vault (MYN-1, MYN-3, MYN-7): n fragment stores apart from every other database.
    vault_store_urls: str = Field(
        default="",
        description="Fragment-store database URLs, comma-separated (empty: SQLite files)",
    )
    vault_stores: int = Field(
        default=3, ge=1, le=16, description="Embedded default: how many SQLite fragment stores"
    )
    vault_k: int = Field(default=2, ge=1, le=16, description="Fragments needed to rebuild")
    vault_dir: Path | None = Field(default=None, description="Default DATA_DIR/vault")
    vault_max_document_bytes: int = Field(
        default=10 * 1_048_576,
        ge=1024,
        le=100 * 1_048_576,
        description="Largest My Number document image",
    )

    @model_validator(mode="after")
    def _check_vault(self) -> Settings:
        from sqlalchemy.engine import make_url

        def where(url: str) -> tuple[object, ...]:
            # Credentials aside: two URLs naming one database are one database.
            u = make_url(url)
            return (u.get_backend_name(), u.host, u.port or 5432, u.database)

        urls = self.resolved_vault_store_urls
        if not 1 <= self.vault_k <= len(urls):
            raise ValueError(
                f"HOKAN_VAULT_K ({self.vault_k}) must be between 1 and the number of "
                f"fragment stores ({len(urls)})"
            )
        others = {where(self.resolved_database_url), where(self.resolved_keyring_url)}
        seen: set[tuple[object, ...]] = set()
        for i, url in enumerate(urls, start=1):
            try:
                place = where(url)
            except Exception:
                raise ValueError(f"HOKAN_VAULT_STORE_URLS: store {i} is not a URL") from None
            if place in others:
                raise ValueError(
                    f"HOKAN_VAULT_STORE_URLS: store {i} names the system or keyring database; "
                    "the vault is a separate data area (MYN-1)"
                )
            if place in seen:
                raise ValueError(f"HOKAN_VAULT_STORE_URLS: store {i} repeats another store")
            seen.add(place)
            if self.env is Environment.production and url.startswith("sqlite"):
                raise ValueError(
                    f"HOKAN_VAULT_STORE_URLS: store {i}: production refuses SQLite fragment stores"
                )
        if self.env is Environment.production:
            # Explicit user names must all differ (none given: the driver's default, unchecked).
            users = [n for n in (make_url(u).username for u in urls) if n]
            taken = {make_url(self.resolved_database_url).username}
            taken.add(make_url(self.resolved_keyring_url).username)
            if len(set(users)) != len(users) or taken & set(users):
                raise ValueError(
                    "HOKAN_VAULT_STORE_URLS: in production each fragment store needs its own "
                    "database user, unlike the other stores and the system and keyring databases"
                )
        return self

    @cached_property
    def resolved_vault_store_urls(self) -> list[str]:
        if self.vault_store_urls.strip():
            return [u.strip() for u in self.vault_store_urls.split(",") if u.strip()]
        folder = self.vault_dir or self.data_dir / "vault"
        return [
            f"sqlite:///{(folder / f'store-{i}.db').as_posix()}"
            for i in range(1, 1 + self.vault_stores)
        ]

    # Edge: terminal certificates and network admission (EDGE-1, EDGE-2).
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list,
        description="CIDRs (comma-separated) of fronts (nginx) whose X-Forwarded-For and "
        "client-certificate headers are believed; empty trusts no one",
    )
    client_cert_required: bool = Field(
        default=False,
        description="Refuse requests without a terminal certificate (always on in production)",
    )
    allowed_countries: str = Field(
        default="JP", pattern=r"^[A-Z]{2}(,[A-Z]{2})*$", description="ISO country codes admitted"
    )
    local_networks: Annotated[list[IPv4Network | IPv6Network] | None, NoDecode] = Field(
        default=None,
        description="CIDRs (comma-separated) admitted whatever their country (loopback, "
        "private ranges); default loopback outside production, none in production",
    )
    metrics_cidrs: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=lambda: [ip_network("127.0.0.0/8"), ip_network("::1/128")],
        description="CIDRs (comma-separated) allowed to read /metrics (Prometheus); "
        "others get 404. Default loopback",
    )
    tls_cert_file: Path | None = Field(default=None, description="'hokan serve --tls' certificate")
    tls_key_file: Path | None = Field(default=None, description="'hokan serve --tls' private key")
    crl_days: int = Field(default=30, ge=1, le=365, description="Validity of a published CRL")
    crl_file: Path | None = Field(
        default=None,
        description="Where the worker publishes the CRL (default DATA_DIR/tls/crl.pem)",
    )
    crl_reload_command: str | None = Field(
        default=None,
        description="Run after each CRL publication, e.g. 'nginx -s reload' (no shell)",
    )
    # -- Backups (issue 15: BAK-1..5) --
    backup_local_dir: Path | None = Field(
        default=None,
        description="Local backup target folder, on another volume (別筐体); "
        "empty: DATA_DIR/../backups-local; never inside DATA_DIR",
    )
    backup_remote_dir: Path | None = Field(
        default=None,
        description="Remote backup target folder (遠隔地) on the embedded default; "
        "empty: DATA_DIR/../backups-remote",
    )
    backup_database_url: str = Field(
        default="",
        description="System database URL the backup reads with (PostgreSQL: a role that "
        "bypasses row-level security, e.g. the owner); empty: HOKAN_DATABASE_URL",
    )
    backup_chunk_mib: int = Field(
        default=4, ge=1, le=64, description="Backup chunk size (MiB) before compression"
    )
    backup_zstd_level: int = Field(
        default=1, ge=1, le=19, description="zstd level of backup chunks"
    )
    # -- Tenant lifecycle (issue 16: LIFE-1..4) --
    tenant_grace_days: int = Field(
        default=30,
        ge=0,
        le=365,
        description="Days between a tenant's termination and the disposal of its data "
        "(export only, meanwhile)",
    )
    password_setup_hours: int = Field(
        default=72, ge=1, le=720, description="Validity of a new user's one-time password link"
    )
    # -- Remote backup target on the S3 API, restore (issue 15: BAK-4, BAK-5, ADR 0023) --
    backup_remote_url: str = Field(
        default="",
        description="Remote backup target on the S3 API: s3://bucket/prefix; "
        "empty: the folder HOKAN_BACKUP_REMOTE_DIR",
    )
    backup_s3_endpoint_url: str = Field(
        default="", description="S3-compatible endpoint of the remote backup target"
    )
    backup_s3_region: str = Field(
        default="ap-northeast-1", description="S3 region of the remote backup target"
    )
    backup_s3_access_key_id: str = Field(
        default="", description="Access key id of the remote backup target"
    )
    backup_s3_secret_access_key: SecretStr | None = Field(
        default=None, description="Secret access key of the remote backup target"
    )
    backup_policies: dict[str, dict[str, int | str]] = Field(
        default_factory=dict,
        description=(
            "GFS retention per class and target as JSON (restic semantics, JST periods; "
            '-1: unlimited), e.g. {"local/daily": {"daily": 7, "weekly": 4}, '
            '"monthly": {"monthly": 3}, "upgrade": {"last": 1, "within": "1m"}}; keys: '
            "class, target/class or target/*; unset: the whitepaper's counts"
        ),
    )
    backup_verify_days: int = Field(
        default=7,
        ge=1,
        le=366,
        description="Every stored backup byte is read back and decrypted within this many days",
    )
    backup_lock_wait_seconds: int = Field(
        default=0,
        ge=0,
        le=86_400,
        description="How long a backup run waits for another run on its target (0: refuse)",
    )
    backup_drill_database_url: str = Field(
        default="",
        description="PostgreSQL restore drills: a server URL whose role may create databases "
        "and bypasses row-level security; drills restore into databases made there and "
        "dropped after (empty: HOKAN_BACKUP_DATABASE_URL)",
    )
    backup_drill_scratch_dir: Path | None = Field(
        default=None,
        description="Scratch folder for restore drills (empty: the system temporary folder)",
    )
    # -- Reports (REP-1..3) --
    report_emails: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra addresses of the weekly operations report, comma-separated "
        "(the active operations managers always receive it)",
    )
    # -- Attachments, blob store, malware scanning and IPS (issue 7: REC-4, EDGE-4, EDGE-6) --
    blob_url: str = Field(
        default="", description="file:///path or s3://bucket/prefix; empty: DATA_DIR/blobs"
    )
    blob_s3_endpoint_url: str = Field(default="", description="S3-compatible endpoint URL")
    blob_s3_region: str = Field(default="ap-northeast-1", description="S3 region")
    blob_s3_access_key_id: str = Field(
        default="", description="S3 access key id (empty: the SDK's default credentials)"
    )
    blob_s3_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret access key"
    )
    attachment_max_bytes: int = Field(
        default=26_214_400, ge=1024, le=5 * 1024**3, description="Largest attachment"
    )
    attachments_per_record: int = Field(
        default=100, ge=1, le=10_000, description="Most attachments on one record"
    )
    security_notify_emails: str = Field(
        default="", description="Comma-separated operator addresses told of bans and malware"
    )
    clamd_address: str = Field(
        default="", description="ClamAV daemon: host:port or unix:/path; empty: built-in scanner"
    )
    clamd_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Longest wait for the ClamAV daemon's verdict"
    )
    ips_enabled: bool = Field(
        default=True, description="Rate limits, flood and attack bans (EDGE-4)"
    )
    ips_ip_requests: int = Field(default=600, ge=1, description="Requests per IP per window")
    ips_account_requests: int = Field(
        default=1200, ge=1, description="Requests per account per window"
    )
    ips_tenant_requests: int = Field(
        default=6000, ge=1, description="Requests per tenant per window"
    )
    ips_window_seconds: int = Field(
        default=60, ge=1, le=3600, description="Window of the request limits"
    )
    ips_flood_factor: int = Field(
        default=3, ge=1, le=100, description="Ban an IP going this many times over its limit"
    )
    ips_attack_blocks: int = Field(
        default=20, ge=1, description="WAF blocks from one address that lead to a ban"
    )
    ips_attack_window_seconds: int = Field(
        default=600, ge=10, le=86_400, description="Window for counting WAF blocks towards a ban"
    )
    ips_ban_seconds: int = Field(
        default=600, ge=1, le=86_400 * 30, description="First ban length; repeat offences double it"
    )
    ips_ban_max_seconds: int = Field(
        default=86_400, ge=1, le=86_400 * 365, description="Longest ban"
    )
    ips_max_concurrent_per_ip: int = Field(
        default=32, ge=1, le=10_000, description="Open requests one address may have at once"
    )
    ips_max_concurrent_exempt: int = Field(
        default=1024,
        ge=1,
        le=100_000,
        description="Concurrent requests of one exempt address (HOKAN_IPS_EXEMPT_IPS): a "
        "guard for the process, not a limit on the operator's own monitoring or NAT",
    )
    ips_header_timeout_seconds: float = Field(
        default=10.0, gt=0, le=600, description="Longest wait for a request's headers (slowloris)"
    )
    ips_body_timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Longest wait for the next body chunk"
    )
    ips_min_body_rate: int = Field(
        default=1024, ge=0, description="Bytes/s a body must average once it took BODY_TIMEOUT"
    )
    ips_max_body_bytes: int = Field(
        default=2_097_152, ge=1024, description="Body limit of routes without their own"
    )
    ips_webhook_url: str = Field(default="", description="POSTed a JSON notice on every ban")
    ips_exempt_ips: str = Field(default="", description="Comma-separated addresses never limited")
    ips_redis_prefix: str = Field(
        default="hokan:ips", pattern=r"^[A-Za-z0-9:_-]{1,64}$", description="Redis key prefix"
    )

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

    # Maintenance windows (MON-5) and the status page (MON-4, UI-3).
    maintenance_notice_days: int = Field(
        default=14,
        ge=1,
        le=365,
        description="Days a maintenance window must be announced before it starts "
        "(shorter only as an emergency, which is marked)",
    )
    maintenance_max_hours: int = Field(
        default=24, ge=1, le=168, description="Longest maintenance window accepted (hours)"
    )
    status_stale_seconds: int = Field(
        default=120,
        ge=10,
        le=3600,
        description="A component whose last probe result is older than this shows as unknown",
    )
    # -- Availability (MON-6, REP-2; ADR 0018) --
    availability_unknown: UnknownMinutes = Field(
        default=UnknownMinutes.exclude,
        description="Minutes the prober did not observe: exclude (from planned service time), "
        "up, or outage (full)",
    )
    slo_percent: Decimal = Field(
        default=Decimal("99.9"),
        gt=0,
        lt=100,
        max_digits=8,
        decimal_places=4,
        description="Availability objective (SLO) in percent: error budget and burn-rate alerts",
    )
    # -- end availability --

    log_level: str = Field(
        default="INFO",
        pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$",
        description="DEBUG, INFO, WARNING, ERROR or CRITICAL",
    )
    log_format: LogFormat = Field(
        default=LogFormat.json, description="json (one object a line) or text"
    )

    @field_validator("monitor_locations", mode="before")
    @classmethod
    def _split_locations(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("public_url", "monitor_url", "monitor_webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (invalid_probe_target)")
        return value

    @field_validator("oncall_emails", "report_emails", mode="before")
    @classmethod
    def _split_emails(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("ntp_servers", mode="before")
    @classmethod
    def _split_ntp_servers(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            if not value:
                raise ValueError("name at least one NTP server (host or host:port)")
            for text in value:
                ntp_server(str(text))  # ValueError names what is wrong
        return value

    @property
    def ntp_server_list(self) -> list[tuple[str, int]]:
        """(host, port) of each NTP server of the clock check."""
        return [ntp_server(text) for text in self.ntp_servers]

    @field_validator("operator_cidrs", mode="before")
    @classmethod
    def _split_cidrs(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _check_combination(self) -> Settings:
        if self.monitor_timeout_seconds >= self.monitor_interval_seconds:
            raise ValueError(
                "HOKAN_MONITOR_TIMEOUT_SECONDS must be under HOKAN_MONITOR_INTERVAL_SECONDS"
            )
        if self.monitor_quorum > len(self.monitor_locations):
            raise ValueError("HOKAN_MONITOR_QUORUM exceeds the number of HOKAN_MONITOR_LOCATIONS")
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
    def resolved_backup_local_dir(self) -> Path:
        return self.backup_local_dir or self.data_dir.resolve().parent / "backups-local"

    @property
    def resolved_backup_remote_dir(self) -> Path:
        return self.backup_remote_dir or self.data_dir.resolve().parent / "backups-remote"

    @property
    def resolved_backup_database_url(self) -> str:
        return self.backup_database_url or self.resolved_database_url

    @property
    def default_master_key_path(self) -> Path:
        return self.data_dir / "keys" / "master.key"

    @property
    def inline_blocking(self) -> bool:
        if self.blocking is BlockingMode.auto:
            return self.resolved_database_url.startswith("sqlite")
        return self.blocking is BlockingMode.inline

    @property
    def security_notify_list(self) -> list[str]:
        return [a.strip() for a in self.security_notify_emails.split(",") if a.strip()]

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production

    @field_validator("trusted_proxies", "local_networks", "metrics_cidrs", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(self.trusted_proxies)

    @property
    def local_network_list(self) -> tuple[IPv4Network | IPv6Network, ...]:
        if self.local_networks is None:
            loopback = () if self.is_production else ("127.0.0.0/8", "::1/128")
            return tuple(ip_network(n) for n in loopback)
        return tuple(self.local_networks)

    @property
    def requires_client_cert(self) -> bool:
        return self.client_cert_required or self.is_production

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def resolved_monitor_url(self) -> str:
        return (self.monitor_url or self.resolved_public_url).rstrip("/")

    @property
    def status_page_url(self) -> str:
        return f"{self.resolved_public_url}/status"

    @property
    def resolved_crl_file(self) -> Path:
        return self.crl_file or self.tls_dir / "crl.pem"


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
