"""Figures for closing notes: longest functions, functions taking 7+ positional parameters,
unit-of-work call sites in route modules."""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def main(root: str = "src/hokan") -> None:
    funcs: list[tuple[int, str]] = []
    positional: list[str] = []
    for path in sorted(Path(root).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                funcs.append((length, f"{path.relative_to(root)}:{node.name}"))
                args = [
                    a
                    for a in node.args.posonlyargs + node.args.args
                    if a.arg not in ("self", "cls")
                ]
                if len(args) >= 7:
                    positional.append(f"{path.relative_to(root)}:{node.name} ({len(args)})")
    funcs.sort(reverse=True)
    print("longest functions:", ", ".join(f"{n} {name}" for n, name in funcs[:8]))
    print(f"functions with 7+ positional parameters: {len(positional)}")
    for p in positional:
        print("  ", p)


if __name__ == "__main__":
    main(*sys.argv[1:])
