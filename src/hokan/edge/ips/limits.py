"""Per-route body limits, declared next to the routes that need them (EDGE-4).

Routes without one get ``HOKAN_IPS_MAX_BODY_BYTES``. The IPS enforces the limit
on the declared ``Content-Length`` before the app runs and on the bytes read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hokan.settings import Settings

_LIMITS: list[tuple[str, re.Pattern[str], Callable[[Settings], int]]] = []


def route_body_limit(method: str, path_pattern: str, limit: Callable[[Settings], int]) -> None:
    """Declare ``limit(settings)`` as the body limit of ``method`` on paths matching the regex."""
    _LIMITS.append((method.upper(), re.compile(path_pattern), limit))


def body_limit(settings: Settings, method: str, path: str) -> int:
    for m, pattern, limit in _LIMITS:
        if m == method and pattern.fullmatch(path):
            return limit(settings)
    return settings.ips_max_body_bytes
