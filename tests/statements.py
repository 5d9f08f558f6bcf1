"""The SQL statements a block of a test runs, counted through SQLAlchemy's cursor events.

Two ways to count:

- `selects` counts a block as it runs, with whatever this process keeps between requests: for
  the tests of those caches themselves (tests/test_editions_kept.py, test_browsing*.py).
- `cold` counts a block after forgetting everything kept between requests (`forget_kept`): for
  the guards against a query per row, which compare the statements of two requests of one page
  (a few rows, then more). Whether a request found something kept differs between two requests
  by design (a kept edition: one statement; read: three), which is not what they measure: six
  such tests broke on the kept editions (736354d) and were mended one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from fair import admission_gate, db, match_referential
from fair.search import cache as search_cache
from fair.web import kept


def forget_kept(app: Any) -> None:
    """Forget what this process, and `app`'s state, keep between requests: the searches'
    answers and the editions kept under their offers version (fair.search.cache), the gated
    editions, their pressure, the exemptions and the editions of things (fair.admission_gate,
    fair.edition_keys), the match referential (fair.match_referential), the rendered pages
    (fair.page_cache), the versions and viewers of the pages kept for candidates
    (fair.web.kept), the live hub's sessions and public channels (fair.live.hub).
    tests/test_test_helpers.py checks that no cache a request fills is left out."""
    search_cache.forget()
    admission_gate.forget()
    match_referential.forget()
    app.state.pages.pages.clear()
    kept.of(app.state).forget()
    hub = getattr(app.state, "sessions", None)  # the live hub (fair/app.py), once started
    if hub is not None:
        hub.sessions.clear()
        hub.public.clear()


@contextmanager
def selects(app: Any) -> Iterator[list[str]]:
    """The SELECT statements run meanwhile on the app's engine."""
    with _recorded(app, every=False) as seen:
        yield seen


@contextmanager
def cold(app: Any, *, every: bool = False) -> Iterator[list[str]]:
    """The SELECT statements (`every`: all statements, BEGIN and writes too) run meanwhile on
    the app's engine, everything kept between requests forgotten first (`forget_kept`): one
    block per request measured."""
    forget_kept(app)
    with _recorded(app, every=every) as seen:
        yield seen


@contextmanager
def _recorded(app: Any, *, every: bool) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if every or statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    with listening(app.state.engine, "before_cursor_execute", record):
        yield seen


@contextmanager
def listening(
    engine: Any, name: str, listener: Callable[..., None], *, background: bool = False
) -> Iterator[None]:
    """`listener` on `engine`'s (async or sync) cursor event `name` meanwhile, told only of the
    statements of requests and of the test itself: not of those of a task that runs beside
    them with a session of its own (fair.db `background`: the ROME index's check, started
    by whichever search comes CHECK_SECONDS of the wall clock after the last, whatever the
    test), unless `background`. Every test that watches statements goes through here
    (tests/test_test_helpers.py checks it)."""
    engine = getattr(engine, "sync_engine", engine)

    def heard(conn: Any, *args: Any) -> None:
        if background or db.background_task(conn) is None:
            listener(conn, *args)

    event.listen(engine, name, heard)
    try:
        yield
    finally:
        event.remove(engine, name, heard)


@contextmanager
def executed(app: Any) -> Iterator[list[str]]:
    """Every statement run meanwhile on the app's engine, as SQLAlchemy sends it (what is
    kept between requests left as it is)."""
    with _recorded(app, every=True) as seen:
        yield seen
