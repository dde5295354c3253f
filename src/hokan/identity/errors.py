from __future__ import annotations

from hokan.kit.errors import Forbidden, InvalidPayload, NotFound, Unauthenticated


class InvalidToken(Unauthenticated):
    # One code for unknown, malformed, revoked and expired tokens: the caller
    # learns nothing about which tokens exist.
    code = "invalid_token"
    message_ja = "APIトークンが無効です (不明・失効・期限切れ)。"
    message_en = "The API token is invalid, revoked or expired."


class MissingCredentials(Unauthenticated):
    code = "unauthenticated"


class InsufficientScope(Forbidden):
    code = "insufficient_scope"
    message_ja = "このトークンには必要な権限 (スコープ) がありません。"
    message_en = "The token lacks the scope this operation needs."


class TokenNotFound(NotFound):
    code = "token_not_found"
    message_ja = "APIトークンが見つかりません。"
    message_en = "API token not found."


class InvalidScope(InvalidPayload):
    code = "invalid_scope"
    message_ja = "不明なスコープが指定されました。"
    message_en = "Unknown scope."
