"""Errors on the /live socket's path (fair.live.socket `endpoint`, fair.web.errors): a defect is
logged once, with the socket's request id, and the socket closed with 1011; a socket refused
early (bad origin, held by the admission gate, the database out of reach) whose client left
meanwhile ends quietly: nothing reaches the server (uvicorn logs what does as "Exception in
ASGI application", with a traceback).

The app is driven as an ASGI server would (`Asgi`): the messages it sends are recorded, and a
client gone is a `websocket.close` that fails as uvicorn's does (ClientDisconnected).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.websockets import WebSocket
from uvicorn.protocols.utils import ClientDisconnected

from fair import admission_gate, clock, logs, participants, settings, user_sessions
from fair.app import create_app
from fair.models import User
from fair.web import errors
from tests import factories as f
from tests.server_processes import free_port, session_cookie


class Asgi:
    """One socket's ASGI conversation: the client's handshake, then its messages (none: it
    waits), and what the app sends; `gone`: the client left once the socket was accepted."""

    def __init__(self, *, origin: str = "http://testserver", cookie: str = "", gone: bool = False):
        headers = [(b"host", b"testserver"), (b"origin", origin.encode())]
        if cookie:
            headers.append((b"cookie", f"fair_session={cookie}".encode()))
        self.scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": "/live",
            "raw_path": b"/live",
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "subprotocols": [],
        }
        self.gone = gone
        self.sent: list[dict[str, Any]] = []
        self.connected = False

    async def receive(self) -> dict[str, Any]:
        if not self.connected:
            self.connected = True
            return {"type": "websocket.connect"}
        await asyncio.Event().wait()  # the client says nothing more
        raise AssertionError("unreachable")

    async def send(self, message: dict[str, Any]) -> None:
        if self.gone and message["type"] == "websocket.close":
            raise ClientDisconnected()  # what uvicorn raises once the client left
        self.sent.append(message)

    async def run(self, app: Starlette) -> None:
        """The app's handling of the socket; what escapes it would reach the server."""
        async with asyncio.timeout(20):
            await app(self.scope, self.receive, self.send)  # type: ignore[arg-type]

    def closed_with(self) -> list[int]:
        return [m["code"] for m in self.sent if m["type"] == "websocket.close"]


@pytest.fixture
def socket_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The records of every logger at WARNING and above, each with the request id of the
    context it was logged in (as the process's handler stamps it: fair.logs.RequestId)."""
    caplog.handler.addFilter(logs.RequestId())
    with caplog.at_level(logging.WARNING):
        yield caplog
    caplog.handler.removeFilter(logs.RequestId())


def _conf(tmp_path: Path, templates_dir: dict[str, str], **changes: Any) -> settings.Settings:
    """The settings of an app of this test's own: its own copy of the SQLite database."""
    path = tmp_path / "own.db"
    shutil.copy(templates_dir["sqlite"], path)
    base = settings.load(
        {"FAIR_ENV": "test", "FAIR_DATA_DIR": str(tmp_path), "FAIR_BACKGROUND_TASKS": "off"}
    )
    conf = replace(base, database_url=f"sqlite+aiosqlite:///{path}", **changes)
    settings.override(conf)
    return conf


@pytest_asyncio.fixture
async def own_app(
    tmp_path: Path, templates_dir: dict[str, str]
) -> AsyncIterator[tuple[Starlette, settings.Settings]]:
    conf = _conf(tmp_path, templates_dir)
    app = create_app(conf)
    async with app.router.lifespan_context(app):
        yield app, conf
    settings.override(None)


async def _candidate_cookie(app: Starlette, conf: settings.Settings) -> tuple[User, str]:
    async with app.state.write_sessions() as session:
        user = await f.candidate(session)
        key = await user_sessions.start(session, user)
        await session.commit()
    return user, session_cookie(conf.secret_key, key, "csrf")


async def test_a_defect_on_the_socket_s_path_is_logged_once_with_its_request_id(
    own_app: tuple[Starlette, settings.Settings], socket_logs: pytest.LogCaptureFixture
) -> None:
    # A real defect: the session's read fails (its table is gone), a database error that is
    # not the database being out of reach. It used to reach fair.web.errors.server_error,
    # which read `request.method` of the WebSocket: an AttributeError for the server.
    app, conf = own_app
    _, cookie = await _candidate_cookie(app, conf)
    async with app.state.write_sessions() as session:
        await session.execute(text("DROP TABLE user_sessions"))
        await session.commit()
    socket = Asgi(cookie=cookie)
    await socket.run(app)
    assert socket.closed_with() == [1011]
    assert [(r.levelname, r.name) for r in socket_logs.records] == [("ERROR", "fair.live")]
    record = socket_logs.records[0]
    assert record.exc_info is not None and "no such table" in str(record.exc_info[1])
    assert logs.sane(record.request_id) == record.request_id != logs.NONE  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("handler", "code", "level"),
    [
        (errors.server_error, 1011, "ERROR"),
        (errors.database_error, 1011, "ERROR"),
        (errors.busy, 1013, "WARNING"),
        (errors.unavailable, 1013, "WARNING"),
        (errors.fair_error, 1008, "WARNING"),
    ],
)
@pytest.mark.parametrize("gone", [False, True])
async def test_the_error_handlers_close_a_socket_instead_of_rendering_a_page(
    handler: Any, code: int, level: str, gone: bool, socket_logs: pytest.LogCaptureFixture
) -> None:
    """Starlette calls the app's handlers for a socket's errors too (those of its endpoint's
    that escape it): the socket is closed, the error logged once, never a second exception."""
    asgi = Asgi(gone=gone)
    websocket = WebSocket(asgi.scope, asgi.receive, asgi.send)  # type: ignore[arg-type]
    await websocket.accept()
    failure = errors.FairError("Refused.", code="x.y") if handler is errors.fair_error else None
    token = logs.request_id.set("socket-1")
    try:
        assert await handler(websocket, failure or RuntimeError("boom")) is None
    finally:
        logs.request_id.reset(token)
    assert asgi.closed_with() == ([] if gone else [code])
    assert [(r.levelname, r.request_id) for r in socket_logs.records] == [(level, "socket-1")]  # type: ignore[attr-defined]


async def test_a_socket_refused_for_its_origin_whose_client_left_ends_quietly(
    own_app: tuple[Starlette, settings.Settings], socket_logs: pytest.LogCaptureFixture
) -> None:
    app, _ = own_app
    await Asgi(origin="http://elsewhere.example", gone=True).run(app)
    assert socket_logs.records == []


async def test_a_socket_refused_without_the_database_whose_client_left_ends_quietly(
    tmp_path: Path, templates_dir: dict[str, str], socket_logs: pytest.LogCaptureFixture
) -> None:
    nowhere = f"postgresql+asyncpg://fair@127.0.0.1:{free_port()}/fair"  # nothing listens
    conf = _conf(tmp_path, templates_dir)
    app = create_app(replace(conf, database_url=nowhere))
    async with app.router.lifespan_context(app):
        cookie = session_cookie(conf.secret_key, "some-key", "csrf")
        for gone in (False, True):
            socket = Asgi(cookie=cookie, gone=gone)
            await socket.run(app)
            assert socket.closed_with() == ([] if gone else [1013])
    settings.override(None)
    # No traceback, no error: at most the one warning line a database out of reach gives for
    # refused connects (fair.live.socket.REFUSED: one line per 10 s with their count).
    assert all(
        r.levelname == "WARNING" and "database unavailable" in r.getMessage() and not r.exc_info
        for r in socket_logs.records
    ), [r.getMessage() for r in socket_logs.records]


async def test_a_held_candidate_s_socket_whose_client_left_ends_quietly(
    own_app: tuple[Starlette, settings.Settings], socket_logs: pytest.LogCaptureFixture
) -> None:
    app, conf = own_app
    clock.set_now(f.NOON)
    try:
        async with app.state.write_sessions() as session:
            edition = await f.edition(session, admission_active_cap=1)
            first = await f.candidate(session)
            await participants.register(session, edition_id=edition.id, user=first)
            await session.commit()
            edition_id = edition.id
        held, cookie = await _candidate_cookie(app, conf)
        async with app.state.write_sessions() as session:
            await participants.register(session, edition_id=edition_id, user=held)
            await session.commit()
        async with app.state.read_sessions() as session:  # the first takes the only place
            (gate,) = await admission_gate.armed(session, f.NOON)
        place = await admission_gate.take_place(admission_gate.LOCAL, gate, first.id, f.NOON)
        assert place.admitted
        for gone in (False, True):
            socket = Asgi(cookie=cookie, gone=gone)
            await socket.run(app)
            assert socket.closed_with() == ([] if gone else [1013])
    finally:
        clock.set_now(None)
        admission_gate.forget()
        admission_gate.LOCAL.editions.clear()
    assert socket_logs.records == []
