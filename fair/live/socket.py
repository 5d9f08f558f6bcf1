"""The one WebSocket endpoint, /live: sessions by cookie, subscriptions, limits (PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from fair import channels, i18n, settings
from fair.errors import Conflict, FairError, Forbidden, Unauthenticated
from fair.live import protocol
from fair.live.broadcast import Broadcaster
from fair.live.protocol import ProtocolError
from fair.models import User
from fair.web import auth

log = logging.getLogger("fair.live")

MAX_MESSAGE_BYTES = 16 * 1024
OUTBOX_SIZE = 100
MAX_SUBSCRIPTIONS = 20
HEARTBEAT_SECONDS = 25.0
CLOSE_TOO_BIG = 1009
CLOSE_OVERFLOW = 1013  # "try again later": the client reconnects and re-fetches
CLOSE_BAD_ORIGIN = 4403


async def endpoint(websocket: WebSocket) -> None:
    # Accept first, so that a refused browser sees the close code (a refused handshake is
    # only an opaque error to scripts).
    await websocket.accept()
    if not origin_allowed(websocket.headers.get("origin"), websocket.headers.get("host")):
        await websocket.close(CLOSE_BAD_ORIGIN)
        return
    async with websocket.app.state.read_sessions() as session:
        user = await auth.session_user(session, websocket.session)
    code = await Connection(websocket, user, websocket.app.state.broadcast).serve()
    if code:
        with contextlib.suppress(Exception):  # the client may be gone already
            await websocket.close(code)


def origin_allowed(origin: str | None, host: str | None) -> bool:
    """Browsers always send Origin: it must be BASE_URL's origin or this Host's.

    Without one, the client is not a browser, and cannot carry a victim's cookie by accident.
    """
    if origin is None:
        return True
    allowed = {_origin(settings.get().base_url)}
    if host:
        allowed |= {f"http://{host}".lower(), f"https://{host}".lower()}
    return origin.strip().lower().rstrip("/") in allowed


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_subscribe(user: User | None, channel: str) -> None:
    """A user may follow their own channel only (other kinds come with the live fair)."""
    if user is None:
        raise Unauthenticated("Please log in to continue.")
    if channels.parse(channel) != (channels.USER, user.id):
        raise Forbidden("You cannot follow this channel.", code="live.forbidden")


class Connection:
    """One socket: a reader, a writer draining a bounded outbox, a heartbeat, subscriptions."""

    def __init__(self, websocket: WebSocket, user: User | None, broadcast: Broadcaster) -> None:
        self.websocket = websocket
        self.user = user
        self.broadcast = broadcast
        self.outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX_SIZE)
        self.overflowed = asyncio.Event()
        self.subscriptions: dict[str, tuple[AsyncExitStack, asyncio.Task[None]]] = {}

    async def serve(self) -> int | None:
        """Run until the client leaves (None) or must be closed (the close code)."""
        tasks = [
            asyncio.create_task(self._receive()),
            asyncio.create_task(self._send()),
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(self._overflow()),
        ]
        try:
            done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for channel in list(self.subscriptions):
                await self._unsubscribe(channel)
        finished = done.pop()
        return None if finished.cancelled() or finished.exception() else finished.result()

    def push(self, text: str) -> None:
        """Queue a frame; never waits: a client too slow to drain its outbox is closed."""
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.overflowed.set()

    async def _receive(self) -> int | None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return None
            data = message.get("bytes") or message.get("text", "").encode()
            if len(data) > MAX_MESSAGE_BYTES:
                return CLOSE_TOO_BIG
            await self._handle(data.decode(errors="replace"))

    async def _send(self) -> int | None:
        while True:
            text = await self.outbox.get()
            try:
                await self.websocket.send_text(text)
            except Exception:  # the client went away mid-send
                return None

    async def _heartbeat(self) -> int | None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            self.push(protocol.HEARTBEAT)

    async def _overflow(self) -> int | None:
        await self.overflowed.wait()
        return CLOSE_OVERFLOW

    async def _handle(self, text: str) -> None:
        command_id: Any = None
        try:
            command = protocol.parse(text)
            command_id = command.id
            action = ACTIONS.get(command.action)
            if action is None:
                raise ProtocolError("This action does not exist.", code="live.unknown_action")
            self.push(protocol.success(command_id, await action(self, command.payload)))
        except FairError as exc:
            message = i18n.gettext(exc.message, **exc.params)
            self.push(protocol.error(command_id, exc.code, message))
        except Exception:
            log.exception("live command failed")
            message = i18n.gettext("Sorry, something went wrong on our side.")
            self.push(protocol.error(command_id, "fair.server_error", message))

    async def ping(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {}

    async def subscribe(self, payload: dict[str, Any]) -> dict[str, Any]:
        channel = _channel(payload)
        check_subscribe(self.user, channel)
        if channel not in self.subscriptions:
            if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
                raise Conflict(
                    "You follow too many channels at once.", code="live.too_many_subscriptions"
                )
            stack = AsyncExitStack()
            queue = await stack.enter_async_context(self.broadcast.subscribe(channel))
            task = asyncio.create_task(self._forward(queue))
            self.subscriptions[channel] = (stack, task)
        return {"channel": channel}

    async def unsubscribe(self, payload: dict[str, Any]) -> dict[str, Any]:
        channel = _channel(payload)
        await self._unsubscribe(channel)
        return {"channel": channel}

    async def _unsubscribe(self, channel: str) -> None:
        found = self.subscriptions.pop(channel, None)
        if found is None:
            return
        stack, task = found
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await stack.aclose()

    async def _forward(self, queue: asyncio.Queue[str]) -> None:
        while True:
            self.push(await queue.get())


def _channel(payload: dict[str, Any]) -> str:
    channel = payload.get("channel")
    if not isinstance(channel, str) or not channel:
        raise ProtocolError("Name the channel.", code="live.bad_message")
    return channel


ACTIONS = {
    "ping": Connection.ping,
    "subscribe": Connection.subscribe,
    "unsubscribe": Connection.unsubscribe,
}
