"""Import graphs read from source with ast, for the house rules (tests/test_house_rules.py):
the dotted names a file imports, relative imports resolved, and the circles in a graph."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path


def imported_modules(path: Path, root: Path) -> set[str]:
    """Every dotted name `path` imports, relative imports resolved (`from . import x` gives
    the package and package.x: either may be the module)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    package = parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return found


def cycles(graph: Mapping[str, set[str]]) -> list[str]:
    """Every circle in an import graph, once each, starting at its first node by name."""
    found: set[tuple[str, ...]] = set()

    def visit(node: str, trail: list[str]) -> None:
        for there in sorted(graph.get(node, set())):
            if there in trail:
                loop = trail[trail.index(there) :]
                start = loop.index(min(loop))
                found.add(tuple(loop[start:] + loop[:start]))
            elif there in graph:
                visit(there, [*trail, there])

    for node in sorted(graph):
        visit(node, [node])
    return [" -> ".join([*loop, loop[0]]) for loop in sorted(found)]
