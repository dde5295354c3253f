"""Cross-site scripting: HTML tags, event-handler attributes and script URLs.

A tag only counts when ``<`` is followed by an ASCII tag name (``<注意>`` and
``a < b`` are text), a script URL only when code follows the colon
("JavaScript: The Good Parts" is a book), and JavaScript calls alone score too
little to block without markup or an attribute break-out around them.
"""

from __future__ import annotations

import re

from hokan.edge.waf.model import CRITICAL, ERROR, NOTICE, WARNING, Hit, Rule, scan


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TAG = re.compile(r"<\s*/?\s*([a-z][a-z0-9:_-]*)(?=[\s/>\x00]|$)([^>]*)", re.DOTALL)
_DANGEROUS_TAGS = _words(
    "script frameset applet meta base isindex xss import portal noscript noembed xmp "
    "plaintext animate set handler listener"
)
# Rich-text editors send these (embedded videos, inline icons, images): they block
# with a handler, a script URL or srcdoc, not on their own.
_FRAME_TAGS = _words("iframe frame object embed")
_SUSPECT_TAGS = (
    _words("svg math style link form template xml img image video audio body input") | _FRAME_TAGS
)
_EVENTS = (
    r"on(?:abort|activate|after|animation|auxclick|before|begin|blur|bounce|can|change|click"
    r"|close|content|context|copy|cue|cut|dbl|deactivate|drag|drop|durat|emptied|end|error"
    r"|finish|focus|formdata|fullscreen|hash|help|input|invalid|key|load|lose|message|mouse"
    r"|move|offline|online|page|paste|pause|play|pointer|popstate|progress|property|rate"
    r"|ready|repeat|reset|resize|row|scroll|search|seek|select|show|slot|stalled|start"
    r"|storage|submit|suspend|time|toggle|touch|transition|unload|volume|waiting|webkit"
    r"|wheel)[a-z]*"
)
_HANDLER_ATTR = re.compile(r"(?:^|[\s/\"'`;])" + _EVENTS + r"\s*=", re.DOTALL)
_BREAKOUT_HANDLER = re.compile(r"[\"'`]\s*[\s/]*" + _EVENTS + r"\s*=")
_BREAKOUT_TAG = re.compile(r"^[^<]*?[\"']\s*/?>\s*<\s*[a-z!/]")  # the value starts in an attribute
_SCRIPT_URL = re.compile(
    r"(?:j\s*a\s*v\s*a|v\s*b|l\s*i\s*v\s*e)\s*s\s*c\s*r\s*i\s*p\s*t\s*:\s*"
    r"(?:[\w$.]+\s*[(`=\[]|[/\"'\[(`{+!~-]|void\b|eval\b|alert\b|this\b)"
)
_SRCDOC = re.compile(
    r"\bsrcdoc\s*=|\bdata\s*=\s*[\"'`]?\s*(?:data|javascript):|text/x-scriptlet"
    r"|allowscriptaccess|x-shockwave-flash|\bclassid\s*=|\bcodebase\s*="
)
_SCRIPT_URL_ATTR = re.compile(
    r"(?:href|src|action|formaction|data|xlink:href|poster)\s*=\s*[\"'`]?\s*(?:javascript|vbscript):"
)
_DATA_URL = re.compile(
    r"data:\s*(?:text/html|image/svg\+xml|application/x?html|text/javascript|text/xml)"
)
_JS_CALL = re.compile(
    r"\b(?:alert|eval)\s*[(`]|\b(?:prompt|confirm|settimeout|setinterval|atob|fetch)[(`]"
    r"|document\s*\.\s*(?:cookie|domain|write|location)|window\s*\.\s*(?:location|name|open)"
    r"|\.innerhtml|fromcharcode|constructor\s*\(|\btop\s*\[|\bself\s*\[|\bimport\s*\("
)
_JS_BREAKOUT = re.compile(
    r"['\"`]\s*[;,)+\-*|&]+\s*(?:alert|prompt|confirm|eval|document|window|fetch|top|self"
    r"|location|settimeout|constructor)\b"
)
_CSS = re.compile(r"expression\s*\(|-moz-binding|behavior\s*:\s*url|@import")


_IN_TAG: list[Rule] = [
    (_SRCDOC, "xss-script-url", CRITICAL),
    (_HANDLER_ATTR, "xss-event-handler", CRITICAL),
    (_SCRIPT_URL_ATTR, "xss-script-url", CRITICAL),
    (_CSS, "xss-css-expression", ERROR),
]
_ANYWHERE: list[Rule] = [
    (_BREAKOUT_HANDLER, "xss-attribute-breakout", CRITICAL),
    (_BREAKOUT_TAG, "xss-attribute-breakout", ERROR),
    (_SCRIPT_URL, "xss-script-url", CRITICAL),
    (_DATA_URL, "xss-data-url", CRITICAL),
    (_JS_BREAKOUT, "xss-js-breakout", CRITICAL),
]


_CSS_ESCAPE = re.compile(r"\\([0-9a-f]{1,6})\s?")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def _css_decoded(text: str) -> str:
    """CSS escapes and comments undone: ``@im\\port``, ``\\006a\\0061…``, ``expr/**/ession``."""
    text = _CSS_ESCAPE.sub(
        lambda m: chr(int(m.group(1), 16)) if int(m.group(1), 16) < 0x110000 else "", text
    )
    return _CSS_COMMENT.sub("", text).replace("\\", "")


def detect(lowered: str) -> list[Hit]:
    """XSS hits in one lower-cased, decoded value."""
    if ("\\" in lowered or "/*" in lowered) and ("<" in lowered or "style" in lowered):
        css = _css_decoded(lowered)
        if css != lowered:
            return _detect(lowered) + _detect(css)
    return _detect(lowered)


def _detect(lowered: str) -> list[Hit]:
    hits: list[Hit] = []
    markup = False
    for m in _TAG.finditer(lowered):
        name, attrs = m.group(1), m.group(2)
        markup = True
        if name == "script":
            hits.append(Hit("xss-script-tag", "xss", CRITICAL))
        elif name in _DANGEROUS_TAGS:
            hits.append(Hit("xss-dangerous-tag", "xss", CRITICAL))
        hits.extend(scan(attrs, "xss", _IN_TAG))
        if name in _FRAME_TAGS:
            hits.append(Hit("xss-frame-tag", "xss", ERROR))
        elif name in _SUSPECT_TAGS:
            hits.append(Hit("xss-suspect-tag", "xss", WARNING))
        if "<" in attrs:  # <iframe src=… <  : a tag left open to confuse filters
            hits.append(Hit("xss-malformed-tag", "xss", WARNING))
        elif name not in _DANGEROUS_TAGS and name != "script":
            hits.append(Hit("xss-html-tag", "xss", NOTICE))
    hits.extend(scan(lowered, "xss", _ANYWHERE))
    if markup and _CSS.search(lowered):
        hits.append(Hit("xss-css-expression", "xss", ERROR))
    if _JS_CALL.search(lowered):
        hits.append(Hit("xss-js-call", "xss", ERROR if markup else WARNING))
    if "<![cdata[" in lowered or ("<!--" in lowered and "-->" in lowered):
        hits.append(Hit("xss-markup-comment", "xss", NOTICE))
    if not markup and _CSS.search(lowered) and "(" in lowered:
        hits.append(Hit("xss-css-expression", "xss", WARNING))
    elif not markup and _HANDLER_ATTR.search(lowered):
        hits.append(Hit("xss-event-handler", "xss", WARNING))
    return hits
