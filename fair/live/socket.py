"""The one WebSocket endpoint, /live: sessions by cookie, subscriptions, limits (PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocket

from fair import (
    channels,
    chat,
    employers,
    events,
    i18n,
    moderation,
    presence,
    queues,
    rooms,
    settings,
    webconferences,
)
from fair.enums import (
    InterviewMode,
    NextStep,
    ReportKind,
)
from fair.errors import Conflict, FairError, Forbidden, Unauthenticated
from fair.events import Event
from fair.live import protocol
from fair.live.broadcast import Broadcaster
from fair.live.protocol import ProtocolError
from fair.media.stage import Stages
from fair.models import User
from fair.web import auth

log = logging.getLogger("fair.live")
T = TypeVar("T")

MAX_MESSAGE_BYTES = 16 * 1024
OUTBOX_SIZE = 100
MAX_SUBSCRIPTIONS = 20
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


def check_subscribe(user: User | None, channel: str, *, participant: bool = False) -> None:
    """Anyone, even logged out, may follow any booth's, edition's or webconference's channel
    (public counts, ids and states only); a user may follow their own channel;
    an interview's room only as one of its two people while it is open (`participant`, which
    the caller checked against the database)."""
    parsed = channels.parse(channel)
    public = parsed is not None and parsed[0] in (
        channels.BOOTH,
        channels.EDITION,
        channels.WEBCONFERENCE,
    )
    if user is None:
        if public:  # visitors see the hall and booths live too: counts and ids only
            return
        raise Unauthenticated("Please log in to continue.")
    room = participant and parsed is not None and parsed[0] == channels.ROOM
    if parsed != (channels.USER, user.id) and not public and not room:
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
        self.heartbeat_seconds = settings.get().live_heartbeat_seconds
        self.rooms: dict[int, tuple[str, str]] = {}  # interview id: (entry token, role)
        self.stage_ids: set[int] = set()  # webconferences this socket presents or watches

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
            await self._leave_rooms()
            await self._leave_stages()
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
        check_subscribe(self.user, channel, participant=await self._room_participant(channel))
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

    # Booth Q&A and reports (fair.chat, fair.moderation): one write session per command too.

    async def qa_ask(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, booth_id, body = self._me(), _int(payload, "booth_id"), _body(payload)

        async def work(session: AsyncSession) -> dict[str, Any]:
            booth = await employers.get_booth(session, booth_id)
            question = await chat.ask(session, candidate=me, booth=booth, body=body)
            return {"booth_id": booth_id, "question_id": question.id}

        return await self._write(work)

    async def qa_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, question_id, body = self._me(), _int(payload, "question_id"), _body(payload)

        async def work(session: AsyncSession) -> dict[str, Any]:
            question = await chat.get_question(session, question_id)
            reply = await chat.answer(session, recruiter=me, question=question, body=body)
            return {"booth_id": reply.booth_id, "question_id": question_id, "message_id": reply.id}

        return await self._write(work)

    async def chat_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, message_id = self._me(), _int(payload, "message_id")
        try:
            kind = ReportKind(str(payload.get("kind")))
        except ValueError:
            raise ProtocolError("Choose what kind of message to report.") from None
        reason = payload.get("reason") or ""
        if not isinstance(reason, str):
            raise ProtocolError(
                "This message is missing a valid “%(key)s”.", params={"key": "reason"}
            )

        async def work(session: AsyncSession) -> dict[str, Any]:
            await moderation.report(
                session, user=me, kind=kind, message_id=message_id, reason=reason
            )
            return {"kind": kind.value, "message_id": message_id, "reported": True}

        return await self._write(work)

    # Interview rooms (fair.rooms) ----------------------------------------------------------------
    # Signalling for browser-to-browser calls (PROTOCOL.md, "Interview rooms"). `room.join` checks
    # the person, the room's window and the entry token, then follows `room:<id>` through a
    # filter: frames this socket sent, and frames addressed to another socket, are not sent to
    # it. Every later room command checks all of that again (one read per command). Relays that
    # write nothing (`room.signal`, `room.peer`) go straight to the broadcaster; the other
    # commands write, then publish after commit like every command.

    async def room_join(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, interview_id = self._me(), _int(payload, "interview_id")
        token = _text(payload, "token") or ""
        media = _text(payload, "session")
        async with self.websocket.app.state.read_sessions() as session:
            interview = await _room_check(session, me, interview_id, token)
            role = rooms.role_of(interview, me)
        reply = {
            "interview_id": interview_id,
            "role": role,
            "admitted": interview.admitted_at is not None,
            "mode": interview.mode,
            "ice_servers": rooms.ice_servers(user_id=me.id),
            "starts_at": interview.starts_at.isoformat(),
            "ends_at": interview.ends_at.isoformat(),
            "closes_at": rooms.closes_at(interview).isoformat(),
            "connection_id": self.connection_id,
        }
        await self._room_follow(interview_id)
        self.rooms[interview_id] = (token, role)
        await self._room_peer(interview_id, "joined", session=media)
        return reply

    async def room_signal(self, payload: dict[str, Any]) -> dict[str, Any]:
        interview_id = _int(payload, "interview_id")
        data, to = _signal(payload), _text(payload, "to")
        token, _role = self._room_ticket(interview_id)
        async with self.websocket.app.state.read_sessions() as session:
            interview = await _room_check(session, self._me(), interview_id, token)
        if interview.admitted_at is None:
            raise Conflict(
                "The recruiter has not let the candidate in yet.", code="room.not_admitted"
            )
        await self._room_publish(interview_id, "room.signal", to=to, data=data)
        return {"interview_id": interview_id}

    async def room_leave(self, payload: dict[str, Any]) -> dict[str, Any]:
        interview_id = _int(payload, "interview_id")
        return {"interview_id": interview_id, "left": await self._room_leave(interview_id)}

    async def room_admit(self, payload: dict[str, Any]) -> dict[str, Any]:
        interview_id = _int(payload, "interview_id")

        async def work(session: AsyncSession, me: User) -> dict[str, Any]:
            interview = await rooms.admit(session, user=me, interview_id=interview_id)
            assert interview.admitted_at is not None
            return {"interview_id": interview_id, "admitted_at": interview.admitted_at.isoformat()}

        return await self._room_write(interview_id, work)

    async def room_mode(self, payload: dict[str, Any]) -> dict[str, Any]:
        interview_id = _int(payload, "interview_id")
        try:
            mode = InterviewMode(str(payload.get("mode")))
        except ValueError:
            raise ProtocolError("Choose video, phone or chat.") from None

        async def work(session: AsyncSession, me: User) -> dict[str, Any]:
            await rooms.switch_mode(session, user=me, interview_id=interview_id, mode=mode)
            return {"interview_id": interview_id, "mode": mode.value}

        return await self._room_write(interview_id, work)

    async def room_message(self, payload: dict[str, Any]) -> dict[str, Any]:
        interview_id, body = _int(payload, "interview_id"), _body(payload)

        async def work(session: AsyncSession, me: User) -> dict[str, Any]:
            message = await rooms.send_message(
                session, user=me, interview_id=interview_id, body=body
            )
            return {"interview_id": interview_id, "message_id": message.id}

        return await self._room_write(interview_id, work)

    async def room_phone(self, payload: dict[str, Any]) -> dict[str, Any]:
        interview_id = _int(payload, "interview_id")
        token, _role = self._room_ticket(interview_id)
        async with self.websocket.app.state.read_sessions() as session:
            me = self._me()
            await _room_check(session, me, interview_id, token)
            phone = await rooms.phone_number(session, user=me, interview_id=interview_id)
        return {"interview_id": interview_id, "phone": phone}

    async def room_set_phone(self, payload: dict[str, Any]) -> dict[str, Any]:
        interview_id, phone = _int(payload, "interview_id"), _text(payload, "phone") or ""

        async def work(session: AsyncSession, me: User) -> dict[str, Any]:
            saved = await rooms.set_phone(session, user=me, interview_id=interview_id, phone=phone)
            return {"interview_id": interview_id, "phone": saved}

        return await self._room_write(interview_id, work)

    def _room_ticket(self, interview_id: int) -> tuple[str, str]:
        """This socket's (token, role) in the room; `room.not_joined` before `room.join`."""
        self._me()
        ticket = self.rooms.get(interview_id)
        if ticket is None:
            raise Conflict("Enter the room first.", code="room.not_joined")
        return ticket

    async def _room_write(
        self, interview_id: int, work: Callable[[AsyncSession, User], Awaitable[T]]
    ) -> T:
        token, _role = self._room_ticket(interview_id)
        me = self._me()

        async def checked(session: AsyncSession) -> T:
            await _room_check(session, me, interview_id, token)
            return await work(session, me)

        return await self._write(checked)

    async def _room_follow(self, interview_id: int) -> None:
        """Follow the room's channel through `_room_forward` (replacing a plain subscription)."""
        channel = channels.room(interview_id)
        if interview_id in self.rooms and channel in self.subscriptions:
            return
        await self._unsubscribe(channel)
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise Conflict(
                "You follow too many channels at once.", code="live.too_many_subscriptions"
            )
        stack = AsyncExitStack()
        queue = await stack.enter_async_context(self.broadcast.subscribe(channel))
        task = asyncio.create_task(self._room_forward(queue, interview_id))
        self.subscriptions[channel] = (stack, task)

    async def _room_forward(self, queue: asyncio.Queue[str], interview_id: int) -> None:
        """Relay the room's frames, except this socket's own and those meant for another socket;
        answer another person's arrival with `here`, so that they know who is in the room."""
        while True:
            text = await queue.get()
            data = _event_payload(text)
            if data.get("from") == self.connection_id or data.get("to") not in (
                None,
                self.connection_id,
            ):
                continue
            if (
                data.get("event") == "room.peer"
                and data.get("state") == "joined"
                and interview_id in self.rooms
                and self.user is not None
                and data.get("user_id") != self.user.id
            ):
                await self._room_peer(interview_id, "here", to=data.get("from"))
            self.push(text)

    async def _room_peer(
        self, interview_id: int, state: str, *, to: Any = None, session: str | None = None
    ) -> None:
        _token, role = self.rooms[interview_id]
        user_id = self.user.id if self.user is not None else None
        fields = {"state": state, "role": role, "user_id": user_id, "session": session}
        await self._room_publish(interview_id, "room.peer", to=to, **fields)

    async def _room_publish(self, interview_id: int, event: str, **fields: Any) -> None:
        payload = {"interview_id": interview_id, "from": self.connection_id, **fields}
        await protocol.publish(self.broadcast, [Event(channels.room(interview_id), event, payload)])

    async def _room_participant(self, channel: str) -> bool:
        """Whether this socket's user may follow `channel` as a room's participant, now."""
        parsed = channels.parse(channel)
        if self.user is None or parsed is None or parsed[0] != channels.ROOM:
            return False
        try:
            async with self.websocket.app.state.read_sessions() as session:
                await rooms.enter(session, user=self.user, interview_id=parsed[1])
        except FairError:
            return False
        return True

    async def _room_leave(self, interview_id: int) -> bool:
        if interview_id not in self.rooms:
            return False
        await self._room_peer(interview_id, "left")
        del self.rooms[interview_id]
        await self._unsubscribe(channels.room(interview_id))
        return True

    async def _leave_rooms(self) -> None:
        """The socket closes: the other person hears it left (a reload joins again)."""
        for interview_id in list(self.rooms):
            try:
                await self._room_leave(interview_id)
            except Exception:
                log.exception("leaving a room failed")

    # Webconference stages (fair.media.stage) -------------------------------------------------
    # Presenters publish to the server, viewers receive from it (PROTOCOL.md, "Stages"). Every
    # command reads the webconference and checks the person again. `stage.start`/`stage.end`
    # go through the domain (webconferences.start/end) and publish `stage.state` on
    # `webconference:<id>` after commit; the media connections live in `app.state.stages`,
    # keyed by this socket's connection id, and close with the socket.

    async def stage_publish(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, webconference_id = self._me(), _int(payload, "webconference_id")
        sdp = _sdp(payload, "offer")
        async with self.websocket.app.state.read_sessions() as session:
            await webconferences.require_presenter(session, me, webconference_id)
        self.stage_ids.add(webconference_id)
        answer = await self._stages().publish(webconference_id, self.connection_id, sdp)
        return {"webconference_id": webconference_id, "type": "answer", "sdp": answer}

    async def stage_start(self, payload: dict[str, Any]) -> dict[str, Any]:
        return await self._stage_move(payload, webconferences.start, "live")

    async def stage_end(self, payload: dict[str, Any]) -> dict[str, Any]:
        reply = await self._stage_move(payload, webconferences.end, "ended")
        await self._stages().end(reply["webconference_id"])
        return reply

    async def stage_watch(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, webconference_id = self._me(), _int(payload, "webconference_id")
        async with self.websocket.app.state.read_sessions() as session:
            await webconferences.require_viewer(session, me, webconference_id)
        self.stage_ids.add(webconference_id)
        offer = await self._stages().watch(webconference_id, self.connection_id)
        return {"webconference_id": webconference_id, "type": "offer", "sdp": offer}

    async def stage_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        me, webconference_id = self._me(), _int(payload, "webconference_id")
        sdp = _sdp(payload, "answer")
        async with self.websocket.app.state.read_sessions() as session:
            await webconferences.require_viewer(session, me, webconference_id)
        await self._stages().answer(webconference_id, self.connection_id, sdp)
        return {"webconference_id": webconference_id}

    async def stage_leave(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._me()
        webconference_id = _int(payload, "webconference_id")
        self.stage_ids.discard(webconference_id)
        left = await self._stages().leave(webconference_id, self.connection_id)
        return {"webconference_id": webconference_id, "left": left}

    def _stages(self) -> Stages:
        stages: Stages = self.websocket.app.state.stages
        return stages

    async def _stage_move(
        self,
        payload: dict[str, Any],
        move: Callable[..., Awaitable[None]],
        state: str,
    ) -> dict[str, Any]:
        me, webconference_id = self._me(), _int(payload, "webconference_id")

        async def work(session: AsyncSession) -> dict[str, Any]:
            webconference = await webconferences.require_presenter(session, me, webconference_id)
            await move(session, by=me, webconference=webconference)
            reply = {"webconference_id": webconference_id, "state": state}
            channel = channels.webconference(webconference_id)
            events.emit(session, channel=channel, event="stage.state", payload=reply)
            return reply

        return await self._write(work)

    async def _leave_stages(self) -> None:
        """The socket closes: its stage connections close too."""
        for webconference_id in list(self.stage_ids):
            try:
                await self._stages().leave(webconference_id, self.connection_id)
            except Exception:
                log.exception("leaving a stage failed")
        self.stage_ids.clear()


def _body(payload: dict[str, Any]) -> str:
    body = payload.get("body")
    if not isinstance(body, str):
        raise ProtocolError("Write the message's text.", code="live.bad_message")
    return body


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


# Interview rooms: payload checks -----------------------------------------------------------------

MAX_SIGNAL_CHARS = 12_000  # an SDP with its candidates; the frame itself is at most 16 KiB
SIGNAL_TYPES = ("offer", "answer")
CONTROL_SIGNALS = ("ready", "bye")  # "(re)offer me", "I hung up"


async def _room_check(session: AsyncSession, me: User, interview_id: int, token: str) -> Any:
    """The interview, if `me` may be in its room now with this entry token."""
    interview = await rooms.enter(session, user=me, interview_id=interview_id)
    rooms.check_token(interview, user_id=me.id, token=token)
    return interview


def _text(payload: dict[str, Any], key: str) -> str | None:
    """An optional short string field (tokens, ids, a phone number)."""
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise ProtocolError("This message is missing a valid “%(key)s”.", params={"key": key})
    return value


def _signal(payload: dict[str, Any]) -> dict[str, Any]:
    """The WebRTC signal to relay, rebuilt from its known fields: {type, sdp}, {candidate} or
    {type: ready|bye}, with the sender's media `session` id."""
    data = payload.get("data")
    if not isinstance(data, dict):
        data = {"type": None, "sdp": None}
    clean: dict[str, Any]
    if "sdp" in data:
        clean = {"type": data.get("type"), "sdp": data.get("sdp")}
        ok = clean["type"] in SIGNAL_TYPES and isinstance(clean["sdp"], str)
    elif data.get("type") in CONTROL_SIGNALS:
        clean, ok = {"type": data["type"]}, True
    else:
        clean = {"candidate": data.get("candidate")}
        ok = "candidate" in data and isinstance(clean["candidate"], dict | None)
    if ok and data.get("session") is not None:
        clean["session"] = data["session"]
        ok = isinstance(clean["session"], str) and len(clean["session"]) <= 64
    if not ok or len(protocol.dumps(clean)) > MAX_SIGNAL_CHARS:
        raise ProtocolError(
            "This signal is not an offer, an answer or a candidate, or it is too large.",
            code="room.bad_signal",
        )
    return clean


MAX_STAGE_SDP_CHARS = 15_000  # a browser's offer with every candidate gathered; frames are 16 KiB


def _sdp(payload: dict[str, Any], kind: str) -> str:
    """A session description of the expected type (`offer` from presenters, `answer` from
    viewers), with its candidates."""
    sdp = payload.get("sdp")
    if (
        payload.get("type", kind) != kind
        or not isinstance(sdp, str)
        or not sdp.startswith("v=0")
        or len(sdp) > MAX_STAGE_SDP_CHARS
    ):
        raise ProtocolError(
            "This message is missing a valid “%(key)s”.",
            code="stage.bad_sdp",
            params={"key": "sdp"},
        )
    return sdp


def _event_payload(text: str) -> dict[str, Any]:
    """The payload of an event frame (empty for anything else)."""
    try:
        frame = json.loads(text)
    except ValueError:
        return {}
    if isinstance(frame, list) and len(frame) == 3 and isinstance(frame[2], dict):
        return frame[2]
    return {}


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
    "qa.ask": Connection.qa_ask,
    "qa.answer": Connection.qa_answer,
    "chat.report": Connection.chat_report,
    "room.join": Connection.room_join,
    "room.signal": Connection.room_signal,
    "room.leave": Connection.room_leave,
    "room.admit": Connection.room_admit,
    "room.mode": Connection.room_mode,
    "room.message": Connection.room_message,
    "room.phone": Connection.room_phone,
    "room.set_phone": Connection.room_set_phone,
    "stage.publish": Connection.stage_publish,
    "stage.start": Connection.stage_start,
    "stage.end": Connection.stage_end,
    "stage.watch": Connection.stage_watch,
    "stage.answer": Connection.stage_answer,
    "stage.leave": Connection.stage_leave,
}
