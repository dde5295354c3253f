"""The WAF's refusal: 403 ``waf_blocked`` with the ids of the rules that matched."""

from __future__ import annotations

from hokan.kit.errors import Forbidden


class WafBlocked(Forbidden):
    code = "waf_blocked"
    message_ja = "セキュリティ上の理由により、このリクエストは拒否されました。"
    message_en = "The request was blocked by the web application firewall."
