"""Import-graph figures for the layout (issue 11): cross-package links, cycles between packages."""

from __future__ import annotations

import itertools

import grimp


def main() -> None:
    g = grimp.build_graph("hokan")
    pk = sorted({m.split(".")[1] for m in g.modules if m.count(".") >= 1})
    edges = {
        (a, b)
        for a, b in itertools.permutations(pk, 2)
        if g.direct_import_exists(importer=f"hokan.{a}", imported=f"hokan.{b}", as_packages=True)
    }
    print("cross-package links:", len(edges))
    # strongly connected components (Tarjan) of the package graph
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    sccs: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for a, b in edges:
            if a != v:
                continue
            if b not in index:
                visit(b)
                low[v] = min(low[v], low[b])
            elif b in on:
                low[v] = min(low[v], index[b])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            sccs.append(comp)

    for v in pk:
        if v not in index:
            visit(v)
    cyc = [sorted(c) for c in sccs if len(c) > 1]
    print("package cycles (strongly connected groups):", len(cyc))
    for c in cyc:
        print("  ", " ".join(c))


if __name__ == "__main__":
    main()
