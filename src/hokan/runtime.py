"""The process-wide objects one Hokan process needs, built once from settings.

The HTTP app, the CLI and the tests all build a :class:`Runtime`; nothing
reaches for globals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, TypeVar

import redis
from anyio import to_thread
from starlette.requests import Request

from hokan.audit import mac as audit_mac
from hokan.audit import service as audit
from hokan.audit.findings import InternalAudit
from hokan.audit.log import AuditLog
from hokan.blobs import BlobStore, make_blob_store
from hokan.certificates.ca import CertificateAuthority
from hokan.certificates.service import TerminalCertificates
from hokan.edge import authentication
from hokan.edge.admission import TenantNetworks
from hokan.edge.ips import FallbackIpsStore, Ips, IpsStore, MemoryIpsStore, RedisIpsStore
from hokan.edge.refusals import RefusalLog
from hokan.edge.waf.service import Waf
from hokan.identity.accounts import Accounts
from hokan.identity.credential_cache import CredentialCache
from hokan.identity.grants import Grants
from hokan.identity.lockout import RedisLockout
from hokan.identity.logins import Logins
from hokan.identity.operator_accounts import OperatorAccounts
from hokan.identity.passwords import Passwords
from hokan.identity.spraying import RedisSprayingDetector, SprayingDetector
from hokan.identity.tokens import PersonalTokens
from hokan.jobs.registry import Registry
from hokan.jobs.service import JobsView
from hokan.keyring.master import MasterKeyProvider, load_master_key
from hokan.keyring.service import Keyring
from hokan.kit.actions import Declared
from hokan.kit.db import Database, make_engine
from hokan.kit.errors import HokanError
from hokan.lifecycle.service import Lifecycle
from hokan.monitoring import notices
from hokan.monitoring.incidents import Incidents
from hokan.principals.operator import OperatorIdentity
from hokan.principals.principal import Principal
from hokan.records.attachments.service import AttachmentService
from hokan.records.service import RecordService
from hokan.scanning.scanner import Scanner, default_scanner
from hokan.settings import Settings
from hokan.tenants.service import TenantService
from hokan.vault.service import VaultService
from hokan.vault.stores import FragmentStores

T = TypeVar("T")


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def db(self) -> Database:
        s = self.settings
        db = Database(
            make_engine(
                s.resolved_database_url,
                pool_size=s.db_pool_size,
                busy_timeout_ms=s.sqlite_busy_timeout_ms,
            ),
            row_level_security=True,
        )
        # Audit entries written here are authenticated with the keyring's key (ADR 0011).
        audit_mac.register(db.engine, lambda: self.keyring.audit_mac_key())
        return db

    @cached_property
    def keyring_db(self) -> Database:
        s = self.settings
        return Database(
            make_engine(
                s.resolved_keyring_url,
                pool_size=max(2, s.db_pool_size // 2),
                busy_timeout_ms=s.sqlite_busy_timeout_ms,
                secure_delete=True,  # destroyed keys are overwritten, not just unlinked
            )
        )

    @cached_property
    def master_key(self) -> MasterKeyProvider:
        return load_master_key(self.settings)

    @cached_property
    def keyring(self) -> Keyring:
        return Keyring(self.keyring_db, self.master_key, self.settings.key_cache_seconds)

    @cached_property
    def credential_cache(self) -> CredentialCache:
        """Recently authenticated API tokens (ADR 0027): revocations apply within
        ``HOKAN_AUTH_CACHE_SECONDS``."""
        s = self.settings
        return CredentialCache(self.db, s.auth_cache_seconds, s.auth_cache_entries)

    @cached_property
    def passwords(self) -> Passwords:
        return Passwords(self.settings)

    @cached_property
    def lockout(self) -> RedisLockout | None:
        """The shared login-failure counter store; None counts in the users table."""
        return RedisLockout(self.settings.redis_url) if self.settings.redis_url else None

    @cached_property
    def spraying(self) -> SprayingDetector:
        s = self.settings
        detector = (
            RedisSprayingDetector(s.redis_url, s.spraying_serials, s.spraying_window_seconds)
            if s.redis_url  # one count across every process
            else SprayingDetector(s.spraying_serials, s.spraying_window_seconds)
        )
        detector.on_alarm = lambda ip, serials: self.ips.spraying(ip, serials)  # EDGE-4 ban
        return detector

    @cached_property
    def redis(self) -> redis.Redis | None:
        """A client for probing Redis (``/readyz``); None without ``HOKAN_REDIS_URL``."""
        url = self.settings.redis_url
        return (
            redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) if url else None
        )

    @cached_property
    def records(self) -> RecordService:
        return RecordService(self.keyring, self.settings.max_record_bytes)

    @cached_property
    def tenants(self) -> TenantService:
        return TenantService(self.keyring)

    # -- identity (issue 11: the routes resolve these by type) ---------------------

    @cached_property
    def logins(self) -> Logins:
        return Logins(
            self.db,
            self.passwords,
            self.keyring,
            master=self.master_key,
            settings=self.settings,
            spraying=self.spraying,
            lockout=self.lockout,
        )

    @cached_property
    def accounts(self) -> Accounts:
        return Accounts(self.passwords, self.keyring, self.lockout)

    @cached_property
    def personal_tokens(self) -> PersonalTokens:
        return PersonalTokens(self.settings.token_default_days)

    @cached_property
    def grants(self) -> Grants:
        return Grants()

    @cached_property
    def operator_accounts(self) -> OperatorAccounts:
        return OperatorAccounts(self.passwords, self.master_key)

    @cached_property
    def vault_stores(self) -> FragmentStores:
        s = self.settings
        return FragmentStores(
            s.resolved_vault_store_urls,
            pool_size=max(2, s.db_pool_size // 2),
            busy_timeout_ms=s.sqlite_busy_timeout_ms,
            parallel=not all(u.startswith("sqlite") for u in s.resolved_vault_store_urls),
        )

    @cached_property
    def vault(self) -> VaultService:
        s = self.settings
        return VaultService(
            self.keyring,
            self.vault_stores,
            s.vault_k,
            s.vault_max_document_bytes,
            self.scanner(),
        )

    @cached_property
    def ca(self) -> CertificateAuthority:
        """Hokan's terminal-certificate CA (key in the keyring database)."""
        return CertificateAuthority(self.keyring)

    @cached_property
    def terminal_certificates(self) -> TerminalCertificates:
        return TerminalCertificates()

    @cached_property
    def audit_log(self) -> AuditLog:
        return AuditLog(self.db, self.keyring, self.settings.resolved_audit_archive_dir)

    @cached_property
    def internal_audit(self) -> InternalAudit:
        return InternalAudit(self.settings)

    @cached_property
    def edge_refusals(self) -> RefusalLog:
        """Counts and rate-limits the audit of requests refused at the edge."""
        return RefusalLog()

    @cached_property
    def tenant_networks(self) -> TenantNetworks:
        return TenantNetworks(self.db)

    # -- attachments, scanning, IPS (issue 7) ------------------------------------

    @cached_property
    def incidents(self) -> Incidents:
        settings = self.settings
        return Incidents(lambda s, row, event: notices.announce(s, settings, row, event))

    @cached_property
    def jobs(self) -> JobsView:
        return JobsView(Registry(self.settings))

    @cached_property
    def blobs(self) -> BlobStore:
        return make_blob_store(self.settings)

    def scanner(self) -> Scanner:
        """The malware scanner uploads go through (EDGE-6)."""
        return default_scanner(self.settings)

    @cached_property
    def attachments(self) -> AttachmentService:
        s = self.settings
        return AttachmentService(
            self.db,
            self.keyring,
            self.blobs,
            self.scanner,
            s.attachments_per_record,
            s.security_notify_list,
        )

    @cached_property
    def ips(self) -> Ips:
        """Rate limits and bans, in Redis when ``HOKAN_REDIS_URL`` is set (EDGE-4)."""
        url = self.settings.redis_url
        prefix = self.settings.ips_redis_prefix
        # Redis down degrades to this process's counters (ADR 0012), never a 500.
        store: IpsStore = FallbackIpsStore(RedisIpsStore(url, prefix)) if url else MemoryIpsStore()
        return Ips(self.settings, store, self.db)

    @cached_property
    def waf(self) -> Waf:
        return Waf(self.settings)

    @cached_property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(
            self.settings,
            self.db,
            self.keyring,
            self.tenants,
            self.passwords,
            self.ca,
            self.blobs,
            self.vault_stores,
        )

    # -- the Host protocol (hokan.httpkit.context): how routes reach the runtime ----

    def resolve(self, kind: type[T]) -> T:
        """The one instance of ``kind`` this process uses (routes ask by type)."""
        found = getattr(self, _PROVIDERS[kind])
        if not isinstance(found, kind):
            raise LookupError(kind.__name__)
        return found

    def record_failure(
        self,
        principal: Principal,
        declared: Declared,
        exc: HokanError,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        audit.record_failure(
            self.db,
            principal,
            declared.action,
            declared.target_type,
            declared.target_id,
            exc,
            detail={**(declared.detail or {}), **(detail or {})},
        )

    async def authenticate(self, request: Request) -> Principal:
        return await authentication.authenticate(self, request)

    async def admit(self, request: Request, principal: Principal) -> None:
        await authentication.admit(self, request, principal)

    async def authenticate_operator(self, request: Request) -> OperatorIdentity:
        return await authentication.authenticate_operator(self, request)

    async def call(self, fn: Callable[[], T]) -> T:
        """Run blocking work (database, crypto) from async code (ADR 0001).

        On SQLite the work is local and sub-millisecond, so it runs inline on the
        event loop: a threadpool hop and the GIL hand-offs it causes cost more
        than the work. On PostgreSQL it runs in the bounded threadpool, so a slow
        round trip never stalls other requests.
        """
        if self.settings.inline_blocking:
            return fn()
        return await to_thread.run_sync(fn)

    def close(self) -> None:
        for name in ("db", "keyring_db", "vault_stores"):
            if name in self.__dict__:
                self.__dict__[name].dispose()


# Which attribute of Runtime provides each type routes may resolve.
_PROVIDERS: dict[type, str] = {
    Settings: "settings",
    Database: "db",
    Keyring: "keyring",
    Passwords: "passwords",
    RecordService: "records",
    TenantService: "tenants",
    FragmentStores: "vault_stores",
    VaultService: "vault",
    CertificateAuthority: "ca",
    TerminalCertificates: "terminal_certificates",
    AuditLog: "audit_log",
    InternalAudit: "internal_audit",
    BlobStore: "blobs",
    AttachmentService: "attachments",
    Ips: "ips",
    Waf: "waf",
    SprayingDetector: "spraying",
    Logins: "logins",
    Accounts: "accounts",
    PersonalTokens: "personal_tokens",
    Grants: "grants",
    OperatorAccounts: "operator_accounts",
    JobsView: "jobs",
    Incidents: "incidents",
    Lifecycle: "lifecycle",
}
