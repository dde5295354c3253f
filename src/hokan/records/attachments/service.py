"""Attachment rules (REC-4, REC-5, EDGE-6): sniff, scan, seal, store; open, verify, stream.

An upload streams through the size limit, the type sniffer, the scanner and
the chunked sealing straight into the blob store; no database transaction is
open meanwhile. Only a clean file becomes an attachment. An infected one is
kept encrypted as a quarantined copy (never served), audited, and reported to
the tenant's security contacts, its admins and Hokan's operators.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.audit.actions import action, succeeded
from hokan.blobs import BlobMissing, BlobStore
from hokan.keyring.service import RECORDS, Keyring, Sealed
from hokan.kit import crypto, metrics
from hokan.kit.actions import declare
from hokan.kit.clock import iso, to_jst, utcnow
from hokan.kit.db import Database
from hokan.kit.errors import Forbidden, UnsupportedMediaType
from hokan.models import AttachmentStatus, RecordAttachment
from hokan.principals.principal import Principal
from hokan.records.attachments import sniff
from hokan.records.attachments.repository import AttachmentRepository
from hokan.records.attachments.sealing import BlobCorrupt, Digest, open_stream, seal_stream
from hokan.records.attachments.upload import Upload
from hokan.records.errors import (
    AttachmentCorrupt,
    AttachmentNotFound,
    MalwareDetected,
    RecordNotFound,
    TooManyAttachments,
)
from hokan.scanning.scanner import Scanner, ScanResult
from hokan.tenants.notices import notify

log = logging.getLogger("hokan.attachments")


@dataclass(frozen=True, slots=True)
class AttachmentView:
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    created_by: str
    created_at: datetime


def _view(row: RecordAttachment) -> AttachmentView:
    return AttachmentView(
        row.id, row.filename, row.content_type, row.size, row.sha256, row.created_by, row.created_at
    )


def _context(
    tenant_id: uuid.UUID, record_id: uuid.UUID, attachment_id: uuid.UUID
) -> dict[str, str]:
    return {
        "object": "attachment",
        "tenant": str(tenant_id),
        "record": str(record_id),
        "attachment": str(attachment_id),
    }


def _record(collection: str, key: str, *_: object) -> str:
    return f"{collection}/{key}"


def _attachment(collection: str, key: str, attachment_id: uuid.UUID) -> str:
    return f"{collection}/{key}/{attachment_id}"


@dataclass(frozen=True, slots=True)
class Admission:
    """A record admitted to take one more attachment (the upload's first step)."""

    tenant_id: uuid.UUID
    record_id: uuid.UUID
    attachment_id: uuid.UUID
    collection: str
    key: str

    @property
    def record_target(self) -> str:
        return f"{self.collection}/{self.key}"


@dataclass(frozen=True, slots=True)
class Received:
    """A file streamed in, scanned and sealed into the blob store, not yet kept."""

    admission: Admission
    row: RecordAttachment
    result: ScanResult


def _head(chunks: Iterator[bytes]) -> bytes:
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= sniff.SNIFF_BYTES:
            break
    return head


class AttachmentService:
    def __init__(
        self,
        db: Database,
        keyring: Keyring,
        blobs: BlobStore,
        scanner: Callable[[], Scanner],
        per_record: int,
        operator_emails: list[str],
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.blobs = blobs
        self.scanner = scanner
        self.per_record = per_record
        self.operator_emails = operator_emails

    # -- upload: admit (a transaction), receive (none: the body streams in), store --

    @action("attachments.upload", "record", _record)
    def admit(self, session: Session, principal: Principal, collection: str, key: str) -> Admission:
        """May this record take another attachment?"""
        tenant_id = _tenant(principal)
        repo = AttachmentRepository(session, tenant_id)
        record_id = repo.live_record_id(collection, key)
        if record_id is None:
            raise RecordNotFound
        if repo.count(record_id) >= self.per_record:
            raise TooManyAttachments
        return Admission(tenant_id, record_id, uuid.uuid4(), collection, key)

    def receive(self, admission: Admission, upload: Upload) -> Received:
        """Stream the file through the sniffer and the scanner, sealed into the blob store.

        Runs in a worker thread (it pulls the request body) with no transaction open.
        """
        tenant_id, attachment_id = admission.tenant_id, admission.attachment_id
        context = _context(tenant_id, admission.record_id, attachment_id)
        data_key = self.keyring.new_data_key(tenant_id, RECORDS, context)
        head = _head(upload.chunks)
        # A refused type is only reported after the scan: malware posing as a document
        # (an executable named .pdf) is quarantined and reported, not just turned away.
        refusal: UnsupportedMediaType | None = None
        try:
            sniffed = sniff.check(head, upload.declared_type)
        except UnsupportedMediaType as exc:
            refusal, sniffed = exc, sniff.Sniffed(sniff.UNKNOWN, sniff.UNKNOWN)
        session = self.scanner().start()
        digest = Digest()

        def plaintext() -> Iterator[bytes]:
            for chunk in digest.through(chain([head], upload.chunks)):
                session.feed(chunk)
                yield chunk

        blob_key = f"{tenant_id}/{attachment_id}"
        try:
            self.blobs.put(blob_key, seal_stream(data_key.key, context, plaintext()))
            result = session.finish()
        except BaseException:
            session.close()
            self.discard(blob_key)
            raise
        if result.clean and refusal is not None:
            self.discard(blob_key)
            raise refusal
        row = RecordAttachment(
            id=attachment_id,
            tenant_id=tenant_id,
            record_id=admission.record_id,
            status=AttachmentStatus.active if result.clean else AttachmentStatus.quarantined,
            filename=upload.filename,
            content_type=sniffed.content_type,
            size=digest.size,
            sha256=digest.hexdigest(),
            blob_key=blob_key,
            key_version=data_key.key_version,
            wrapped_dek=data_key.wrapped,
            scanner=result.scanner,
            signature=result.signature,
        )
        return Received(admission, row, result)

    @action("attachments.upload", "record", lambda received: received.admission.record_target)
    def store(self, session: Session, principal: Principal, received: Received) -> AttachmentView:
        """Keep a received file: an attachment if clean; quarantined (and reported) if not."""
        admission, row, result = received.admission, received.row, received.result
        target = f"{admission.record_target}/{admission.attachment_id}"
        try:
            repo = AttachmentRepository(session, admission.tenant_id)
            if repo.live_record_id(admission.collection, admission.key) != admission.record_id:
                raise RecordNotFound  # deleted (or re-created) while the file streamed in
            row.created_by, row.created_at = principal.actor, utcnow()
            repo.add(row)
            detail = {
                "filename": row.filename,
                "content_type": row.content_type,
                "size": row.size,
                "sha256": row.sha256,
                "scanner": result.scanner,
            }
            if result.clean:
                declare(session, "attachments.upload", "attachment", target)
                succeeded(session, principal, detail=detail)
            else:
                audit.record(
                    session,
                    principal,
                    "attachments.quarantined",
                    "attachment",
                    target,
                    result=audit.DENIED,
                    detail={**detail, "signature": result.signature},
                )
                self._notify_malware(session, principal, row, result, target)
            session.flush()
        except BaseException:
            self.discard(row.blob_key)
            raise
        if not result.clean:
            metrics.MALWARE_DETECTIONS.labels(result.scanner[:32]).inc()
            log.warning(
                "malware quarantined",
                extra={"fields": {"signature": result.signature, "scanner": result.scanner}},
            )
            # Kept by the unit of work (keeps_work): the quarantined copy and its report.
            raise MalwareDetected(signature=result.signature, scanner=result.scanner)
        return _view(row)

    def discard(self, blob_key: str) -> None:
        """Remove a blob, best effort (after the transaction that let go of it)."""
        try:
            self.blobs.delete(blob_key)
        except Exception as exc:  # the upload's own error matters more
            log.error("blob not discarded", extra={"fields": {"exc_type": type(exc).__name__}})

    def _notify_malware(
        self,
        s: Session,
        principal: Principal,
        row: RecordAttachment,
        result: ScanResult,
        target: str,
    ) -> None:
        when = row.created_at
        body = (
            "ご担当者様\n\n"
            "アップロードされたファイルからマルウェアが検出されたため、受け付けずに隔離しました。\n"
            f"  対象: {target}\n  ファイル名: {row.filename}\n"
            f"  検出名: {result.signature} ({result.scanner})\n"
            f"  送信者: {principal.display_name}\n"
            f"  日時: {to_jst(when):%Y-%m-%d %H:%M} (日本時間)\n\n"
            "隔離されたファイルは暗号化して保管され、配信されることはありません。\n\n"
            "---\n"
            f"Malware ({result.signature}, {result.scanner}) was found in an upload to {target} "
            f"by {principal.display_name} at {iso(when)}. The file was refused and kept, "
            "encrypted, in quarantine.\n"
        )
        notify(
            s,
            "attachments.malware",
            tenant=row.tenant_id,
            subject="【Hokan】マルウェアを検出しました / Malware detected",
            body=body,
            operators=self.operator_emails,
        )

    # -- reads ----------------------------------------------------------------

    @action("attachments.list", "record", _record)
    def listing(
        self, session: Session, principal: Principal, collection: str, key: str
    ) -> list[AttachmentView]:
        repo = AttachmentRepository(session, _tenant(principal))
        record_id = repo.live_record_id(collection, key)
        if record_id is None:
            raise RecordNotFound
        views = [_view(r) for r in repo.active(record_id)]
        succeeded(session, principal, detail={"count": len(views)})
        return views

    @action("attachments.read", "attachment", _attachment)
    def open(
        self,
        session: Session,
        principal: Principal,
        collection: str,
        key: str,
        attachment_id: uuid.UUID,
    ) -> tuple[AttachmentView, Iterator[bytes]]:
        """The attachment and its verified plaintext stream; the read is audited.

        The first chunk is opened before this returns, so a missing key or a
        corrupt blob is an error response; later corruption (a bad chunk, a
        truncated blob, a SHA-256 mismatch) aborts the transfer.
        """
        tenant_id = _tenant(principal)
        repo = AttachmentRepository(session, tenant_id)
        record_id = repo.live_record_id(collection, key)
        row = repo.one(record_id, attachment_id) if record_id else None
        if row is None or row.wrapped_dek is None:
            raise AttachmentNotFound
        context = _context(tenant_id, row.record_id, row.id)
        dek = self.keyring.open_data_key(
            tenant_id, RECORDS, context, row.key_version, row.wrapped_dek
        )
        stream = self._verified(row, open_stream(dek, context, self._stored(row.blob_key)))
        try:
            first = next(stream, b"")
        except AttachmentCorrupt:  # audited as a failed read by the unit of work
            log.error("attachment corrupt", extra={"fields": {"attachment": str(row.id)}})
            raise
        succeeded(session, principal, detail={"size": row.size, "sha256": row.sha256})
        return _view(row), chain([first], stream)

    def _stored(self, blob_key: str) -> Iterator[bytes]:
        try:
            yield from self.blobs.open(blob_key)
        except BlobMissing:
            raise BlobCorrupt from None

    @staticmethod
    def _verified(row: RecordAttachment, plaintext: Iterator[bytes]) -> Iterator[bytes]:
        digest = Digest()
        try:
            yield from digest.through(plaintext)
        except BlobCorrupt:
            raise AttachmentCorrupt from None
        if digest.size != row.size or not crypto.constant_time_equals(
            digest.hexdigest(), row.sha256
        ):
            raise AttachmentCorrupt("the content does not match its recorded SHA-256")

    # -- deletion -------------------------------------------------------------

    @action("attachments.delete", "attachment", _attachment)
    def delete(
        self,
        session: Session,
        principal: Principal,
        collection: str,
        key: str,
        attachment_id: uuid.UUID,
    ) -> str:
        """Remove the attachment; returns its blob's key, for :meth:`discard` after commit."""
        repo = AttachmentRepository(session, _tenant(principal))
        record_id = repo.live_record_id(collection, key)
        row = repo.one(record_id, attachment_id) if record_id else None
        if row is None:
            raise AttachmentNotFound
        blob_key = row.blob_key
        repo.remove(row)
        succeeded(session, principal)
        return blob_key

    def purge_shredded(self, tenant_id: uuid.UUID) -> int:
        """Remove the (already undecryptable) blobs of deleted records' attachments."""
        with self.db.session(tenant=tenant_id) as s:
            keys = AttachmentRepository(s, tenant_id).shredded_keys()
        for blob_key in keys:
            self.discard(blob_key)
        if keys:
            with self.db.session(write=True, tenant=tenant_id) as s:
                AttachmentRepository(s, tenant_id).forget(keys)
        return len(keys)


def rewrap_attachments(
    db: Database, keyring: Keyring, tenant_id: uuid.UUID, batch: int = 500
) -> int:
    """Re-wrap attachments' data keys under the tenant's active key (KEY-3); blobs stay."""
    active = keyring.active_version(tenant_id, RECORDS)
    moved = 0
    while True:
        with db.session(write=True, tenant=tenant_id) as s:
            rows = AttachmentRepository(s, tenant_id).stale_keys(active, batch)
            for row in rows:
                assert row.wrapped_dek is not None
                new = keyring.rewrap(
                    tenant_id,
                    RECORDS,
                    _context(tenant_id, row.record_id, row.id),
                    Sealed(row.key_version, row.wrapped_dek, b""),
                )
                if new is not None:
                    row.key_version, row.wrapped_dek = new.key_version, new.wrapped_dek
                    moved += 1
        if len(rows) < batch:
            return moved


def _tenant(principal: Principal) -> uuid.UUID:
    if principal.tenant_id is None:
        raise Forbidden("attachments belong to a tenant")
    return principal.tenant_id
