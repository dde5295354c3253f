"""Disposal (LIFE-2): every copy of a terminated tenant's data, gone and proven gone.

The steps cross databases (system, keyring, each vault store), the blob store and
the backup targets, so they are not one transaction: each step is idempotent and
the tenant stays ``terminated`` until the last one succeeded, so a run that died
half-way is simply run again. Order matters:

1. refuse what must not be disposed of (active, legal hold, pending restore, grace
   period, wrong confirmation);
2. remember a sample ciphertext, the counts, the key ids and the backup generations;
3. revoke the terminals and publish the CRL (their serials stay listed);
4. delete attachments (blob store: folder or S3, every version) and vault fragments
   in every store;
5. delete the tenant's rows of every tenant-owned table (from the models' metadata)
   in one transaction; the audit trail and the disposal record stay;
6. destroy the tenant's keys in the live keyring, then in every keyring backup
   generation (cryptographic erase, ``hokan.backup.shred``);
7. verify (``hokan.lifecycle.verification``) and record the result.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hokan import __version__
from hokan.audit import service as audit
from hokan.backup import shred
from hokan.backup.service import Backups
from hokan.blobs import BlobStore
from hokan.certificates import service as certificates
from hokan.certificates.ca import CertificateAuthority
from hokan.certificates.errors import CaMissing
from hokan.certificates.tasks import write_crl
from hokan.keyring.service import RECORDS, Keyring, Sealed
from hokan.kit.clock import iso, to_jst, utcnow
from hokan.kit.db import Database
from hokan.lifecycle import repository, verification
from hokan.lifecycle.errors import (
    ConfirmationMismatch,
    DisposalIncomplete,
    GracePeriodRunning,
    LegalHold,
    RestorePending,
    TenantNotTerminated,
)
from hokan.models import TenantDisposal, TenantStatus
from hokan.principals.principal import Principal
from hokan.records.service import record_context
from hokan.settings import Settings
from hokan.tenants.service import TenantService
from hokan.vault.stores import FragmentStores

Step = Callable[[str], None]


def _flat(counts: dict[str, int]) -> list[str]:
    """Counts as audit detail allows them (flat scalars): ``table=n``."""
    return [f"{name}={n}" for name, n in sorted(counts.items()) if n]


def _certificate_number(now: datetime) -> str:
    return f"HKN-DEL-{to_jst(now):%Y%m%d}-{secrets.token_hex(3).upper()}"


class Disposal:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        keyring: Keyring,
        blobs: BlobStore,
        vault_stores: FragmentStores,
        ca: CertificateAuthority,
        tenants: TenantService,
    ) -> None:
        self.settings = settings
        self.db = db
        self.keyring = keyring
        self.blobs = blobs
        self.vault_stores = vault_stores
        self.ca = ca
        self.tenants = tenants

    def backups(self) -> Backups:
        return Backups(self.settings, self.keyring, self.blobs, self.db)

    # -- 1. refusals ---------------------------------------------------------------

    def check(self, ref: str, confirm: str | None, now: datetime) -> uuid.UUID:
        """Raise the refusal that applies; the tenant's id when disposal may go ahead."""
        with self.db.session(system=True) as s:
            tenant = self.tenants.get(s, ref)
            if confirm is not None and confirm != tenant.code:
                raise ConfirmationMismatch("expected", tenant=tenant.code)
            if tenant.status is TenantStatus.disposed:
                raise TenantNotTerminated("disposed")
            if tenant.status is not TenantStatus.terminated:
                raise TenantNotTerminated("active", tenant=tenant.code)
            if tenant.legal_hold:
                raise LegalHold("held", why=tenant.legal_hold)
            pending = tenant.restore_pending or repository.pending_restore(s, tenant.code)
            if pending:
                raise RestorePending("pending", why=pending)
            if tenant.dispose_after is not None and now < tenant.dispose_after:
                raise GracePeriodRunning(
                    "until", until=f"{to_jst(tenant.dispose_after):%Y-%m-%d %H:%M}"
                )
            return tenant.id

    # -- the whole run ---------------------------------------------------------------

    def dispose(
        self,
        ref: str,
        actor: Principal,
        *,
        confirm: str | None,
        now: datetime | None = None,
        step: Step | None = None,
    ) -> dict[str, Any]:
        """Dispose of a terminated tenant's data and verify it (see the module docstring).
        ``confirm`` must be the tenant's code (the job passes it itself)."""
        moment = now or utcnow()
        say = step or (lambda _: None)
        tenant_id = self.check(ref, confirm, moment)
        say("inventory")
        facts, sample = self._inventory(tenant_id, actor, moment)
        say("terminals")
        facts["terminals"] = self._terminals(tenant_id, actor)
        say("attachments")
        facts["blobs_deleted"] = self.blobs.purge(f"{tenant_id}/")
        say("vault")
        facts["vault_fragments_deleted"] = self._vault(tenant_id)
        say("records")
        facts["rows_deleted"] = self._rows(tenant_id, actor)
        say("keys")
        facts["keys_destroyed"] = self._keys(tenant_id)
        say("backups")
        facts["backups"] = shred.shred_tenant(self.backups(), tenant_id)
        say("verify")
        result = verification.verify(self, tenant_id, sample)
        return self._finish(tenant_id, facts, result, actor)

    # -- 2. inventory --------------------------------------------------------------------

    def _inventory(
        self, tenant_id: uuid.UUID, actor: Principal, now: datetime
    ) -> tuple[dict[str, Any], shred.Sample | None]:
        keys = [
            {
                "purpose": k.purpose,
                "version": k.version,
                "status": k.status.value,
                "key_id": f"{k.purpose}-v{k.version}",
                "master_key_id": k.master_key_id,
            }
            for k in self.keyring.list_keys(tenant_id)
        ]
        with self.db.session(write=True, system=True) as s:
            tenant = self.tenants.get_by_id(s, tenant_id)
            record = repository.disposal(s, tenant_id)
            counts = repository.counts(s, tenant_id)
            row = repository.sample_revision(s, tenant_id)
            sample = None
            if row is not None and row.ciphertext is not None and row.wrapped_dek is not None:
                sample = shred.Sample(
                    tenant_id,
                    RECORDS,
                    record_context(row.record_id, row.revision),
                    Sealed(row.key_version or 1, row.wrapped_dek, row.ciphertext),
                )
            if record is None:  # a rerun keeps the first run's inventory and number
                record = TenantDisposal(
                    tenant_id=tenant_id,
                    tenant_code=tenant.code,
                    tenant_name=tenant.name,
                    certificate_number=_certificate_number(now),
                    terminated_at=tenant.terminated_at,
                    started_at=now,
                    operator=actor.display_name[:200],
                    report={
                        "counts": counts,
                        "keys": keys,
                        "attachments": counts.get("record_attachments", 0),
                        "vault_entries": counts.get("vault_entries", 0),
                    },
                )
                s.add(record)
                s.flush()
                audit.record(
                    s,
                    actor,
                    "lifecycle.dispose_start",
                    "tenant",
                    tenant.code,
                    detail={"certificate": record.certificate_number, "rows": _flat(counts)},
                    tenant_id=tenant_id,
                )
            facts = dict(record.report)
        if sample is not None:
            # The control: the sample opens now, so "cannot open" later means the keys are gone.
            self.keyring.open(sample.tenant_id, sample.purpose, sample.context, sample.sealed)
        return facts, sample

    # -- 3. terminals -------------------------------------------------------------------

    def _terminals(self, tenant_id: uuid.UUID, actor: Principal) -> dict[str, Any]:
        with self.db.session(write=True, system=True) as s:
            rows = repository.terminals(s, tenant_id)
            revoked = 0
            for row in rows:
                if row.revoked_at is None:
                    certificates.revoke(s, row, actor, "tenant disposed (LIFE-2)")
                    revoked += 1
            repository.retire_certificates(s, rows)
            serials = [r.serial for r in rows]
        published = False
        if serials:
            try:
                with self.db.session(system=True) as s:
                    pem = certificates.crl(s, self.ca, self.settings.crl_days)
                write_crl(self.settings, pem)
                published = True
            except CaMissing:
                published = False
        return {"serials": serials, "revoked_now": revoked, "crl_published": published}

    # -- 4. vault fragments ------------------------------------------------------------------

    def _vault(self, tenant_id: uuid.UUID) -> list[int]:
        deleted = []
        for db in self.vault_stores.dbs:
            n = 0
            with db.session(write=True) as s:
                for table in repository.vault_tables():
                    n += int(
                        getattr(s.execute(repository.delete_rows(table, tenant_id)), "rowcount", 0)
                        or 0
                    )
            if db.dialect == "sqlite":
                with db.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            deleted.append(n)
        return deleted

    # -- 5. rows ------------------------------------------------------------------------

    def _rows(self, tenant_id: uuid.UUID, actor: Principal) -> dict[str, int]:
        out: dict[str, int] = {}
        with self.db.session(write=True, system=True) as s:
            tenant = self.tenants.get_by_id(s, tenant_id)
            for table in repository.system_tables():
                result = s.execute(repository.delete_rows(table, tenant_id))
                n = int(getattr(result, "rowcount", 0) or 0)
                if n:
                    out[table.name] = n
            repository.scrub_tenant(s, tenant)
            audit.record(
                s,
                actor,
                "lifecycle.dispose_data",
                "tenant",
                tenant.code,
                detail={"deleted": _flat(out)},
                tenant_id=tenant_id,
            )
        return out

    # -- 6. keys -------------------------------------------------------------------------

    def _keys(self, tenant_id: uuid.UUID) -> int:
        destroyed = self.keyring.destroy_tenant(tenant_id)
        with self.keyring.db.session(write=True) as s:
            for table in repository.keyring_tables():
                s.execute(repository.delete_rows(table, tenant_id))
        if self.keyring.db.dialect == "sqlite":
            with self.keyring.db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return destroyed

    # -- 7. the record --------------------------------------------------------------------

    def _finish(
        self,
        tenant_id: uuid.UUID,
        facts: dict[str, Any],
        result: verification.Result,
        actor: Principal,
    ) -> dict[str, Any]:
        finished = utcnow()
        with self.db.session(write=True, system=True) as s:
            record = repository.disposal(s, tenant_id)
            tenant = self.tenants.get_by_id(s, tenant_id)
            assert record is not None
            report = dict(facts)
            report["verification"] = result.as_json()
            report["hokan_version"] = __version__
            record.report = report
            record.verified = result.ok
            record.finished_at = finished
            if result.ok:
                tenant.status = TenantStatus.disposed
                tenant.disposed_at = finished
                tenant.updated_at = finished
            s.flush()
            audit.record(
                s,
                actor,
                "lifecycle.dispose_verify",
                "tenant",
                record.tenant_code,
                result=audit.SUCCESS if result.ok else audit.ERROR,
                detail={"certificate": record.certificate_number, "problems": result.problems},
                tenant_id=tenant_id,
            )
            out = {
                "tenant": record.tenant_code,
                "certificate_number": record.certificate_number,
                "verified": result.ok,
                "finished_at": iso(finished),
                "report": report,
            }
        if not result.ok:
            raise DisposalIncomplete("found", what=", ".join(result.problems)[:300])
        return out
