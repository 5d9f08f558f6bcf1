"""Interview room commands of /live (PROTOCOL.md, "Interview rooms").

Signalling for browser-to-browser calls. `room.join` checks the person, the room's window and
the entry token, then follows `room:<id>` through a filter: frames this socket sent, and frames
addressed to another socket, are not sent to it. Every later room command checks all of that
again (one read per command). Relays that write nothing (`room.signal`, `room.peer`,
`room.relay`) go straight to the broadcaster; the other commands write, then publish after
commit like every command.

When browser-to-browser media fails (or `FAIR_INTERVIEW_RELAY` forces it), the call goes
through the media relay instead (`room.relay_*`): each person publishes to, and watches, the
media room `interview:<id>` of `app.state.stages` (fair.media_rooms.MediaRooms: in-process
or remote), keyed by the socket's connection id, so each receives the other. The room is added
to `conn.media_rooms`, so that closing the socket closes those connections
(stage_commands.leave_all).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, ice, settings, unit_of_work
from fair.enums import InterviewMode
from fair.errors import Conflict, FairError
from fair.events import Event
from fair.interviews import rooms, rules
from fair.live import payloads, peers
from fair.media_rooms import interview_room as media_room
from fair.models import User

if TYPE_CHECKING:
    from fair.live.socket import Connection

log = logging.getLogger("fair.live")
T = TypeVar("T")


async def join(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, interview_id = conn.me(), payloads.integer(payload, "interview_id")
    token = payloads.text(payload, "token") or ""
    media = payloads.text(payload, "session")
    async with conn.read() as session:
        interview = await rooms.enter(session, user=me, interview_id=interview_id, token=token)
        role = rules.room_role(interview, me)
    reply = {
        "interview_id": interview_id,
        "role": role,
        "admitted": interview.admitted_at is not None,
        "mode": interview.mode,
        "ice_servers": ice.servers(user_id=me.id),
        "starts_at": interview.starts_at.isoformat(),
        "ends_at": interview.ends_at.isoformat(),
        "closes_at": rooms.closes_at(interview).isoformat(),
        "connection_id": conn.connection_id,
        "relay": settings.get().interview_relay,
    }
    await _follow(conn, interview_id)
    conn.rooms[interview_id] = (token, role)
    await _peer(conn, interview_id, "joined", session=media)
    return reply


async def signal(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    interview_id = payloads.integer(payload, "interview_id")
    data, to = payloads.signal(payload), payloads.text(payload, "to")
    await _in_call(conn, interview_id)
    await _publish(conn, interview_id, "room.signal", to=to, data=data)
    return {"interview_id": interview_id}


async def leave(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    interview_id = payloads.integer(payload, "interview_id")
    return {"interview_id": interview_id, "left": await _leave(conn, interview_id)}


async def admit(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    interview_id = payloads.integer(payload, "interview_id")

    async def work(session: AsyncSession, me: User) -> dict[str, Any]:
        interview = await rooms.admit(session, user=me, interview_id=interview_id)
        assert interview.admitted_at is not None
        return {"interview_id": interview_id, "admitted_at": interview.admitted_at.isoformat()}

    return await _checked_write(conn, interview_id, work)


async def mode(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    interview_id = payloads.integer(payload, "interview_id")
    mode = InterviewMode(payloads.choice(payload, "mode", InterviewMode))

    async def work(session: AsyncSession, me: User) -> dict[str, Any]:
        await rooms.switch_mode(session, user=me, interview_id=interview_id, mode=mode)
        return {"interview_id": interview_id, "mode": mode.value}

    return await _checked_write(conn, interview_id, work)


async def message(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    interview_id, body = payloads.integer(payload, "interview_id"), payloads.body(payload)

    async def work(session: AsyncSession, me: User) -> dict[str, Any]:
        message = await rooms.send_message(session, user=me, interview_id=interview_id, body=body)
        return {"interview_id": interview_id, "message_id": message.id}

    return await _checked_write(conn, interview_id, work)


async def phone(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    interview_id = payloads.integer(payload, "interview_id")
    token, _role = _ticket(conn, interview_id)
    async with conn.read() as session:
        me = conn.me()
        await rooms.enter(session, user=me, interview_id=interview_id, token=token)
        phone = await rooms.phone_number(session, user=me, interview_id=interview_id)
    return {"interview_id": interview_id, "phone": phone}


async def set_phone(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    interview_id, phone = (
        payloads.integer(payload, "interview_id"),
        payloads.text(payload, "phone") or "",
    )

    async def work(session: AsyncSession, me: User) -> dict[str, Any]:
        saved = await rooms.set_phone(session, user=me, interview_id=interview_id, phone=phone)
        return {"interview_id": interview_id, "phone": saved}

    return await _checked_write(conn, interview_id, work)


async def relay_publish(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    """Send this socket's camera and microphone to the relay; the other person hears
    `room.relay` `published`, and watches."""
    interview_id, sdp = payloads.integer(payload, "interview_id"), payloads.sdp(payload, "offer")
    role = await _in_call(conn, interview_id, video=True)
    room = media_room(interview_id)
    conn.media_rooms.add(room)
    answer = await conn.media().publish(room, conn.connection_id, sdp, info={"role": role})
    await _publish(conn, interview_id, "room.relay", state="published", role=role)
    return {"interview_id": interview_id, "type": "answer", "sdp": answer}


async def relay_watch(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    """The relay's offer of what the other person publishes (watching again replaces it)."""
    interview_id = payloads.integer(payload, "interview_id")
    await _in_call(conn, interview_id, video=True)
    room = media_room(interview_id)
    conn.media_rooms.add(room)
    try:
        offer, tracks = await conn.media().watch(room, conn.connection_id)
    except FairError as exc:
        if exc.code != "stage.no_presenter":
            raise
        raise Conflict(
            "The other person sends no sound or picture through the server yet.",
            code="room.relay_empty",
        ) from None
    return {"interview_id": interview_id, "type": "offer", "sdp": offer, "tracks": tracks}


async def relay_answer(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    interview_id, sdp = payloads.integer(payload, "interview_id"), payloads.sdp(payload, "answer")
    await _in_call(conn, interview_id)
    await conn.media().answer(media_room(interview_id), conn.connection_id, sdp)
    return {"interview_id": interview_id}


async def relay_leave(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    interview_id = payloads.integer(payload, "interview_id")
    _ticket(conn, interview_id)
    return {"interview_id": interview_id, "left": await _relay_leave(conn, interview_id)}


async def _relay_leave(conn: Connection, interview_id: int) -> bool:
    """Close this socket's relay connections in the room; the other hears `room.relay` `left`."""
    room = media_room(interview_id)
    if room not in conn.media_rooms:
        return False
    conn.media_rooms.discard(room)
    left = bool(await conn.media().leave(room, conn.connection_id))
    # Said even when the media process let go first (the page closed its connections before
    # this command): the other person must hear that this one left the relay.
    _token, role = conn.rooms[interview_id]
    await _publish(conn, interview_id, "room.relay", state="left", role=role)
    return left


async def _in_call(conn: Connection, interview_id: int, *, video: bool = False) -> str:
    """This socket's role, once it may exchange media: joined, checked again, and in the call
    (rooms.require_call)."""
    token, role = _ticket(conn, interview_id)
    async with conn.read() as session:
        interview = await rooms.enter(
            session, user=conn.me(), interview_id=interview_id, token=token
        )
    rooms.require_call(interview, video=video)
    return role


def _ticket(conn: Connection, interview_id: int) -> tuple[str, str]:
    """This socket's (token, role) in the room; `room.not_joined` before `room.join`."""
    conn.me()
    ticket = conn.rooms.get(interview_id)
    if ticket is None:
        raise Conflict("Enter the room first.", code="room.not_joined")
    return ticket


async def _checked_write(
    conn: Connection, interview_id: int, work: Callable[[AsyncSession, User], Awaitable[T]]
) -> T:
    token, _role = _ticket(conn, interview_id)
    me = conn.me()

    async def checked(session: AsyncSession) -> T:
        await rooms.enter(session, user=me, interview_id=interview_id, token=token)
        return await work(session, me)

    return await conn.write(checked)


async def _follow(conn: Connection, interview_id: int) -> None:
    """Follow the room's channel through `_forward` (replacing a plain subscription)."""
    channel = channels.room(interview_id)
    if interview_id in conn.rooms and channel in conn.subscriptions:
        return
    await conn.unsubscribe_channel(channel)
    await conn.follow(channel, lambda queue: _forward(conn, queue, interview_id))


async def _forward(conn: Connection, queue: asyncio.Queue[str], interview_id: int) -> None:
    await peers.relay(
        conn,
        queue,
        joined="room.peer",
        present=lambda: interview_id in conn.rooms,
        here=lambda to: _peer(conn, interview_id, "here", to=to),
    )


async def _peer(
    conn: Connection, interview_id: int, state: str, *, to: Any = None, session: str | None = None
) -> None:
    _token, role = conn.rooms[interview_id]
    user_id = conn.user.id if conn.user is not None else None
    fields = {"state": state, "role": role, "user_id": user_id, "session": session}
    await _publish(conn, interview_id, "room.peer", to=to, **fields)


async def _publish(conn: Connection, interview_id: int, event: str, **fields: Any) -> None:
    payload = {"interview_id": interview_id, "from": conn.connection_id, **fields}
    await unit_of_work.publish(conn.broadcast, [Event(channels.room(interview_id), event, payload)])


async def participant(conn: Connection, channel: str) -> bool:
    """Whether this socket's user may follow `channel` as a room's participant, now."""
    parsed = channels.parse(channel)
    if conn.user is None or parsed is None or parsed[0] != channels.ROOM:
        return False
    try:
        async with conn.read() as session:
            await rooms.enter(session, user=conn.user, interview_id=parsed[1])
    except FairError:
        return False
    return True


async def _leave(conn: Connection, interview_id: int) -> bool:
    if interview_id not in conn.rooms:
        return False
    try:
        await _relay_leave(conn, interview_id)
    except Exception:  # the media process is unreachable: leaving the room must still work
        log.exception("leaving an interview's media relay failed")
    await _peer(conn, interview_id, "left")
    del conn.rooms[interview_id]
    await conn.unsubscribe_channel(channels.room(interview_id))
    return True


async def leave_all(conn: Connection) -> None:
    """The socket closes: the other person hears it left (a reload joins again); its relay
    connections close."""
    for interview_id in list(conn.rooms):
        try:
            await _leave(conn, interview_id)
        except Exception:
            log.exception("leaving a room failed")


ACTIONS = {
    "room.join": join,
    "room.signal": signal,
    "room.leave": leave,
    "room.admit": admit,
    "room.mode": mode,
    "room.message": message,
    "room.phone": phone,
    "room.set_phone": set_phone,
    "room.relay_publish": relay_publish,
    "room.relay_watch": relay_watch,
    "room.relay_answer": relay_answer,
    "room.relay_leave": relay_leave,
}
