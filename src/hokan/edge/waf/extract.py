"""Where values come from: query, path, headers, cookies and bodies, as (field, value) pairs.

Field names are where a value was found (``query.q``, ``json.staff[].notes``,
``header.user-agent``, ``multipart.file.filename``): exclusions name them and
audit entries record them; values are never kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from hokan.edge.waf.engine import ALL_FAMILIES, LOG4SHELL_ONLY

MAX_JSON_DEPTH = 32
# The body itself is capped (HOKAN_WAF_MAX_BODY_BYTES), so a generous node budget costs
# little; a document beyond either bound is reported, never silently half-inspected.
MAX_JSON_VALUES = 200_000
MAX_PARAMS = 1_000

# Standard headers with a fixed grammar (media ranges, ETags, dates, fetch
# metadata) get the Log4Shell lookups only: their punctuation is their syntax.
# Every other header (User-Agent, Referer, X-Forwarded-*, custom X-… headers) is
# client-chosen text and gets every family's rules. Authorization is never read
# (a secret, and random text).
_GRAMMAR_HEADERS = frozenset(
    {
        b"accept",
        b"accept-encoding",
        b"accept-language",
        b"accept-charset",
        b"connection",
        b"keep-alive",
        b"cache-control",
        b"pragma",
        b"content-type",
        b"content-encoding",
        b"content-language",
        b"te",
        b"expect",
        b"upgrade",
        b"upgrade-insecure-requests",
        b"if-match",
        b"if-none-match",
        b"if-modified-since",
        b"if-unmodified-since",
        b"if-range",
        b"range",
        b"dnt",
        b"priority",
        b"transfer-encoding",
    }
)
_SKIP_HEADERS = frozenset(
    {b"authorization", b"cookie", b"content-length", b"host", b"x-request-id"}
)


# Headers that hold a URL by definition: the RFI rules would only see their own purpose.
_URL_HEADERS = frozenset({b"referer", b"origin"})
NO_RFI = ALL_FAMILIES - {"rfi"}


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    value: str
    url_encoded: bool = False
    only: frozenset[str] = ALL_FAMILIES


_SAFE_NAME = re.compile(r"^[\w.\-\[\]@$:]{1,64}$")


def safe_name(prefix: str, name: str) -> str:
    """``prefix.name`` when the name is an ordinary identifier; the name may be the payload."""
    return f"{prefix}.{name}" if _SAFE_NAME.match(name) else f"{prefix}.?"


def _plus(text: str) -> str:
    return text.replace("+", " ") if "+" in text else text


def urlencoded(prefix: str, raw: bytes) -> Iterator[Field]:
    """Names and values of ``a=1&b=2`` (query strings, form bodies), still %-encoded."""
    text = raw.decode("utf-8", "surrogateescape")
    for i, pair in enumerate(text.split("&")):
        if i >= MAX_PARAMS:
            return
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name, value = _plus(name), _plus(value)
        label = safe_name(prefix, name)
        yield Field(f"{label}#name", name, url_encoded=True)
        if value:
            yield Field(label, value, url_encoded=True)


def param_count(raw: bytes) -> int:
    return raw.count(b"&") + 1 if raw else 0


def path(scope: Mapping[str, Any]) -> Iterator[Field]:
    raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8")
    text = raw.decode("utf-8", "surrogateescape")
    yield Field("path", text, url_encoded=True)  # whole, for traversal across segments
    if "%" in text or "'" in text or '"' in text:
        # Each segment too, where a route parameter's value starts and ends
        # (/records/1' or '1'='1, /records/O:8:"stdClass"…).
        for segment in text.split("/")[1:]:
            if segment:
                yield Field("path.segment", segment, url_encoded=True)


def headers(scope: Mapping[str, Any]) -> Iterator[Field]:
    for name, value in scope.get("headers", ()):
        if name in _SKIP_HEADERS:
            if name == b"cookie":
                yield from cookies(value)
            continue
        text = value.decode("latin-1")
        if name not in _GRAMMAR_HEADERS and not name.startswith(b"sec-"):
            only = NO_RFI if name in _URL_HEADERS else ALL_FAMILIES
            yield Field(f"header.{name.decode('latin-1')}", _utf8(value), False, only)
        elif "${" in text or "%24%7b" in text.lower():
            yield Field(f"header.{name.decode('latin-1')}", text, False, LOG4SHELL_ONLY)


def _utf8(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def cookies(raw: bytes) -> Iterator[Field]:
    for part in _utf8(raw).split(";"):
        name, _, value = part.strip().partition("=")
        if not name:
            continue
        label = safe_name("cookie", name)
        yield Field(f"{label}#name", name, url_encoded=False)
        if value:
            yield Field(label, value.strip('"'), url_encoded=False)


def json_body(raw: bytes) -> list[Field]:
    return [Field(name, value) for name, value in zip(*json_strings(raw), strict=True)]


def json_strings(raw: bytes) -> tuple[list[str], list[str]]:
    """Names and values of a JSON body's strings (see :func:`walk_json`), no object per value."""
    names, values, _complete = json_strings_checked(raw)
    return names, values


def json_strings_checked(raw: bytes) -> tuple[list[str], list[str], bool]:
    """:func:`json_strings` and whether the walk saw the whole document (depth and count)."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return [], [], True  # the route answers 422: nothing parsed reaches the app
    walk = _JsonWalk(doc)
    names, values = walk.strings()
    return names, values, walk.complete


def walk_json(doc: Any) -> list[Field]:
    """String keys and values of a JSON document, depth-first, bounded in depth and count.

    Keys that are identifiers (nearly all) are not returned: a single word cannot
    carry any family's payload. A record has hundreds of values, so this is lean.
    """
    return [Field(name, value) for name, value in zip(*_JsonWalk(doc).strings(), strict=True)]


class _JsonWalk:
    """Depth-first, last child first, at most ``MAX_JSON_VALUES`` nodes (the root included),
    containers deeper than ``MAX_JSON_DEPTH`` skipped (but counted)."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.names: list[str] = []
        self.values: list[str] = []
        self.budget = MAX_JSON_VALUES
        self.complete = True  # False once a bound left part of the document unseen

    def strings(self) -> tuple[list[str], list[str]]:
        self.budget -= 1
        self._node("json", self.doc, 0)
        return self.names, self.values

    def _node(self, label: str, node: Any, depth: int) -> bool:
        """Visit ``node`` (counted already); False once the budget is spent."""
        if isinstance(node, str):
            self.names.append(label)
            self.values.append(node)
        elif depth >= MAX_JSON_DEPTH:
            self.complete = False
        elif isinstance(node, dict):
            return self._object(label, node, depth + 1)
        elif isinstance(node, list):
            return self._array(f"{label}[]", node, depth + 1)
        return True

    def _object(self, label: str, node: dict[str, Any], depth: int) -> bool:
        names, values = self.names, self.values
        children = []
        for key in node:  # keys in order, as the values are labelled; visited last first
            if key.isidentifier() and len(key) <= 64:
                children.append(f"{label}.{key}")
            else:
                child = safe_name(label, key)
                names.append(f"{child}#name")
                values.append(key)
                children.append(child)
        for child, value in zip(reversed(children), reversed(node.values()), strict=True):
            if self.budget <= 0:
                self.complete = False
                return False
            self.budget -= 1
            if type(value) is str:
                names.append(child)
                values.append(value)
            elif isinstance(value, (dict, list)) and not self._node(child, value, depth):
                return False
        return True

    def _array(self, label: str, node: list[Any], depth: int) -> bool:
        names, values = self.names, self.values
        for item in reversed(node):
            if self.budget <= 0:
                self.complete = False
                return False
            self.budget -= 1
            if type(item) is str:
                names.append(label)
                values.append(item)
            elif isinstance(item, (dict, list)) and not self._node(label, item, depth):
                return False
        return True
