"""The one error hierarchy.

Services raise :class:`HokanError` subclasses; one handler (``hokan.httpkit.errors``)
renders them as ``{"error": code, "detail": message}`` with the class's status,
``detail`` in the caller's language (Japanese by default, English on request).
Codes are stable API: clients switch on them.

A raise site says *why* with a reason key and structured parameters, never with
prose, so that the reason can be told in either language::

    class WeakPassword(InvalidPayload):
        code = "weak_password"
        message_ja = "パスワードが弱すぎます。"
        message_en = "The password is too weak."
        reasons = because(
            too_short=("{min_length}文字以上にしてください。", "At least {min_length} characters."),
        )

    raise WeakPassword("too_short", min_length=12)
    # {"error": "weak_password", "detail": "パスワードが弱すぎます。12文字以上にしてください。",
    #  "reason": "too_short", "min_length": 12}

The reason and the parameters are part of the answer as fields of their own:
they must never hold secrets or payload values.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

LANGUAGES = ("ja", "en")
_FORMATTER = string.Formatter()


def because(**templates: tuple[str, str]) -> Mapping[str, tuple[str, str]]:
    """An error class's reasons: key -> (Japanese, English) message templates."""
    return MappingProxyType(templates)


def template_fields(template: str) -> set[str]:
    """The parameter names a reason's template uses."""
    return {name for _, name, _, _ in _FORMATTER.parse(template) if name}


class HokanError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    message_ja: ClassVar[str] = "内部エラーが発生しました。"
    message_en: ClassVar[str] = "An internal error occurred."
    # The external dependency whose failure this error reports, for the log (ADR 0012).
    dependency: str | None = None
    # A refusal whose evidence must outlive it (malware kept in quarantine): the
    # unit of work commits what the work wrote, then audits and raises the error.
    keeps_work: ClassVar[bool] = False
    # Reason key -> (Japanese, English) templates over the raise site's parameters.
    reasons: ClassVar[Mapping[str, tuple[str, str]]] = because()

    def __init__(self, reason: str | None = None, /, **params: Any) -> None:
        self.reason = reason
        self.params = params
        self.headers: dict[str, str] = {}
        super().__init__(self.message("en"))

    def __repr__(self) -> str:  # never leak anything but the code
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"

    @classmethod
    def all_reasons(cls) -> dict[str, tuple[str, str]]:
        """The reasons of this class and its ancestors (the nearest wins)."""
        out: dict[str, tuple[str, str]] = {}
        for klass in reversed(cls.__mro__):
            out.update(getattr(klass, "reasons", {}))
        return out

    def message(self, lang: str = "ja") -> str:
        """The message in ``lang``, with the reason told when there is one."""
        english = lang == "en"
        base = self.message_en if english else self.message_ja
        templates = self.all_reasons().get(self.reason or "")
        if templates is None:
            return base
        try:
            why = templates[1 if english else 0].format_map(self.params)
        except (KeyError, IndexError, ValueError, AttributeError):
            return base
        return f"{base} {why}" if english else base + why

    def body(self, lang: str = "ja") -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "detail": self.message(lang)}
        if self.reason in self.all_reasons():  # unknown (legacy prose) stays internal
            out["reason"] = self.reason
        out.update(self.params)
        return out


class BadRequest(HokanError):
    status = 400
    code = "bad_request"
    message_ja = "リクエストが正しくありません。"
    message_en = "The request is not valid."


class InvalidParameter(BadRequest):
    code = "invalid_parameter"
    message_ja = "パラメーターの値が正しくありません。"
    message_en = "A parameter is not valid."


class Unauthenticated(HokanError):
    status = 401
    code = "unauthenticated"
    message_ja = "認証が必要です。"
    message_en = "Authentication is required."

    def __init__(self, reason: str | None = None, /, **params: Any) -> None:
        super().__init__(reason, **params)
        self.headers["WWW-Authenticate"] = 'Bearer realm="hokan"'


class Forbidden(HokanError):
    status = 403
    code = "forbidden"
    message_ja = "この操作は許可されていません。"
    message_en = "This operation is not permitted."


class NotFound(HokanError):
    status = 404
    code = "not_found"
    message_ja = "対象が見つかりません。"
    message_en = "Not found."


class MethodNotAllowed(HokanError):
    status = 405
    code = "method_not_allowed"
    message_ja = "このメソッドは使用できません。"
    message_en = "Method not allowed."


class Conflict(HokanError):
    status = 409
    code = "conflict"
    message_ja = "現在の状態と競合しています。"
    message_en = "The request conflicts with the current state."


class PreconditionFailed(HokanError):
    status = 412
    code = "precondition_failed"
    message_ja = "前提条件 (If-Match) が一致しません。最新の版を取得してやり直してください。"
    message_en = "The precondition (If-Match) failed; fetch the latest revision and retry."


class PayloadTooLarge(HokanError):
    status = 413
    code = "payload_too_large"
    message_ja = "データが大きすぎます。"
    message_en = "The payload is too large."
    reasons = because(limit=("上限は{limit}バイトです。", "The limit is {limit} bytes."))


class UnsupportedMediaType(HokanError):
    status = 415
    code = "unsupported_media_type"
    message_ja = "このContent-Typeには対応していません。"
    message_en = "This Content-Type is not supported."
    reasons = because(
        accepted=("次のいずれかを指定してください: {accepted}", "Send one of: {accepted}.")
    )


class InvalidPayload(HokanError):
    status = 422
    code = "invalid_payload"
    message_ja = "データの形式が正しくありません。"
    message_en = "The payload is malformed."


class ServiceUnavailable(HokanError):
    status = 503
    code = "service_unavailable"
    message_ja = "サービスを一時的に利用できません。"
    message_en = "The service is temporarily unavailable."


class AuditWriteFailed(HokanError):
    """The audit entry could not be written, so the action it records did not happen."""

    status = 503
    code = "audit_unavailable"
    message_ja = "監査ログを記録できないため、操作を実行しませんでした。"
    message_en = "The operation was not performed because it could not be audited."
    dependency = "database"


class DependencyUnavailable(HokanError):
    """An external dependency this operation cannot do without did not answer.

    Raised where failing open would be unsafe (ADR 0012): the login lockout and
    password-spraying counters refuse rather than allow unlimited guessing. The
    dependency's name goes to the log, not to the caller.
    """

    status = 503
    code = "dependency_unavailable"
    message_ja = (
        "依存するサービスに接続できないため、処理できません。しばらくしてから再度お試しください。"
    )
    message_en = "A service this operation depends on is unreachable; try again shortly."

    dependency: str

    def __init__(self, dependency: str, detail: str | None = None) -> None:
        super().__init__(detail)
        self.dependency = dependency
        self.headers["Retry-After"] = "30"
