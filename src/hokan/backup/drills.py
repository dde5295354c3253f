"""Restore drills (BAK-3: "integrity proven by random restores").

Weekly, and whenever an operator asks (``POST /api/v1/operator/backups/drills``), a
random system generation is restored into a scratch folder with the ordinary restore
(:meth:`Backups.restore`: the running service is not touched) and a random tenant of it
is checked:

* every table's row count equals the manifest's, and so do the tenant's own rows;
* the audit chains verify (hashes, MACs, signed checkpoints) and their heads equal the
  manifest's chain heads;
* a sample of the tenant's records decrypts under the *restored* keyring;
* a sample of the tenant's vault entries is rebuilt from the fragment stores of the
  vault generation taken the same night, and decrypts.

The measured duration — restore plus checks — is the drill's RTO, recorded in
``backup_drills`` with the checks' results. The scratch folder is removed afterwards. A
failed drill fails its job (an incident and a notice follow, ADR 0022).

PostgreSQL generations hold ``pg_dump`` files: they are restored into scratch databases
made on ``HOKAN_BACKUP_DRILL_DATABASE_URL`` (default: the backup role's server) and
dropped after; without one the drill is recorded as *skipped* with that reason.
"""

from __future__ import annotations

import random
import secrets
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url

from hokan.audit import service as audit
from hokan.backup import errors, retention
from hokan.backup.container import FileEntry
from hokan.keyring.service import RECORDS, Keyring, Sealed
from hokan.kit.clock import iso
from hokan.kit.db import Database, make_engine
from hokan.kit.errors import HokanError
from hokan.models import AuditChain, BackupDrill, Tenant
from hokan.records.repository import RecordRepository
from hokan.records.service import record_context
from hokan.scanning.scanner import Scanner
from hokan.vault.repository import VaultRepository
from hokan.vault.service import VaultService
from hokan.vault.stores import FragmentStores

if TYPE_CHECKING:
    from hokan.backup.service import Backups, Facts

SAMPLE = 5
REQUESTED, RUNNING, PASSED, FAILED, SKIPPED = "requested", "running", "passed", "failed", "skipped"


def _system_file(manifest: dict[str, Any]) -> FileEntry | None:
    for f in manifest.get("files", []):
        if f.get("name") == "system.db.hbk":
            return FileEntry.from_json(f)
    return None


def _candidates(backups: Backups) -> list[retention.Generation]:
    return [g for g in backups.generations() if g.klass not in (retention.VAULT, "unknown")]


def _companion(backups: Backups, g: retention.Generation) -> retention.Generation | None:
    """The vault generation of the same night: the first taken after ``g``, within 6 h."""
    later = [
        v
        for v in backups.generations(klass=retention.VAULT)
        if g.created_at <= v.created_at <= g.created_at + timedelta(hours=6)
    ]
    return min(later, key=lambda v: v.created_at) if later else None


def run(
    backups: Backups,
    *,
    requested_by: str = "system",
    trigger: str = "schedule",
    drill_id: Any = None,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """One drill, recorded (an existing requested row is taken over); raises
    :class:`~hokan.backup.errors.DrillFailed` after recording a failed one."""
    assert backups.db is not None
    pick = rng or random.SystemRandom()
    now = backups.clock()
    with backups.db.session(write=True, system=True) as s:
        if drill_id is not None:
            # Claimed in one statement: two workers never run the same requested drill.
            claimed = s.execute(
                update(BackupDrill)
                .where(BackupDrill.id == drill_id, BackupDrill.status == REQUESTED)
                .values(status=RUNNING, started_at=now)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                return {"id": str(drill_id), "status": "taken"}
        else:
            row = BackupDrill(
                requested_at=now,
                requested_by=requested_by[:100],
                trigger=trigger,
                status=RUNNING,
                started_at=now,
                result={},
            )
            s.add(row)
            s.flush()
            drill_id = row.id
    candidates = _candidates(backups)
    result: dict[str, Any] = {}
    status, generation, tenant_code, seconds = SKIPPED, None, None, None
    error: HokanError | None = None
    try:
        if not candidates:
            result["skipped"] = "no system generation to restore"
        else:
            g = pick.choice(candidates)
            generation = g.name
            manifest, _ = backups.manifest(backups.target(g.target), g.name)
            system = _system_file(manifest)
            conf = backups.settings
            if (
                system is not None
                and system.meta.get("format") == "pg_dump_custom"
                and not (conf.backup_drill_database_url or conf.backup_database_url)
            ):
                result["skipped"] = "PostgreSQL drills need HOKAN_BACKUP_DRILL_DATABASE_URL"
            else:
                started = time.monotonic()
                result, tenant_code = _drill(backups, g, manifest, pick)
                seconds = round(time.monotonic() - started, 3)
                failed = [k for k, v in result["checks"].items() if not v["ok"]]
                status = FAILED if failed else PASSED
                if failed:
                    error = errors.DrillFailed("check", generation=g.name, check=", ".join(failed))
    except HokanError as exc:
        status, error = FAILED, exc
        result["error"] = exc.code
    except Exception as exc:  # a drill that crashes is a failed drill, never a running one
        status = FAILED
        error = errors.DrillFailed("check", generation=generation or "-", check=type(exc).__name__)
        result["error"] = error.code
        result["crashed"] = type(exc).__name__
    with backups.db.session(write=True, system=True) as s:
        done = s.get(BackupDrill, drill_id)
        assert done is not None
        row = done
        row.status, row.finished_at, row.seconds = status, backups.clock(), seconds
        row.generation, row.tenant_code, row.result = generation, tenant_code, result
        row.target = next((c.target for c in candidates if c.name == generation), None)
        row.error_code = error.code if error else None
        audit.record(
            s,
            backups.actor,
            "backup.drill",
            "backup",
            generation or "-",
            result=audit.SUCCESS if status != FAILED else audit.ERROR,
            detail={
                "status": status,
                "rto_ms": None if seconds is None else int(seconds * 1000),
                "error": row.error_code,
            },
        )
        shown = drill_json(row)
    if error is not None:
        raise error
    return shown


class _Scratch:
    """Where a drill restores: a scratch folder and, for PostgreSQL generations, empty
    databases created for the drill on the drill server and dropped after it."""

    def __init__(self, backups: Backups, postgresql: bool) -> None:
        s = backups.settings
        base = s.backup_drill_scratch_dir
        if base is not None:
            base.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder = Path(tempfile.mkdtemp(prefix="hokan-drill-", dir=base))
        self.server = (s.backup_drill_database_url or s.backup_database_url) if postgresql else ""
        self.created: list[str] = []
        self.engines: list[Database] = []

    def url(self, part: str) -> str | None:
        if not self.server:
            return None
        base = make_url(self.server)
        name = f"hokan_drill_{secrets.token_hex(4)}_{part}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))  # a name made here, not input
        finally:
            admin.dispose()
        self.created.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    def database(self, url: str) -> Database:
        db = Database(make_engine(url, pool_size=2, create=False))
        self.engines.append(db)
        return db

    def close(self) -> None:
        for db in self.engines:
            db.dispose()
        if self.created:
            admin = create_engine(make_url(self.server), isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    for name in self.created:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            finally:
                admin.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


def _drill(
    backups: Backups, g: retention.Generation, manifest: dict[str, Any], pick: random.Random
) -> tuple[dict[str, Any], str | None]:
    from hokan.backup import restoring
    from hokan.backup.service import pg_facts, sqlite_facts

    system_file = _system_file(manifest)
    postgresql = system_file is not None and system_file.meta.get("format") == "pg_dump_custom"
    scratch = _Scratch(backups, postgresql)
    try:
        if postgresql:
            system_url, keyring_url = scratch.url("system"), scratch.url("keyring")
            assert system_url is not None
            assert keyring_url is not None
            restored = backups.restore(
                g.name,
                scratch.folder / "system",
                to_database_url=system_url,
                to_keyring_url=keyring_url,
            )
            facts = pg_facts(system_url)
        else:
            restored = backups.restore(g.name, scratch.folder / "system")
            system_url = f"sqlite:///{scratch.folder / 'system' / 'hokan.db'}"
            keyring_url = f"sqlite:///{scratch.folder / 'system' / 'keyring.db'}"
            facts = sqlite_facts(scratch.folder / "system" / "hokan.db")
        db = scratch.database(system_url)
        keyring = Keyring(scratch.database(keyring_url), backups.master, 0)
        checks: dict[str, Any] = {"rows": _rows(facts, manifest)}
        checks["audit"] = _audit(db, keyring, manifest)
        with db.session(system=True) as s:
            found = s.execute(select(Tenant.id, Tenant.code))
            tenants = sorted(((t.id, t.code) for t in found), key=lambda t: t[1])
        tenant = pick.choice(tenants) if tenants else None
        if tenant is not None:
            checks["tenant_rows"] = _tenant_rows(facts, manifest, tenant[0])
            checks["records"] = _records(db, keyring, tenant[0], pick)
            companion = _companion(backups, g)
            if companion is None:
                checks["vault"] = {"ok": True, "skipped": "no vault generation of that night"}
            else:
                opened = restoring.open_generation(backups, companion.name)
                stores = [f for f in opened.files if f.name.startswith("vault-store-")]
                folder = scratch.folder / "vault"
                urls = [
                    scratch.url(f"vault{i}") or f"sqlite:///{folder / f'store-{i}.db'}"
                    for i in range(1, len(stores) + 1)
                ]
                folder.mkdir(mode=0o700)
                dest = restoring.Destination(system_url, keyring_url, urls, None)
                restoring.restore(
                    backups, companion.name, dest, keyring=keyring, scratch=scratch.folder
                )
                checks["vault"] = _vault(backups, db, keyring, urls, tenant[0], pick)
                checks["vault"]["generation"] = companion.name
        return {"restore_seconds": restored["seconds"], "checks": checks}, (
            tenant[1] if tenant else None
        )
    finally:
        scratch.close()


def _rows(facts: Facts, manifest: dict[str, Any]) -> dict[str, Any]:
    expected: dict[str, int] = manifest.get("row_counts", {}).get("system.db.hbk", {})
    found = facts.row_counts
    differ = sorted(t for t in set(expected) | set(found) if expected.get(t) != found.get(t))
    return {"ok": not differ, "tables": len(found), "rows": sum(found.values()), "differ": differ}


def _tenant_rows(facts: Facts, manifest: dict[str, Any], tenant_id: Any) -> dict[str, Any]:
    """The tenant's rows per table against the manifest's per-tenant counts."""
    from hokan.backup.service import _tenant_label

    by_table = manifest.get("row_counts_by_tenant", {}).get("system.db.hbk")
    if not by_table:
        return {"ok": True, "skipped": "the manifest has no per-tenant counts"}
    label = _tenant_label(tenant_id)
    found = facts.tenant_counts or {}
    tables = set(by_table) | set(found)
    expected = {t: by_table.get(t, {}).get(label, 0) for t in tables}
    have = {t: found.get(t, {}).get(label, 0) for t in tables}
    differ = sorted(t for t in tables if expected[t] != have[t])
    return {"ok": not differ, "rows": sum(have.values()), "differ": differ}


def _audit(db: Database, keyring: Keyring, manifest: dict[str, Any]) -> dict[str, Any]:
    report = audit.verify(
        db,
        None,
        keyring.audit_signing_key().public_key(),
        mac_key=keyring.audit_mac_key(),
    )
    heads: dict[str, Any] = manifest.get("audit_chain_heads", {})
    with db.session(system=True) as s:
        found = {
            c.chain: {"seq": c.seq, "head_hash": c.head_hash} for c in s.scalars(select(AuditChain))
        }
    differ = sorted(c for c in set(heads) | set(found) if heads.get(c) != found.get(c))
    return {
        "ok": report.ok and not differ,
        "chains": report.chains,
        "entries": report.entries,
        "problems": len(report.problems),
        "heads_differ": differ,
    }


def _records(db: Database, keyring: Keyring, tenant_id: Any, pick: random.Random) -> dict[str, Any]:
    opened = failed = 0
    with db.session(system=True) as s:
        repo = RecordRepository(s, tenant_id)
        rows = [
            r
            for c in repo.collections()
            for r in repo.page(
                c.id, limit=50, after=None, updated_since=None, include_deleted=False
            )
        ]
        for r in pick.sample(rows, min(SAMPLE, len(rows))):
            if r.ciphertext is None or r.wrapped_dek is None or r.key_version is None:
                continue
            try:
                sealed = Sealed(r.key_version, r.wrapped_dek, r.ciphertext)
                keyring.open(tenant_id, RECORDS, record_context(r.id, r.revision), sealed)
                opened += 1
            except Exception:
                failed += 1
    return {"ok": failed == 0, "sampled": opened + failed, "decrypted": opened}


def _vault(
    backups: Backups,
    db: Database,
    keyring: Keyring,
    urls: list[str],
    tenant_id: Any,
    pick: random.Random,
) -> dict[str, Any]:
    stores = FragmentStores(urls, pool_size=2, busy_timeout_ms=5000)
    try:
        service = VaultService(keyring, stores, backups.settings.vault_k, 1, cast(Scanner, None))
        with db.session(system=True) as s:
            entries = list(s.scalars(VaultRepository(s, tenant_id).entries()))
            sample = pick.sample(entries, min(SAMPLE, len(entries)))
            shredded: set[Any] = set()
            try:
                plain = service._open(sample, shredded)
            except HokanError as exc:
                return {"ok": False, "sampled": len(sample), "error": exc.code}
        missing = [str(e.id) for e in sample if e.id not in plain and e.id not in shredded]
        return {
            "ok": not missing,
            "sampled": len(sample),
            "decrypted": len(plain),
            "shredded": len(shredded),
            "missing": len(missing),
        }
    finally:
        stores.dispose()


def drill_json(row: BackupDrill) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "status": row.status,
        "trigger": row.trigger,
        "requested_at": iso(row.requested_at),
        "requested_by": row.requested_by,
        "generation": row.generation,
        "target": row.target,
        "tenant": row.tenant_code,
        "started_at": iso(row.started_at) if row.started_at else None,
        "finished_at": iso(row.finished_at) if row.finished_at else None,
        "rto_seconds": row.seconds,
        "result": row.result,
        "error": row.error_code,
    }


def reap(backups: Backups, now: datetime, after: timedelta = timedelta(hours=6)) -> int:
    """Drills left ``running`` by a worker that died: recorded as failed (interrupted)."""
    assert backups.db is not None
    with backups.db.session(write=True, system=True) as s:
        stale = s.scalars(
            select(BackupDrill).where(
                BackupDrill.status == RUNNING, BackupDrill.started_at < now - after
            )
        ).all()
        for row in stale:
            row.status, row.finished_at = FAILED, now
            row.error_code = "backup_drill_interrupted"
        return len(stale)


def requested(backups: Backups) -> list[Any]:
    assert backups.db is not None
    with backups.db.session(system=True) as s:
        return list(
            s.scalars(
                select(BackupDrill.id)
                .where(BackupDrill.status == REQUESTED)
                .order_by(BackupDrill.requested_at)
            )
        )


def request(backups: Backups, requested_by: str, now: datetime) -> BackupDrill:
    """Queue a drill for the next ``backup.drill_requested`` run."""
    assert backups.db is not None
    with backups.db.session(write=True, system=True) as s:
        row = BackupDrill(
            requested_at=now,
            requested_by=requested_by[:100],
            trigger="request",
            status=REQUESTED,
            result={},
        )
        s.add(row)
        s.flush()
        s.expunge(row)
    return row
