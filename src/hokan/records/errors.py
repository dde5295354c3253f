from __future__ import annotations

from hokan.kit.errors import (
    BadRequest,
    Conflict,
    HokanError,
    InvalidPayload,
    NotFound,
    PreconditionFailed,
    UnsupportedMediaType,
    because,
)


class RecordNotFound(NotFound):
    code = "record_not_found"
    message_ja = "レコードが見つかりません。"
    message_en = "Record not found."


class RevisionNotFound(NotFound):
    code = "revision_not_found"
    message_ja = "指定の版が見つかりません。"
    message_en = "Revision not found."


class CollectionNotFound(NotFound):
    code = "collection_not_found"
    message_ja = "コレクションが見つかりません。"
    message_en = "Collection not found."


class StaleRevision(PreconditionFailed):
    code = "stale_revision"


class RecordExists(PreconditionFailed):
    code = "record_exists"
    message_ja = "レコードは既に存在します (If-None-Match: *)。"
    message_en = "The record already exists (If-None-Match: *)."


class RecordNotObject(InvalidPayload):
    code = "record_not_object"
    message_ja = "レコードはJSONオブジェクトである必要があります。"
    message_en = "A record must be a JSON object."


class SchemaViolation(InvalidPayload):
    code = "schema_violation"
    message_ja = "コレクションのJSONスキーマに違反しています。"
    message_en = "The record violates the collection's JSON Schema."
    reasons = because(
        keyword=(
            "{path} が「{keyword}」の制約を満たしていません。",
            "{path} violates '{keyword}'.",
        ),
    )


class InvalidSchema(InvalidPayload):
    code = "invalid_schema"
    message_ja = "JSONスキーマが正しくありません。"
    message_en = "The JSON Schema is not valid."
    reasons = because(
        not_object=(
            "JSONスキーマはオブジェクトである必要があります。",
            "A JSON Schema must be an object.",
        ),
        keyword=(
            "{path} の「{keyword}」が正しくありません。",
            "{path}: the '{keyword}' constraint is wrong.",
        ),
    )


class InvalidName(InvalidPayload):
    code = "invalid_name"
    message_ja = "コレクション名またはレコードIDの形式が正しくありません。"
    message_en = "The collection name or record id is not valid."
    reasons = because(
        collection=(
            "コレクション名は {pattern} に一致する必要があります。",
            "Collection names match {pattern}.",
        ),
        record_id=(
            "レコードIDは {pattern} に一致する必要があります。",
            "Record ids match {pattern}.",
        ),
    )


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"
    message_ja = "添付ファイルが見つかりません。"
    message_en = "Attachment not found."


class AttachmentTypeNotAllowed(UnsupportedMediaType):
    code = "attachment_type_not_allowed"
    message_ja = "この種類のファイルは添付できません。"
    message_en = "Files of this type cannot be attached."
    reasons = because(
        declared=("指定された種類は受け付けていません。", "The declared type is not accepted."),
        content=("内容が受け付ける種類ではありません。", "The content is not of an accepted type."),
    )


class AttachmentTypeMismatch(UnsupportedMediaType):
    code = "attachment_type_mismatch"
    message_ja = "ファイルの内容が指定された種類と一致しません。"
    message_en = "The file's content does not match its declared type."
    reasons = because(
        found=("内容は {found} です。", "The content is {found}."),
    )


class MalwareDetected(InvalidPayload):
    code = "malware_detected"
    message_ja = "ファイルからマルウェアが検出されたため、受け付けませんでした。"
    message_en = "Malware was detected in the file; it was not accepted."
    keeps_work = True  # the quarantined copy and its report outlive the refusal


class TooManyAttachments(Conflict):
    code = "too_many_attachments"
    message_ja = "このレコードの添付ファイル数が上限に達しています。"
    message_en = "This record has reached its attachment limit."


class InvalidUpload(BadRequest):
    code = "invalid_upload"
    message_ja = "アップロードの形式が正しくありません。"
    message_en = "The upload is malformed."
    reasons = because(
        malformed=("multipartの形式が正しくありません。", "The multipart body is malformed."),
        no_file=("multipartに 'file' パートがありません。", "There is no 'file' part."),
        truncated=("fileパートの途中で終わっています。", "The body ends inside the file part."),
        no_boundary=("multipartのboundaryがありません。", "The multipart body has no boundary."),
    )


class AttachmentCorrupt(HokanError):
    """The stored attachment fails its integrity check (tampered or truncated)."""

    status = 500
    code = "attachment_corrupt"
    message_ja = "添付ファイルの整合性検証に失敗しました。"
    message_en = "The stored attachment failed its integrity check."


class AttachmentShredded(HokanError):
    status = 410
    code = "attachment_shredded"
    message_ja = "この添付ファイルは消去済みで、復号できません。"
    message_en = "This attachment was erased and cannot be decrypted."
