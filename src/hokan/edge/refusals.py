"""Refusing a request at the edge: a 403 with a stable code, counted, and audited
without letting a flood flood the audit trail.

The first refusal of each (code, address) in a window is audited at once;
repeats in the window are only counted and reported by that key's next entry
(``repeats``). A global budget per window caps entries from many addresses;
what it held back is reported by the next entry written (``held_back``).
Counts per code are kept for the metrics endpoint to export.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from hokan.audit import service as audit
from hokan.httpkit.context import preferred_language
from hokan.httpkit.responses import JsonResponse
from hokan.kit.errors import HokanError
from hokan.principals.principal import ANONYMOUS

if TYPE_CHECKING:
    from hokan.edge.host import EdgeHost

log = logging.getLogger("hokan.edge")


class RefusalLog:
    def __init__(self, window_seconds: float = 60.0, budget_per_window: int = 100) -> None:
        self.window = window_seconds
        self.budget = budget_per_window
        self.counts: Counter[str] = Counter()
        self._first_seen: dict[tuple[str, str], float] = {}
        self._repeats: Counter[tuple[str, str]] = Counter()
        self._window_start = 0.0
        self._written = 0
        self._held_back = 0
        self._lock = threading.Lock()

    def note(self, code: str, address: str, now: float | None = None) -> dict[str, Any] | None:
        """Count a refusal; the audit detail to write now, or None to only count it."""
        now = time.monotonic() if now is None else now
        key = (code, address)
        with self._lock:
            self.counts[code] += 1
            if now - self._window_start >= self.window:
                self._window_start, self._written = now, 0
                # Forget keys whose window ended (bounded memory under a flood).
                for k in [k for k, t in self._first_seen.items() if now - t >= self.window]:
                    del self._first_seen[k]
            seen = self._first_seen.get(key)
            if seen is not None and now - seen < self.window:
                self._repeats[key] += 1
                return None
            if self._written >= self.budget:
                self._held_back += 1
                return None
            self._first_seen[key] = now
            self._written += 1
            detail: dict[str, Any] = {"error": code}
            if repeats := self._repeats.pop(key, 0):
                detail["repeats"] = repeats
            if self._held_back:
                detail["held_back"], self._held_back = self._held_back, 0
            return detail

    def count(self, code: str) -> None:
        """Count a refusal made elsewhere (audited by its own path)."""
        with self._lock:
            self.counts[code] += 1

    def snapshot(self) -> dict[str, int]:
        """Refusals per code since start (for metrics)."""
        with self._lock:
            return dict(self.counts)


def _write(runtime: EdgeHost, path: str, detail: dict[str, Any]) -> None:
    with runtime.db.session(write=True, system=True) as s:
        audit.record(
            s, ANONYMOUS, "edge.refused", "request", path, result=audit.DENIED, detail=detail
        )


async def refuse(
    runtime: EdgeHost, exc: HokanError, address: str, scope: Scope, receive: Receive, send: Send
) -> None:
    """Answer ``exc`` (403 JSON, Japanese or English) and count/audit the refusal."""
    detail = runtime.edge_refusals.note(exc.code, address)
    if detail is not None:
        try:
            await runtime.call(partial(_write, runtime, scope.get("path", ""), detail))
        except Exception as audit_exc:  # still refuse; the log says the audit failed
            log.error(
                "refusal not audited", extra={"fields": {"exc_type": type(audit_exc).__name__}}
            )
    if scope["type"] == "websocket":  # no HTTP answer there: close as a policy violation
        await send({"type": "websocket.close", "code": 1008})
        return
    lang = "ja"
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            lang = preferred_language(value.decode("latin-1"))
            break
    response = JsonResponse(exc.body(lang), status_code=exc.status, headers=exc.headers or None)
    await response(scope, receive, send)
