"""Who is on the other end of the current request, for audit entries.

Set by the edge middleware; read by :func:`hokan.audit.service.record`. Context
variables follow the request into the threadpool (anyio copies the context).
"""

from __future__ import annotations

import contextvars

source_ip_var: contextvars.ContextVar[str] = contextvars.ContextVar("source_ip", default="")
cert_fingerprint_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "cert_fingerprint", default=""
)
