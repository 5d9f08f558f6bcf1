"""A /live socket follows its account: log-out, "log out everywhere", a password reset or a
deactivation close that user's sockets, in this process (memory://) and across processes (Redis).

Real uvicorn servers (tests/live_server.py, tests/server_processes.py) and real sockets.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from fair import accounts, channels, clock, db, events, settings, unit_of_work
from fair.enums import Role
from fair.models import OutboxMail, User
from tests import factories as f
from tests.conftest import csrf, login
from tests.live_server import Server
from tests.server_processes import NEEDS_POSTGRESQL_AND_REDIS, SHARED_REDIS, servers


@pytest.fixture(autouse=True)
def _settings(request: pytest.FixtureRequest) -> Iterator[None]:
    clock.set_now(None)
    if "server" in request.fixturenames:
        settings.override(request.getfixturevalue("server").conf)
    yield
    clock.set_now(None)


@dataclass
class People:
    ana: User
    bob: User
    admin: User


async def _people(url: str) -> People:
    engine = db.create_engine(url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            people = People(
                await f.user(session, Role.CANDIDATE),
                await f.user(session, Role.CANDIDATE),
                await f.user(session, Role.ADMIN),
            )
            await session.commit()
            return people
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def people(server: Server) -> People:
    return await _people(server.conf.database_url)


async def logged_in(base_url: str, user: User) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base_url)
    await login(client, user.email, f.PASSWORD)
    return client


async def socket_of(ws_url: str, origin: str, client: httpx.AsyncClient, user: User) -> Any:
    """A socket with `client`'s cookie, following the user's own channel."""
    cookie = f"fair_session={client.cookies['fair_session']}"
    ws = await websockets.connect(ws_url, additional_headers={"Cookie": cookie}, origin=origin)
    own = channels.user(user.id)
    await ws.send(json.dumps(["subscribe", 1, {"channel": own}]))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == ["success", 1, {"channel": own}]
    return ws


async def closed_with(ws: Any, seconds: float = 5.0) -> tuple[int, str]:
    """Read until the server closes the socket: (code, reason)."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(seconds):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def pings(ws: Any) -> bool:
    await ws.send(json.dumps(["ping", 7, {}]))
    async with asyncio.timeout(5):
        while True:
            frame = json.loads(await ws.recv())
            if frame[0] == "success" and frame[1] == 7:
                return True


async def publish_in(server: Server, channel: str) -> None:
    """An event on `channel`, published by the server's own broadcaster (its loop)."""
    event = events.Event(channel, "application.status", {"application_id": 1})
    future = asyncio.run_coroutine_threadsafe(
        unit_of_work.publish(server.app.state.broadcast, [event]), server.loop
    )
    await asyncio.wrap_future(future)


async def post(client: httpx.AsyncClient, path: str, form_page: str = "/") -> httpx.Response:
    token = await csrf(client, form_page)
    return await client.post(path, data={"csrf_token": token})


async def test_logout_closes_that_sessions_socket_only(server: Server, people: People) -> None:
    ana_here = await logged_in(server.url, people.ana)
    ana_there = await logged_in(server.url, people.ana)
    bob = await logged_in(server.url, people.bob)
    try:
        ws_here = await socket_of(server.ws, server.url, ana_here, people.ana)
        ws_there = await socket_of(server.ws, server.url, ana_there, people.ana)
        ws_bob = await socket_of(server.ws, server.url, bob, people.bob)
        saved = f"fair_session={ana_here.cookies['fair_session']}"

        assert (await post(ana_here, "/logout")).status_code == 303
        assert await closed_with(ws_here) == (4401, "session ended")
        # Her other browser and Bob are untouched, and still hear their own events.
        assert await pings(ws_there) and await pings(ws_bob)
        await publish_in(server, channels.user(people.ana.id))
        frame = json.loads(await asyncio.wait_for(ws_there.recv(), 5))
        assert frame == [
            "event",
            channels.user(people.ana.id),
            {"event": "application.status", "application_id": 1},
        ]

        # "Log out everywhere" from the other browser closes its socket too.
        response = await post(ana_there, "/account/sessions/end-all", "/account/sessions")
        assert (response.status_code, response.headers["location"]) == (303, "/login")
        assert await closed_with(ws_there) == (4401, "session ended")
        assert await pings(ws_bob)

        # A socket opened with a saved cookie of an ended session is a visitor's.
        ws_late = await websockets.connect(
            server.ws, additional_headers={"Cookie": saved}, origin=server.url
        )
        reply = await _call(ws_late, "subscribe", 2, {"channel": channels.user(people.ana.id)})
        assert reply[:2] == ["error", 2] and reply[2]["code"] == "auth.required"
        await ws_late.close()
        await ws_bob.close()
    finally:
        for client in (ana_here, ana_there, bob):
            await client.aclose()


async def _call(ws: Any, action: str, id_: int, payload: dict[str, Any]) -> list[Any]:
    await ws.send(json.dumps([action, id_, payload]))
    return list(json.loads(await asyncio.wait_for(ws.recv(), 5)))


async def test_reset_and_deactivation_close_sockets(server: Server, people: People) -> None:
    ana = await logged_in(server.url, people.ana)
    bob = await logged_in(server.url, people.bob)
    try:
        ws_ana = await socket_of(server.ws, server.url, ana, people.ana)
        ws_bob = await socket_of(server.ws, server.url, bob, people.bob)

        # A password reset (from any browser) ends every session of the account.
        visitor = httpx.AsyncClient(base_url=server.url)
        token = await csrf(visitor, "/reset")
        await visitor.post("/reset", data={"csrf_token": token, "email": people.ana.email})
        link = await _mailed_link(server, people.ana.email)
        done = await visitor.post(
            link, data={"csrf_token": token, "password": "une toute nouvelle phrase"}
        )
        assert done.status_code == 303
        await visitor.aclose()
        assert await closed_with(ws_ana) == (4401, "session ended")

        # An administrator deactivates Bob: his socket closes as well.
        engine = db.create_engine(server.conf.database_url)
        try:
            async with db.sessionmaker(engine, write=True)() as session:
                target = await session.get(User, people.bob.id)
                admin = await session.get(User, people.admin.id)
                assert target is not None and admin is not None
                await accounts.deactivate(session, target, by=admin)
                await session.commit()
                queued = events.take(session)
        finally:
            await engine.dispose()
        assert [e.channel for e in queued] == [channels.ACCOUNTS]
        future = asyncio.run_coroutine_threadsafe(
            unit_of_work.publish(server.app.state.broadcast, queued), server.loop
        )
        await asyncio.wrap_future(future)
        assert await closed_with(ws_bob) == (4401, "session ended")
        assert (await bob.get("/me/profile")).status_code == 303
    finally:
        await ana.aclose()
        await bob.aclose()


async def _mailed_link(server: Server, email: str) -> str:
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine)() as session:
            mails = list(
                await session.scalars(
                    select(OutboxMail.body)
                    .where(OutboxMail.to_addr == email)
                    .order_by(OutboxMail.id.desc())
                )
            )
    finally:
        await engine.dispose()
    found = re.search(r"/reset/[\w-]+", mails[0])
    assert found is not None
    return found.group(0)


@pytest_asyncio.fixture
async def redis_people(database_url: str, tmp_path: Path) -> AsyncIterator[People]:
    settings.override(settings.load({"FAIR_ENV": "test", "FAIR_DATA_DIR": str(tmp_path)}))
    try:
        yield await _people(database_url)
    finally:
        settings.override(None)


@NEEDS_POSTGRESQL_AND_REDIS
async def test_logout_on_one_server_closes_the_socket_on_another(
    database_url: str,
    redis_people: People,
) -> None:
    async with servers(database_url, SHARED_REDIS, 2) as (one, two):
        ana_one = await logged_in(one.url, redis_people.ana)
        # The same browser (cookie) on the second server: log-out happens there.
        ana_two = httpx.AsyncClient(base_url=two.url, cookies=ana_one.cookies)
        bob = await logged_in(one.url, redis_people.bob)
        try:
            ws_ana = await socket_of(one.ws, one.url, ana_one, redis_people.ana)
            ws_bob = await socket_of(one.ws, one.url, bob, redis_people.bob)
            assert (await post(ana_two, "/logout")).status_code == 303
            assert await closed_with(ws_ana) == (4401, "session ended")
            assert await pings(ws_bob)
            await ws_bob.close()
            # The first server had her session cached (fair.live.hub) and heard the log-out:
            # her saved cookie now opens a visitor's socket there, well within the cache's 30 s.
            cookie = f"fair_session={ana_one.cookies['fair_session']}"
            ws_late = await websockets.connect(
                one.ws, additional_headers={"Cookie": cookie}, origin=one.url
            )
            own = channels.user(redis_people.ana.id)
            reply = await _call(ws_late, "subscribe", 2, {"channel": own})
            assert reply[:2] == ["error", 2] and reply[2]["code"] == "auth.required"
            await ws_late.close()
        finally:
            for client in (ana_one, ana_two, bob):
                await client.aclose()
