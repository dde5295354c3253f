"""ORM models, one file per table, re-exported here."""

from hokan.models.account_review import AccountReview
from hokan.models.api_token import ApiToken
from hokan.models.audit_chain import AuditChain
from hokan.models.audit_checkpoint import AuditCheckpoint
from hokan.models.audit_event import AuditEvent
from hokan.models.audit_segment import AuditSegment
from hokan.models.collection import Collection
from hokan.models.keyring import KeyringMeta, KeyStatus, TenantKey
from hokan.models.mail_message import MailMessage
from hokan.models.record import Record
from hokan.models.record_attachment import AttachmentStatus, RecordAttachment
from hokan.models.record_revision import RecordRevision
from hokan.models.recovery_code import RecoveryCode
from hokan.models.tenant import Product, Tenant, TenantStatus
from hokan.models.user import User, UserStatus
from hokan.models.user_session import UserSession

__all__ = [
    "AccountReview",
    "ApiToken",
    "AttachmentStatus",
    "AuditChain",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditSegment",
    "Collection",
    "KeyStatus",
    "KeyringMeta",
    "MailMessage",
    "Product",
    "Record",
    "RecordAttachment",
    "RecordRevision",
    "RecoveryCode",
    "Tenant",
    "TenantKey",
    "TenantStatus",
    "User",
    "UserSession",
    "UserStatus",
]
