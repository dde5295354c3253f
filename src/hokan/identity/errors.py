from __future__ import annotations

import re

from hokan.kit.errors import Conflict, Forbidden, InvalidPayload, NotFound, Unauthenticated

# Defined with the principal vocabulary; re-exported for identity's callers.
from hokan.principals.errors import InsufficientScope as InsufficientScope
from hokan.principals.errors import InvalidRole as InvalidRole
from hokan.principals.errors import MissingCredentials as MissingCredentials
from hokan.principals.errors import OperatorRoleRequired as OperatorRoleRequired
from hokan.tenants.contacts import EMAIL_PATTERN


class InvalidToken(Unauthenticated):
    # One code for unknown, malformed, revoked and expired tokens: the caller
    # learns nothing about which tokens exist.
    code = "invalid_token"
    message_ja = "APIトークンが無効です (不明・失効・期限切れ)。"
    message_en = "The API token is invalid, revoked or expired."


class TokenNotFound(NotFound):
    code = "token_not_found"
    message_ja = "APIトークンが見つかりません。"
    message_en = "API token not found."


class InvalidScope(InvalidPayload):
    code = "invalid_scope"
    message_ja = "不明なスコープが指定されました。"
    message_en = "Unknown scope."


class InvalidCredentials(Unauthenticated):
    # The same answer for an unknown serial, a wrong password, a locked or a
    # disabled account (no enumeration, IAM-3).
    code = "invalid_credentials"
    message_ja = "シリアル番号またはパスワードが正しくありません。"
    message_en = "The serial number or password is incorrect."


class SessionExpired(Unauthenticated):
    code = "session_expired"
    message_ja = "セッションの有効期限が切れました。もう一度ログインしてください。"
    message_en = "The session has expired; please log in again."


class SessionCertificateMismatch(Unauthenticated):
    code = "session_certificate_mismatch"
    message_ja = "このセッションは別の端末証明書で開始されました。"
    message_en = "This session was opened with another terminal certificate."


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    message_ja = "CSRFトークンがありません、または正しくありません。"
    message_en = "The CSRF token is missing or wrong."


class UserNotFound(NotFound):
    code = "user_not_found"
    message_ja = "ユーザーが見つかりません。"
    message_en = "User not found."


class OperatorNotFound(NotFound):
    code = "operator_not_found"
    message_ja = "運用者アカウントが見つかりません。"
    message_en = "Operator account not found."


class OperatorNetworkDenied(Forbidden):
    # OPS-4: operators connect only from the operations network.
    code = "operator_network_denied"
    message_ja = "運用者は運用ネットワークからのみ接続できます。"
    message_en = "Operators may connect only from the operations network."


class ConsentRequired(Forbidden):
    # OPS-1: no operator reaches tenant data without that tenant's consent grant.
    code = "consent_required"
    message_ja = "お客様の承諾 (有効なアクセス許可) がないため、お客様環境にはアクセスできません。"
    message_en = "Operator access to this tenant needs an active consent grant from the tenant."


class InvalidEmail(InvalidPayload):
    code = "invalid_email"
    message_ja = "メールアドレスの形式が正しくありません (例: name@example.co.jp)。"
    message_en = "The e-mail address is not valid (e.g. name@example.co.jp)."


def check_email(email: str) -> str:
    """``email`` if it looks like an address (the contacts' rule); else :class:`InvalidEmail`."""
    if len(email) > 254 or not re.match(EMAIL_PATTERN, email):
        raise InvalidEmail()
    return email


class InvalidValidity(InvalidPayload):
    code = "invalid_validity"
    message_ja = "有効期間が許容範囲外です。"
    message_en = "The validity period is outside the permitted range."


class GrantNotFound(NotFound):
    code = "grant_not_found"
    message_ja = "アクセス許可が見つかりません。"
    message_en = "Consent grant not found."


class StaleForm(Conflict):
    status = 409
    code = "stale_form"
    message_ja = (
        "この内容は、画面を開いた後に他の人が変更しました。最新の状態を確認してやり直してください。"
    )
    message_en = "Someone else changed this after the page was opened; check and try again."
