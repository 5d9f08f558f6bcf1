"""The import order inside each domain package (written in its __init__'s docstring): each
module imports only those before it, and no module anywhere reaches another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = {
    "exports": ["kinds", "reading", "funnels", "pipeline", "event_row", "formats", "audit"],
    "interviews": [
        "reads",
        "rules",
        "limits",
        "slots",
        "telling",
        "figures",
        "lifecycle",
        "reminders",
        "waitlist",
        "booking",
        "feeds",
        "rooms",
    ],
    "search": [
        "cache",
        "shapes",
        "stemming",
        "order",
        "match",
        "query",
        "places",
        "filters",
        "ranking",
        "hits",
        "best",
        "pages",
        "params",
        "facets",
        "terms",
    ],
    "webconferences": [
        "mail",
        "talks",
        "registrations",
        "rules",
        "scheduling",
        "listing",
        "audience",
        "recordings",
        "figures",
        "feeds",
    ],
}


def imported(path: Path) -> set[tuple[str, str]]:
    """(module below fair, name) for each name imported from fair in `path`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fair"):
            module = node.module.removeprefix("fair").removeprefix(".")
            found |= {(module, alias.name) for alias in node.names}
    return found


def within(package: str, path: Path) -> set[str]:
    """The modules of `package` that `path` imports."""
    found = set()
    for module, name in imported(path):
        if module == package:
            found.add(name)
        elif module.startswith(f"{package}."):
            found.add(module.removeprefix(f"{package}."))
    return found


@pytest.mark.parametrize("package", sorted(ORDER))
def test_every_module_is_in_the_written_order(package):
    modules = {p.stem for p in (ROOT / "fair" / package).glob("*.py")} - {"__init__"}
    assert modules == set(ORDER[package])


@pytest.mark.parametrize("package", sorted(ORDER))
def test_modules_import_only_those_before_them(package):
    order = ORDER[package]
    problems = [
        f"{name} imports {other}"
        for position, name in enumerate(order)
        for other in within(package, ROOT / "fair" / package / f"{name}.py")
        if other not in order[:position]
    ]
    assert problems == []


def test_no_private_name_is_imported_from_another_module():
    """Callers use public names, in fair/, tests/ and bench/ alike."""
    paths = [*ROOT.glob("fair/**/*.py"), *ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/*.py")]
    problems = [
        f"{path.relative_to(ROOT)} imports {module}.{name}"
        for path in paths
        if "node_modules" not in path.parts
        for module, name in imported(path)
        if name.startswith("_") or any(part.startswith("_") for part in module.split("."))
    ]
    assert problems == []
