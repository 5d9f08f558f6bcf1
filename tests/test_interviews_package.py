"""The import order inside fair/interviews/ (written in its __init__'s docstring): each module
imports only those before it, and none reaches another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fair" / "interviews"
ORDER = [
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
]


def imported(path: Path) -> set[tuple[str, str]]:
    """(module of the package, name) for each name imported from within the package."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or node.module is None:
            continue
        if node.module == "fair.interviews":
            found |= {(alias.name, "") for alias in node.names}
        elif node.module.startswith("fair.interviews."):
            module = node.module.removeprefix("fair.interviews.")
            found |= {(module, alias.name) for alias in node.names}
    return found


def test_every_module_is_in_the_written_order():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules == set(ORDER)


def test_modules_import_only_those_before_them_and_no_private_name():
    problems = []
    for position, name in enumerate(ORDER):
        for module, imported_name in imported(PACKAGE / f"{name}.py"):
            if module not in ORDER[:position]:
                problems.append(f"{name} imports {module}")
            if imported_name.startswith("_"):
                problems.append(f"{name} imports {module}.{imported_name}")
    assert problems == []


def test_no_private_name_is_imported_from_the_package_elsewhere():
    """Callers outside the package use its public names (fair/, tests/, bench/)."""
    root = PACKAGE.parent.parent
    problems = []
    for path in [*root.glob("fair/**/*.py"), *root.glob("tests/*.py"), *root.glob("bench/*.py")]:
        for module, name in imported(path):
            if name.startswith("_") or module.startswith("_"):
                problems.append(f"{path.relative_to(root)} imports {module}.{name}")
    assert problems == []
