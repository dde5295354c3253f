"""Tenant scoping lives in one place per domain: its ``repository.py`` (TEN-2, issue 11).

A tenant filter is a comparison on a ``tenant_id`` column (``X.tenant_id == …``),
``filter_by(tenant_id=…)`` or a call of ``tenant_scoped(…)``. Anywhere but a
repository module (and ``kit/db.py``, which defines the helper) it is a lint failure:
a query that filters by tenant outside the repository is one the next reader
cannot find when asking "where is this tenant's data reached?".
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "hokan"
ALLOWED = {SRC / "kit" / "db.py"}


def _is_tenant_column(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "tenant_id"
        and (isinstance(node.value, ast.Name) and node.value.id[:1].isupper())
    )


def tenant_filters(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.Is) for op in node.ops
        ):
            if _is_tenant_column(node.left) or any(_is_tenant_column(c) for c in node.comparators):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call):
            name = (
                node.func.attr
                if isinstance(node.func, ast.Attribute)
                else getattr(node.func, "id", "")
            )
            if name == "tenant_scoped" or (
                name == "filter_by" and any(k.arg == "tenant_id" for k in node.keywords)
            ):
                lines.append(node.lineno)
    return sorted(lines)


def test_the_lint_finds_what_it_looks_for() -> None:
    sample = ast.parse(
        "select(User).where(User.tenant_id == t)\n"
        "q.filter_by(tenant_id=t)\n"
        "tenant_scoped(stmt, User, t)\n"
        "User(tenant_id=t)\n"  # constructing a row is not a filter
        "audit.record(s, p, 'a', 'b', tenant_id=t)\n"
    )
    assert tenant_filters(sample) == [1, 2, 3]


def test_tenant_filters_only_in_repositories() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "repository.py" or path in ALLOWED or "migrations" in path.parts:
            continue
        for line in tenant_filters(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"{path.relative_to(SRC)}:{line}")
    assert offenders == [], "tenant filters outside repository.py:\n" + "\n".join(offenders)
