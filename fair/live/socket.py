"""The one WebSocket endpoint, /live: sessions by cookie, subscriptions, limits (PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocket

from fair import (
    channels,
    chat,
    editions,
    employers,
    i18n,
    moderation,
    presence,
    queues,
    settings,
    unit_of_work,
    user_sessions,
    webconferences,
)
from fair.broadcast import Broadcaster
from fair.enums import (
    NextStep,
    ReportKind,
)
from fair.errors import Conflict, FairError, Forbidden, NotFound, Unauthenticated
from fair.live import (
    account_watch,
    limits,
    payloads,
    protocol,
    room_commands,
    stage_commands,
)
from fair.live.protocol import ProtocolError
from fair.models import User

log = logging.getLogger("fair.live")
T = TypeVar("T")

MAX_MESSAGE_BYTES = 16 * 1024
OUTBOX_SIZE = 100
MAX_SUBSCRIPTIONS = 20
CLOSE_TOO_BIG = 1009
CLOSE_OVERFLOW = 1013  # "try again later": the client reconnects and re-fetches
CLOSE_BAD_ORIGIN = 4403
CLOSE_REASONS = {
    account_watch.CLOSE_SESSION_ENDED: account_watch.CLOSE_REASON,
    limits.CLOSE_TOO_MANY: limits.CLOSE_REASON,
}


async def endpoint(websocket: WebSocket) -> None:
    # Accept first, so that a refused browser sees the close code (a refused handshake is
    # only an opaque error to scripts).
    await websocket.accept()
    if not origin_allowed(websocket.headers.get("origin"), websocket.headers.get("host")):
        await websocket.close(CLOSE_BAD_ORIGIN)
        return
    async with websocket.app.state.read_sessions() as session:
        user = await user_sessions.session_user(session, websocket.session)
    code = await Connection(websocket, user, websocket.app.state.broadcast).serve()
    if code:
        reason = CLOSE_REASONS.get(code)
        with contextlib.suppress(Exception):  # the client may be gone already
            await websocket.close(code, reason)


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


PUBLIC_KINDS = (channels.BOOTH, channels.EDITION, channels.WEBCONFERENCE)


def check_subscribe(
    user: User | None, channel: str, *, participant: bool = False, visible: bool = True
) -> None:
    """Anyone, even logged out, may follow the channel of a booth, edition or webconference
    they see (`visible`: public counts, ids and states only); a user may follow their own
    channel; an interview's room only as one of its two people while it is open
    (`participant`). The caller checked both against the database (`sees`)."""
    parsed = channels.parse(channel)
    public = parsed is not None and parsed[0] in PUBLIC_KINDS
    if public and not visible:
        raise Forbidden("You cannot follow this channel.", code="live.forbidden")
    if user is None:
        if public:  # visitors see the hall and booths live too: counts and ids only
            return
        raise Unauthenticated("Please log in to continue.")
    room = participant and parsed is not None and parsed[0] == channels.ROOM
    if parsed != (channels.USER, user.id) and not public and not room:
        raise Forbidden("You cannot follow this channel.", code="live.forbidden")


async def sees(session: AsyncSession, user: User | None, channel: str) -> bool:
    """Whether `user` sees what a public channel is about, as on the pages: a published
    edition, a public booth (`employers.is_public`), a talk (`webconferences.visible_to`);
    organisers see their edition's, and recruiters their employer's booths, before that."""
    parsed = channels.parse(channel)
    if parsed is None or parsed[0] not in PUBLIC_KINDS:
        return True  # not a public channel: check_subscribe decides
    kind, ident = parsed
    try:
        if kind == channels.WEBCONFERENCE:
            webconference = await webconferences.get(session, ident)
            return await webconferences.visible_to(session, user, webconference)
        if kind == channels.EDITION:
            edition = await editions.get(session, ident)
            if editions.visible(edition):
                return True
            return user is not None and await editions.is_organiser(session, user, edition)
        booth = await employers.get_booth(session, ident)
    except NotFound:
        return False
    if employers.is_public(booth) or user is None:
        return employers.is_public(booth)
    member = await employers.membership(session, user, booth.employer_id)
    return member is not None or await editions.is_organiser(session, user, booth.edition)


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
        conf = settings.get()
        self.heartbeat_seconds = conf.live_heartbeat_seconds
        self.commands = limits.CommandBucket(conf.live_command_rate, conf.live_command_burst)
        self.rooms: dict[int, tuple[str, str]] = {}  # interview id: (entry token, role)
        self.media_rooms: set[str] = set()  # media rooms this socket publishes to or watches

    async def serve(self) -> int | None:
        """Run until the client leaves (None) or must be closed (the close code)."""
        tasks = [
            asyncio.create_task(self._receive()),
            asyncio.create_task(self._send()),
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(self._overflow()),
            asyncio.create_task(account_watch.follow(self)),
            asyncio.create_task(limits.hold(self)),
        ]
        try:
            done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for channel in list(self.subscriptions):
                await self.unsubscribe_channel(channel)
            await self._leave_booth()
            await room_commands.leave_all(self)
            await stage_commands.leave_all(self)
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
            await asyncio.sleep(self.heartbeat_seconds)
            self.push(protocol.HEARTBEAT)
            if self.staffs:
                await self._touch()

    async def _touch(self) -> None:
        """Keep this socket's presence fresh, else `presence.expire` removes it after 90 s."""
        try:
            await self.write(lambda s: presence.touch(s, connection_id=self.connection_id))
        except Exception:  # a busy database: the next heartbeat retries
            log.exception("touching booth presence failed")

    async def _leave_booth(self) -> None:
        """The socket closes: it no longer staffs its booth (expiry is the fallback)."""
        if not self.staffs:
            return
        try:
            await self.write(lambda s: presence.unstaff(s, connection_id=self.connection_id))
        except Exception:
            log.exception("unstaffing a booth failed")

    async def _overflow(self) -> int | None:
        await self.overflowed.wait()
        return CLOSE_OVERFLOW

    async def _handle(self, text: str) -> None:
        command_id: Any = None
        allowed = self.commands.take()  # frames that cannot be read count too
        try:
            command = protocol.parse(text)
            command_id = command.id
            if not allowed:
                raise limits.rate_limited()
            payloads.check(command.payload)
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
        channel = payloads.channel(payload)
        async with self.read() as session:
            visible = await sees(session, self.user, channel)
        participant = await room_commands.participant(self, channel)
        check_subscribe(self.user, channel, participant=participant, visible=visible)
        if channel not in self.subscriptions:
            await self.follow(channel, self._forward)
        return {"channel": channel}

    async def unsubscribe(self, payload: dict[str, Any]) -> dict[str, Any]:
        channel = payloads.channel(payload)
        await self.unsubscribe_channel(channel)
        return {"channel": channel}

    async def unsubscribe_channel(self, channel: str) -> None:
        found = self.subscriptions.pop(channel, None)
        if found is None:
            return
        stack, task = found
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await stack.aclose()

    async def follow(
        self, channel: str, forward: Callable[[asyncio.Queue[str]], Coroutine[Any, Any, None]]
    ) -> None:
        """Subscribe to `channel`; `forward` reads its frames (and pushes what this socket
        should see) until unsubscribed."""
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise Conflict(
                "You follow too many channels at once.", code="live.too_many_subscriptions"
            )
        stack = AsyncExitStack()
        queue = await stack.enter_async_context(self.broadcast.subscribe(channel))
        task = asyncio.create_task(forward(queue))
        self.subscriptions[channel] = (stack, task)

    async def _forward(self, queue: asyncio.Queue[str]) -> None:
        while True:
            self.push(await queue.get())

    # Booth queues and conversations: one write session per command, events after commit.

    def me(self) -> User:
        if self.user is None:
            raise Unauthenticated("Please log in to continue.")
        return self.user

    def media(self) -> Any:
        """The media rooms: fair.media.stage.Stages, or fair.media.remote.RemoteStages (the
        same methods) with media processes."""
        return self.websocket.app.state.stages

    def read(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A read session (one per command)."""
        sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]]
        sessions = self.websocket.app.state.read_sessions
        return sessions()

    async def write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        state = self.websocket.app.state
        return await unit_of_work.write(state.write_sessions, state.broadcast, work)

    async def queue_join(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, booth_id = self.me(), payloads.integer(payload, "booth_id")

        async def work(session: AsyncSession) -> dict[str, Any]:
            booth = await employers.get_booth(session, booth_id)
            entry = await queues.join(session, candidate=me, booth=booth)
            return await _place(session, entry)

        return await self.write(work)

    async def queue_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, booth_id = self.me(), payloads.integer(payload, "booth_id")
        async with self.read() as session:
            await employers.public_booth(session, booth_id)  # as the booth's page
            entry = await queues.entry_of(session, candidate=me, booth_id=booth_id)
            if entry is None:
                return {"booth_id": booth_id, "entry_id": None, **await _counts(session, booth_id)}
            return await _place(session, entry)

    async def queue_leave(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, booth_id = self.me(), payloads.integer(payload, "booth_id")

        async def work(session: AsyncSession) -> dict[str, Any]:
            booth = await employers.get_booth(session, booth_id)
            entry = await queues.leave(session, candidate=me, booth=booth)
            return {"booth_id": booth_id, "left": entry is not None}

        return await self.write(work)

    async def queue_next(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, booth_id = self.me(), payloads.integer(payload, "booth_id")

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

        return await self.write(work)

    async def queue_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, entry_id = self.me(), payloads.integer(payload, "entry_id")

        async def work(session: AsyncSession) -> dict[str, Any]:
            entry = await queues.get_entry(session, entry_id)
            conversation = await queues.answer(session, candidate=me, entry=entry)
            return {"conversation_id": conversation.id, "booth_id": conversation.booth_id}

        return await self.write(work)

    async def booth_staff(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, booth_id = self.me(), payloads.integer(payload, "booth_id")

        async def work(session: AsyncSession) -> dict[str, Any]:
            booth = await employers.get_booth(session, booth_id)
            await presence.staff(
                session, recruiter=me, booth=booth, connection_id=self.connection_id
            )
            return {"booth_id": booth_id, "staffed": True}

        self.staffs = True  # before the write: a close racing the commit still unstaffs
        return await self.write(work)

    async def booth_unstaff(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.me()
        booth_id = payloads.integer(payload, "booth_id")

        async def work(session: AsyncSession) -> dict[str, Any]:
            left = await presence.unstaff(
                session, connection_id=self.connection_id, booth_id=booth_id
            )
            return {"booth_id": booth_id, "left": left}

        return await self.write(work)

    async def conversation_send(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, conversation_id = self.me(), payloads.integer(payload, "conversation_id")
        body = payloads.body(payload)

        async def work(session: AsyncSession) -> dict[str, Any]:
            conversation = await queues.get_conversation(session, conversation_id)
            message = await queues.send_message(
                session, user=me, conversation=conversation, body=body
            )
            return {"conversation_id": conversation_id, "message_id": message.id}

        return await self.write(work)

    async def conversation_end(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, conversation_id = self.me(), payloads.integer(payload, "conversation_id")
        next_step = NextStep(payloads.choice(payload, "next_step", NextStep))

        async def work(session: AsyncSession) -> dict[str, Any]:
            conversation = await queues.get_conversation(session, conversation_id)
            await queues.end_conversation(
                session, recruiter=me, conversation=conversation, next_step=next_step
            )
            return {"conversation_id": conversation_id, "next_step": next_step.value}

        return await self.write(work)

    # Booth Q&A and reports (fair.chat, fair.moderation): one write session per command too.

    async def qa_ask(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, booth_id, body = (
            self.me(),
            payloads.integer(payload, "booth_id"),
            payloads.body(payload),
        )

        async def work(session: AsyncSession) -> dict[str, Any]:
            booth = await employers.get_booth(session, booth_id)
            question = await chat.ask(session, candidate=me, booth=booth, body=body)
            return {"booth_id": booth_id, "question_id": question.id}

        return await self.write(work)

    async def qa_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, question_id, body = (
            self.me(),
            payloads.integer(payload, "question_id"),
            payloads.body(payload),
        )

        async def work(session: AsyncSession) -> dict[str, Any]:
            question = await chat.get_question(session, question_id)
            reply = await chat.answer(session, recruiter=me, question=question, body=body)
            return {"booth_id": reply.booth_id, "question_id": question_id, "message_id": reply.id}

        return await self.write(work)

    async def chat_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, message_id = self.me(), payloads.integer(payload, "message_id")
        kind = ReportKind(payloads.choice(payload, "kind", ReportKind))
        reason = payloads.string(payload, "reason")

        async def work(session: AsyncSession) -> dict[str, Any]:
            await moderation.report(
                session, user=me, kind=kind, message_id=message_id, reason=reason
            )
            return {"kind": kind.value, "message_id": message_id, "reported": True}

        return await self.write(work)


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


ACTIONS: dict[str, Callable[[Connection, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
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
    "qa.ask": Connection.qa_ask,
    "qa.answer": Connection.qa_answer,
    "chat.report": Connection.chat_report,
    **room_commands.ACTIONS,
    **stage_commands.ACTIONS,
}
