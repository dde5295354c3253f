"""Signed checkpoints of audit chain heads (AUD-2).

A checkpoint states, under Hokan's Ed25519 audit key, that entry ``seq`` of a
chain had hash ``head_hash``. Anyone holding the public key can check it, so
rewriting a chain's tail together with its head row is caught once a
checkpoint covers it. ``hokan audit checkpoint`` makes them (the scheduler will
run it daily).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Row, func, insert, select

from hokan.keyring.service import Keyring
from hokan.kit.clock import utcnow
from hokan.kit.db import Database
from hokan.models import AuditChain, AuditCheckpoint


@dataclass(frozen=True)
class Made:
    chain: str
    seq: int


def message(chain: str, seq: int, head_hash: str, created_at: datetime) -> bytes:
    stamp = created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"hokan-audit-checkpoint-v1\n{chain}\n{seq}\n{head_hash}\n{stamp}".encode()


def public_key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(keyring: Keyring) -> str:
    key = keyring.audit_signing_key().public_key()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def signature_ok(public_key: Ed25519PublicKey, cp: AuditCheckpoint | Row[Any]) -> bool:
    if cp.key_id != public_key_id(public_key):
        return False
    try:
        public_key.verify(
            bytes.fromhex(cp.signature), message(cp.chain, cp.seq, cp.head_hash, cp.created_at)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def make(db: Database, keyring: Keyring) -> list[Made]:
    """Sign the head of every chain that grew since its last checkpoint."""
    key = keyring.audit_signing_key()
    key_id = public_key_id(key.public_key())
    made: list[Made] = []
    with db.session(write=True, system=True) as s:
        last = dict(
            s.execute(
                select(AuditCheckpoint.chain, func.max(AuditCheckpoint.seq)).group_by(
                    AuditCheckpoint.chain
                )
            ).all()
        )
        for head in s.scalars(select(AuditChain).order_by(AuditChain.chain)):
            if head.seq == 0 or last.get(head.chain, 0) >= head.seq:
                continue
            now = utcnow()
            signature = key.sign(message(head.chain, head.seq, head.head_hash, now)).hex()
            s.execute(
                insert(AuditCheckpoint).values(
                    id=uuid.uuid4(),
                    chain=head.chain,
                    tenant_id=head.tenant_id,
                    seq=head.seq,
                    head_hash=head.head_hash,
                    created_at=now,
                    key_id=key_id,
                    signature=signature,
                )
            )
            made.append(Made(head.chain, head.seq))
    return made
