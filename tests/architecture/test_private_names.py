"""Private stays private: no ``_name`` is reached across packages (issue 11).

A helper whose name starts with an underscore is its package's own business. The
vault once authenticated its callers through identity's private ``_authenticate``
and so skipped the edge's admission; the public way (``hokan.httpkit.auth``) is
the only one a package may use. This lint fails on ``from hokan.a.b import _x``
and on ``module._x`` where ``module`` was imported from another package.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "hokan"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "hokan" else ""


def crossings(tree: ast.AST, own: str) -> list[str]:
    """``package.name`` of every private name this module reaches in another package."""
    found: list[str] = []
    modules: dict[str, str] = {}  # local alias -> module it names
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            pkg = _package(node.module)
            for alias in node.names:
                if pkg and pkg != own and _private(alias.name):
                    found.append(f"{node.module}.{alias.name}")
                modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                modules[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and _private(node.attr)
        ):
            module = modules[node.value.id]
            pkg = _package(module)
            if pkg and pkg != own:
                found.append(f"{module}.{node.attr}")
    return found


def test_the_lint_finds_what_it_looks_for() -> None:
    sample = ast.parse(
        "from hokan.identity.dependencies import BearerDoc, _authenticate\n"
        "from hokan.identity import sessions\n"
        "from hokan.vault import stores\n"
        "sessions._decide(1)\n"
        "stores._fetch()\n"
        "sessions.__name__\n"
    )
    assert crossings(sample, "vault") == [
        "hokan.identity.dependencies._authenticate",
        "hokan.identity.sessions._decide",
    ]


def test_no_private_name_is_used_across_packages() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        own = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for name in crossings(ast.parse(path.read_text(encoding="utf-8")), own):
            offenders.append(f"{rel}: {name}")
    assert offenders == [], "private names used across packages:\n" + "\n".join(offenders)
