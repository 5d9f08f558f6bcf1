"""The one WebSocket endpoint, /live: sessions by cookie, subscriptions, limits (PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocket

from fair import (
    admission,
    admission_gate,
    app_state,
    channels,
    clock,
    db,
    editions,
    employers,
    i18n,
    live_panel,
    logs,
    metrics,
    permissions,
    settings,
    unit_of_work,
    webconferences,
)
from fair.app_state import AppState
from fair.enums import Role
from fair.errors import Conflict, FairError, Forbidden, NotFound, Unauthenticated
from fair.live import (
    account_watch,
    admitted,
    booth_commands,
    call_commands,
    chat_commands,
    limits,
    outbox,
    payloads,
    protocol,
    room_commands,
    stage_commands,
)
from fair.live import hub as hubs
from fair.live.protocol import ProtocolError
from fair.media_rooms import MediaRooms
from fair.models import User

log = logging.getLogger("fair.live")
T = TypeVar("T")

MAX_MESSAGE_BYTES = 16 * 1024
OUTBOX_SIZE = 100  # event frames queued for one socket (fair.live.outbox), and as many replies
MAX_SUBSCRIPTIONS = 20
CLOSE_TOO_BIG = 1009
CLOSE_OVERFLOW = 1013  # "try again later": the client reconnects and re-fetches
CLOSE_BAD_ORIGIN = 4403
CLOSE_ERROR = 1011  # "internal error": a defect, logged
CLOSE_REASONS = {
    account_watch.CLOSE_SESSION_ENDED: account_watch.CLOSE_REASON,
    limits.CLOSE_TOO_MANY: limits.CLOSE_REASON,
}


async def endpoint(websocket: WebSocket) -> None:
    # Its log lines carry an id of its own (the commands' too: their tasks copy it), as a
    # request's do (fair.web.ops).
    logs.request_id.set(logs.new_id())
    # Accept first, so that a refused browser sees the close code (a refused handshake is
    # only an opaque error to scripts).
    await websocket.accept()
    try:
        code, reason = await _serve(websocket)
    except Exception as exc:  # logged once, here, never left to the server
        if db.report(log, exc, "live: the socket") is None:
            code, reason = CLOSE_ERROR, None
        else:  # e.g. while leaving its booths: the database out of reach, not a defect
            code, reason = CLOSE_OVERFLOW, "service briefly unavailable"
    await _close(websocket, code, reason)


async def _close(websocket: WebSocket, code: int | None, reason: str | None) -> None:
    """Close with `code` (None: the client left); a client gone meanwhile is not an error."""
    if code:
        with contextlib.suppress(Exception):  # e.g. WebSocketDisconnect: nobody to tell
            await websocket.close(code, reason)


class Refusals:
    """Socket connects refused for want of the database, logged (fair.db.report) at most once
    per `seconds` with how many there were: a surge of reconnecting sockets meets an outage
    thousands of times a second."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.count = 0  # refused since the last line
        self.logged = -math.inf  # when (time.monotonic)

    def report(self, exc: BaseException) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.logged < self.seconds:
            return
        db.report(log, exc, f"live: {self.count} socket connect(s) refused")
        self.count, self.logged = 0, now


REFUSED = Refusals(seconds=10.0)


async def _serve(websocket: WebSocket) -> tuple[int | None, str | None]:
    """Serve the socket: the close code and reason it ends with (None: the client left)."""
    if not origin_allowed(*origin_and_host(websocket.scope["headers"])):
        return CLOSE_BAD_ORIGIN, None
    state = app_state.of(websocket)
    hub = hubs.of(state.broadcast)
    checked = hub.changes  # account changes heard before the session's check
    try:  # from the hub's cache when this session was checked moments ago
        found = await hub.authenticate(state, websocket.session)
        user, session_id = found if found is not None else (None, None)
        # No database read unless an edition's gate is engaged now (admission_gate caches
        # which editions are armed, and which of their gates are engaged).
        held, admission_id = (
            await _held(state, websocket, user, hub)
            if user is not None and user.role == Role.CANDIDATE
            else (False, None)
        )
    except Exception as exc:
        if db.unavailable(exc) is None:
            raise
        # The database out of reach or every connection taken: "try again later", and the
        # client reconnects (static/live.js backs off), not a server error.
        REFUSED.report(exc)
        return CLOSE_OVERFLOW, "service briefly unavailable"
    if held:  # the admission gate holds this candidate: their waiting page polls instead
        return CLOSE_OVERFLOW, "waiting for admission"
    metrics.SOCKETS.inc()
    try:
        conn = Connection(websocket, user, hub, session_id)
        conn.admission = admission_id
        code = await conn.serve(checked)
    finally:
        metrics.SOCKETS.dec()
    return code, CLOSE_REASONS.get(code) if code else None


async def _held(
    state: AppState, websocket: WebSocket, user: User, hub: hubs.Hub
) -> tuple[bool, int | None]:
    """Whether the admission gate (fair.admission) holds this candidate: no valid cookie of
    an armed edition, an armed gate engaged, let in to no armed edition but the first they are
    registered to (the line knows: `admission_gate.judge`, as their own pages, in its two
    steps: the database read, its connection given back, then the line asked), that first
    one's gate engaged, not exempt (staff; an interview within 30 minutes), and no room for
    them in its line now (`_arrive`); and the edition let in through, if any (the hub keeps
    their place while the socket is open, and closes it once the place is gone:
    fair.live.admitted). A gate armed but not engaged reads nothing here but the caches
    (fair.admission_gate): the hub's round counts the socket in. A cookie whose
    place lapsed while a socket of theirs was open here lets nobody in: the socket takes its
    place in line instead."""
    if user.role != Role.CANDIDATE:
        return False, None
    now = clock.now()
    gates = admission_gate.armed_cached(now)
    if gates is None:  # read at most every admission_gate.CACHE_SECONDS
        gates = await db.read_again(
            state.read_sessions,
            lambda session: admission_gate.armed(session, now),
            what="live: a socket's admission",
        )
    if not gates:
        return False, None
    # Let in to an armed edition (the cookie says so): no read of their registrations.
    raw = websocket.cookies.get(admission_gate.COOKIE)
    found = admission_gate.admitted_to(raw, user.id, gates, now)
    if found is not None and not hub.admitted.lapsed(found, user.id):
        return False, found
    line = hub.line()
    engaged = [g.edition_id for g in gates if await admission_gate.engaged(line, g, now)]
    if not engaged:
        return False, None
    # What the database says first, its connection given back before the line is asked
    # (Redis: no pool connection held across its round trips): the first armed edition they
    # are registered to and, when its gate is engaged, whether they are exempt (read even when
    # the line then lets them in elsewhere: a small read, not a second connection).

    async def read(session: AsyncSession) -> tuple[admission_gate.Gate | None, bool]:
        first = await admission_gate.first_registered(session, user, gates)
        if first is None:
            return None, False
        exempt = first.edition_id in engaged and await admission_gate.exempt(session, user, now)
        return first, exempt

    first, exempt = await db.read_again(
        state.read_sessions, read, what="live: a socket's admission"
    )
    if first is None:
        return False, None
    # Let in to another armed edition already (a page of theirs there): in through it, not
    # held by the first one's line (their commands pass each edition's gate:
    # admitted.check_command). The same judge as their own pages' (fair.web.gate).
    gate, let_in = await admission_gate.judge_from(line, user, gates, first, now)
    if let_in:
        return False, gate.edition_id
    if gate.edition_id not in engaged or exempt:
        return False, None
    place = await _arrive(gate, user, line, now)
    if place is not None and place.admitted:
        hub.admitted.readmitted(gate.edition_id, user.id)
        return False, gate.edition_id
    # Not engaged after all (before opening, too few to press a cap): in, with the drawn place
    # they just took (the hub's round keeps it while the socket is open).
    return place is None or place.engaged, None


async def _arrive(
    gate: admission_gate.Gate, user: User, line: admission.Line, now: datetime
) -> admission.Place | None:
    """A candidate with no cookie (they only browsed the open pages: the edition's, the hall)
    takes their place as on a gated page: let in when the caps allow, else held. The line
    remembers who is in (no cookie needed on a socket); out of reach (None), it holds them (a
    page would answer 503)."""
    try:
        place = await admission_gate.take_place(line, gate, user.id, now)
    except (admission.Full, RedisError, OSError):
        return None
    admission_gate.note(gate, place, now)
    (metrics.ADMISSION_ADMITTED if place.admitted else metrics.ADMISSION_HELD).inc()
    return place


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


def origin_and_host(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """The first Origin and Host of the raw headers (ASGI sends their names lowercased), in
    one pass: Starlette's `Headers.get` scans them for each and raises KeyError inside for an
    absent one (a client not a browser sends no Origin), ~2 % of a connect's CPU."""
    origin = host = None
    for name, value in headers:
        if name == b"origin" and origin is None:
            origin = value.decode("latin-1")
        elif name == b"host" and host is None:
            host = value.decode("latin-1")
    return origin, host


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


PUBLIC_KINDS = (channels.BOOTH, channels.EDITION, channels.WEBCONFERENCE)


def check_subscribe(
    user: User | None,
    channel: str,
    *,
    participant: bool = False,
    visible: bool = True,
    organiser: bool = False,
) -> None:
    """Anyone, even logged out, may follow the channel of a booth, edition or webconference
    they see (`visible`: public counts, ids and states only); a user may follow their own
    channel; an interview's room only as one of its two people while it is open
    (`participant`); an edition's live panel only as its organiser or an administrator
    (`organiser`). The caller checked them against the database (`sees`, `follows_panel`)."""
    parsed = channels.parse(channel)
    public = parsed is not None and parsed[0] in PUBLIC_KINDS
    if public and not visible:
        raise Forbidden("You cannot follow this channel.", code="live.forbidden")
    if user is None:
        if public:  # visitors see the hall and booths live too: counts and ids only
            return
        raise Unauthenticated("Please log in to continue.")
    room = participant and parsed is not None and parsed[0] == channels.ROOM
    panel = organiser and parsed is not None and parsed[0] == channels.PANEL
    if parsed != (channels.USER, user.id) and not public and not room and not panel:
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
            return user is not None and await permissions.is_organiser(session, user, edition)
        booth = await employers.get_booth(session, ident)
    except NotFound:
        return False
    if employers.is_public(booth) or user is None:
        return employers.is_public(booth)
    member = await permissions.is_member(session, user, booth.employer_id)
    return member or await permissions.is_organiser(session, user, booth.edition)


async def follows_panel(session: AsyncSession, user: User | None, channel: str) -> bool:
    """Whether `channel` is an edition's live panel that `user` may follow (live_panel's rule)."""
    parsed = channels.parse(channel)
    if parsed is None or parsed[0] != channels.PANEL:
        return False
    return await live_panel.may_follow(session, user, parsed[1])


class Connection:
    """One socket: a reader, a writer draining a bounded outbox (its replies first, then its
    events, coalesced: fair.live.outbox), subscriptions; a heartbeat timer; its account and the
    open sockets register followed by the hub (fair.live.hub)."""

    __slots__ = (
        "websocket",
        "user",
        "session_id",
        "hub",
        "broadcast",
        "outbox",
        "ended",
        "subscriptions",
        "connection_id",
        "staffs",
        "heartbeat_seconds",
        "beat",
        "commands",
        "rooms",
        "media_rooms",
        "calls",
        "admission",
        "request_id",
    )

    def __init__(
        self,
        websocket: WebSocket,
        user: User | None,
        hub: hubs.Hub,
        session_id: int | None = None,
    ) -> None:
        self.websocket = websocket
        self.user = user
        self.session_id = session_id  # the user's server-side session (fair.user_sessions)
        self.hub = hub
        self.broadcast = hub.broadcast
        self.outbox = outbox.Outbox(OUTBOX_SIZE)
        # Resolved with a close code when the socket must close (overflow, session ended, too
        # many sockets), with None when the client left.
        self.ended: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        # channel: its subscription, and the task reading it (None: pushed as they arrive)
        self.subscriptions: dict[str, tuple[AsyncExitStack, asyncio.Task[None] | None]] = {}
        # This socket's booth presence row (fair.presence), unique across processes.
        self.connection_id = str(uuid.uuid4())
        self.staffs = False  # whether it staffs a booth (fair.live.booth_commands)
        conf = settings.get()
        self.heartbeat_seconds = conf.live_heartbeat_seconds
        self.beat: asyncio.TimerHandle | None = None
        self.commands = limits.CommandBucket(conf.live_command_rate, conf.live_command_burst)
        self.rooms: dict[int, tuple[str, str]] = {}  # interview id: (entry token, role)
        self.media_rooms: set[str] = set()  # media rooms this socket publishes to or watches
        self.calls: dict[int, str] = {}  # booth conversation id: role (live/call_commands.py)
        # The armed edition this candidate was let in to, or counted in by the hub's round
        # (fair.live.admitted); None: passed without a place.
        self.admission: int | None = None
        self.request_id = logs.request_id.get()  # the socket's (`endpoint`), for its chores

    async def serve(self, checked: int | None = None) -> int | None:
        """Run until the client leaves (None) or must be closed (the close code); `checked`:
        the hub's count of account changes before the session was checked (`Hub.join`)."""
        # Two tasks a socket: a reader and a writer; the rest is shared (fair.live.hub).
        tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._send())]
        for task in tasks:
            task.add_done_callback(self._finished)
        self.hub.join(self, checked)
        self._schedule_beat()
        try:
            return await self.ended
        finally:
            if self.beat is not None:
                self.beat.cancel()
            self.hub.leave(self)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for channel in list(self.subscriptions):
                await self.unsubscribe_channel(channel)
            await booth_commands.leave_all(self)
            await room_commands.leave_all(self)
            await call_commands.leave_all(self)
            await stage_commands.leave_all(self)

    def end(self, code: int | None) -> None:
        """Close the socket with `code` (None: the client left); the first reason wins."""
        if not self.ended.done():
            self.ended.set_result(code)

    def _finished(self, task: asyncio.Task[int | None]) -> None:
        failed = task.cancelled() or task.exception() is not None
        self.end(None if failed else task.result())

    def push(self, text: str) -> None:
        """Queue an event frame; never waits: for a client too slow to drain its outbox, state
        is coalesced and messages give way to a `resync` (fair.live.outbox)."""
        self.outbox.event(text)

    def reply(self, text: str) -> None:
        """Queue the reply to one of this socket's commands, ahead of its events; a client
        that leaves OUTBOX_SIZE replies unread is closed."""
        if not self.outbox.reply(text):
            self.end(CLOSE_OVERFLOW)

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
        pacer = outbox.pacer()
        while True:
            text = await self.outbox.get(pacer)
            try:
                await self.websocket.send_text(text)
            except Exception:  # the client went away mid-send
                return None

    def _schedule_beat(self) -> None:
        self.beat = asyncio.get_running_loop().call_later(self.heartbeat_seconds, self._heartbeat)

    def _heartbeat(self) -> None:
        """A timer, not a task: a heartbeat frame; a booth's staff also keep their presence
        fresh, the next beat once it is written."""
        self.push(protocol.HEARTBEAT)
        if self.staffs:
            self.hub.spawn(self._touch())
        else:
            self._schedule_beat()

    async def _touch(self) -> None:
        try:
            with logs.following(self.request_id):  # spawned by the hub: without it otherwise
                await booth_commands.touch(self)
        finally:
            if not self.ended.done():
                self._schedule_beat()

    async def _handle(self, text: str) -> None:
        """Handle one command frame and queue its reply; fan-out sends in this process are
        paced more tightly meanwhile (fair.live.outbox.Pacer.handling)."""
        with outbox.pacer().handling():
            await self._command(text)

    async def _command(self, text: str) -> None:
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
            await admitted.check_command(self, EDITION_OF[command.action], command.payload)
            self.reply(protocol.success(command_id, await action(self, command.payload)))
        except FairError as exc:
            message = i18n.gettext(exc.message, **exc.params)
            self.reply(protocol.error(command_id, exc.code, message))
        except Exception as exc:
            reason = db.report(log, exc, "live command")
            if reason is None:
                message = i18n.gettext("Sorry, something went wrong on our side.")
                self.reply(protocol.error(command_id, "fair.server_error", message))
                return
            # Every connection taken (a surge of reconnecting sockets) or the database out of
            # reach: the pages' 503, not a server error; the client may try again.
            message = i18n.gettext(
                "The service is briefly unavailable. Nothing was saved: please try again in a "
                "few seconds."
            )
            self.reply(protocol.error(command_id, reason, message))

    async def unsubscribe_channel(self, channel: str) -> None:
        found = self.subscriptions.pop(channel, None)
        if found is None:
            return
        stack, task = found
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await stack.aclose()

    async def follow(
        self,
        channel: str,
        forward: Callable[[asyncio.Queue[str]], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        """Subscribe to `channel`: each of its frames is pushed to this socket as it arrives
        (what `subscribe` does: no task, no queue per subscription), or, with `forward`, read
        from a queue by `forward`, which pushes what this socket should see, until
        unsubscribed."""
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise Conflict(
                "You follow too many channels at once.", code="live.too_many_subscriptions"
            )
        stack = AsyncExitStack()
        task = None
        if forward is None:
            await stack.enter_async_context(self.broadcast.listen(channel, self.push))
        else:
            queue = await stack.enter_async_context(self.broadcast.subscribe(channel))
            task = asyncio.create_task(forward(queue))
        self.subscriptions[channel] = (stack, task)

    # What the commands use: the user, the media rooms, one session per command (a write
    # publishes its events after commit).

    def me(self) -> User:
        if self.user is None:
            raise Unauthenticated("Please log in to continue.")
        return self.user

    def media(self) -> MediaRooms:
        """The media rooms (fair.media_rooms): fair.media.stage.Stages, or
        fair.media.remote.RemoteStages with media processes."""
        return app_state.of(self.websocket).stages

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work`, which reads, in a read session of its own; asked again once on another
        connection when its first statement found its connection lost (`db.read_again`: nothing
        was read, nothing done). Writes are never asked again (`write`)."""
        maker = app_state.of(self.websocket).read_sessions
        return await db.read_again(maker, work, what="live: a command's read")

    async def write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        state = app_state.of(self.websocket)
        return await unit_of_work.write(state.write_sessions, state.broadcast, work)


# Commands of the connection itself; the others live in their family's module.


async def ping(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    return {}


async def subscribe(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    channel = payloads.channel(payload)
    if not await everyone_sees(conn, channel):
        await check_channel(conn, channel)
    if channel not in conn.subscriptions:
        await conn.follow(channel)
    return {"channel": channel}


async def everyone_sees(conn: Connection, channel: str) -> bool:
    """Whether `channel` is public and visible to visitors: then anyone may follow it. Asked
    of the hub, which remembers it for a moment and reads it once for the sockets asking
    together (thousands at an opening)."""
    parsed = channels.parse(channel)
    if parsed is None or parsed[0] not in PUBLIC_KINDS:
        return False

    async def read() -> bool:
        return await conn.read(lambda session: sees(session, None, channel))

    return await conn.hub.everyone_sees(channel, read)


async def check_channel(conn: Connection, channel: str) -> None:
    """Raise unless this socket may follow `channel`, which visitors do not see
    (`check_subscribe`, after the reads)."""

    async def read(session: AsyncSession) -> tuple[bool, bool]:
        visible = await sees(session, conn.user, channel)
        return visible, await follows_panel(session, conn.user, channel)

    visible, organiser = await conn.read(read)
    participant = await room_commands.participant(conn, channel)
    check_subscribe(
        conn.user, channel, participant=participant, visible=visible, organiser=organiser
    )


async def unsubscribe(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    channel = payloads.channel(payload)
    await conn.unsubscribe_channel(channel)
    return {"channel": channel}


ACTIONS: dict[str, Callable[[Connection, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "ping": ping,
    "subscribe": subscribe,
    "unsubscribe": unsubscribe,
    **booth_commands.ACTIONS,
    **call_commands.ACTIONS,
    **chat_commands.ACTIONS,
    **room_commands.ACTIONS,
    **stage_commands.ACTIONS,
}

# The payload field naming the edition each action acts in, whose admission gate a candidate
# passes first (fair.live.admitted.check_command; fair.edition_keys.KINDS); None: never held.
# tests/test_gate_routes.py checks that every action declares one.
EDITION_OF: dict[str, str | None] = {
    "ping": None,
    "subscribe": None,  # public channels are open; the others are the user's own
    "unsubscribe": None,
    **booth_commands.EDITION_OF,
    **call_commands.EDITION_OF,
    **chat_commands.EDITION_OF,
    **room_commands.EDITION_OF,
    **stage_commands.EDITION_OF,
}
