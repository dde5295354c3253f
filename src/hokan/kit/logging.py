"""Structured logs: one JSON object per line, with the request id.

Log calls pass only non-sensitive fields through ``extra={"fields": {...}}``;
nothing logs payloads, tokens, keys or My Numbers.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# The ASGI scope key the request id is also kept under: an error that escapes the
# middleware is logged after the context variable has been reset.
REQUEST_ID_SCOPE_KEY = "hokan.request_id"


@contextlib.contextmanager
def request_id(value: str | None) -> Iterator[None]:
    """Log with ``value`` as the request id for a while (when it is known)."""
    if not value:
        yield
        return
    token = request_id_var.set(value)
    try:
        yield
    finally:
        request_id_var.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: exception messages can carry values.
            out["exc_type"] = record.exc_info[0].__name__
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None) or {}
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        head = f"{record.levelname:<7} {record.name} [{request_id_var.get()}]"
        return f"{head} {record.getMessage()} {extra}".rstrip()


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
