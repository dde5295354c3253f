"""Nightly verification (BAK-3) with rotating full coverage.

Every night each stored generation is checked to exist with the manifest's signature,
files and sizes (cheap). Then a share of the stored bytes is read back in full — every
chunk decrypted and its SHA-256 compared — so that 100 % of the stored bytes are
verified within ``HOKAN_BACKUP_VERIFY_DAYS`` (default 7):

* a generation whose last full read would be older than the window by the next night is
  always read tonight (the guarantee);
* on top of that, at least ``total bytes / days`` are read, oldest coverage first (the
  load is spread over the nights instead of re-reading everything every night).

A generation was read back in full when it was written (ADR 0021), so its first coverage
date is its creation. ``backup_verifications`` keeps, per generation, the last check and
the last full read: the *coverage date* the operator API and ``hokan backup coverage``
report.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from hokan.backup import errors
from hokan.backup.targets import Target
from hokan.kit.clock import iso
from hokan.models import BackupVerification

if TYPE_CHECKING:
    from hokan.backup.service import Backups


def _stored(backups: Backups) -> list[tuple[Target, str, dict[str, Any]]]:
    out = []
    for target in backups.targets():
        for name in target.generations():
            try:
                manifest, _ = backups.manifest(target, name)
            except errors.ManifestInvalid:
                manifest = {}
            out.append((target, name, manifest))
    return out


def _size(manifest: dict[str, Any]) -> int:
    return sum(int(f.get("size", 0)) for f in manifest.get("files", []))


def _created(manifest: dict[str, Any], now: datetime) -> datetime:
    text = manifest.get("created_at")
    return datetime.fromisoformat(text) if isinstance(text, str) else now


def rows(backups: Backups) -> dict[tuple[str, str], BackupVerification]:
    assert backups.db is not None
    with backups.db.session(system=True) as s:
        found = s.scalars(select(BackupVerification)).all()
        s.expunge_all()
    return {(r.target, r.generation): r for r in found}


def verify_nightly(backups: Backups, days: int, now: datetime | None = None) -> dict[str, Any]:
    """Check every generation, read the due share in full, record and report coverage."""
    assert backups.db is not None
    moment = now or backups.clock()
    kek = backups.keyring.backup_kek()
    stored = _stored(backups)
    known = rows(backups)
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for target, name, _manifest in stored:
        results[target.name, name] = backups._verify_one(target, name, kek, full=False)
    window = timedelta(days=days)

    def covered(key: tuple[str, str], manifest: dict[str, Any]) -> datetime:
        row = known.get(key)
        if row is not None:
            return row.verified_at or datetime.min.replace(tzinfo=moment.tzinfo)
        return _created(manifest, moment)

    candidates = sorted(
        ((covered((t.name, n), m), t, n, m) for t, n, m in stored if results[t.name, n]["ok"]),
        key=lambda c: (c[0], c[2]),
    )
    total = sum(_size(m) for _, _, m in stored)
    budget = math.ceil(total / days) if total else 0
    lapse = moment - window + timedelta(days=1)  # would be out of the window by tomorrow
    read = 0
    for when, target, name, manifest in candidates:
        if when > lapse and read >= budget:
            continue
        result = backups._verify_one(target, name, kek, full=True)
        results[target.name, name] = result
        read += _size(manifest)
    _record(backups, stored, results, known, moment)
    report = coverage(backups, days, moment)
    return {
        "generations": len(stored),
        "bytes_stored": total,
        "bytes_verified": sum(r.get("bytes_verified", 0) for r in results.values()),
        "failed": [r for r in results.values() if not r["ok"]],
        "coverage": report,
    }


def _record(
    backups: Backups,
    stored: list[tuple[Target, str, dict[str, Any]]],
    results: dict[tuple[str, str], dict[str, Any]],
    known: dict[tuple[str, str], BackupVerification],
    moment: datetime,
) -> None:
    assert backups.db is not None
    with backups.db.session(write=True, system=True) as s:
        for target, name, manifest in stored:
            result = results[target.name, name]
            row = s.scalars(
                select(BackupVerification).where(
                    BackupVerification.target == target.name,
                    BackupVerification.generation == name,
                )
            ).first()
            if row is None:
                row = BackupVerification(
                    target=target.name,
                    generation=name,
                    klass=str(manifest.get("class", "unknown"))[:16],
                    created_at=_created(manifest, moment),
                    size_bytes=_size(manifest),
                    verified_at=_created(manifest, moment) if manifest else None,
                )
                s.add(row)
            row.checked_at, row.checked_ok = moment, bool(result["ok"])
            if result["ok"]:
                row.error_code = None
                if result.get("full"):
                    row.verified_at = moment
            else:
                row.failed_at, row.error_code = moment, str(result["error"])[:64]
        gone = set(known) - {(t.name, n) for t, n, _ in stored}
        for target_name, name in gone:
            s.execute(
                delete(BackupVerification).where(
                    BackupVerification.target == target_name,
                    BackupVerification.generation == name,
                )
            )


def record(backups: Backups, results: list[dict[str, Any]], now: datetime | None = None) -> None:
    """Record results of ``hokan backup verify`` (a full read counts as coverage)."""
    moment = now or backups.clock()
    keyed = {(r["target"], r["generation"]): r for r in results}
    stored = [(t, n, m) for t, n, m in _stored(backups) if (t.name, n) in keyed]
    _record(backups, stored, keyed, {}, moment)


def coverage_json(row: BackupVerification, days: int) -> dict[str, Any]:
    until = row.verified_at + timedelta(days=days) if row.verified_at else None
    return {
        "checked_at": iso(row.checked_at) if row.checked_at else None,
        "checked_ok": row.checked_ok,
        "verified_at": iso(row.verified_at) if row.verified_at else None,
        "covered_until": iso(until) if until else None,
        "error": row.error_code,
        "failed_at": iso(row.failed_at) if row.failed_at else None,
    }


def coverage(backups: Backups, days: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per generation: when it was last checked and last read in full (its coverage
    date), until when that covers it, and whether it is within the window now."""
    moment = now or backups.clock()
    out = []
    for (target, name), row in sorted(rows(backups).items(), key=lambda kv: kv[0][1], reverse=True):
        shown = {"generation": name, "target": target, "class": row.klass, "bytes": row.size_bytes}
        shown |= coverage_json(row, days)
        shown["within_window"] = bool(
            row.verified_at and row.verified_at + timedelta(days=days) > moment
        )
        out.append(shown)
    return out
