"""static/live.js when the server's database pool is full: a subscription answered
`server.busy` is asked again (backing off, with jitter), the status line saying meanwhile that
live updates are delayed; once a connection is free again the page goes live and the line is
cleared. A server of its own with one database connection, held by the test once the socket is
served."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from fair import clock, migrations, settings
from tests import factories as f
from tests.browser.conftest import TIMEOUT_MS, log_in, seed, tr
from tests.live_server import Server, run_server


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One connection in the pool, none past it, a 0.3 s wait for it. Migrated on a worker
    thread: Playwright's loop is the running one of this thread."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('busy-db') / 'fair.db'}"
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(migrations.upgrade, url).result(timeout=120)
    tuning = {"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.3}
    with run_server(tmp_path_factory, "busy", database_url=url, **tuning) as server:
        yield server


class Held:
    """The server's only database connection, taken and given back on the server's loop."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.connection: AsyncConnection | None = None

    def _run(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.server.loop).result(timeout=10)

    def take(self) -> None:
        async def take() -> AsyncConnection:
            connection = await self.server.app.state.engine.connect()
            await connection.exec_driver_sql("SELECT 1")
            return connection

        self.connection = self._run(take())

    def release(self) -> None:
        if self.connection is not None:
            self._run(self.connection.close())
            self.connection = None


def test_a_busy_subscription_is_asked_again_and_said(busy_server: Server, browser: Any) -> None:
    settings.override(busy_server.conf)
    clock.set_now(None)

    async def make(session):  # type: ignore[no-untyped-def]
        edition = await f.edition(session, title="Forum plein")
        await f.booth(session, edition_=edition)
        candidate = await f.candidate(session, name="Léa Attente")
        return edition.slug, candidate.email

    slug, email = seed(busy_server.conf.database_url, make)
    context = browser.new_context(base_url=busy_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    held = Held(busy_server)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # Logged in, the socket of the first page authenticates (the process then knows the
        # session for 30 s: the next socket opens without a database read).
        log_in(page, email, f.PASSWORD)
        page.wait_for_selector("body[data-live=on]")

        # The hall's socket is passed through the test: its first subscription waits until the
        # server answered a ping of ours (the socket's connect and session check are over: they
        # may read the database, e.g. which editions the admission gate holds, cached 5 s),
        # then the pool is taken and the subscription, which needs a read, is told server.busy.
        ours = 10**9
        waiting: list[Any] = []
        asked: list[bool] = []  # the ping was sent (once: the retries after release pass)

        def route(ws: Any) -> None:
            server = ws.connect_to_server()

            def from_page(message: Any) -> None:
                if waiting or (not asked and '"subscribe"' in str(message)):
                    if not asked:
                        asked.append(True)
                        server.send(json.dumps(["ping", ours, {}]))
                    waiting.append(message)
                    return
                server.send(message)

            def from_server(message: Any) -> None:
                frame = json.loads(message)
                if frame[1] == ours:  # the socket is served: take the pool, then subscribe
                    held.take()
                    for kept in waiting:
                        server.send(kept)
                    waiting.clear()
                    return
                ws.send(message)

            ws.on_message(from_page)
            server.on_message(from_server)

        page.route_web_socket("**/live", route)
        page.goto(f"/e/{slug}/booths")
        page.wait_for_selector("body[data-live=busy]")
        status = page.locator("#live-status")
        busy = tr("The platform is very busy: live updates will resume in a moment.")
        assert status.inner_text() == busy
        page.wait_for_timeout(1500)  # asked again at least once meanwhile, still busy
        assert page.evaluate("document.body.getAttribute('data-live')") == "busy"

        held.release()
        page.wait_for_selector("body[data-live=on]")
        assert status.inner_text() == ""
        assert errors == []
    finally:
        held.release()
        context.close()
