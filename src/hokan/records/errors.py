from __future__ import annotations

from hokan.kit.errors import InvalidPayload, NotFound, PreconditionFailed


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


class InvalidSchema(InvalidPayload):
    code = "invalid_schema"
    message_ja = "JSONスキーマが正しくありません。"
    message_en = "The JSON Schema is not valid."


class InvalidName(InvalidPayload):
    code = "invalid_name"
    message_ja = "コレクション名またはレコードIDの形式が正しくありません。"
    message_en = "The collection name or record id is not valid."
