"""The vault's rules (MYN-2..7): who may touch it, encrypt-then-split, purpose-logged reads.

Access is checked twice: by the routes' typed dependencies and here, so no
caller (route, job, script) reaches vault contents without being a user or API
token of the entry's own tenant carrying the vault scope. Operators and the
system principal are refused by construction.

Register: a fresh per-entry key is made in the keyring (wrapped by the
tenant's vault key); the payload is sealed with AES-256-GCM whose associated
data binds tenant, entry id and kind; the ciphertext is cut into n fragments
(k needed) written to the n fragment stores; the catalogue row and the audit
entry commit together in the system database. A number's row carries its keyed
digest (the keyring's HMAC): a second live entry of the same number for the same
record and kind is refused by a unique index (409 ``vault_entry_exists``), race-safe.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import NoReturn

from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hokan.audit import service as audit
from hokan.audit.actions import succeeded
from hokan.keyring.errors import DecryptionFailed
from hokan.keyring.service import Keyring
from hokan.kit import crypto
from hokan.kit.actions import declare
from hokan.kit.clock import iso, utcnow
from hokan.kit.pagination import InvalidCursor, decode_cursor, encode_cursor
from hokan.models import (
    DeletionReason,
    VaultDeletion,
    VaultEntry,
    VaultEntryKind,
)
from hokan.principals.principal import Principal, Scope
from hokan.scanning.scanner import Scanner
from hokan.vault import erasure, numbers
from hokan.vault.access import TARGET, parse_purpose, purpose_label, vault_tenant
from hokan.vault.errors import (
    DeletionReasonRequired,
    DocumentTooLarge,
    InvalidDeletionDate,
    LinkedRecordNotFound,
    MalwareDetected,
    NotADocument,
    UnsupportedDocumentType,
    VaultEntryExists,
    VaultEntryNotFound,
    VaultEntryShredded,
    VaultUnavailable,
)
from hokan.vault.repository import VaultRepository
from hokan.vault.stores import FragmentStores, Placement, fragment_tag
from hokan.vault.views import (
    DeletionView,
    EntryPage,
    EntryView,
    RecordLink,
    deletion_view,
    entry_view,
)

log = logging.getLogger("hokan.vault")

# Identity documents are accepted by content, never by the declared type (MYN-7).
DOCUMENT_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


def _payload_aad(entry: VaultEntry) -> bytes:
    return crypto.aad(
        "vault-payload",
        {"tenant": str(entry.tenant_id), "entry": str(entry.id), "kind": entry.kind},
    )


def _placement(entry: VaultEntry) -> Placement:
    return Placement(
        entry.id, entry.tenant_id, entry.k, entry.n, entry.ciphertext_size, entry.fragment_tags
    )


# The insert leaves the row out when the same number is already live for the record and
# kind (the partial unique index of the model): one statement, no savepoint, and a
# concurrent twin waits for the first to commit, then inserts nothing (rowcount 0).
_LIVE_NUMBER = {
    "index_elements": [
        VaultEntry.tenant_id,
        VaultEntry.record_collection,
        VaultEntry.record_key,
        VaultEntry.kind,
        VaultEntry.number_digest,
    ],
    "index_where": VaultEntry.number_digest.is_not(None),
}
_INSERT_ENTRY = {
    name: dialect.insert(VaultEntry)
    .on_conflict_do_nothing(**_LIVE_NUMBER)
    .execution_options(preserve_rowcount=True)  # SQLAlchemy counts UPDATE/DELETE only
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_ENTRY_COLUMNS = tuple(c.name for c in VaultEntry.__table__.columns)


def _catalogue_row(entry: VaultEntry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in _ENTRY_COLUMNS}


# Registrations to undo if the session's transaction rolls back (listed in session.info):
# two class-level listeners instead of adding and removing two per registration.
_UNDO = "hokan.vault.undo_on_rollback"


@event.listens_for(Session, "after_rollback")
def _undo_registrations(session: Session) -> None:
    for undo in session.info.pop(_UNDO, ()):
        undo()


@event.listens_for(Session, "after_commit")
def _keep_registrations(session: Session) -> None:
    session.info.pop(_UNDO, None)


def _actor(principal: Principal) -> str:
    return f"{principal.actor} ({principal.display_name})"[:200]


def sniff_document(data: bytes) -> str:
    for magic, content_type in DOCUMENT_MAGIC:
        if data.startswith(magic):
            return content_type
    raise UnsupportedDocumentType


class VaultService:
    def __init__(
        self,
        keyring: Keyring,
        stores: FragmentStores,
        k: int,
        max_document_bytes: int,
        scanner: Scanner,
    ) -> None:
        self.keyring = keyring
        self.stores = stores
        self.k = k
        self.max_document_bytes = max_document_bytes
        self.scanner = scanner

    # -- register -----------------------------------------------------------

    @staticmethod
    def _check_link(session: Session, tenant_id: uuid.UUID, link: RecordLink) -> None:
        """A link into a collection the tenant keeps in Hokan must name a live record
        there (404 ``linked_record_not_found``); other collections name the
        customer's own system and cannot be checked."""
        repo = VaultRepository(session, tenant_id)
        if repo.kept_collection(link.collection) and not repo.live_record(link):
            raise LinkedRecordNotFound

    def _store(
        self,
        session: Session,
        principal: Principal,
        tenant_id: uuid.UUID,
        kind: VaultEntryKind,
        link: RecordLink,
        payload: bytes,
        content_type: str | None,
        delete_after: datetime | None,
        digest: bytes | None = None,
    ) -> VaultEntry:
        if delete_after is not None and delete_after <= utcnow():
            raise InvalidDeletionDate
        self._check_link(session, tenant_id, link)
        entry_id = uuid.uuid4()
        key, save_key = self.keyring.new_entry_key(tenant_id, entry_id, kind.value)
        entry = VaultEntry(
            id=entry_id,
            tenant_id=tenant_id,
            kind=kind,
            record_collection=link.collection,
            record_key=link.record_id,
            content_type=content_type,
            size=len(payload),
            k=self.k,
            n=self.stores.n,
            created_at=utcnow(),
            created_by=_actor(principal),
            delete_after=delete_after,
            deletion_reason=DeletionReason.purpose_ended if delete_after else None,
            deletion_scheduled_by=_actor(principal) if delete_after else None,
            number_digest=digest,
        )
        try:
            ciphertext = crypto.encrypt(key, payload, _payload_aad(entry))
            fragments = erasure.encode(ciphertext, self.k, self.stores.n)
            entry.ciphertext_size = len(ciphertext)
            entry.fragment_tags = [
                fragment_tag(entry_id, i, self.k, self.stores.n, len(ciphertext), f)
                for i, f in enumerate(fragments)
            ]
            # Core, not the unit of work: the row is written before any fragment, and the
            # object stays a plain (transient) value for the caller's view.
            connection = session.connection()
            insert = _INSERT_ENTRY[connection.dialect.name]
            stored = connection.execute(insert, _catalogue_row(entry)).rowcount == 1
            if stored:
                self.stores.write(_placement(entry), fragments, alongside=save_key)
        except BaseException:
            self.keyring.destroy_entry_key(tenant_id, entry_id)
            raise
        if not stored:  # a duplicate: nothing was written, the key never saved
            self._refuse_duplicate(session, tenant_id, link, kind, digest)
        # If the catalogue row and its audit entry do not commit after all, the
        # fragments and the key already written must not outlive them.
        self._undo_on_rollback(session, tenant_id, entry_id)
        return entry

    @staticmethod
    def _refuse_duplicate(
        session: Session,
        tenant_id: uuid.UUID,
        link: RecordLink,
        kind: VaultEntryKind,
        digest: bytes | None,
    ) -> NoReturn:
        """409 naming the live entry that holds the number; the refusal's audit entry
        (written by the unit of work) targets it. Never the number or its digest."""
        existing = (
            VaultRepository(session, tenant_id).live_number(link, kind, digest)
            if digest is not None
            else None
        )
        if existing is None:  # deleted between the conflict and this read: try again
            raise VaultEntryExists
        declare(session, "vault.number.register", TARGET, str(existing), {"kind": kind.value})
        raise VaultEntryExists("entry", entry_id=str(existing))

    def _undo_on_rollback(
        self, session: Session, tenant_id: uuid.UUID, entry_id: uuid.UUID
    ) -> None:
        def undo() -> None:
            try:
                self.keyring.destroy_entry_key(tenant_id, entry_id)
                self.stores.remove(entry_id)
            except Exception as exc:  # repair removes what is left (orphans)
                log.error(
                    "vault rollback incomplete", extra={"fields": {"exc_type": type(exc).__name__}}
                )

        session.info.setdefault(_UNDO, []).append(undo)

    def register_number(
        self,
        session: Session,
        principal: Principal,
        raw: str,
        kind: numbers.NumberKind,
        link: RecordLink,
        delete_after: datetime | None = None,
    ) -> EntryView:
        """Validate (MYN-2) and store an individual or corporate number."""
        declare(session, "vault.number.register", TARGET, detail={"kind": kind.value})
        tenant_id = vault_tenant(principal, Scope.vault_write)
        digits = numbers.validate(raw, kind)
        entry = self._store(
            session,
            principal,
            tenant_id,
            VaultEntryKind(kind.value),
            link,
            digits.encode(),
            None,
            delete_after,
            digest=self.keyring.number_digest(tenant_id, kind.value, digits),
        )
        succeeded(session, principal, target_id=str(entry.id), detail={"kind": kind.value})
        return entry_view(entry, numbers.masked(digits))

    def register_document(
        self,
        session: Session,
        principal: Principal,
        data: bytes | None,
        link: RecordLink,
        delete_after: datetime | None = None,
    ) -> EntryView:
        """Store an identity document (JPEG/PNG/PDF by content, size-limited, scanned; MYN-7).

        ``data`` None means the upload exceeded the size limit.
        """
        declare(session, "vault.document.register", TARGET)
        tenant_id = vault_tenant(principal, Scope.vault_write)
        if data is None or len(data) > self.max_document_bytes:
            raise DocumentTooLarge(f"at most {self.max_document_bytes} bytes")
        content_type = sniff_document(data)
        verdict = self.scanner.scan([data])
        if not verdict.clean:
            raise MalwareDetected(signature=verdict.signature)
        entry = self._store(
            session,
            principal,
            tenant_id,
            VaultEntryKind.document,
            link,
            data,
            content_type,
            delete_after,
        )
        detail = {"content_type": content_type, "size": len(data)}
        succeeded(session, principal, target_id=str(entry.id), detail=detail)
        return entry_view(entry)

    # -- read ---------------------------------------------------------------

    def _open(
        self, entries: Iterable[VaultEntry], shredded: set[uuid.UUID] | None = None
    ) -> dict[uuid.UUID, bytes]:
        """Plaintexts of the entries that can be rebuilt and opened (others absent; those
        whose key is gone are added to ``shredded``)."""
        wanted = {e.id: e for e in entries}
        if not wanted:
            return {}
        tenant_id = next(iter(wanted.values())).tenant_id
        keys = self.keyring.entry_keys(tenant_id, {e.id: e.kind.value for e in wanted.values()})
        placements = {eid: _placement(e) for eid, e in wanted.items() if eid in keys}
        if shredded is not None:
            shredded.update(eid for eid in wanted if eid not in keys)
        found = self.stores.gather(placements)
        out: dict[uuid.UUID, bytes] = {}
        for eid, frags in found.items():
            entry = wanted[eid]
            if len(frags) < entry.k:
                continue
            ciphertext = erasure.decode(frags, entry.k, entry.n, entry.ciphertext_size)
            try:
                out[eid] = crypto.decrypt(keys[eid], ciphertext, _payload_aad(entry))
            except crypto.DecryptionError:
                raise DecryptionFailed from None
        return out

    def _entry(self, session: Session, tenant_id: uuid.UUID, entry_id: uuid.UUID) -> VaultEntry:
        entry = VaultRepository(session, tenant_id).entry(entry_id)
        if entry is None:
            raise VaultEntryNotFound
        return entry

    def _open_one(self, entry: VaultEntry) -> bytes:
        shredded: set[uuid.UUID] = set()
        plain = self._open([entry], shredded).get(entry.id)
        if shredded:
            raise VaultEntryShredded
        if plain is None:
            raise VaultUnavailable(f"fewer than {entry.k} intact fragments are reachable")
        return plain

    def list_entries(
        self,
        session: Session,
        principal: Principal,
        *,
        collection: str | None = None,
        record_id: str | None = None,
        kind: VaultEntryKind | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> EntryPage:
        """Entries of the tenant, numbers masked (MYN-5), oldest first."""
        declare(session, "vault.number.list", TARGET, "*")
        tenant_id = vault_tenant(principal, Scope.vault_read)
        stmt = VaultRepository(session, tenant_id).entries()
        if collection is not None:
            stmt = stmt.where(VaultEntry.record_collection == collection)
        if record_id is not None:
            stmt = stmt.where(VaultEntry.record_key == record_id)
        if kind is not None:
            stmt = stmt.where(VaultEntry.kind == kind)
        if cursor:
            created, last_id = decode_cursor(cursor, 2)
            try:
                after, after_id = datetime.fromisoformat(created), uuid.UUID(last_id)
            except (TypeError, ValueError):
                raise InvalidCursor from None
            stmt = stmt.where(
                (VaultEntry.created_at > after)
                | ((VaultEntry.created_at == after) & (VaultEntry.id > after_id))
            )
        rows = list(
            session.scalars(stmt.order_by(VaultEntry.created_at, VaultEntry.id).limit(limit + 1))
        )
        more = len(rows) > limit
        rows = rows[:limit]
        opened = self._open(r for r in rows if r.kind is not VaultEntryKind.document)
        items = [
            entry_view(r, numbers.masked(opened[r.id].decode()) if r.id in opened else None)
            for r in rows
        ]
        next_cursor = encode_cursor(iso(rows[-1].created_at), str(rows[-1].id)) if more else None
        succeeded(session, principal, detail={"count": len(items)})
        return EntryPage(items, next_cursor)

    def _read(
        self,
        session: Session,
        principal: Principal,
        entry_id: uuid.UUID,
        purpose: str | None,
        document: bool,
    ) -> tuple[VaultEntry, bytes]:
        """One entry's plaintext for a stated purpose, audited with that purpose and the id."""
        action = "vault.document.download" if document else "vault.number.reveal"
        declare(session, action, TARGET, str(entry_id), {"purpose": purpose_label(purpose)})
        tenant_id = vault_tenant(principal, Scope.vault_read)
        why = parse_purpose(purpose)
        entry = self._entry(session, tenant_id, entry_id)
        if (entry.kind is VaultEntryKind.document) is not document:
            raise NotADocument
        plain = self._open_one(entry)
        succeeded(session, principal, detail={"purpose": why.value, "kind": entry.kind.value})
        return entry, plain

    def reveal(
        self, session: Session, principal: Principal, entry_id: uuid.UUID, purpose: str | None
    ) -> tuple[EntryView, str]:
        """The full number, for a stated purpose; audited with that purpose (MYN-4, MYN-5)."""
        entry, plain = self._read(session, principal, entry_id, purpose, document=False)
        digits = plain.decode()
        return entry_view(entry, numbers.masked(digits)), digits

    def download(
        self, session: Session, principal: Principal, entry_id: uuid.UUID, purpose: str | None
    ) -> tuple[EntryView, bytes]:
        """An identity document's bytes, for a stated purpose; audited with that purpose."""
        entry, data = self._read(session, principal, entry_id, purpose, document=True)
        return entry_view(entry), data

    # -- deletion (MYN-6) ---------------------------------------------------

    def schedule_deletion(
        self,
        session: Session,
        principal: Principal,
        entry_id: uuid.UUID,
        delete_after: datetime | None,
        reason: DeletionReason,
    ) -> EntryView:
        """Set (or, with None, cancel) the date after which ``hokan vault purge-due`` deletes."""
        declare(session, "vault.entry.schedule_deletion", TARGET, str(entry_id))
        tenant_id = vault_tenant(principal, Scope.vault_write)
        entry = self._entry(session, tenant_id, entry_id)
        if delete_after is not None and delete_after <= utcnow():
            raise InvalidDeletionDate
        entry.delete_after = delete_after
        entry.deletion_reason = reason if delete_after else None
        entry.deletion_scheduled_by = _actor(principal) if delete_after else None
        succeeded(
            session,
            principal,
            detail={
                "delete_after": iso(delete_after) if delete_after else None,
                "reason": reason.value,
            },
        )
        return entry_view(entry)

    def _shred(
        self, session: Session, principal: Principal, entry: VaultEntry, reason: DeletionReason
    ) -> DeletionView:
        # Key first: once it is gone, every copy of the fragments is noise (crypto-shredding).
        self.keyring.destroy_entry_key(entry.tenant_id, entry.id)
        cleared = self.stores.remove(entry.id)
        row = VaultDeletion(
            tenant_id=entry.tenant_id,
            entry_id=entry.id,
            kind=entry.kind,
            reason=reason,
            registered_at=entry.created_at,
            deleted_at=utcnow(),
            deleted_by=_actor(principal),
            scheduled_by=entry.deletion_scheduled_by,
            stores_cleared=cleared,
            stores_pending=[i for i in range(self.stores.n) if i not in cleared],
            key_destroyed=True,
        )
        session.delete(entry)
        session.add(row)
        session.flush()
        return deletion_view(row)

    def delete_now(
        self,
        session: Session,
        principal: Principal,
        entry_id: uuid.UUID,
        reason: DeletionReason | None,
    ) -> DeletionView:
        """Delete at once: key destroyed, fragments removed, a deletion record kept.

        The reason is the deletion record's point: never assumed."""
        declare(session, "vault.entry.delete", TARGET, str(entry_id))
        tenant_id = vault_tenant(principal, Scope.vault_write)
        if reason is None:
            raise DeletionReasonRequired
        entry = self._entry(session, tenant_id, entry_id)
        view = self._shred(session, principal, entry, reason)
        succeeded(session, principal, detail={"reason": reason.value, "kind": view.kind.value})
        return view

    def due(self, session: Session, now: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(tenant, entry) pairs whose scheduled deletion has come (system scope)."""
        stmt = select(VaultEntry.tenant_id, VaultEntry.id).where(VaultEntry.delete_after <= now)
        return [(t, e) for t, e in session.execute(stmt.order_by(VaultEntry.delete_after))]

    def purge(
        self, session: Session, actor: Principal, tenant_id: uuid.UUID, entry_id: uuid.UUID
    ) -> DeletionView | None:
        """Carry out one scheduled deletion (the job; no content is read)."""
        entry = VaultRepository(session, tenant_id).entry(entry_id)
        if entry is None or entry.delete_after is None or entry.delete_after > utcnow():
            return None
        view = self._shred(
            session, actor, entry, entry.deletion_reason or DeletionReason.retention_expired
        )
        audit.record(
            session,
            actor,
            "vault.purge",
            TARGET,
            str(entry_id),
            detail={"reason": view.reason.value, "kind": view.kind.value},
            tenant_id=tenant_id,
        )
        return view

    def deletions(
        self, session: Session, principal: Principal, limit: int = 100
    ) -> list[DeletionView]:
        """The tenant's deletion records, newest first."""
        declare(session, "vault.deletion.list", TARGET, "*")
        tenant_id = vault_tenant(principal, Scope.vault_read)
        stmt = VaultRepository(session, tenant_id).deletions()
        rows = session.scalars(stmt.order_by(VaultDeletion.deleted_at.desc()).limit(limit))
        out = [deletion_view(r) for r in rows]
        succeeded(session, principal, detail={"count": len(out)})
        return out
