"""ORM models, one file per table, re-exported here."""

from hokan.models.api_token import ApiToken
from hokan.models.collection import Collection
from hokan.models.keyring import KeyringMeta, KeyStatus, TenantKey
from hokan.models.record import Record
from hokan.models.record_revision import RecordRevision
from hokan.models.tenant import Product, Tenant, TenantStatus

__all__ = [
    "ApiToken",
    "Collection",
    "KeyStatus",
    "KeyringMeta",
    "Product",
    "Record",
    "RecordRevision",
    "Tenant",
    "TenantKey",
    "TenantStatus",
]
