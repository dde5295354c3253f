"""Verifiable export bundles of one tenant's operation log (AUD-3).

A bundle is one JSON document: the tenant's whole chain (entries in their
canonical form, with their hashes), the signed checkpoints of that chain, and
the PEM public key. Export signs a checkpoint over the last exported entry
(ADR 0011), so a bundle whose tail was cut is caught even if no checkpoint was
signed before; verification fails when the tail is covered by no signature.
``hokan audit verify --bundle FILE`` checks it offline, with no database and
nothing of any other tenant. Auditors should check it against
the public key they obtained from the operator (``--public-key``), not only the
copy inside the bundle.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import Connection

from hokan.audit import checkpoints, repository
from hokan.audit.archive import chain_entries, exported_entry
from hokan.audit.canonical import canonical_value
from hokan.audit.service import Problem, VerifyReport, chain_of, verify_chain
from hokan.keyring.service import Keyring
from hokan.kit.clock import iso, utcnow
from hokan.kit.db import Database

FORMAT = "hokan-audit-bundle-v1"
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def export(
    db: Database, keyring: Keyring, tenant_id: uuid.UUID, archive_dir: Path | None = None
) -> bytes:
    with db.reader(tenant=tenant_id) as conn:
        return export_from(conn, keyring, tenant_id, archive_dir)


def export_from(
    conn: Connection, keyring: Keyring, tenant_id: uuid.UUID, archive_dir: Path | None = None
) -> bytes:
    """The bundle, read through ``conn`` (a unit of work's connection), with a checkpoint
    signed now over the last exported entry (ADR 0011).

    The export checkpoint is signed only when the exported chain verifies (links,
    hashes, MACs, checkpoints); otherwise the bundle carries no signature over its
    tail and its own verification says so. It goes into the bundle only: the read
    stays free of any write transaction.
    """
    chain = chain_of(tenant_id)
    key = keyring.audit_signing_key()
    entries = [exported_entry(row) for row in chain_entries(conn, chain, archive_dir)]
    cps: list[Any] = list(repository.checkpoints(conn, chain))
    check = VerifyReport()
    verify_chain(
        check, chain, entries, cps, key.public_key(), None, mac_key=keyring.audit_mac_key()
    )
    if check.ok and entries and max((cp.seq for cp in cps), default=0) < entries[-1]["seq"]:
        row = checkpoints.sign(key, chain, entries[-1]["seq"], entries[-1]["entry_hash"])
        cps.append(SimpleNamespace(**row))
    for entry in entries:  # the MAC needs the secret key: an offline verifier cannot use it
        entry.pop("entry_mac", None)
    bundle = {
        "format": FORMAT,
        "chain": chain,
        "tenant_id": str(tenant_id),
        "exported_at": iso(utcnow()),
        "public_key_pem": checkpoints.public_key_pem(keyring),
        "entries": entries,
        "checkpoints": [
            {
                "seq": cp.seq,
                "head_hash": cp.head_hash,
                "created_at": canonical_value(cp.created_at),
                "key_id": cp.key_id,
                "signature": cp.signature,
            }
            for cp in cps
        ],
    }
    return orjson.dumps(bundle, option=orjson.OPT_INDENT_2)


def verify(data: bytes, public_key_pem: str | None = None) -> VerifyReport:
    """Check a bundle: the chain, every checkpoint signature, the tail against checkpoints."""
    report = VerifyReport()
    started = time.perf_counter()
    try:
        bundle = orjson.loads(data)
        if bundle.get("format") != FORMAT:
            raise ValueError("not a Hokan audit bundle")
        key = load_pem_public_key((public_key_pem or bundle["public_key_pem"]).encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the public key is not an Ed25519 key")
        chain = str(bundle["chain"])
        if bundle["tenant_id"] != chain:
            raise ValueError("the bundle's tenant and chain differ")
        cps = [
            SimpleNamespace(
                chain=chain,
                seq=int(cp["seq"]),
                head_hash=str(cp["head_hash"]),
                created_at=datetime.strptime(cp["created_at"], _TIME).replace(tzinfo=UTC),
                signature=str(cp["signature"]),
                key_id=str(cp["key_id"]),
            )
            for cp in bundle["checkpoints"]
        ]
        entries: list[dict[str, Any]] = bundle["entries"]
        if any(e.get("chain") != chain for e in entries):
            raise ValueError("entries of another chain")
        if not entries:
            raise ValueError("the bundle holds no entries")
        verify_chain(report, chain, entries, cps, key, None, require_signed_tail=True)
    except (ValueError, KeyError, TypeError) as exc:
        report.problems.append(
            Problem("bundle", 0, "", f"unreadable bundle: {exc}", f"読めないバンドルです: {exc}")
        )
    report.seconds = time.perf_counter() - started
    return report
