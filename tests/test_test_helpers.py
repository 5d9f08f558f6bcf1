"""Test modules import helpers, never each other: what several test modules share lives in a
helper module with a name of its own (tests/factories.py, pages.py, live_server.py, ...), its
fixtures in tests/conftest.py or a plugin module it lists. And the helpers that must keep up
with the code: tests/statements.py forgets every cache fair keeps."""

from __future__ import annotations

import ast
import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fair import admission, admission_gate, clock, db, participants
from fair.ttl_cache import TTLCache
from tests import factories as f
from tests.pages import person
from tests.statements import forget_kept

TESTS = Path(__file__).resolve().parent


def offenders(
    pattern: str, find: Callable[[Path], list[Any]], *, but: Path | None = None
) -> dict[str, list[Any]]:
    """What `find` reports in each module of the tests named like `pattern` (vendored code and
    `but` left out), by path; the walk must have found the tests."""
    sources = [p for p in sorted(TESTS.rglob(pattern)) if "vendor" not in p.parts and p != but]
    assert len(sources) > 60
    return {str(p.relative_to(TESTS)): found for p in sources if (found := find(p))}


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
    assert offenders("*.py", imported_test_modules) == {}


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


def _filled_caches() -> set[int]:
    """The ids of the TTLCaches (fair.ttl_cache: what fair keeps briefly) holding something."""
    # The app froze what start-up loaded (fair.app: gc.freeze), the module-level caches with
    # it: get_objects lists no frozen object.
    gc.unfreeze()
    gc.collect()  # the caches of earlier tests' apps, gone
    return {id(o) for o in gc.get_objects() if isinstance(o, TTLCache) and len(o)}


async def test_counting_from_cold_forgets_every_cache_the_requests_filled(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    """tests/statements.py `cold`: after `forget_kept`, no cache a request filled holds
    anything (a cache added to fair and left out of `forget_kept` fails here). The requests of
    anonymous visitors and of a candidate while a gate is engaged, searches, a held status."""
    clock.set_now(f.NOON)
    admission_gate.LOCAL.editions.clear()
    admission_gate.forget()
    edition = await f.edition(session, admission_active_cap=1)
    booth, _recruiter = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth, title="Soudeur ou soudeuse")
    candidate = await f.candidate(session)
    await participants.register(session, edition_id=edition.id, user=candidate)
    await db.commit(session)
    caps = admission.Caps(active=1, per_minute=0, idle=3600.0, max_waiting=10)
    await admission_gate.LOCAL.arrive(  # its one place taken: the gate engaged
        edition.id, -1, now=f.NOON.timestamp(), opens=0.0, caps=caps, draw=0.0
    )
    before = _filled_caches()
    slug = edition.slug
    pages = [f"/e/{slug}", f"/e/{slug}/booths", f"/e/{slug}/offers?q=soudeur"]
    pages.append(f"/e/{slug}/offers?q=soudre")  # a typo: the spelling probe
    anonymous, mine = make_client(), await person(make_client, candidate)
    for client in (anonymous, mine):
        for path in pages:
            assert (await client.get(path)).status_code == 200, path
    assert (await mine.get(f"/e/{slug}/my-fair")).status_code == 303  # held
    status = await mine.get(f"/e/{slug}/waiting/status", headers={"accept": "application/json"})
    assert status.json()["position"] == 1
    assert len(_filled_caches() - before) >= 5  # pages, search answers, editions, sessions, …
    forget_kept(app)
    assert _filled_caches() - before == set()


def cursor_listeners(path: Path) -> list[int]:
    """The lines where `path` listens to an engine's statements itself (`event.listen`,
    `listens_for` on a "..._cursor_execute" event), not through tests/statements.py."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        events = [a.value for a in node.args if isinstance(a, ast.Constant)]
        if name in ("listen", "listens_for") and any(
            isinstance(e, str) and e.endswith("_cursor_execute") for e in events
        ):
            found.append(node.lineno)
    return found


def test_tests_watch_statements_through_one_helper_that_leaves_background_tasks_out() -> None:
    """A background task (fair.db `background`: the ROME index's check, started by whichever
    search comes 30 s after the last) runs statements during any test: a test that counts
    those of its requests listens through tests/statements.py `listening`, which leaves them
    out (test_rome_suggest: a check during a counted request)."""
    assert offenders("*.py", cursor_listeners, but=TESTS / "statements.py") == {}


def test_the_check_sees_every_form_of_listening(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "event.listen(engine, 'before_cursor_execute', seen)\n"
        "listen(engine, 'after_cursor_execute', seen)\n"
        "@event.listens_for(engine, 'before_cursor_execute')\n"
        "def seen(*args): pass\n"
        "event.listen(engine, 'checkout', taken)\n"
        "with listening(engine, 'before_cursor_execute', seen): pass\n"
    )
    assert cursor_listeners(sample) == [1, 2, 3]


def early_returns_on_the_database(path: Path) -> list[str]:
    """The tests of `path` that return or skip when the database is not the one they mean
    (`if ... dialect/sqlite/postgresql/backend ...: return`): on the other one they pass
    unchecked, where the markers `sqlite_only` and `postgresql_only` (tests/conftest.py)
    generate no case at all."""
    source = path.read_text(encoding="utf-8")
    found = []
    for test in ast.walk(ast.parse(source, filename=str(path))):
        if not isinstance(test, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not test.name.startswith("test_"):
            continue
        for node in ast.walk(test):
            if not isinstance(node, ast.If):
                continue
            condition = (ast.get_source_segment(source, node.test) or "").lower()
            ends = any(
                isinstance(n, ast.Return) or "skip(" in (ast.get_source_segment(source, n) or "")
                for n in node.body
            )
            if ends and any(word in condition for word in DATABASE_WORDS):
                found.append(f"{test.name}:{node.lineno}")
    return found


DATABASE_WORDS = ("dialect", "sqlite", "postgres", "backend")


def test_no_test_returns_early_on_the_other_database() -> None:
    assert offenders("test_*.py", early_returns_on_the_database) == {}


def test_the_check_sees_an_early_return_on_the_database(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "async def test_one(session):\n"
        "    if session.get_bind().dialect.name != 'sqlite':\n"
        "        return\n"
        "def test_two(templates_dir):\n"
        "    if 'sqlite' not in templates_dir:\n"
        "        pytest.skip('no SQLite')\n"
        "def test_three(sqlite):\n"
        "    if sqlite:\n"
        "        x = 1\n"
        "def helper(engine):\n"
        "    if engine.dialect.name == 'sqlite':\n"
        "        return\n"
    )
    assert early_returns_on_the_database(sample) == ["test_one:2", "test_two:5"]
