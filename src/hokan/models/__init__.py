"""ORM models, one file per table, re-exported here."""

from hokan.models.account_review import AccountReview
from hokan.models.api_token import ApiToken
from hokan.models.audit_chain import AuditChain
from hokan.models.audit_checkpoint import AuditCheckpoint
from hokan.models.audit_daily_run import AuditDailyRun
from hokan.models.audit_event import AuditEvent
from hokan.models.audit_finding import AuditFinding, FindingStatus
from hokan.models.audit_segment import AuditSegment
from hokan.models.auth_generation import AuthGeneration
from hokan.models.backup import (
    BackupDrill,
    BackupRestoreRequest,
    BackupVerification,
    BackupWindowRun,
)
from hokan.models.clock_check import ClockCheck
from hokan.models.collection import Collection
from hokan.models.consent_grant import ConsentGrant
from hokan.models.host_sample import HostSample
from hokan.models.job_run import JobRun
from hokan.models.keyring import KeyringMeta, KeyStatus, TenantKey
from hokan.models.mail_message import MailMessage
from hokan.models.metrics_snapshot import MetricsSnapshot
from hokan.models.monitoring import (
    AvailabilityImport,
    Incident,
    IncidentUpdate,
    MaintenanceWindow,
    MonitorSpan,
    NotificationDelivery,
    ServiceUnits,
)
from hokan.models.operator import Operator, OperatorKind, OperatorStatus
from hokan.models.operator_session import OperatorSession
from hokan.models.password_setup_token import PasswordSetupToken
from hokan.models.performance_sample import PerformanceSample
from hokan.models.record import Record
from hokan.models.record_attachment import AttachmentStatus, RecordAttachment
from hokan.models.record_revision import RecordRevision
from hokan.models.recovery_code import RecoveryCode
from hokan.models.retired_certificate import RetiredCertificate
from hokan.models.stored_report import StoredReport
from hokan.models.tenant import Product, Tenant, TenantStatus
from hokan.models.tenant_disposal import TenantDisposal
from hokan.models.terminal_certificate import TerminalCertificate
from hokan.models.user import User, UserStatus
from hokan.models.user_session import UserSession
from hokan.models.vault_deletion import VaultDeletion
from hokan.models.vault_entry import DeletionReason, VaultEntry, VaultEntryKind
from hokan.models.vault_entry_key import VaultEntryKey
from hokan.models.vault_fragment import VaultFragment, VaultStoreIdentity

__all__ = [
    "AccountReview",
    "ApiToken",
    "AttachmentStatus",
    "AuditChain",
    "AuditCheckpoint",
    "AuditDailyRun",
    "AuditEvent",
    "AuditFinding",
    "AuditSegment",
    "AuthGeneration",
    "AvailabilityImport",
    "BackupDrill",
    "BackupRestoreRequest",
    "BackupVerification",
    "BackupWindowRun",
    "ClockCheck",
    "Collection",
    "ConsentGrant",
    "DeletionReason",
    "FindingStatus",
    "HostSample",
    "Incident",
    "IncidentUpdate",
    "JobRun",
    "KeyStatus",
    "KeyringMeta",
    "MailMessage",
    "MaintenanceWindow",
    "MetricsSnapshot",
    "MonitorSpan",
    "NotificationDelivery",
    "Operator",
    "OperatorKind",
    "OperatorSession",
    "OperatorStatus",
    "PasswordSetupToken",
    "PerformanceSample",
    "Product",
    "Record",
    "RecordAttachment",
    "RecordRevision",
    "RecoveryCode",
    "RetiredCertificate",
    "ServiceUnits",
    "StoredReport",
    "Tenant",
    "TenantDisposal",
    "TenantKey",
    "TenantStatus",
    "TerminalCertificate",
    "User",
    "UserSession",
    "UserStatus",
    "VaultDeletion",
    "VaultEntry",
    "VaultEntryKey",
    "VaultEntryKind",
    "VaultFragment",
    "VaultStoreIdentity",
]
