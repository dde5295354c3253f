"""What a rule reports: a hit with its rule id, family and anomaly score."""

from __future__ import annotations

from dataclasses import dataclass

CRITICAL, ERROR, WARNING, NOTICE = 5, 4, 3, 2  # anomaly scores, as in the OWASP CRS


@dataclass(frozen=True, slots=True)
class Hit:
    rule: str  # stable id, e.g. "sqli-union"; clients and exclusions name it
    family: str  # "sqli", "xss", "lfi", "rfi", "cmdi", "php", "java", "ssti", "xml", "protocol"
    score: int
    field: str = ""  # where: "query.q", "json.notes", "header.user-agent" (never the value)
