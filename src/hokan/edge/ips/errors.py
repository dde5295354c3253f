from __future__ import annotations

from hokan.kit.errors import Forbidden, HokanError, InvalidPayload, NotFound, because


class RateLimited(HokanError):
    status = 429
    code = "rate_limited"
    message_ja = "リクエストが多すぎます。しばらく待ってから再試行してください。"
    message_en = "Too many requests; retry later."


class TooManyConcurrent(RateLimited):
    code = "too_many_concurrent_requests"
    message_ja = "同時リクエストが多すぎます。"
    message_en = "Too many concurrent requests from this address."


class SourceBanned(Forbidden):
    code = "source_banned"
    message_ja = "このアドレスからのアクセスは一時的に遮断されています。"
    message_en = "Requests from this address are temporarily blocked."


class RequestTimeout(HokanError):
    status = 408
    code = "request_timeout"
    message_ja = "リクエストの受信が時間内に完了しませんでした。"
    message_en = "The request was not received in time."
    reasons = because(
        no_data=("{seconds}秒間データが届きませんでした。", "No body data for {seconds} s."),
        too_slow=(
            "本文の送信が毎秒{min_rate}バイトより遅いです。",
            "The body arrives slower than {min_rate} bytes/s.",
        ),
    )


def with_retry_after(error: HokanError, seconds: float) -> HokanError:
    error.headers["Retry-After"] = str(max(1, int(seconds + 0.999)))
    return error


class NotBanned(NotFound):
    code = "not_banned"
    message_ja = "このアドレスは遮断されていません。"
    message_en = "This address is not banned."


class InvalidAddress(InvalidPayload):
    code = "invalid_address"
    message_ja = "IPアドレスの形式が正しくありません。"
    message_en = "Not an IP address."
