"""A /live socket as the tests drive it: `Client` keeps each command's reply and the events it
receives in order; `socket_of(server, client)` opens one with an httpx client's session."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from itsdangerous import TimestampSigner


class Client:
    """One /live socket: commands with their replies, and the events it receives, in order."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.replies: dict[int, asyncio.Future[list[Any]]] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame[0] == "event":
                    if frame[2].get("event") != "heartbeat":
                        self.events.put_nowait(frame[2])
                elif (waiting := self.replies.pop(frame[1], None)) is not None:
                    waiting.set_result(frame)

    async def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        self.next_id += 1
        waiting: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self.replies[self.next_id] = waiting
        await self.ws.send(json.dumps([action, self.next_id, payload]))
        return await asyncio.wait_for(waiting, 5)

    async def ok(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        frame = await self.call(action, payload)
        assert frame[0] == "success", frame
        return dict(frame[2])

    async def refused(self, action: str, payload: dict[str, Any]) -> str:
        frame = await self.call(action, payload)
        assert frame[0] == "error", frame
        return str(frame[2]["code"])

    async def event(self, wait: float = 5) -> dict[str, Any]:
        return await asyncio.wait_for(self.events.get(), wait)

    async def nothing(self, wait: float = 0.3) -> None:
        await asyncio.sleep(wait)
        assert self.events.empty(), self.events.get_nowait()

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


@contextlib.asynccontextmanager
async def socket_of(server: Any, client: httpx.AsyncClient) -> AsyncIterator[Client]:
    cookie = f"fair_session={client.cookies['fair_session']}"
    async with websockets.connect(
        server.ws, additional_headers={"Cookie": cookie}, origin=server.url, max_size=None
    ) as ws:
        live = Client(ws)
        try:
            yield live
        finally:
            await live.close()


async def slow_client(server: Any, cookie: str) -> Any:
    """A socket that does not read until told to: a small receive buffer, at most one frame
    kept unread, and no compression (which would shrink the test's frames to nothing), so that
    the server's sends to it soon block."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)  # before connecting
    raw.setblocking(False)
    port = int(server.url.rsplit(":", 1)[1])
    await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", port))
    return await websockets.connect(
        server.ws,
        sock=raw,
        additional_headers={"Cookie": cookie},
        origin=server.url,
        max_size=None,
        max_queue=1,
        compression=None,
    )


async def publish(server: Any, channel: str, frame: str) -> None:
    """Publish through the server's own broadcaster (tests/live_server.py), on the server
    thread's loop."""
    broadcast = server.app.state.broadcast
    done = asyncio.run_coroutine_threadsafe(broadcast.publish(channel, frame), server.loop)
    await asyncio.wrap_future(done)


async def logged_in_socket_closed(server: Any) -> tuple[int, str]:
    """The close code and reason a logged-in browser's socket gets from `server` (a
    tests.live_server.Server; the session is read from the database; the cookie signed as
    Starlette's session middleware signs it)."""
    data = base64.b64encode(json.dumps({"sid": "a-session-key"}).encode())
    cookie = TimestampSigner(server.conf.secret_key).sign(data).decode()
    headers = {"Cookie": f"fair_session={cookie}"}
    async with websockets.connect(server.ws, additional_headers=headers) as socket_:
        with pytest.raises(websockets.ConnectionClosed) as closing:
            await socket_.recv()
    assert closing.value.rcvd is not None
    return closing.value.rcvd.code, closing.value.rcvd.reason
