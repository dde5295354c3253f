from __future__ import annotations

from hokan.kit.errors import HokanError, because


class ClockOffsetExceeded(HokanError):
    """The clock check found this host's clock too far from the NTP servers' (MON-8)."""

    status = 503
    code = "clock_offset_exceeded"
    message_ja = "サーバーの時刻が NTP サーバーの時刻からずれています。"
    message_en = "This server's clock is off from the NTP servers' time."
    reasons = because(
        offset=(
            "{server} との差は {offset_ms} ms で、上限 {max_offset_ms} ms を超えています。",
            "The offset from {server} is {offset_ms} ms, above the maximum of {max_offset_ms} ms.",
        ),
    )


class ClockUnreachable(HokanError):
    """No configured NTP server gave a usable answer: the clock could not be checked."""

    status = 503
    code = "clock_unreachable"
    message_ja = "NTP サーバーから応答がなく、時刻を確認できませんでした。"
    message_en = "No NTP server answered: the clock could not be checked."
    dependency = "ntp"
    reasons = because(
        servers=(
            "問い合わせたサーバー: {servers} (HOKAN_NTP_SERVERS)",
            "Servers asked: {servers} (HOKAN_NTP_SERVERS).",
        ),
    )
