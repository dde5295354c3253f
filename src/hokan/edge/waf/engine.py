"""Inspect values, add up anomaly scores, decide.

Each value is normalised (:mod:`.normalise`) and every family's rules look at
it; hits keep their rule id, family, score and the *name* of the field. The
request's anomaly score is the sum over the distinct rules that hit; it blocks
at the threshold (5 by default: one critical hit, or two lesser ones). The
paranoia level decides which scores count: level 1 ignores notices (score 2),
level 2 counts them, levels 3 and 4 add stricter rules (any markup, lone
quotes next to SQL words, many SQL special characters).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hokan.edge.waf import families, sqli, xss
from hokan.edge.waf.model import CRITICAL, ERROR, NOTICE, WARNING, Hit
from hokan.edge.waf.normalise import Views, is_plain, views
from hokan.edge.waf.prefilter import suspects

if TYPE_CHECKING:
    from hokan.edge.waf.extract import Field

Detector = Callable[[str], list[Hit]]
# (family, detector, which view it reads: "lowered" or "decoded" (case kept))
_DETECTORS: list[tuple[str, Detector, str]] = [
    ("sqli", sqli.detect, "lowered"),
    ("xss", xss.detect, "lowered"),
    ("lfi", families.lfi, "lowered"),
    ("rfi", families.rfi, "lowered"),
    ("cmdi", families.cmdi, "decoded"),
    ("php", families.php, "lowered"),
    ("java", families.java, "lowered"),
    ("ssti", families.ssti, "lowered"),
    ("xml", families.xml, "lowered"),
]
ALL_FAMILIES = frozenset(f for f, _, _ in _DETECTORS)


_WORD = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Gate:
    """What a family's rules need at the least: some characters, or one of some words."""

    chars: re.Pattern[str]
    words: frozenset[str]

    def opens(self, text: str, words: frozenset[str]) -> bool:
        return self.chars.search(text) is not None or not self.words.isdisjoint(words)


def _gate(chars: str, words: str = "") -> Gate:
    return Gate(re.compile(chars), frozenset(words.split()))


def words_of(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text))


# One cheap look per family instead of all its rules (business text opens few gates).
_GATES = {
    "sqli": _gate(
        r"['\"`;#=<>]|@@|--|/\*|\|\||&&|\b(?:dbms|utl|pg|xp|sp)_|\$[a-z]"
        r"|\b(?:and|or|xor)\s+(?:\d+|true|false|null)\s+(?:like|rlike|regexp|between|is|in)\b",
        "union select insert update delete drop create alter truncate grant revoke exec "
        "execute declare shutdown waitfor having order group procedure into limit sleep "
        "benchmark load_file extractvalue updatexml openrowset information_schema sysobjects "
        "sqlite_master randomblob group_concat",
    ),
    "xss": _gate(
        r"[<=`]|[ta]\s*:",
        "alert eval prompt confirm document window innerhtml fromcharcode constructor top "
        "self import expression binding behavior settimeout setinterval atob fetch location",
    ),
    "lfi": _gate(r"[/\\]|\.\.|\.ini|\.ht|web-inf|passwd"),
    "rfi": _gate(r"//|\\\\|jar:"),
    "cmdi": _gate(
        r"[;&|\n\r`]\s*[a-zA-Z/\\$({.%]|\$[({a-zA-Z]|>\s*[/&]|/dev/|/bin/|<!--",
        "cmd powershell python perl ruby php node",
    ),
    "php": _gate(r"[$(]|<\?|:\{|\":", "phpinfo"),
    "java": _gate(
        r"[$#%]|@(?:type|class|ognl|java)|ro0ab|aced0005|\xac\xed|org\.|com\.sun|bsh\."
        r"|groovy\.|spring\.",
        "java javax ysoserial classloader exec forname getclass getruntime processbuilder",
    ),
    "ssti": _gate(r"[{]|<%|\[\[|__|<#|#set|#foreach|\$class|\?new|@\("),
    "xml": _gate(r"<!|<xi:|xinclude|<xsl:|xmlns"),
}
# A link to a named host with an ordinary path and nothing after it (most URLs in
# business records) holds nothing for any rule: no query, no %, no "..", no script file.
_PLAIN_URL = re.compile(
    r"https?://(?![^/]*metadata\.)(?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*(?::\d{1,5})?"
    r"(?:/(?![^?#]*\.\.)[\w\-./~]*(?<!\.php)(?<!\.txt)(?<!\.inc)(?<!\.sh)(?<!\.pl))?",
    re.IGNORECASE,
)
_CACHE_MAX = 2048
_CACHEABLE = 512  # header values, paths and short fields repeat from request to request
LOG4SHELL_ONLY = frozenset({"log4shell"})

# A line break followed by a response header: header injection / response splitting.
_CRLF = re.compile(
    r"[\r\n]\s*(?:set-cookie|content-length|content-type|transfer-encoding|x-xss-protection"
    r"|location\s*:\s*https?:|http/1\.[01]\s+\d{3})"
)
_SQL_SPECIALS = re.compile(r"[~!@#$%^&*()\-+={}\[\]|:;\"'´’‘`<>]")
_LONE_QUOTE = re.compile(r"['\"`]\s*(?:or|and|union|select|having|--|#|;)\b")


@dataclass
class Verdict:
    hits: list[Hit] = field(default_factory=list)
    threshold: int = 5

    @property
    def score(self) -> int:
        """Each rule counts once, however many fields it matched in."""
        best: dict[str, int] = {}
        for h in self.hits:
            best[h.rule] = max(best.get(h.rule, 0), h.score)
        return sum(best.values())

    @property
    def blocked(self) -> bool:
        return self.score >= self.threshold

    @property
    def rules(self) -> list[str]:
        return sorted({h.rule for h in self.hits})


class Inspector:
    """The rules at one paranoia level, with a small cache of recent results; one per process."""

    def __init__(self, paranoia: int = 1) -> None:
        self.paranoia = paranoia
        self.min_score = NOTICE if paranoia >= 2 else WARNING
        self._cache: dict[tuple[str, bool, frozenset[str]], dict[str, int]] = {}

    def inspect(
        self,
        field_name: str,
        value: str,
        *,
        url_encoded: bool = False,
        only: frozenset[str] = ALL_FAMILIES,
        cache: bool = False,
    ) -> list[Hit]:
        """Hits for one value (an empty list for the common, plain case).

        ``cache`` keeps the result for values that repeat from request to request
        (headers, paths, query strings); body values rarely do, and a churning cache
        costs more than it saves.
        """
        if not value or is_plain(value):
            return []
        return self._inspect_suspect(field_name, value, url_encoded, only, cache)

    def _inspect_suspect(
        self, field_name: str, value: str, url_encoded: bool, only: frozenset[str], cache: bool
    ) -> list[Hit]:
        """:meth:`inspect` of a value known not to be plain."""
        if _PLAIN_URL.fullmatch(value):
            return []
        cache = cache and len(value) <= _CACHEABLE
        key = (value, url_encoded, only)
        found = self._cache.get(key) if cache else None
        if found is None:
            found = self._judge(value, url_encoded, only)
            if cache:
                if len(self._cache) >= _CACHE_MAX:
                    self._cache.clear()
                self._cache[key] = found
        return [
            Hit(rule, _family(rule), score, field_name)
            for rule, score in found.items()
            if score >= self.min_score
        ]

    def inspect_many(self, fields: Sequence[Field], *, cache: bool = False) -> list[Hit]:
        """Hits for many values at once, the plain ones sorted out in one pass."""
        hits: list[Hit] = []
        for i in suspects([f.value for f in fields]):
            f = fields[i]
            hits.extend(self._inspect_suspect(f.name, f.value, f.url_encoded, f.only, cache))
        return hits

    def inspect_strings(self, names: Sequence[str], values: list[str]) -> list[Hit]:
        """:meth:`inspect_many` for a body's strings given as two lists (no object per value)."""
        hits: list[Hit] = []
        for i in suspects(values):
            hits.extend(self._inspect_suspect(names[i], values[i], False, ALL_FAMILIES, False))
        return hits

    def _judge(self, value: str, url_encoded: bool, only: frozenset[str]) -> dict[str, int]:
        v = views(value, url_encoded=url_encoded)
        found: dict[str, int] = {}
        for hit in self._protocol(v):
            found[hit.rule] = hit.score
        texts = {v.lowered}
        # Decoding can also hide a payload ('%' in LIKE '%'): look at the text as received too,
        # unless it was %-encoded in transport (noise then) or only NFKC-folded (nothing hidden).
        if not url_encoded and ("%" in value or "&" in value or "\\" in value):
            raw_lowered = value.lower()
            if raw_lowered != v.lowered:
                texts.add(raw_lowered)
        if only is LOG4SHELL_ONLY:
            for text in texts:
                for hit in families.log4shell(text):
                    found[hit.rule] = max(found.get(hit.rule, 0), hit.score)
        else:
            words = words_of(" ".join(texts))
            for family, detector, view in _DETECTORS:
                if family not in only:
                    continue
                gate = _GATES[family]
                for text in texts if view == "lowered" else {v.decoded}:
                    if not gate.opens(text if view == "lowered" else v.lowered, words):
                        continue
                    for hit in detector(text):
                        found[hit.rule] = max(found.get(hit.rule, 0), hit.score)
            if self.paranoia >= 3:
                self._strict(v, found)
        return found

    def _protocol(self, v: Views) -> Iterable[Hit]:
        if v.null_byte:
            yield Hit("protocol-null-byte", "protocol", CRITICAL)
        if v.bad_percent:
            yield Hit("protocol-bad-percent-encoding", "protocol", CRITICAL)
        if v.bad_utf8:
            yield Hit("protocol-bad-utf8", "protocol", CRITICAL)
        if ("\n" in v.decoded or "\r" in v.decoded) and _CRLF.search(v.lowered):
            yield Hit("protocol-crlf-injection", "protocol", CRITICAL)

    def _strict(self, v: Views, found: dict[str, int]) -> None:
        if "<" in v.lowered and re.search(r"<[a-z/!?]", v.lowered):
            found["xss-html-tag"] = max(found.get("xss-html-tag", 0), CRITICAL)
        if _LONE_QUOTE.search(v.lowered):
            found["sqli-lone-quote"] = ERROR if self.paranoia == 3 else CRITICAL
        if self.paranoia >= 4 and len(_SQL_SPECIALS.findall(v.lowered)) >= 6:
            found["sqli-special-characters"] = WARNING


def _family(rule: str) -> str:
    return rule.split("-", 1)[0]


def verdict(hits: Iterable[Hit], threshold: int) -> Verdict:
    """One hit per (rule, field): the same rule in the same field counts once."""
    best: dict[tuple[str, str], Hit] = {}
    for hit in hits:
        key = (hit.rule, hit.field)
        if key not in best or best[key].score < hit.score:
            best[key] = hit
    return Verdict(list(best.values()), threshold)


__all__ = ["ALL_FAMILIES", "CRITICAL", "ERROR", "LOG4SHELL_ONLY", "Inspector", "Verdict", "verdict"]
