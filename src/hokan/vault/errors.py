"""The vault's errors. None carries a number, part of one, or document bytes."""

from __future__ import annotations

from hokan.kit.errors import (
    Conflict,
    Forbidden,
    HokanError,
    InvalidPayload,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    because,
)


class NumberMalformed(InvalidPayload):
    code = "number_malformed"
    message_ja = "番号の桁数または文字が正しくありません (個人番号は12桁、法人番号は13桁)。"
    message_en = "The number is malformed (individual numbers: 12 digits, corporate: 13)."
    reasons = because(
        digits=("この番号は{digits}桁の数字です。", "This number has {digits} digits."),
    )


class NumberCheckDigitMismatch(InvalidPayload):
    code = "number_check_digit_mismatch"
    message_ja = "番号のチェックデジットが一致しません。"
    message_en = "The number's check digit does not match."


class NumberNotIssuable(InvalidPayload):
    code = "number_not_issuable"
    message_ja = "この番号は発行されることのない番号です (すべて同じ数字)。"
    message_en = "This number is never issued (all digits are the same)."


class DeletionReasonRequired(HokanError):
    status = 400
    code = "deletion_reason_required"
    message_ja = "削除の理由 (reason) を指定してください。"
    message_en = "Give the reason for the deletion (reason)."


class LinkedRecordNotFound(NotFound):
    code = "linked_record_not_found"
    message_ja = "関連付けるレコードがコレクションにありません。"
    message_en = "The linked record does not exist in the collection."


class VaultEntryExists(Conflict):
    """The same number is already registered for this record and kind: the answer names
    the live entry (so the caller can use it) and nothing else."""

    code = "vault_entry_exists"
    message_ja = "この番号は、このレコードに同じ種別で登録済みです。"
    message_en = "This number is already registered for this record and kind."
    reasons = because(
        entry=("登録済みのエントリ: {entry_id}", "The registered entry: {entry_id}."),
    )


class InvalidPurpose(InvalidPayload):
    code = "invalid_purpose"
    message_ja = (
        "利用目的は社会保障 (social_security)・税 (tax)・災害対策 (disaster) のいずれかです。"
    )
    message_en = "The purpose must be social_security, tax or disaster."


class InvalidRecordLink(InvalidPayload):
    code = "invalid_record_link"
    message_ja = "関連付けるレコードIDまたはコレクション名の形式が正しくありません。"
    message_en = "The linked record id or collection name is not valid."


class InvalidDeletionDate(InvalidPayload):
    code = "invalid_deletion_date"
    message_ja = "削除予定日は未来の日時を指定してください。"
    message_en = "The scheduled deletion must lie in the future."


class VaultAccessDenied(Forbidden):
    code = "vault_access_denied"
    message_ja = "マイナンバー保管庫にアクセスできるのは、テナントの事務取扱担当者のみです。"
    message_en = "Only the tenant's My Number clerks may access the vault."


class VaultEntryNotFound(NotFound):
    code = "vault_entry_not_found"
    message_ja = "保管庫のエントリが見つかりません。"
    message_en = "Vault entry not found."


class NotADocument(InvalidPayload):
    code = "vault_entry_kind_mismatch"
    message_ja = "このエントリはこの操作に対応していません (番号と書類の取り違え)。"
    message_en = "This entry is of another kind (number vs. document)."


class UnsupportedDocumentType(UnsupportedMediaType):
    code = "unsupported_document_type"
    message_ja = "本人確認書類は JPEG・PNG・PDF のいずれかです (内容で判定します)。"
    message_en = "Identity documents must be JPEG, PNG or PDF (judged by content)."


class DocumentTooLarge(PayloadTooLarge):
    code = "document_too_large"
    message_ja = "本人確認書類が大きすぎます。"
    message_en = "The identity document is too large."


class MalwareDetected(InvalidPayload):
    code = "malware_detected"
    message_ja = "ファイルからマルウェアが検出されたため受け付けません。"
    message_en = "The file was refused: malware was detected."


class VaultUnavailable(ServiceUnavailable):
    code = "vault_unavailable"
    message_ja = "保管庫の断片ストアが足りないため、この操作は現在できません。"
    message_en = "Too few vault fragment stores are available for this operation."
    dependency = "vault_stores"


class VaultEntryShredded(HokanError):
    status = 410
    code = "vault_entry_key_destroyed"
    message_ja = "このエントリの鍵は破棄済みです。内容は復元できません。"
    message_en = "This entry's key was destroyed; its content cannot be recovered."
