"""The WAF of one process: rules, counters, the rate-limited audit of blocks.

:meth:`Waf.inspect_head` looks at what arrives before the body (method,
framing headers, sizes, path, query, headers, cookies); :meth:`Waf.inspect_body`
at a buffered body by media type. The middleware adds the hits up, applies the
route's exclusions and decides.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from hokan.audit import service as audit
from hokan.edge.waf import extract, xmlbody
from hokan.edge.waf.engine import Inspector, Verdict
from hokan.edge.waf.extract import Field
from hokan.edge.waf.model import CRITICAL, Hit
from hokan.kit import metrics
from hokan.principals.principal import ANONYMOUS
from hokan.settings import Settings, WafMode

if TYPE_CHECKING:
    from hokan.kit.db import Database

log = logging.getLogger("hokan.waf")

ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_URL_BYTES = 8_192
MAX_HEADER_BYTES = 8_192
MAX_HEADERS = 100
AUDIT_WINDOW_S = 60.0
# Attack tools that say who they are.
_SCANNER = re.compile(
    rb"(?i)sqlmap|nikto|nmap scripting|masscan|acunetix|w3af|dirbuster|gobuster|nessus|openvas"
    rb"|zgrab|nuclei|wpscan|havij|netsparker|arachni|burpcollaborator|commix|xsstrike|jorgee"
)
JSON_TYPES = ("application/json",)
FORM_TYPE = "application/x-www-form-urlencoded"


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_json(media: str) -> bool:
    return media in JSON_TYPES or media.endswith("+json")


@dataclass
class WafCounters:
    """In-process counts, for the metrics endpoint to export."""

    inspected: int = 0
    blocked: int = 0
    detected: int = 0  # would have blocked, in detect-only mode
    uninspected_bodies: int = 0  # larger than HOKAN_WAF_MAX_BODY_BYTES
    audit_suppressed: int = 0
    rules: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, Any]:
        return {
            "inspected": self.inspected,
            "blocked": self.blocked,
            "detected": self.detected,
            "uninspected_bodies": self.uninspected_bodies,
            "audit_suppressed": self.audit_suppressed,
            "rules": dict(self.rules),
        }


class AuditLimiter:
    """At most one audit entry per (source IP, rule) per window; the rest are counted."""

    def __init__(self, window: float = AUDIT_WINDOW_S, max_keys: int = 100_000) -> None:
        self.window = window
        self.max_keys = max_keys
        self._last: dict[tuple[str, str], float] = {}
        self._suppressed: Counter[str] = Counter()
        self._lock = threading.Lock()

    def admit(self, ip: str, rules: Iterable[str], now: float | None = None) -> int | None:
        """Entries to write now: ``None`` if every rule was audited for ``ip`` recently;
        otherwise how many blocks from ``ip`` went unaudited since its last entry."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._last) > self.max_keys:  # bounded memory under a wide scan
                self._last.clear()
            fresh = False
            for rule in rules:
                key = (ip, rule)
                if now - self._last.get(key, -1e18) >= self.window:
                    self._last[key] = now
                    fresh = True
            if not fresh:
                self._suppressed[ip] += 1
                return None
            return self._suppressed.pop(ip, 0)


class Waf:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.enabled = settings.waf_enabled
        self.blocking = settings.waf_mode is WafMode.block
        self.threshold = settings.waf_threshold
        self.max_body = settings.waf_max_body_bytes
        self.inspector = Inspector(settings.waf_paranoia)
        self.counters = WafCounters()
        self.limiter = AuditLimiter()

    # ------------------------------------------------------------------ inspection

    def fields_hits(self, fields: Iterable[Field], *, cache: bool = False) -> list[Hit]:
        return self.inspector.inspect_many(list(fields), cache=cache)

    def inspect_head(self, scope: Mapping[str, Any]) -> list[Hit]:
        hits = list(self._protocol(scope))
        query: bytes = scope.get("query_string", b"")
        fields: list[Iterator[Field]] = [extract.path(scope), extract.headers(scope)]
        if query:
            fields.append(extract.urlencoded("query", query))
        for group in fields:
            hits.extend(self.fields_hits(group, cache=True))
        return hits

    def inspect_body(self, content_type: str, body: bytes) -> list[Hit]:
        media = media_type(content_type)
        start = body.lstrip()[:5]
        # No Content-Type: judge by the first bytes, as a lenient route would parse it
        # (the records API reads a body without one as JSON).
        if is_json(media) or (not media and start[:1] in (b"{", b"[")):
            names, values, complete = extract.json_strings_checked(body)
            hits = self.inspector.inspect_strings(names, values)
            if not complete:
                # Deeper or larger than the WAF walks: a payload could hide past the
                # bound, so the document is refused rather than half-inspected.
                hits.append(Hit("protocol-json-uninspectable", "protocol", CRITICAL, "json"))
            return hits
        if media == FORM_TYPE:
            return self._form(body)
        if xmlbody.is_xml(media) or (not media and start == b"<?xml"):
            hits, fields = xmlbody.inspect(body)
            return hits + self.fields_hits(fields)
        if not media or media.startswith("text/"):
            # Text only: a binary upload without a Content-Type (an image, a PDF) is the
            # malware scanner's, and decoding it as text would only find noise.
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return []
            return [] if "\x00" in text else self.fields_hits([Field("body", text)])
        return []

    def _form(self, body: bytes) -> list[Hit]:
        hits = []
        if extract.param_count(body) > extract.MAX_PARAMS:
            hits.append(Hit("protocol-too-many-parameters", "protocol", CRITICAL, "form"))
        return hits + self.fields_hits(extract.urlencoded("form", body))

    def _protocol(self, scope: Mapping[str, Any]) -> Iterator[Hit]:
        def hit(rule: str, where: str = "request") -> Hit:
            return Hit(rule, "protocol", CRITICAL, where)

        if scope.get("method", "GET") not in ALLOWED_METHODS:
            yield hit("protocol-method")
        query: bytes = scope.get("query_string", b"")
        raw_path: bytes = scope.get("raw_path") or b""
        if len(raw_path) + len(query) > MAX_URL_BYTES:
            yield hit("protocol-url-too-long")
        if extract.param_count(query) > extract.MAX_PARAMS:
            yield hit("protocol-too-many-parameters", "query")
        headers = scope.get("headers", ())
        if len(headers) > MAX_HEADERS:
            yield hit("protocol-too-many-headers")
        lengths = []
        encodings = []
        for name, value in headers:
            if len(value) > MAX_HEADER_BYTES:
                yield hit("protocol-header-too-long", f"header.{name.decode('latin-1')[:40]}")
            if name == b"user-agent" and _SCANNER.search(value):
                yield hit("protocol-scanner", "header.user-agent")
            if name == b"content-length":
                lengths.append(value)
            elif name == b"transfer-encoding":
                encodings.append(value.lower().strip())
        if lengths and encodings:
            yield hit("protocol-cl-te", "header.transfer-encoding")
        if len(lengths) > 1 or any(not v.strip().isdigit() for v in lengths):
            yield hit("protocol-content-length", "header.content-length")
        if len(encodings) > 1 or any(v != b"chunked" for v in encodings):
            yield hit("protocol-transfer-encoding", "header.transfer-encoding")

    # ------------------------------------------------------------------ outcome

    def record(self, verdict: Verdict) -> None:
        self.counters.rules.update(verdict.rules)
        mode = "block" if self.blocking else "detect"
        for family in sorted({h.family for h in verdict.hits}):
            metrics.WAF_BLOCKS.labels(family, mode).inc()
        if self.blocking:
            self.counters.blocked += 1
        else:
            self.counters.detected += 1

    def audit_entry(self, db: Database, verdict: Verdict, ip: str, method: str, route: str) -> bool:
        """Write the audit entry for a block unless the limiter holds it back."""
        suppressed = self.limiter.admit(ip, verdict.rules)
        if suppressed is None:
            self.counters.audit_suppressed += 1
            return False
        fields = sorted({h.field for h in verdict.hits})[:20]
        with db.session(write=True, system=True) as s:
            audit.record(
                s,
                ANONYMOUS,
                "waf.blocked" if self.blocking else "waf.detected",
                "route",
                route,
                result=audit.DENIED if self.blocking else audit.SUCCESS,
                detail={
                    "rules": verdict.rules,
                    "fields": fields,
                    "score": verdict.score,
                    "method": method[:16],
                    "suppressed_since_last": suppressed,
                },
            )
        return True


def write_audit(waf: Waf, db: Database, verdict: Verdict, ip: str, method: str, route: str) -> None:
    try:
        waf.audit_entry(db, verdict, ip, method, route)
    except Exception as exc:  # the block stands either way; the failure is logged
        log.error("waf audit failed", extra={"fields": {"exc_type": type(exc).__name__}})


def audit_call(waf: Waf, db: Database, verdict: Verdict, ip: str, method: str, route: str) -> Any:
    return partial(write_audit, waf, db, verdict, ip, method, route)
