"""Every notice is addressed by the one routing table (issue 12, item 9).

Only ``hokan/tenants/notices.py`` puts mail in the outbox; everything else calls
``notify`` with a kind the table names, so no notice picks its own recipients.
"""

from __future__ import annotations

import ast
from pathlib import Path

import hokan
from hokan.tenants.notices import NOTICE_ROUTES

SRC = Path(hokan.__file__).parent
ROUTER = SRC / "tenants" / "notices.py"


def _calls(name: str) -> list[tuple[Path, ast.Call]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called == name:
                    found.append((path, node))
    return found


def test_only_the_router_enqueues_mail() -> None:
    callers = {path.relative_to(SRC).as_posix() for path, _ in _calls("enqueue")}
    assert callers == {"tenants/notices.py"}


def test_every_notice_kind_is_in_the_table() -> None:
    sent = _calls("notify")
    assert len(sent) >= 5  # lockout, malware, usage report, certificate, IPS ban
    kinds = []
    for path, call in sent:
        kind = call.args[1] if len(call.args) > 1 else None
        assert isinstance(kind, ast.Constant), f"{path}: notify takes a literal kind"
        kinds.append(kind.value)
    assert set(kinds) <= set(NOTICE_ROUTES), set(kinds) - set(NOTICE_ROUTES)
    assert {"auth.lock", "attachments.malware", "certificate.revoked"} <= set(kinds)
