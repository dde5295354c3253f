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

from hokan.audit import anchors, archive, checkpoints, mac, repository
from hokan.audit.canonical import GENESIS, canonical_bytes, check_detail, entry_hash, hash_of
from hokan.audit.context import cert_fingerprint_var, source_ip_var
from hokan.audit.errors import AuditWriteFailed
from hokan.blobs import BlobStore
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
            "detail": check_detail(_with_principal(detail, principal)),
            "prev_hash": prev,
        }
        entry["entry_hash"] = digest = entry_hash(entry)
        entry["entry_mac"] = mac.tag(mac.key_for(conn.engine), digest)
        repository.append(conn, entry, now)
    except HokanError:
        raise
    except TypeError:
        raise
    except Exception as exc:
        raise AuditWriteFailed from exc


def _with_principal(detail: Mapping[str, Any] | None, principal: Principal) -> dict[str, Any]:
    """The detail plus what tells the daily audit how the principal acted: the consent
    grant an operator acts under, the user a personal token acts for (ids only)."""
    out = dict(detail or {})
    if principal.grant_id:
        out["grant"] = principal.grant_id
    if principal.for_user:
        out["for_user"] = principal.for_user
    return out


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
    reason: str  # English
    reason_ja: str = ""

    def text(self, lang: str = "ja") -> str:
        return self.reason_ja if lang == "ja" and self.reason_ja else self.reason


@dataclass
class VerifyReport:
    chains: int = 0
    entries: int = 0
    bytes: int = 0
    checkpoints: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # facts that are not failures

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def entries_per_second(self) -> float:
        return self.entries / self.seconds if self.seconds else 0.0


def _p(chain: str, seq: int, ident: str, ja: str, en: str) -> Problem:
    return Problem(chain, seq, ident, en, ja)


def verify(
    db: Database,
    chain: str | None = None,
    public_key: Ed25519PublicKey | None = None,
    archive_dir: Path | None = None,
    *,
    mac_key: bytes | None = None,
    blobs: BlobStore | None = None,
) -> VerifyReport:
    """Recompute every chain; report the first bad entry of each broken chain.

    Chains are enumerated from every place that names one — head rows, entries,
    checkpoints, archive segments, tenants and the checkpoint copies in the blob
    store — and a chain missing from a place that should have it is a problem.
    With ``public_key``, signed checkpoints are checked; with ``mac_key``, each
    entry's MAC; with ``blobs``, the checkpoint copies kept outside the database.
    """
    report = VerifyReport()
    started = time.perf_counter()
    outside: dict[str, Any] = {}
    if blobs is not None:
        try:
            outside = anchors.read_all(blobs)
        except anchors.AnchorsUnreadable as exc:
            report.problems.append(
                _p(
                    SYSTEM_CHAIN,
                    0,
                    "",
                    f"ブロブストアのチェックポイント写しが読めません: {exc}",
                    f"the checkpoint copy in the blob store is unreadable: {exc}",
                )
            )
    with db.reader(system=True) as conn:
        found = repository.chain_sources(conn)
        for name, anchor in outside.items():
            found.setdefault(name, repository.ChainSources()).anchor = anchor
        names = sorted(found) if chain is None else [chain]
        heads = {h.chain: h for h in repository.chains(conn, chain)}
        for name in names:
            src = found.get(name, repository.ChainSources())
            if _missing(report, name, src, chain is not None):
                continue
            head = heads.get(name)
            cps = repository.checkpoints(conn, name) if public_key is not None else []
            rows = archive.chain_entries(conn, name, archive_dir)
            try:
                verify_chain(
                    report,
                    name,
                    rows,
                    cps,
                    public_key,
                    (head.seq, head.head_hash) if head is not None else (0, GENESIS),
                    mac_key=mac_key,
                    anchor=src.anchor,
                )
            except archive.SegmentMissing as exc:
                report.problems.append(Problem(name, exc.seq, "", exc.reason))
    report.seconds = time.perf_counter() - started
    return report


def _missing(report: VerifyReport, name: str, src: repository.ChainSources, asked: bool) -> bool:
    """Report a chain that some place names but that has no entries or no head row."""
    who = f"テナント {src.tenant_code}" if src.tenant_code else f"チェーン {name}"
    who_en = f"tenant {src.tenant_code}" if src.tenant_code else f"chain {name}"
    if not (src.entries or src.head):
        if src.tenant_code or src.checkpoints or src.anchor is not None or asked:
            report.chains += 1
            report.problems.append(
                _p(
                    name,
                    0,
                    "",
                    f"{who} の監査チェーンがありません（エントリもヘッドもありません）",
                    f"{who_en}: its audit chain is gone (no entries and no head row)",
                )
            )
            return True
        return True  # an empty head made by a rolled-back first append: nothing to check
    if not src.head:
        report.chains += 1
        report.problems.append(
            _p(
                name,
                0,
                "",
                f"{who} のエントリはありますがチェーンのヘッド行がありません（削除）",
                f"{who_en}: entries exist but the chain's head row is missing (deleted)",
            )
        )
        return True
    if name != SYSTEM_CHAIN and not src.tenant_code:
        report.problems.append(
            _p(
                name,
                0,
                "",
                f"チェーン {name} に対応するテナントがありません",
                f"chain {name} belongs to no tenant",
            )
        )
    return False


def verify_chain(
    report: VerifyReport,
    chain: str,
    entries: Iterable[Mapping[Any, Any]],
    cps: Iterable[Any],
    public_key: Ed25519PublicKey | None,
    head: tuple[int, str] | None,
    *,
    mac_key: bytes | None = None,
    anchor: Any = None,
    require_signed_tail: bool = False,
) -> None:
    """Check one chain's entries (in stored order) against each other, the signed
    checkpoints (and the copy kept outside the database), their MACs and, when known,
    the stored head; add its first problem to ``report``.

    An entry without a MAC is accepted only before the chain's first authenticated
    entry and only when a signed checkpoint covers it (entries written before ADR
    0011, adopted with ``hokan audit checkpoint --adopt-unauthenticated``).
    """
    report.chains += 1
    signed: dict[int, str] = {}
    problem: Problem | None = None
    db_signatures = set()
    for cp in cps:
        report.checkpoints += 1
        db_signatures.add(cp.signature)
        if problem is None and (public_key is None or not checkpoints.signature_ok(public_key, cp)):
            problem = _p(
                chain,
                cp.seq,
                "",
                "チェックポイントの署名が不正です",
                "checkpoint signature is invalid",
            )
        signed[cp.seq] = cp.head_hash
    if anchor is not None and public_key is not None:
        if not checkpoints.signature_ok(public_key, anchor):
            problem = problem or _p(
                chain,
                anchor.seq,
                "",
                "ブロブストアのチェックポイント写しの署名が不正です",
                "the checkpoint copy in the blob store has an invalid signature",
            )
        else:
            signed[anchor.seq] = anchor.head_hash
            if anchor.signature not in db_signatures:
                problem = problem or _p(
                    chain,
                    anchor.seq,
                    "",
                    f"エントリ {anchor.seq} の署名済みチェックポイントがデータベースから"
                    "消えています（ブロブストアに写しがあります）",
                    f"the signed checkpoint at entry {anchor.seq} kept in the blob store "
                    "is missing from the database (checkpoints deleted)",
                )
    covered = max(signed, default=0)
    expected_seq, prev = 1, GENESIS
    first_unsigned = 0
    seen_mac = False
    for entry in entries:
        canonical = canonical_bytes(entry)
        report.entries += 1
        report.bytes += len(canonical)
        if problem is None:
            problem = _check(chain, entry, canonical, expected_seq, prev, signed)
            if problem is None and mac_key is not None:
                problem = _check_mac(chain, entry, mac_key, covered, seen_mac)
                seen_mac = seen_mac or entry.get("entry_mac") is not None
        expected_seq, prev = entry["seq"] + 1, entry["entry_hash"]
        if not first_unsigned and entry["seq"] > covered:
            first_unsigned = entry["seq"]
    last = expected_seq - 1
    if problem is None and signed and covered > last:
        problem = _p(
            chain,
            last + 1,
            "",
            f"署名済みチェックポイントはエントリ {covered} までを含みますが、チェーンは {last} で"
            "終わっています（末尾が削除されました）",
            f"signed checkpoint covers entry {covered} "
            f"but the chain ends at {last} (entries removed from the end)",
        )
    if problem is None and head is not None and (last != head[0] or prev != head[1]):
        problem = _p(
            chain,
            last + 1,
            "",
            f"チェーンは {last} で終わっていますがヘッドは {head[0]} です（末尾が削除されました）",
            f"chain ends at {last} but its head says {head[0]} (entries removed from the end)",
        )
    if problem is None and first_unsigned:
        ja = (
            f"エントリ {first_unsigned}〜{last} はどの署名済みチェックポイントにも含まれていません"
            "（末尾の切り詰めを否定できません）"
        )
        en = (
            f"entries {first_unsigned}-{last} are not covered by any signed checkpoint "
            "(a truncated tail cannot be ruled out)"
        )
        if require_signed_tail:
            problem = _p(chain, first_unsigned, "", ja, en)
        else:
            report.notes.append(_p(chain, first_unsigned, "", ja, en))
    if problem is not None:
        report.problems.append(problem)


def _check_mac(
    chain: str, entry: Mapping[Any, Any], key: bytes, covered: int, seen_mac: bool
) -> Problem | None:
    ident, seq, tag = str(entry["id"]), entry["seq"], entry.get("entry_mac")
    if tag is not None:
        if mac.valid(key, entry["entry_hash"], tag):
            return None
        return _p(
            chain,
            seq,
            ident,
            "監査鍵による認証タグが一致しません（偽造または書き換え）",
            "not authenticated by the audit key (forged or rewritten)",
        )
    if seen_mac:
        return _p(
            chain,
            seq,
            ident,
            "認証タグがありません（認証済みエントリの後に挿入された偽造エントリ）",
            "carries no MAC after authenticated entries (forged)",
        )
    if seq > covered:
        return _p(
            chain,
            seq,
            ident,
            "認証タグがなく、署名済みチェックポイントにも含まれていません（確認のうえ "
            "hokan audit checkpoint --adopt-unauthenticated）",
            "not authenticated: no MAC and no signed checkpoint covers it (after checking, "
            "run hokan audit checkpoint --adopt-unauthenticated)",
        )
    return None


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
        return _p(
            chain,
            expected_seq,
            ident,
            f"エントリ {expected_seq} がありません（次は {seq}）",
            f"entry {expected_seq} is missing (found {seq} next)",
        )
    if entry["prev_hash"] != prev:
        return _p(
            chain,
            seq,
            ident,
            "前のエントリにつながりません（削除・挿入・並べ替え）",
            "does not link to the previous entry (deleted, inserted or reordered)",
        )
    if hash_of(prev, canonical) != entry["entry_hash"]:
        return _p(
            chain,
            seq,
            ident,
            "内容がハッシュと一致しません（改ざん）",
            "content does not match its hash (edited)",
        )
    if seq in signed and signed[seq] != entry["entry_hash"]:
        return _p(
            chain,
            seq,
            ident,
            "署名済みチェックポイントと一致しません（書き換え）",
            "differs from its signed checkpoint (rewritten)",
        )
    return None
