from __future__ import annotations

from hokan.kit.errors import HokanError, because


class MailUndelivered(HokanError):
    """Messages are pending and none could be handed to the mail server this run."""

    status = 503
    code = "mail_undelivered"
    message_ja = "通知メールを送信できませんでした。再試行します。"
    message_en = "Notices could not be delivered; delivery will be retried."
    dependency = "smtp"
    reasons = because(pending=("(未送信 {count} 件)", "({count} pending)"))
