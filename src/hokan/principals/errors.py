"""Errors of the principal and role vocabulary."""

from __future__ import annotations

from hokan.kit.errors import Forbidden, InvalidPayload, Unauthenticated


class InvalidRole(InvalidPayload):
    code = "invalid_role"
    message_ja = "不明なロールが指定されました。"
    message_en = "Unknown role."


class MissingCredentials(Unauthenticated):
    code = "unauthenticated"


class InsufficientScope(Forbidden):
    code = "insufficient_scope"
    message_ja = "このトークンには必要な権限 (スコープ) がありません。"
    message_en = "The token lacks the scope this operation needs."


class OperatorRoleRequired(Forbidden):
    code = "operator_role_required"
    message_ja = "この操作に必要な運用者ロールがありません。"
    message_en = "This operation needs an operator role you do not hold."
