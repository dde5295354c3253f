"""The lifecycle service: onboarding, termination, holds, disposal (one entry point)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from hokan.blobs import BlobStore
from hokan.certificates.ca import CertificateAuthority
from hokan.identity.passwords import Passwords
from hokan.keyring.service import Keyring
from hokan.kit.db import Database
from hokan.lifecycle import termination
from hokan.lifecycle.disposal import Disposal, Step
from hokan.lifecycle.errors import TenantNotTerminated
from hokan.lifecycle.export import Exporter, Progress
from hokan.lifecycle.onboarding import Onboarded, OnboardIn, Onboarding
from hokan.models import Tenant, TenantStatus
from hokan.principals.principal import Principal
from hokan.settings import Settings
from hokan.tenants.service import TenantService
from hokan.vault.stores import FragmentStores


class Lifecycle:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        keyring: Keyring,
        tenants: TenantService,
        passwords: Passwords,
        ca: CertificateAuthority,
        blobs: BlobStore,
        vault_stores: FragmentStores,
    ) -> None:
        self.settings = settings
        self.db = db
        self.tenants = tenants
        self.onboarding = Onboarding(settings, db, keyring, tenants, passwords, ca)
        self.disposal = Disposal(settings, db, keyring, blobs, vault_stores, ca, tenants)
        self.exporter = Exporter(db, keyring, blobs, settings.resolved_audit_archive_dir)

    def export(
        self, ref: str, out_dir: Path, actor: Principal, *, progress: Progress | None = None
    ) -> dict[str, Any]:
        """Export an active or terminated tenant's data into a new folder under ``out_dir``."""
        with self.db.session(system=True) as s:
            tenant = self.tenants.get(s, ref)
            if tenant.status is TenantStatus.disposed:
                raise TenantNotTerminated("disposed")
            tenant_id = tenant.id
        return self.exporter.export(tenant_id, out_dir, actor, progress=progress)

    def onboard(self, data: OnboardIn, actor: Principal) -> Onboarded:
        """A tenant, its keys, admin, first terminal and welcome mail — all or nothing."""
        return self.onboarding.onboard(data, actor)

    def terminate(self, ref: str, actor: Principal, now: datetime | None = None) -> Tenant:
        """End the contract: export only for ``HOKAN_TENANT_GRACE_DAYS``, then disposal."""
        with self.db.session(write=True, system=True) as s:
            return termination.terminate(
                s, self.tenants, ref, self.settings.tenant_grace_days, actor, now
            )

    def hold(self, ref: str, reason: str | None, actor: Principal, *, kind: str) -> Tenant:
        """Place (reason) or release (None) a legal hold or a pending-restore mark."""
        with self.db.session(write=True, system=True) as s:
            return termination.set_hold(s, self.tenants, ref, reason, actor, kind=kind)

    def dispose(
        self,
        ref: str,
        actor: Principal,
        *,
        confirm: str | None,
        now: datetime | None = None,
        step: Step | None = None,
    ) -> dict[str, Any]:
        """Dispose of a terminated tenant after its grace period, and prove it."""
        return self.disposal.dispose(ref, actor, confirm=confirm, now=now, step=step)
