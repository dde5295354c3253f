"""What a rule reports: a hit with its rule id, family and anomaly score."""

from __future__ import annotations

import re
from dataclasses import dataclass

CRITICAL, ERROR, WARNING, NOTICE = 5, 4, 3, 2  # anomaly scores, as in the OWASP CRS


@dataclass(frozen=True, slots=True)
class Hit:
    rule: str  # stable id, e.g. "sqli-union"; clients and exclusions name it
    family: str  # "sqli", "xss", "lfi", "rfi", "cmdi", "php", "java", "ssti", "xml", "protocol"
    score: int
    field: str = ""  # where: "query.q", "json.notes", "header.user-agent" (never the value)


Rule = tuple["re.Pattern[str]", str, int]  # (pattern, rule id, score)


def scan(text: str, family: str, rules: list[Rule]) -> list[Hit]:
    """A hit for every rule whose pattern occurs in ``text``."""
    return [Hit(rule, family, score) for pattern, rule, score in rules if pattern.search(text)]


def first(text: str, family: str, rules: list[Rule]) -> list[Hit]:
    """A hit for the first rule (strongest first) whose pattern occurs in ``text``."""
    for pattern, rule, score in rules:
        if pattern.search(text):
            return [Hit(rule, family, score)]
    return []
