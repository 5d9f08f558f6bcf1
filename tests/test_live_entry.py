"""The /live socket's way in (fair.live.entry): the pages' session and language, read past the
HTTP middleware; against a real uvicorn server (tests/live_server.py), no mocks."""

from __future__ import annotations

import asyncio
import json
import time
from base64 import b64encode
from collections.abc import AsyncIterator
from typing import Any

import httpx
import itsdangerous
import pytest
import pytest_asyncio
import websockets
from starlette.types import Receive, Scope, Send

from fair import channels, db
from fair.live import entry
from fair.models import User
from tests import factories as f
from tests.conftest import login
from tests.live_server import Server

pytestmark = pytest.mark.usefixtures("server_settings")
MAX_AGE = 14 * 24 * 3600  # fair.app's session cookie


@pytest_asyncio.fixture
async def candidate(server: Server) -> AsyncIterator[User]:
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            user = await f.candidate(session)
            await session.commit()
        yield user
    finally:
        await engine.dispose()


async def logged_in(server: Server, user: User) -> str:
    """The session cookie's value after logging in through the pages."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        await login(client, user.email, f.PASSWORD)
        return client.cookies["fair_session"]


def signed(secret: str, session: dict[str, Any], *, age: float = 0) -> str:
    """A session cookie as SessionMiddleware signs it, `age` seconds ago."""

    class Then(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age)

    data = b64encode(json.dumps(session).encode())
    return Then(secret).sign(data).decode()


async def reply(server: Server, cookie: str, action: str, payload: dict[str, Any]) -> list[Any]:
    async with websockets.connect(
        server.ws, additional_headers={"Cookie": cookie}, origin=server.url
    ) as ws:
        await ws.send(json.dumps([action, 1, payload]))
        return list(json.loads(await asyncio.wait_for(ws.recv(), 5)))


async def test_the_pages_session_is_the_sockets(server: Server, candidate: User) -> None:
    raw = await logged_in(server, candidate)
    own = channels.user(candidate.id)
    assert await reply(server, f"fair_session={raw}", "subscribe", {"channel": own}) == [
        "success",
        1,
        {"channel": own},
    ]
    # The same session signed with another key, or more than the cookie's max age ago: a visitor.
    session = json.loads(
        itsdangerous.base64_decode(
            itsdangerous.TimestampSigner(server.conf.secret_key).unsign(raw, max_age=MAX_AGE)
        )
    )
    again = f"fair_session={signed(server.conf.secret_key, session, age=60)}"  # signed a minute ago
    assert await reply(server, again, "subscribe", {"channel": own}) == [
        "success",
        1,
        {"channel": own},
    ]
    for cookie in (
        signed("another secret", session),
        signed(server.conf.secret_key, session, age=MAX_AGE + 60),
        raw[:-2] + ("AA" if not raw.endswith("AA") else "BB"),
    ):
        found = await reply(server, f"fair_session={cookie}", "subscribe", {"channel": own})
        assert found[:2] == ["error", 1] and found[2]["code"] == "auth.required", found


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "This action does not exist."),
        ("fr", "Cette action n'existe pas."),
        ("xx", "Cette action n'existe pas."),  # not a language of ours: the default (French)
    ],
)
async def test_replies_in_the_language_of_the_lang_cookie(
    server: Server, lang: str, message: str
) -> None:
    found = await reply(server, f"lang={lang}", "dance", {})
    assert found == ["error", 1, {"code": "live.unknown_action", "message": message}]


async def test_anything_but_a_socket_at_its_path_goes_down_the_stack() -> None:
    calls: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope)

    async def endpoint(websocket: Any) -> None:
        raise AssertionError("not the socket's endpoint")

    shortcut = entry.Shortcut(
        app, path="/live", endpoint=endpoint, secret_key="k", session_cookie="s", max_age=60
    )
    scopes: list[Scope] = [
        {"type": "http", "path": "/live", "headers": []},
        {"type": "websocket", "path": "/live/", "headers": []},
        {"type": "websocket", "path": "/elsewhere", "headers": []},
        {"type": "lifespan"},
    ]
    for scope in scopes:
        await shortcut(scope, None, None)  # type: ignore[arg-type]
    assert calls == scopes and all("session" not in scope for scope in scopes)
