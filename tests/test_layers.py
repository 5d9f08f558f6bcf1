"""The import order of fair/__init__.py: each layer imports only from the layers above it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fair"
LEAVES = {"settings", "enums", "errors", "clock", "i18n"}
STORAGE = {"db", "models", "migrations"}
BOUNDARIES = {"web", "live", "media", "cli", "app", "worker", "__main__"}


def layer(module: str) -> int:
    top = module.split(".")[0]
    if top in LEAVES:
        return 1
    if top in STORAGE:
        return 2
    if top in BOUNDARIES:
        return 4
    return 3  # domain


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fair"):
            if node.module == "fair":
                found |= {alias.name for alias in node.names}
            else:
                found.add(node.module.removeprefix("fair."))
        elif isinstance(node, ast.Import):
            found |= {
                a.name.removeprefix("fair.") for a in node.names if a.name.startswith("fair.")
            }
    return found


def test_layers_import_only_upwards():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        if module.startswith("migrations.versions") or module == "__init__":
            continue
        mine = layer(module)
        for imported in imports(path):
            theirs = layer(imported)
            allowed = (
                theirs < mine
                or (theirs == mine and mine in (3, 4))
                or module.startswith("migrations")
            )
            if not allowed:
                problems.append(f"{module} (layer {mine}) imports {imported} (layer {theirs})")
    assert problems == []


def test_boundaries_never_assign_statuses():
    for path in (PACKAGE / "web").rglob("*.py"):
        assert ".status = " not in path.read_text(), path
