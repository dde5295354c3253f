"""Signed checkpoints of audit chain heads (AUD-2).

A checkpoint states, under Hokan's Ed25519 audit key, that entry ``seq`` of a
chain had hash ``head_hash``. Anyone holding the public key can check it, so
rewriting a chain's tail together with its head row is caught once a
checkpoint covers it.

:func:`make` signs every chain that grew (``hokan serve`` runs it every
``HOKAN_AUDIT_CHECKPOINT_SECONDS`` on a background thread; ``hokan audit
checkpoint`` by hand). It signs only what it has checked: the entries since the
chain's last checkpoint must link, hash and carry a valid MAC (ADR 0011). Each
chain's latest checkpoint is also written to the blob store
(:mod:`hokan.audit.anchors`), outside the system database.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection, Row, insert, select

from hokan.audit import anchors, mac, repository
from hokan.audit.canonical import GENESIS, canonical_bytes, hash_of
from hokan.blobs import BlobStore
from hokan.keyring.service import Keyring
from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.models import AuditCheckpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Made:
    chain: str
    seq: int
    refused: str = ""  # why this head was not signed (empty: signed)
    refused_ja: str = ""


def message(chain: str, seq: int, head_hash: str, created_at: datetime) -> bytes:
    stamp = created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"hokan-audit-checkpoint-v1\n{chain}\n{seq}\n{head_hash}\n{stamp}".encode()


def public_key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(keyring: Keyring) -> str:
    key = keyring.audit_signing_key().public_key()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def signature_ok(public_key: Ed25519PublicKey, cp: Any) -> bool:
    if cp.key_id != public_key_id(public_key):
        return False
    try:
        public_key.verify(
            bytes.fromhex(cp.signature), message(cp.chain, cp.seq, cp.head_hash, cp.created_at)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def sign(key: Ed25519PrivateKey, chain: str, seq: int, head_hash: str) -> dict[str, Any]:
    """A checkpoint row (not yet stored): entry ``seq`` of ``chain`` has ``head_hash``."""
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "chain": chain,
        "seq": seq,
        "head_hash": head_hash,
        "created_at": now,
        "key_id": public_key_id(key.public_key()),
        "signature": key.sign(message(chain, seq, head_hash, now)).hex(),
    }


def latest(conn: Connection, chain: str, public_key: Ed25519PublicKey) -> Row[Any] | None:
    """The chain's highest checkpoint with a valid signature."""
    rows = conn.execute(
        select(*AuditCheckpoint.__table__.c)
        .where(AuditCheckpoint.chain == chain)
        .order_by(AuditCheckpoint.seq.desc())
        .limit(20)
    )
    return next((cp for cp in rows if signature_ok(public_key, cp)), None)


@dataclass(frozen=True)
class Refusal:
    ja: str
    en: str


def check_span(
    entries: Iterable[Mapping[Any, Any]],
    start: tuple[int, str],
    end: tuple[int, str],
    mac_key: bytes,
    *,
    adopt: bool = False,
    authenticated_before: bool = False,
) -> Refusal | None:
    """Check the entries after a signed point ``start`` up to ``end`` (seq, hash) before
    signing ``end``: continuous, linked, hashed and authenticated. Entries without a
    MAC (written before ADR 0011) pass only with ``adopt`` and only before the first
    authenticated one (``authenticated_before``: the entry at ``start`` had a MAC)."""
    seq, prev = start
    seen_mac = authenticated_before
    for entry in entries:
        if entry["seq"] != seq + 1 or entry["prev_hash"] != prev:
            return Refusal(
                f"エントリ {seq + 1} が前のエントリにつながりません",
                f"entry {seq + 1} does not continue the chain",
            )
        digest = hash_of(prev, canonical_bytes(entry))
        if digest != entry["entry_hash"]:
            return Refusal(
                f"エントリ {entry['seq']} の内容がハッシュと一致しません",
                f"entry {entry['seq']} does not match its hash",
            )
        tag = entry.get("entry_mac")
        if tag is None and (seen_mac or not adopt):
            return Refusal(
                f"エントリ {entry['seq']} に認証タグがありません"
                "（確認のうえ hokan audit checkpoint --adopt-unauthenticated）",
                f"entry {entry['seq']} is not authenticated (after checking, run "
                "hokan audit checkpoint --adopt-unauthenticated)",
            )
        if tag is not None:
            if not mac.valid(mac_key, digest, tag):
                return Refusal(
                    f"エントリ {entry['seq']} の認証タグが不正です（偽造）",
                    f"entry {entry['seq']} has an invalid MAC (forged)",
                )
            seen_mac = True
        seq, prev = entry["seq"], digest
    if (seq, prev) != end:
        return Refusal(
            f"チェーンの末尾 {seq} がヘッド {end[0]} と一致しません",
            f"the chain ends at {seq} but its head says {end[0]}",
        )
    return None


def make(
    db: Database,
    keyring: Keyring,
    blobs: BlobStore | None = None,
    *,
    adopt: bool = False,
    chain: str | None = None,
) -> list[Made]:
    """Sign the head of every chain that grew since its last checkpoint, after checking
    the new entries; then copy each chain's latest checkpoint to the blob store."""
    key = keyring.audit_signing_key()
    public_key = key.public_key()
    mac_key = keyring.audit_mac_key()
    outside = anchors.read(blobs, public_key) if blobs is not None else {}
    made: list[Made] = []
    with db.session(write=True, system=True) as s:
        conn = s.connection()
        for head in repository.chains(conn, chain):
            last = latest(conn, head.chain, public_key)
            start = (int(last.seq), str(last.head_hash)) if last is not None else (0, GENESIS)
            anchor = outside.get(head.chain)
            if anchor is not None and anchor.seq > start[0]:
                start = (anchor.seq, anchor.head_hash)
            if head.seq == 0 or start == (head.seq, head.head_hash):
                continue
            if start[0] >= head.seq:
                made.append(
                    Made(
                        head.chain,
                        head.seq,
                        f"the chain ends at {head.seq} but a signed checkpoint covers {start[0]}",
                        f"チェーンは {head.seq} で終わっていますが署名済みチェックポイントは "
                        f"{start[0]} までを含みます",
                    )
                )
                continue
            span = repository.entries(conn, head.chain, after=start[0])
            refusal = check_span(
                span,
                start,
                (head.seq, head.head_hash),
                mac_key,
                adopt=adopt,
                authenticated_before=repository.has_mac(conn, head.chain, start[0]),
            )
            if refusal is not None:
                made.append(Made(head.chain, head.seq, refusal.en, refusal.ja))
                continue
            row = sign(key, head.chain, head.seq, head.head_hash)
            conn.execute(insert(AuditCheckpoint).values(tenant_id=head.tenant_id, **row))
            made.append(Made(head.chain, head.seq))
    if blobs is not None:
        with db.reader(system=True) as conn:
            rows = [latest(conn, h.chain, public_key) for h in repository.chains(conn, chain)]
        anchors.write(blobs, [r for r in rows if r is not None], outside)
    return made


def run_once(db: Database, keyring: Keyring, blobs: BlobStore | None) -> list[Made]:
    """One checkpoint run as the background job does it: refusals are logged, not raised."""
    made = make(db, keyring, blobs)
    for m in made:
        if m.refused:
            log.error("audit checkpoint refused", extra={"chain": m.chain, "reason": m.refused})
    return made
