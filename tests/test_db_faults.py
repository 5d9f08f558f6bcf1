"""The database pool's hard ceiling and PostgreSQL out of reach, for real (issue 17 items 2 and 4):
a surge over a small pool with held connections, a closed port, a server that accepts and never
answers, and a proxy in front of the real PostgreSQL cut and restored. Every page answers a
translated 503 "briefly unavailable" with Retry-After, never a stack trace, and the app serves
again by itself once PostgreSQL is back (dead pooled connections replaced, fair.db)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
import websockets
from sqlalchemy import text
from sqlalchemy.engine import make_url

from fair import db, settings
from fair.app import create_app
from tests.conftest import PG_ADMIN
from tests.live_server import run_server
from tests.server_processes import free_port
from tests.sockets import logged_in_socket_closed

BUSY_FR = "La plateforme est très sollicitée en ce moment"
DOWN_EN = (
    "The service is briefly unavailable. Nothing was saved: please try again in a few seconds."
)
DOWN_FR = (
    "Le service est brièvement indisponible. Rien n’a été enregistré : réessayez dans quelques "
    "secondes."
)


@contextlib.asynccontextmanager
async def serving(conf: settings.Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(conf)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = application  # type: ignore[attr-defined]
            yield client


def at_port(conf: settings.Settings, port: int) -> settings.Settings:
    url = make_url(conf.database_url).set(host="127.0.0.1", port=port)
    return replace(conf, database_url=url.render_as_string(hide_password=False))


class Proxy:
    """A TCP relay on loopback in front of PostgreSQL, which a test cuts (listener closed, every
    relayed connection reset: PostgreSQL gone) and restores on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        await self.server.wait_closed()
        self.server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}


def assert_unavailable(
    french: httpx.Response, english: httpx.Response, api: httpx.Response
) -> None:
    assert (french.status_code, french.headers["retry-after"]) == (503, "5")
    assert DOWN_FR in french.text and "Traceback" not in french.text
    assert (english.status_code, english.headers["retry-after"]) == (503, "5")
    assert DOWN_EN in english.text and "Service briefly unavailable" in english.text
    assert (api.status_code, api.headers["retry-after"]) == (503, "5")
    assert api.json() == {"error": {"code": "server.unavailable", "message": DOWN_FR}}


async def three_ways(client: httpx.AsyncClient) -> tuple[httpx.Response, ...]:
    """The home page in French, in English, and as JSON (French: the default)."""
    french = await client.get("/")
    api = await client.get("/", headers={"accept": "application/json"})
    client.cookies.set("lang", "en")
    english = await client.get("/")
    client.cookies.delete("lang")
    return french, english, api


async def test_a_surge_over_the_pool_waits_briefly_then_gets_503(conf) -> None:  # type: ignore[no-untyped-def]
    """Two connections in all, both held: 20 requests at once each wait the pool's timeout,
    then answer the busy 503 with Retry-After (none a 500); released, the pool serves again."""
    small = replace(conf, db_pool_size=2, db_max_overflow=0, db_pool_timeout=0.5)
    async with serving(small) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        async with engine.connect() as one, engine.connect() as two:
            await one.execute(text("SELECT 1"))
            await two.execute(text("SELECT 1"))
            started = time.monotonic()
            answers = await asyncio.gather(*(client.get("/") for _ in range(20)))
            waited = time.monotonic() - started
            assert engine.pool.checkedout() == 2  # the ceiling held: nothing opened past it
        again = await client.get("/")
    statuses = [(a.status_code, a.headers.get("retry-after")) for a in answers]
    assert statuses == [(503, "5")] * 20
    assert all(BUSY_FR in a.text for a in answers)
    assert 0.5 <= waited < 10
    assert again.status_code == 200


async def test_the_default_wait_for_a_connection_is_brief() -> None:
    """Not SQLAlchemy's 30 s: a surge is told to come back after 2 s at most."""
    loaded = settings.load({})
    assert (loaded.db_pool_timeout, loaded.db_connect_timeout) == (2.0, 5.0)
    assert loaded.db_command_timeout == 30.0
    custom = settings.load(
        {
            "FAIR_DB_POOL_TIMEOUT": "0.5",
            "FAIR_DB_CONNECT_TIMEOUT": "1",
            "FAIR_DB_COMMAND_TIMEOUT": "3",
        }
    )
    assert (custom.db_pool_timeout, custom.db_connect_timeout) == (0.5, 1.0)
    assert custom.db_command_timeout == 3.0


@pytest.mark.postgresql_only
async def test_postgresql_refusing_connections_is_a_503(conf) -> None:  # type: ignore[no-untyped-def]
    async with serving(at_port(conf, free_port())) as client:  # nothing listens there
        assert_unavailable(*await three_ways(client))


@contextlib.asynccontextmanager
async def full_role(conf: settings.Settings) -> AsyncIterator[str]:
    """The database's URL as a role of its own whose CONNECTION LIMIT is 0: PostgreSQL refuses
    it with "too many connections" (53300), as it refuses everyone at max_connections."""
    role = f"fair_full_{os.getpid()}"
    admin = db.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
            await conn.execute(text(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0'))
        yield make_url(conf.database_url).set(username=role).render_as_string(False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        await admin.dispose()


@pytest.mark.postgresql_only
async def test_postgresql_at_its_connection_limit_is_a_503(conf) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL saying "sorry, too many clients already" (other programs took every
    connection it allows) is the service briefly unavailable, not an unexpected problem
    (500): bench/surge.py and bench/soak.py met it beside other processes' pools on the shared
    PostgreSQL. The role allowed no connection gets that very error without taking shared slots."""
    async with full_role(conf) as url, serving(replace(conf, database_url=url)) as client:
        assert_unavailable(*await three_ways(client))


@pytest.mark.postgresql_only
async def test_a_socket_at_the_connection_limit_is_told_to_try_again_later(
    conf, tmp_path_factory: pytest.TempPathFactory
) -> None:  # type: ignore[no-untyped-def]
    """The same refusal while a logged-in socket connects: closed with 1013 "try again later",
    not a crash of the app's error page on a WebSocket (AttributeError: no `method`)."""
    async with full_role(conf) as url:
        with run_server(tmp_path_factory, "db-full", database_url=url) as server:
            closed = await logged_in_socket_closed(server)
    assert closed == (1013, "service briefly unavailable")


@pytest.mark.postgresql_only
async def test_postgresql_not_answering_is_a_503_after_the_connect_timeout(conf) -> None:  # type: ignore[no-untyped-def]
    """A server that accepts the connection and never says a word (a hung host, a dead
    network path behind a proxy): the connection attempt gives up after db_connect_timeout."""
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        async with serving(replace(at_port(conf, port), db_connect_timeout=0.5)) as client:
            started = time.monotonic()
            answer = await client.get("/", headers={"accept": "application/json"})
            waited = time.monotonic() - started
    finally:
        silent.close()
    assert (answer.status_code, answer.json()["error"]["code"]) == (503, "server.unavailable")
    assert 0.5 <= waited < 5


@pytest.mark.postgresql_only
async def test_the_app_recovers_by_itself_when_postgresql_comes_back(conf) -> None:  # type: ignore[no-untyped-def]
    """Served, then PostgreSQL gone (every pooled connection dead, new ones refused): 503s;
    back on the same address: served again, with no restart of the app. Gone and back while
    idle: the first request is served (the pool saw the connection closed and replaced it),
    not failed on a dead connection."""
    real = make_url(conf.database_url)
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    await proxy.start()
    try:
        async with serving(at_port(conf, proxy.port)) as client:
            before = await client.get("/")
            engine = client.app.state.engine  # type: ignore[attr-defined]
            assert engine.pool.checkedin() >= 1  # a pooled connection, about to die
            await proxy.cut()
            down = await three_ways(client)
            await proxy.start()
            after = [await client.get("/") for _ in range(3)]
            # Gone and back between two requests: the pooled connection is dead, and the
            # pool replaces it before the next request uses it, which is then served.
            await proxy.cut()
            await proxy.start()
            unnoticed = await client.get("/")
    finally:
        if proxy.server is not None:
            await proxy.cut()
    assert before.status_code == 200
    assert_unavailable(*down)
    assert [a.status_code for a in after] == [200, 200, 200]
    assert unnoticed.status_code == 200


async def test_the_api_answers_503_too(conf) -> None:  # type: ignore[no-untyped-def]
    """The public API answers its own JSON errors: the pool all taken and the database out of
    reach are its 503 with Retry-After as well, not its 500."""
    small = replace(conf, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.2)
    async with serving(small) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        async with engine.connect() as held:
            await held.execute(text("SELECT 1"))
            busy = await client.get("/api/v1/editions")
        served = await client.get("/api/v1/editions")
    answers = [busy]
    if conf.database_url.startswith("postgresql"):
        async with serving(at_port(conf, free_port())) as client:
            answers.append(await client.get("/api/v1/editions"))
    assert served.status_code == 200
    codes = ["server.busy", "server.unavailable"][: len(answers)]
    assert [(a.status_code, a.headers["retry-after"]) for a in answers] == [(503, "5")] * len(
        answers
    )
    assert [a.json()["error"] for a in answers] == [
        {"code": code, "message": "Service brièvement indisponible", "fields": {}} for code in codes
    ]


@pytest.mark.postgresql_only
async def test_a_socket_is_told_to_try_again_later(
    conf, tmp_path_factory: pytest.TempPathFactory
) -> None:  # type: ignore[no-untyped-def]
    """/live with PostgreSQL out of reach: a logged-in browser's socket (its session is read
    from the database) is closed with 1013 "try again later" (static/socket.js connects again,
    backing off), not a server error."""
    down = at_port(conf, free_port()).database_url
    with run_server(tmp_path_factory, "db-down", database_url=down) as server:
        closed = await logged_in_socket_closed(server)
    assert closed == (1013, "service briefly unavailable")


@pytest.mark.postgresql_only
async def test_a_socket_command_is_told_the_service_is_briefly_unavailable(
    conf, tmp_path_factory: pytest.TempPathFactory
) -> None:  # type: ignore[no-untyped-def]
    """A socket opened while PostgreSQL answered, then PostgreSQL gone: a command that reads the
    database answers the 503's code and message (the client may try again), not
    `fair.server_error` with a stack trace in the log (a surge of reconnecting sockets over a
    full pool got those: tests/test_fault_web.py)."""
    real = make_url(conf.database_url)
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    await proxy.start()
    try:
        url = at_port(conf, proxy.port).database_url
        with run_server(tmp_path_factory, "db-cut", database_url=url) as server:
            async with websockets.connect(server.ws) as socket_:
                await proxy.cut()
                await socket_.send(json.dumps(["subscribe", 1, {"channel": "edition:1"}]))
                answer = json.loads(await asyncio.wait_for(socket_.recv(), 10))
    finally:
        if proxy.server is not None:
            await proxy.cut()
    assert answer == ["error", 1, {"code": "server.unavailable", "message": DOWN_FR}]
