"""The live socket's reads whose pooled connection PostgreSQL ended before their first
statement (fair.db `lost_unused`) are asked again, once, on another connection (fair.db
`read_again`): the session's check at connect, and a command's reads. It was a socket closed
1013 "service briefly unavailable", and a command answered `server.unavailable`. A command's
write is never asked again: answered `server.unavailable`, nothing written. The connection is
ended for real (tests/lost_connection.py); the socket is driven as an ASGI server would."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from fair import settings, user_sessions
from fair.models import BoothPresence
from tests import factories as f
from tests.lost_connection import ending
from tests.server_processes import session_cookie

pytestmark = pytest.mark.postgresql_only


class Socket:
    """One socket's ASGI conversation: the handshake, then the frames `ask` sends; the frames
    the app sends back, and how it closed."""

    def __init__(self, cookie: str) -> None:
        self.scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": "/live",
            "raw_path": b"/live",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"origin", b"http://testserver"),
                (b"cookie", f"fair_session={cookie}".encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "subprotocols": [],
        }
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.incoming.put_nowait({"type": "websocket.connect"})
        self.frames: asyncio.Queue[list[Any]] = asyncio.Queue()
        self.closed: list[int] = []
        self.next_id = 0

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            self.frames.put_nowait(json.loads(message["text"]))
        elif message["type"] == "websocket.close":
            self.closed.append(message["code"])
            self.frames.put_nowait(["closed", None, {"code": message["code"]}])

    async def ask(self, action: str, payload: dict[str, Any]) -> list[Any]:
        """The reply to one command (or the close, if the socket was closed instead)."""
        self.next_id += 1
        frame = json.dumps([action, self.next_id, payload])
        self.incoming.put_nowait({"type": "websocket.receive", "text": frame})
        async with asyncio.timeout(10):
            while True:
                got = await self.frames.get()
                if got[0] == "closed" or (
                    got[0] in ("success", "error") and got[1] == self.next_id
                ):
                    return got

    def leave(self) -> None:
        self.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})


async def a_candidate_at_a_booth(app: Any) -> tuple[str, int, int]:
    """A logged-in candidate's session cookie, their id, and a booth of a live edition."""
    async with app.state.write_sessions() as session:
        edition = await f.edition(session)
        booth, _ = await f.booth(session, edition_=edition)
        candidate = await f.candidate(session)
        key = await user_sessions.start(session, candidate)
        await session.commit()
    return session_cookie(settings.get().secret_key, key, "csrf"), candidate.id, booth.id


async def served(app: Any, socket: Socket) -> asyncio.Task[None]:
    return asyncio.create_task(app(socket.scope, socket.receive, socket.send))


async def test_a_socket_s_session_is_read_again_at_connect(app) -> None:  # type: ignore[no-untyped-def]
    cookie, _, _ = await a_candidate_at_a_booth(app)
    socket = Socket(cookie)
    with ending(app) as ended:
        task = await served(app, socket)
        answered = await socket.ask("ping", {})
    socket.leave()
    await asyncio.wait_for(task, 10)
    assert (len(ended), answered, socket.closed) == (1, ["success", 1, {}], [])


async def test_a_command_s_read_is_asked_again(app) -> None:  # type: ignore[no-untyped-def]
    cookie, _, booth_id = await a_candidate_at_a_booth(app)
    socket = Socket(cookie)
    task = await served(app, socket)
    assert await socket.ask("ping", {}) == ["success", 1, {}]
    with ending(app) as ended:
        answered = await socket.ask("queue.status", {"booth_id": booth_id})
    socket.leave()
    await asyncio.wait_for(task, 10)
    assert (len(ended), answered[0]) == (1, "success"), answered
    assert (answered[2]["booth_id"], answered[2]["entry_id"]) == (booth_id, None)


async def test_a_command_s_write_is_never_asked_again(app, caplog) -> None:  # type: ignore[no-untyped-def]
    """A recruiter staffing their booth: the command writes first (staff pass no gate), its
    connection lost: answered `server.unavailable`, nothing written, not asked again."""
    async with app.state.write_sessions() as session:
        edition = await f.edition(session)
        booth, recruiter = await f.booth(session, edition_=edition)
        key = await user_sessions.start(session, recruiter)
        await session.commit()
    socket = Socket(session_cookie(settings.get().secret_key, key, "csrf"))
    task = await served(app, socket)
    assert await socket.ask("ping", {}) == ["success", 1, {}]
    with ending(app) as ended:
        answered = await socket.ask("booth.staff", {"booth_id": booth.id})
    async with app.state.read_sessions() as session:  # before the socket leaves (it unstaffs)
        staffing = await session.scalar(select(func.count()).select_from(BoothPresence))
    socket.leave()
    await asyncio.wait_for(task, 10)
    assert (len(ended), answered[0], answered[2]["code"]) == (1, "error", "server.unavailable")
    assert staffing == 0
    assert [r.getMessage() for r in caplog.records if "asked again" in r.getMessage()] == []
