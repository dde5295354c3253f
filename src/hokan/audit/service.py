"""Record audit entries (one function for every service) and verify the chains.

:func:`record` appends to the actor's tenant chain (or the ``system`` chain) in
the caller's transaction, so the entry commits or rolls back with the change it
records; if the append fails, the action fails (fail closed).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from hokan.audit import archive, checkpoints, repository
from hokan.audit.canonical import GENESIS, canonical_bytes, check_detail, entry_hash, hash_of
from hokan.audit.context import cert_fingerprint_var, source_ip_var
from hokan.audit.errors import AuditWriteFailed
from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.kit.errors import HokanError
from hokan.kit.logging import request_id_var
from hokan.principals.principal import Principal

SYSTEM_CHAIN = "system"
SUCCESS, DENIED, ERROR = "success", "denied", "error"


def chain_of(tenant_id: uuid.UUID | None) -> str:
    return str(tenant_id) if tenant_id else SYSTEM_CHAIN


def record(
    session: Session,
    principal: Principal,
    action: str,
    target_type: str,
    target_id: str = "",
    *,
    result: str = SUCCESS,
    detail: Mapping[str, Any] | None = None,
    tenant_id: uuid.UUID | None = None,
) -> None:
    """Append one entry (``action`` is ``domain.verb``) in the session's transaction.

    ``tenant_id`` defaults to the principal's tenant; operator and system
    events without a tenant go to the system chain. Never pass secrets,
    payloads or My Numbers in ``detail``.
    """
    tenant = tenant_id if tenant_id is not None else principal.tenant_id
    chain = chain_of(tenant)
    now = utcnow()
    try:
        conn = session.connection()
        seq, prev = repository.lock_head(conn, chain, tenant, now)
        entry: dict[str, Any] = {
            "id": uuid.uuid4(),
            "chain": chain,
            "seq": seq + 1,
            "occurred_at": now,
            "tenant_id": tenant,
            "actor_type": principal.kind.value,
            "actor_id": principal.id[:64],
            "actor_name": principal.display_name[:200],
            "role": ",".join(sorted(principal.roles)) or principal.kind.value,
            "action": action,
            "target_type": target_type,
            "target_id": target_id[:300],
            "source_ip": source_ip_var.get(),
            "cert_fingerprint": cert_fingerprint_var.get(),
            "request_id": request_id_var.get(),
            "result": result,
            "detail": check_detail(
                {**(detail or {}), "grant": principal.grant_id}
                if principal.grant_id
                else (detail or {})
            ),
            "prev_hash": prev,
        }
        entry["entry_hash"] = entry_hash(entry)
        repository.append(conn, entry, now)
    except HokanError:
        raise
    except TypeError:
        raise
    except Exception as exc:
        raise AuditWriteFailed from exc


def outcome_of(exc: HokanError) -> str:
    return DENIED if exc.status in (401, 403) else ERROR


def record_failure(
    db: Database,
    principal: Principal,
    action: str,
    target_type: str,
    target_id: str,
    exc: HokanError,
    *,
    tenant_id: uuid.UUID | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Audit an action that failed, in a transaction of its own (the action's rolled back)."""
    tenant = tenant_id if tenant_id is not None else principal.tenant_id
    with db.session(write=True, tenant=tenant, system=tenant is None) as s:
        record(
            s,
            principal,
            action,
            target_type,
            target_id,
            result=outcome_of(exc),
            detail={"error": exc.code, **(detail or {})},
            tenant_id=tenant,
        )


@dataclass
class Problem:
    chain: str
    seq: int
    entry_id: str
    reason: str


@dataclass
class VerifyReport:
    chains: int = 0
    entries: int = 0
    bytes: int = 0
    checkpoints: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def entries_per_second(self) -> float:
        return self.entries / self.seconds if self.seconds else 0.0


def verify(
    db: Database,
    chain: str | None = None,
    public_key: Ed25519PublicKey | None = None,
    archive_dir: Path | None = None,
) -> VerifyReport:
    """Recompute every chain; report the first bad entry of each broken chain.

    With ``public_key``, signed checkpoints are checked too: a bad signature, a
    checkpointed entry whose hash changed, or a chain shorter than a checkpoint
    (its tail removed and the head row rewritten) is reported.
    """
    report = VerifyReport()
    started = time.perf_counter()
    with db.reader(system=True) as conn:
        for head in repository.chains(conn, chain):
            cps = repository.checkpoints(conn, head.chain) if public_key is not None else []
            rows = archive.chain_entries(conn, head.chain, archive_dir)
            try:
                verify_chain(report, head.chain, rows, cps, public_key, (head.seq, head.head_hash))
            except archive.SegmentMissing as exc:
                report.problems.append(Problem(head.chain, exc.seq, "", exc.reason))
    report.seconds = time.perf_counter() - started
    return report


def verify_chain(
    report: VerifyReport,
    chain: str,
    entries: Iterable[Mapping[Any, Any]],
    cps: Iterable[Any],
    public_key: Ed25519PublicKey | None,
    head: tuple[int, str] | None,
) -> None:
    """Check one chain's entries (in stored order) against each other, the signed
    checkpoints and, when known, the stored head; add its first problem to ``report``."""
    report.chains += 1
    signed: dict[int, str] = {}
    problem: Problem | None = None
    for cp in cps:
        report.checkpoints += 1
        if problem is None and (public_key is None or not checkpoints.signature_ok(public_key, cp)):
            problem = Problem(chain, cp.seq, "", "checkpoint signature is invalid")
        signed[cp.seq] = cp.head_hash
    expected_seq, prev = 1, GENESIS
    for entry in entries:
        canonical = canonical_bytes(entry)
        report.entries += 1
        report.bytes += len(canonical)
        if problem is None:
            problem = _check(chain, entry, canonical, expected_seq, prev, signed)
        expected_seq, prev = entry["seq"] + 1, entry["entry_hash"]
    last = expected_seq - 1
    if problem is None and signed and max(signed) > last:
        problem = Problem(
            chain,
            last + 1,
            "",
            f"signed checkpoint covers entry {max(signed)} "
            f"but the chain ends at {last} (entries removed from the end)",
        )
    if problem is None and head is not None and (last != head[0] or prev != head[1]):
        problem = Problem(
            chain,
            last + 1,
            "",
            f"chain ends at {last} but its head says {head[0]} (entries removed from the end)",
        )
    if problem is not None:
        report.problems.append(problem)


def _check(
    chain: str,
    entry: Mapping[Any, Any],
    canonical: bytes,
    expected_seq: int,
    prev: str,
    signed: dict[int, str],
) -> Problem | None:
    ident = str(entry["id"])
    seq = entry["seq"]
    if seq != expected_seq:
        return Problem(
            chain, expected_seq, ident, f"entry {expected_seq} is missing (found {seq} next)"
        )
    if entry["prev_hash"] != prev:
        return Problem(
            chain,
            seq,
            ident,
            "does not link to the previous entry (deleted, inserted or reordered)",
        )
    if hash_of(prev, canonical) != entry["entry_hash"]:
        return Problem(chain, seq, ident, "content does not match its hash (edited)")
    if seq in signed and signed[seq] != entry["entry_hash"]:
        return Problem(chain, seq, ident, "differs from its signed checkpoint (rewritten)")
    return None
