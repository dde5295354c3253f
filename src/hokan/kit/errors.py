"""The one error hierarchy.

Services raise :class:`HokanError` subclasses; one handler (``hokan.httpkit.errors``)
renders them as ``{"error": code, "detail": message}`` with the class's status.
Codes are stable API: clients switch on them. Messages are Japanese first with
an English text available, and never contain secrets or payload values.
"""

from __future__ import annotations

from typing import Any, ClassVar


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

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        # ``detail`` is an optional English elaboration safe to show to the caller.
        super().__init__(detail or self.message_en)
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}

    def __repr__(self) -> str:  # never leak anything but the code
        return f"{type(self).__name__}(code={self.code!r})"

    def body(self, lang: str = "ja") -> dict[str, Any]:
        message = self.message_en if lang == "en" else self.message_ja
        out: dict[str, Any] = {"error": self.code, "detail": self.detail or message}
        if self.detail:
            out["message"] = message
        out.update(self.extra)
        return out


class BadRequest(HokanError):
    status = 400
    code = "bad_request"
    message_ja = "リクエストが正しくありません。"
    message_en = "The request is not valid."


class Unauthenticated(HokanError):
    status = 401
    code = "unauthenticated"
    message_ja = "認証が必要です。"
    message_en = "Authentication is required."

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
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


class UnsupportedMediaType(HokanError):
    status = 415
    code = "unsupported_media_type"
    message_ja = "このContent-Typeには対応していません。"
    message_en = "This Content-Type is not supported."


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
