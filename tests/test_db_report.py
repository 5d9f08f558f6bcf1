"""The database briefly unavailable is one warning line, never a stack trace, wherever it is met
(fair.db.report, issue 17 items 2 and 3): a socket's command, heartbeat and close, the hub's
re-check of sessions, the pages, the worker's rounds and the mail and webhook senders. For real:
a pool of one connection held by the test, a PostgreSQL connection ended by the server (what a
fast shutdown does to every open one), SQLite's write lock held by another connection. The
lines are read as the JSON lines handler of fair.logs writes them, with their request ids."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import math
import re
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from fair import channels, db, logs, mail, settings, unit_of_work, user_sessions, webhook_delivery
from fair import worker as workers
from fair.app import create_app
from fair.app_state import AppState, Resources
from fair.broadcast import Broadcaster
from fair.enums import Role
from fair.events import Event
from fair.live import socket as live_socket
from fair.models import User
from fair.web import auth
from tests import factories as f
from tests.conftest import PG_ADMIN, csrf, login
from tests.live_server import Server, run_server
from tests.sockets import logged_in_socket_closed, socket_of

DOWN_FR = (
    "Le service est brièvement indisponible. Rien n’a été enregistré : réessayez dans quelques "
    "secondes."
)
BUSY_FR = "La plateforme est très sollicitée en ce moment"
SOCKET_ID = re.compile(r"[0-9a-f]{32}")


@contextlib.contextmanager
def json_lines() -> Iterator[io.StringIO]:
    """fair's log lines from WARNING on, as the JSON lines handler of fair.logs writes them
    (whatever thread logs them: the server's too)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
    handler.addFilter(logs.RequestId())
    handler.setLevel(logging.WARNING)
    logging.getLogger("fair").addHandler(handler)
    try:
        yield stream
    finally:
        logging.getLogger("fair").removeHandler(handler)


def read(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def starting(lines: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["message"].startswith(prefix)]


def said(stream: io.StringIO, *prefixes: str) -> Callable[[], bool]:
    return lambda: all(starting(read(stream), prefix) for prefix in prefixes)


async def until(condition: Callable[[], bool], seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (the server's thread logs: nothing to await)
            await asyncio.sleep(0.02)


def assert_no_traceback(lines: list[dict[str, Any]]) -> None:
    """Every line a warning of one line: no ERROR, no traceback."""
    assert [(line["level"], "exception" in line) for line in lines] == [("WARNING", False)] * len(
        lines
    ), lines
    assert not [line for line in lines if "\n" in line["message"]]


async def on_server(server: Server, work: Any) -> Any:
    """Run a coroutine in the server's loop (its engine and broadcaster live there)."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, server.loop))


@contextlib.asynccontextmanager
async def held(server: Server) -> AsyncIterator[None]:
    """The server's only database connection, taken on its loop until the block ends."""

    async def take() -> Any:
        connection = await server.app.state.engine.connect()
        await connection.exec_driver_sql("SELECT 1")
        return connection

    connection = await on_server(server, take())
    try:
        yield
    finally:
        await on_server(server, connection.close())


async def recruiter_with_booth(url: str) -> tuple[User, int]:
    engine = db.create_engine(url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            booth, recruiter = await f.booth(session, edition_=await f.edition(session))
            await session.commit()
            return recruiter, booth.id
    finally:
        await engine.dispose()


async def test_a_full_pool_is_one_warning_line_at_every_socket_site(
    conf: settings.Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A staffing recruiter's socket, then the server's only connection held: a command is
    answered `server.busy`, a page 503 with Retry-After, and the heartbeat's touch of booth
    presence, the hub's re-check of the account's sockets and the close's unstaffing each log
    one warning line, the socket's with the socket's request id (they logged tracebacks)."""
    recruiter, booth_id = await recruiter_with_booth(conf.database_url)
    with (
        json_lines() as stream,
        run_server(
            tmp_path_factory,
            "db-report",
            database_url=conf.database_url,
            db_pool_size=1,  # one connection, none past it, 0.2 s of wait for it
            db_max_overflow=0,
            db_pool_timeout=0.2,
            live_heartbeat_seconds=0.2,
        ) as server,
    ):
        async with httpx.AsyncClient(base_url=server.url) as http:
            await login(http, recruiter.email, f.PASSWORD)
            async with socket_of(server, http) as live:
                staffed = await live.ok("booth.staff", {"booth_id": booth_id})
                async with held(server):
                    subscribe = {"channel": channels.booth(booth_id)}
                    refused = await live.call("subscribe", subscribe)
                    page = await http.get("/", headers={"x-request-id": "outage-page"})
                    revoked = {"user_id": recruiter.id}  # what user_sessions.signal publishes
                    event = Event(channels.ACCOUNTS, user_sessions.REVOKED_EVENT, revoked)
                    broadcast = server.app.state.broadcast
                    await on_server(server, unit_of_work.publish(broadcast, [event]))
                    await until(said(stream, "touching booth presence", "re-checking"), 10)
                    await live.close()
                    await until(said(stream, "unstaffing a booth"), 10)
    lines = read(stream)
    assert staffed == {"booth_id": booth_id, "staffed": True}
    assert refused == ["error", 2, {"code": "server.busy", "message": DOWN_FR}]
    assert (page.status_code, page.headers["retry-after"]) == (503, "5")
    assert BUSY_FR in page.text
    assert_no_traceback(lines)
    busy = "database unavailable (server.busy): TimeoutError('QueuePool limit of size 1"
    [command] = starting(lines, f"live command: {busy}")
    socket_id = command["request_id"]
    assert SOCKET_ID.fullmatch(socket_id)
    touches = starting(lines, f"touching booth presence: {busy}")
    assert touches and {line["request_id"] for line in touches} == {socket_id}
    rechecks = starting(lines, f"re-checking the sockets' sessions: {busy}")
    assert [line["request_id"] for line in rechecks] == ["-"]  # the hub's: every socket's
    unstaffed = starting(lines, f"unstaffing a booth: {busy}")
    assert [line["request_id"] for line in unstaffed] == [socket_id]
    pages = starting(lines, "database pool exhausted on GET /: TimeoutError('QueuePool limit")
    assert [line["request_id"] for line in pages] == ["outage-page"]
    # Nothing else: the re-check kept the socket (a busy database closes none), which the
    # client closed itself.
    assert len(lines) == 4 + len(touches)


async def test_the_worker_and_the_senders_log_one_line_over_a_full_pool(
    conf: settings.Settings,
) -> None:
    """The worker's loops on a pool of one connection, held: each round that needs the
    database logs one warning line and the loop goes on (its next round tried again)."""
    engine = db.create_engine(conf.database_url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    broadcast = Broadcaster("memory://", namespace="db-report")
    await broadcast.connect()
    state = Resources()
    state.set_up(engine, broadcast)
    wanted = [
        "outbox delivery",  # fair.mail's sender
        "webhook delivery",  # fair.webhook_delivery's
        "expiring queue calls",
        "expiring booth presence",
        "the digest round",
    ]
    if engine.dialect.name == "sqlite":  # PostgreSQL's autovacuum does it: nothing to run
        wanted.append("ANALYZE")
    busy = ": database unavailable (server.busy): TimeoutError('QueuePool limit of size 1"
    try:
        with json_lines() as stream:
            async with engine.connect() as holding:
                await holding.exec_driver_sql("SELECT 1")
                tasks = [
                    asyncio.create_task(mail.run_sender(state.write_sessions)),
                    asyncio.create_task(webhook_delivery.run_sender(state.write_sessions)),
                    asyncio.create_task(workers.run_call_expiry(state, interval=0.05)),
                    asyncio.create_task(
                        workers.every(workers.digest_round, state, interval=0.05, name="digest")
                    ),
                    asyncio.create_task(db.run_statistics(engine, interval=0.05)),
                ]
                try:
                    await until(said(stream, *(f"{what}{busy}" for what in wanted)), 10)
                finally:
                    await workers.stop(tasks)
    finally:
        await broadcast.disconnect()
        await engine.dispose()
    lines = read(stream)
    assert_no_traceback(lines)
    assert {line["request_id"] for line in lines} == {"-"}
    found = {line["message"].partition(busy)[0] for line in lines}
    assert found == set(wanted)


@pytest.mark.postgresql_only
async def test_a_connection_ended_by_postgresql_is_the_service_unavailable(
    conf: settings.Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL stopping (a fast shutdown) ends every open connection with 57P01, as
    pg_terminate_backend does to one: a statement running on it then is `server.unavailable`
    (a 503), logged as one warning line."""
    engine = db.create_engine(conf.database_url)
    admin = db.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")

    async def terminate(pid: int) -> bool:
        await asyncio.sleep(0.3)  # the statement below is running by then
        async with admin.connect() as other:
            query = text("SELECT pg_terminate_backend(:pid, 5000)")
            return bool(await other.scalar(query, {"pid": pid}))

    try:
        async with engine.connect() as connection:
            pid = await connection.scalar(text("SELECT pg_backend_pid()"))
            ending = asyncio.create_task(terminate(pid))
            with pytest.raises(DBAPIError) as failed:
                await connection.execute(text("SELECT pg_sleep(10)"))
            assert await ending
    finally:
        await admin.dispose()
        await engine.dispose()
    log = logging.getLogger("fair.test_db_report")
    assert db.report(log, failed.value, "a statement") == "server.unavailable"
    records = [r for r in caplog.records if r.name == log.name]
    assert [(r.levelname, r.exc_info) for r in records] == [("WARNING", None)]
    assert (
        records[0]
        .getMessage()
        .startswith("a statement: database unavailable (server.unavailable): DBAPIError(")
    )


@pytest.mark.sqlite_only
async def test_sqlite_locked_past_its_busy_timeout_is_the_busy_503(
    backend: str, templates_dir: dict[str, str], tmp_path: Path
) -> None:
    """Another connection holding SQLite's write lock longer than FAIR_DB_COMMAND_TIMEOUT: a
    page that writes answers the busy 503 with Retry-After, logged as one warning line (it was
    a 500 with a traceback: "database is locked")."""
    path = tmp_path / "fair.db"
    shutil.copy(templates_dir["sqlite"], path)
    url = f"sqlite+aiosqlite:///{path}"
    base = settings.load({"FAIR_ENV": "test", "FAIR_DATA_DIR": str(tmp_path)})
    conf = replace(base, database_url=url, background_tasks=False, db_command_timeout=0.3)
    settings.override(conf)
    locker = sqlite3.connect(path, isolation_level=None)
    try:
        engine = db.create_engine(url)
        async with db.sessionmaker(engine, write=True)() as session:
            user = await f.user(session, Role.CANDIDATE)
            await session.commit()
        await engine.dispose()
        application = create_app(conf)
        with json_lines() as stream:
            async with application.router.lifespan_context(application):
                transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    token = await csrf(client)
                    locker.execute("BEGIN IMMEDIATE")
                    form = {"csrf_token": token, "email": user.email, "password": f.PASSWORD}
                    refused = await client.post("/login", data=form)
                    locker.execute("ROLLBACK")
                    await login(client, user.email, f.PASSWORD)  # served again
    finally:
        locker.close()
        settings.override(None)
    lines = read(stream)
    assert (refused.status_code, refused.headers["retry-after"]) == (503, "5")
    assert BUSY_FR in refused.text
    assert_no_traceback(lines)
    assert [line["message"] for line in lines] == [
        "database locked on POST /login: "
        "OperationalError('(sqlite3.OperationalError) database is locked')"
    ]


async def test_a_session_touch_on_a_full_pool_is_one_warning_line(conf: settings.Settings) -> None:
    """The touch of a user session's last-seen runs after the page's transaction committed
    (fair.web.auth._touch): the pool all taken then is one warning line, not an exception that
    turned a saved page into a 503."""
    engine = db.create_engine(conf.database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    state = AppState()
    state.set_up(engine, Broadcaster("memory://", namespace=""))
    try:
        with json_lines() as stream:
            async with engine.connect() as connection:  # the only connection
                await connection.exec_driver_sql("SELECT 1")
                await auth._touch(state, 1)  # the row is not reached: no connection for it
        lines = read(stream)
        assert [line["message"].split(":")[0] for line in lines] == ["touching the user session"]
        assert "database unavailable (server.busy)" in lines[0]["message"]
        assert_no_traceback(lines)
    finally:
        await engine.dispose()


async def test_the_worker_engine_has_the_configured_pool(conf: settings.Settings) -> None:
    """`fair worker` builds its engine with FAIR_DB_POOL_* (it waited SQLAlchemy's default 30 s
    for a connection, with the default pool)."""
    configured = replace(conf, db_pool_size=3, db_max_overflow=1, db_pool_timeout=0.7)
    state = workers.resources(configured)
    try:
        pool: Any = state.engine.pool
        assert (pool.size(), pool._max_overflow, pool._timeout) == (3, 1, 0.7)
    finally:
        await state.engine.dispose()


async def test_sockets_refused_for_want_of_the_database_are_one_line_per_while(
    conf: settings.Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Logged-in sockets connecting while the server's only connection is held are closed with
    1013 "try again later" (as before) and logged: one warning line for the first, the next
    ones counted into the line of the next while (fair.live.socket.REFUSED; they logged
    nothing)."""
    live_socket.REFUSED.count, live_socket.REFUSED.logged = 0, -math.inf
    with (
        json_lines() as stream,
        run_server(
            tmp_path_factory,
            "db-refused",
            database_url=conf.database_url,
            db_pool_size=1,
            db_max_overflow=0,
            db_pool_timeout=0.2,
        ) as server,
    ):
        async with held(server):
            closes = [await logged_in_socket_closed(server) for _ in range(3)]
    lines = read(stream)
    assert closes == [(1013, "service briefly unavailable")] * 3
    assert_no_traceback(lines)
    busy = "database unavailable (server.busy): TimeoutError('QueuePool limit of size 1"
    refused = f"live: 1 socket connect(s) refused: {busy}"
    assert [line["message"].startswith(refused) for line in lines] == [True]
    assert live_socket.REFUSED.count == 2  # for the next line
