"""The one WebSocket endpoint, /live: sessions by cookie, subscriptions, limits (PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocket

from fair import channels, employers, i18n, presence, queues, settings
from fair.enums import NextStep
from fair.errors import Conflict, FairError, Forbidden, Unauthenticated
from fair.live import protocol
from fair.live.broadcast import Broadcaster
from fair.live.protocol import ProtocolError
from fair.models import User
from fair.web import auth

log = logging.getLogger("fair.live")
T = TypeVar("T")

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
    """A user may follow their own channel, and any booth's or edition's (public counts only)."""
    if user is None:
        raise Unauthenticated("Please log in to continue.")
    parsed = channels.parse(channel)
    public = parsed is not None and parsed[0] in (channels.BOOTH, channels.EDITION)
    if parsed != (channels.USER, user.id) and not public:
        raise Forbidden("You cannot follow this channel.", code="live.forbidden")


async def run_call_expiry(state: Any, *, interval: float = 5.0) -> None:
    """Every `interval` seconds (the app's background task), skip unanswered queue calls and
    remove the booth presence of sockets whose process died."""
    while True:
        await asyncio.sleep(interval)
        try:
            await protocol.write(state.write_sessions, state.broadcast, queues.expire_calls)
        except Exception:  # a busy database: the next round retries
            log.exception("expiring queue calls failed")
        try:
            await protocol.write(state.write_sessions, state.broadcast, presence.expire)
        except Exception:
            log.exception("expiring booth presence failed")


class Connection:
    """One socket: a reader, a writer draining a bounded outbox, a heartbeat, subscriptions."""

    def __init__(self, websocket: WebSocket, user: User | None, broadcast: Broadcaster) -> None:
        self.websocket = websocket
        self.user = user
        self.broadcast = broadcast
        self.outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX_SIZE)
        self.overflowed = asyncio.Event()
        self.subscriptions: dict[str, tuple[AsyncExitStack, asyncio.Task[None]]] = {}
        # This socket's booth presence row (fair.presence), unique across processes.
        self.connection_id = str(uuid.uuid4())
        self.staffs = False

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
            await self._leave_booth()
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
            if self.staffs:
                await self._touch()

    async def _touch(self) -> None:
        """Keep this socket's presence fresh, else `presence.expire` removes it after 90 s."""
        try:
            await self._write(lambda s: presence.touch(s, connection_id=self.connection_id))
        except Exception:  # a busy database: the next heartbeat retries
            log.exception("touching booth presence failed")

    async def _leave_booth(self) -> None:
        """The socket closes: it no longer staffs its booth (expiry is the fallback)."""
        if not self.staffs:
            return
        try:
            await self._write(lambda s: presence.unstaff(s, connection_id=self.connection_id))
        except Exception:
            log.exception("unstaffing a booth failed")

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

    # Booth queues and conversations: one write session per command, events after commit.

    def _me(self) -> User:
        if self.user is None:
            raise Unauthenticated("Please log in to continue.")
        return self.user

    async def _write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        state = self.websocket.app.state
        return await protocol.write(state.write_sessions, state.broadcast, work)

    async def queue_join(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, booth_id = self._me(), _int(payload, "booth_id")

        async def work(session: AsyncSession) -> dict[str, Any]:
            booth = await employers.get_booth(session, booth_id)
            entry = await queues.join(session, candidate=me, booth=booth)
            return await _place(session, entry)

        return await self._write(work)

    async def queue_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, booth_id = self._me(), _int(payload, "booth_id")
        async with self.websocket.app.state.read_sessions() as session:
            entry = await queues.entry_of(session, candidate=me, booth_id=booth_id)
            if entry is None:
                return {"booth_id": booth_id, "entry_id": None, **await _counts(session, booth_id)}
            return await _place(session, entry)

    async def queue_leave(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, booth_id = self._me(), _int(payload, "booth_id")

        async def work(session: AsyncSession) -> dict[str, Any]:
            booth = await employers.get_booth(session, booth_id)
            entry = await queues.leave(session, candidate=me, booth=booth)
            return {"booth_id": booth_id, "left": entry is not None}

        return await self._write(work)

    async def queue_next(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, booth_id = self._me(), _int(payload, "booth_id")

        async def work(session: AsyncSession) -> dict[str, Any]:
            booth = await employers.get_booth(session, booth_id)
            entry = await queues.take_next(session, recruiter=me, booth=booth)
            if entry is None:
                return {"booth_id": booth_id, "entry_id": None}
            candidate = await session.get(User, entry.candidate_id)
            assert candidate is not None
            return {
                "booth_id": booth_id,
                "entry_id": entry.id,
                "candidate": {"id": candidate.id, "name": candidate.name},
            }

        return await self._write(work)

    async def queue_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, entry_id = self._me(), _int(payload, "entry_id")

        async def work(session: AsyncSession) -> dict[str, Any]:
            entry = await queues.get_entry(session, entry_id)
            conversation = await queues.answer(session, candidate=me, entry=entry)
            return {"conversation_id": conversation.id, "booth_id": conversation.booth_id}

        return await self._write(work)

    async def booth_staff(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, booth_id = self._me(), _int(payload, "booth_id")

        async def work(session: AsyncSession) -> dict[str, Any]:
            booth = await employers.get_booth(session, booth_id)
            await presence.staff(
                session, recruiter=me, booth=booth, connection_id=self.connection_id
            )
            return {"booth_id": booth_id, "staffed": True}

        self.staffs = True  # before the write: a close racing the commit still unstaffs
        return await self._write(work)

    async def booth_unstaff(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._me()
        booth_id = _int(payload, "booth_id")

        async def work(session: AsyncSession) -> dict[str, Any]:
            left = await presence.unstaff(
                session, connection_id=self.connection_id, booth_id=booth_id
            )
            return {"booth_id": booth_id, "left": left}

        return await self._write(work)

    async def conversation_send(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, conversation_id = self._me(), _int(payload, "conversation_id")
        body = payload.get("body")
        if not isinstance(body, str):
            raise ProtocolError("Write the message's text.", code="live.bad_message")

        async def work(session: AsyncSession) -> dict[str, Any]:
            conversation = await queues.get_conversation(session, conversation_id)
            message = await queues.send_message(
                session, user=me, conversation=conversation, body=body
            )
            return {"conversation_id": conversation_id, "message_id": message.id}

        return await self._write(work)

    async def conversation_end(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, conversation_id = self._me(), _int(payload, "conversation_id")
        try:
            next_step = NextStep(str(payload.get("next_step")))
        except ValueError:
            raise ProtocolError("Choose a next step.", code="live.bad_message") from None

        async def work(session: AsyncSession) -> dict[str, Any]:
            conversation = await queues.get_conversation(session, conversation_id)
            await queues.end_conversation(
                session, recruiter=me, conversation=conversation, next_step=next_step
            )
            return {"conversation_id": conversation_id, "next_step": next_step.value}

        return await self._write(work)


async def _counts(session: AsyncSession, booth_id: int) -> dict[str, int]:
    return await queues.counts(session, booth_id)


async def _place(session: AsyncSession, entry: Any) -> dict[str, Any]:
    position, estimate = await queues.position_of(session, entry)
    return {
        "booth_id": entry.booth_id,
        "entry_id": entry.id,
        "status": entry.status,
        "position": position,
        "estimate_seconds": estimate,
    }


def _channel(payload: dict[str, Any]) -> str:
    channel = payload.get("channel")
    if not isinstance(channel, str) or not channel:
        raise ProtocolError("Name the channel.", code="live.bad_message")
    return channel


def _int(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise ProtocolError("This message is missing a valid “%(key)s”.", params={"key": key})
    return value


ACTIONS = {
    "ping": Connection.ping,
    "subscribe": Connection.subscribe,
    "unsubscribe": Connection.unsubscribe,
    "queue.join": Connection.queue_join,
    "queue.status": Connection.queue_status,
    "queue.leave": Connection.queue_leave,
    "queue.next": Connection.queue_next,
    "queue.answer": Connection.queue_answer,
    "booth.staff": Connection.booth_staff,
    "booth.unstaff": Connection.booth_unstaff,
    "conversation.send": Connection.conversation_send,
    "conversation.end": Connection.conversation_end,
}
