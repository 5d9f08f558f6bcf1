"""The /live socket against a real uvicorn server (SQLite, memory broadcaster), no mocks.

The server runs in its own thread and event loop; the tests talk to it over TCP with httpx and
the `websockets` client, from pytest-asyncio's loop.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets
from websockets.exceptions import ConnectionClosed

from fair import channels, clock, db, migrations, settings
from fair.app import create_app
from fair.models import Application, User
from tests import factories as f
from tests.conftest import csrf, login


@dataclass
class Server:
    url: str
    ws: str
    conf: settings.Settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import uvicorn

    data_dir = tmp_path_factory.mktemp("live")
    url = f"sqlite+aiosqlite:///{data_dir / 'fair.db'}"
    migrations.upgrade(url)
    base = settings.load(
        {"FAIR_ENV": "test", "FAIR_DATA_DIR": str(data_dir), "FAIR_BACKGROUND_TASKS": "off"}
    )
    conf = replace(base, database_url=url, broadcast_url="memory://")
    app = create_app(conf)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    _wait_healthy(base_url)
    try:
        yield Server(url=base_url, ws=f"ws://127.0.0.1:{port}/live", conf=conf)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _wait_healthy(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the live server did not answer /health within {timeout}s")


@pytest.fixture(autouse=True)
def _server_settings(server: Server) -> Iterator[None]:
    """Other tests reset the process-wide settings; the server reads its own."""
    settings.override(server.conf)
    clock.set_now(None)
    yield


@dataclass
class World:
    candidate: User
    other: User
    recruiter: User
    application: Application


@pytest_asyncio.fixture
async def world(server: Server) -> AsyncIterator[World]:
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session)
            booth, recruiter = await f.booth(session, edition_=edition)
            offer = await f.offer(session, booth_=booth)
            candidate = await f.candidate(session)
            other = await f.candidate(session)
            application = await f.application(session, offer_=offer, candidate_=candidate)
            await session.commit()
            yield World(candidate, other, recruiter, application)
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def http(server: Server) -> AsyncIterator[Any]:
    opened: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=server.url)
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


async def cookie_of(client: httpx.AsyncClient, user: User) -> str:
    await login(client, user.email, f.PASSWORD)
    return f"fair_session={client.cookies['fair_session']}"


def connect(server: Server, *, cookie: str | None = None, origin: str | None = None) -> Any:
    headers = {"Cookie": cookie} if cookie else {}
    return websockets.connect(
        server.ws, additional_headers=headers, origin=origin or server.url, max_size=None
    )


async def call(ws: Any, action: str, id_: int, payload: dict[str, Any]) -> list[Any]:
    await ws.send(json.dumps([action, id_, payload]))
    return json.loads(await asyncio.wait_for(ws.recv(), 2))


async def test_ping_and_anonymous_subscribe(server: Server) -> None:
    async with connect(server) as ws:
        assert await call(ws, "ping", 1, {}) == ["success", 1, {}]
        reply = await call(ws, "subscribe", 2, {"channel": "user:1"})
        assert reply[:2] == ["error", 2] and reply[2]["code"] == "auth.required"
        reply = await call(ws, "dance", 3, {})
        assert reply[:2] == ["error", 3] and reply[2]["code"] == "live.unknown_action"
        await ws.send("not json")
        reply = json.loads(await asyncio.wait_for(ws.recv(), 2))
        assert reply[:2] == ["error", None] and reply[2]["code"] == "live.bad_message"


async def test_subscribe_own_channel_only(server: Server, world: World, http: Any) -> None:
    cookie = await cookie_of(http(), world.candidate)
    async with connect(server, cookie=cookie) as ws:
        own = channels.user(world.candidate.id)
        assert await call(ws, "subscribe", 1, {"channel": own}) == ["success", 1, {"channel": own}]
        for n, channel in enumerate(
            [channels.user(world.other.id), channels.booth(1), "nonsense"], start=2
        ):
            reply = await call(ws, "subscribe", n, {"channel": channel})
            assert reply[:2] == ["error", n] and reply[2]["code"] == "live.forbidden", reply
        assert await call(ws, "unsubscribe", 9, {"channel": own}) == [
            "success",
            9,
            {"channel": own},
        ]


async def test_bad_origin_is_refused(server: Server) -> None:
    async with connect(server, origin="https://evil.example") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_oversized_message_closes(server: Server) -> None:
    async with connect(server) as ws:
        await ws.send(json.dumps(["ping", 1, {"x": "a" * 20_000}]))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_status_change_reaches_the_candidate(server: Server, world: World, http: Any) -> None:
    recruiter = http()
    await login(recruiter, world.recruiter.email, f.PASSWORD)
    cookie = await cookie_of(http(), world.candidate)
    own = channels.user(world.candidate.id)
    application_id = world.application.id
    async with connect(server, cookie=cookie) as ws:
        assert (await call(ws, "subscribe", 1, {"channel": own}))[0] == "success"
        page = f"/recruiter/applications/{application_id}"
        token = await csrf(recruiter, page)

        # An invalid transition rolls back: nothing is published.
        response = await recruiter.post(
            f"{page}/status", data={"csrf_token": token, "status": "hired"}
        )
        assert response.status_code == 409
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)

        response = await recruiter.post(
            f"{page}/status", data={"csrf_token": token, "status": "shortlisted"}
        )
        assert response.status_code == 303
        frame = json.loads(await asyncio.wait_for(ws.recv(), 2))
    assert frame == [
        "event",
        own,
        {
            "event": "application.status",
            "application_id": application_id,
            "status": "shortlisted",
            "label": "Shortlisted",
        },
    ]
