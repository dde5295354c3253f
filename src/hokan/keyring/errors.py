from __future__ import annotations

from hokan.kit.errors import HokanError, ServiceUnavailable


class MasterKeyUnavailable(ServiceUnavailable):
    code = "master_key_unavailable"
    message_ja = "マスター鍵を読み込めません。"
    message_en = "The master key cannot be loaded."


class MasterKeyMismatch(ServiceUnavailable):
    code = "master_key_mismatch"
    message_ja = "マスター鍵が鍵束と一致しません。"
    message_en = "The master key does not match the keyring."


class TenantKeyMissing(HokanError):
    status = 500
    code = "tenant_key_missing"
    message_ja = "テナント鍵が見つかりません。"
    message_en = "The tenant key is missing."


class TenantKeysDestroyed(HokanError):
    status = 410
    code = "tenant_keys_destroyed"
    message_ja = "このテナントの鍵は破棄済みです。データは復号できません。"
    message_en = "This tenant's keys were destroyed; its data cannot be decrypted."


class DecryptionFailed(HokanError):
    """A sealed object did not open in its own context: tampering or misplacement."""

    status = 500
    code = "decryption_failed"
    message_ja = "データの整合性検証に失敗しました。"
    message_en = "The stored data failed its integrity check."
