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


class PasswordChangeRequired(Forbidden):
    # The session of a user who must first change a password someone else set (ADR 0017).
    code = "password_change_required"
    message_ja = (
        "パスワードの変更が必要です。このセッションでは、パスワードの変更"
        " (POST /api/v1/auth/password) とログアウトのみできます。"
    )
    message_en = (
        "You must change your password first: this session can only change it"
        " (POST /api/v1/auth/password) or log out."
    )


class OperatorRoleRequired(Forbidden):
    code = "operator_role_required"
    message_ja = "この操作に必要な運用者ロールがありません。"
    message_en = "This operation needs an operator role you do not hold."


class TenantTerminated(Forbidden):
    # A terminated tenant's callers may only export their data until it is disposed of
    # (LIFE-2): refused here, in the one dependency every route uses.
    code = "tenant_terminated"
    message_ja = (
        "このテナントは契約終了しています。データの消去まではエクスポート"
        " (GET /api/v1/tenant/export) のみ利用できます。"
    )
    message_en = (
        "This tenant's contract has ended: until its data is disposed of, only the"
        " export (GET /api/v1/tenant/export) is available."
    )
