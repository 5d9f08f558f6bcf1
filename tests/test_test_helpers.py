"""Test modules import helpers, never each other: what several test modules share lives in a
helper module with a name of its own (tests/factories.py, pages.py, live_server.py, ...), its
fixtures in tests/conftest.py or a plugin module it lists."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_test_module(name: str) -> bool:
    return name.rsplit(".", 1)[-1].startswith("test_")


def imported_test_modules(path: Path) -> list[str]:
    """The test modules `path` imports, at any depth of its code (a function's too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if _is_test_module(module):
                found.append(module)
            else:  # `from tests import test_live`: the names are modules
                prefix = module if module.endswith(".") else f"{module}."
                found += [prefix + a.name for a in node.names if _is_test_module(a.name)]
    return found


def test_no_module_of_the_tests_imports_a_test_module() -> None:
    sources = [p for p in sorted(TESTS.rglob("*.py")) if "vendor" not in p.parts]
    offenders = {
        str(path.relative_to(TESTS)): imported
        for path in sources
        if (imported := imported_test_modules(path))
    }
    assert offenders == {}
    assert len(sources) > 60  # the walk found the tests


def test_the_check_sees_every_form_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import tests.test_live\n"
        "from tests.test_live import run_server\n"
        "from tests import test_mail, factories\n"
        "from tests.browser.test_room import PCS_SCRIPT\n"
        "from .test_chat import world\n"
        "from . import test_queues\n"
        "from tests.live_server import run_server\n"
        "def later():\n"
        "    from tests.test_webconferences import talk\n"
    )
    assert imported_test_modules(sample) == [
        "tests.test_live",
        "tests.test_live",
        "tests.test_mail",
        "tests.browser.test_room",
        ".test_chat",
        ".test_queues",
        "tests.test_webconferences",
    ]
