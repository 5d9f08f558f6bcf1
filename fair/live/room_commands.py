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

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, ice, settings
from fair.enums import InterviewMode
from fair.errors import Conflict, FairError
from fair.interviews import rooms, rules
from fair.live import payloads, peers
from fair.media_rooms import interview_room
from fair.models import User

if TYPE_CHECKING:
    from fair.live.socket import Connection

T = TypeVar("T")


async def join(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, interview_id = conn.me(), payloads.integer(payload, "interview_id")
    token = payloads.text(payload, "token") or ""
    media = payloads.text(payload, "session")
    interview = await conn.read(
        lambda session: rooms.enter(session, user=me, interview_id=interview_id, token=token)
    )
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
    await ROOM.follow(conn, interview_id)
    conn.rooms[interview_id] = (token, role)
    await ROOM.peer(conn, interview_id, "joined", session=media)
    return reply


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
    me = conn.me()

    async def read(session: AsyncSession) -> str | None:
        await rooms.enter(session, user=me, interview_id=interview_id, token=token)
        return await rooms.phone_number(session, user=me, interview_id=interview_id)

    phone = await conn.read(read)
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


async def _in_call(conn: Connection, interview_id: int, *, video: bool = False) -> str:
    """This socket's role, once it may exchange media: joined, checked again, and in the call
    (rooms.require_call)."""
    token, role = _ticket(conn, interview_id)
    me = conn.me()
    interview = await conn.read(
        lambda session: rooms.enter(session, user=me, interview_id=interview_id, token=token)
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


async def participant(conn: Connection, channel: str) -> bool:
    """Whether this socket's user may follow `channel` as a room's participant, now."""
    parsed = channels.parse(channel)
    if conn.user is None or parsed is None or parsed[0] != channels.ROOM:
        return False
    try:
        user = conn.user
        await conn.read(lambda session: rooms.enter(session, user=user, interview_id=parsed[1]))
    except FairError:
        return False
    return True


ROOM = peers.Call(
    prefix="room",
    key="interview_id",
    channel=channels.room,
    media_room=interview_room,
    joined=lambda conn: conn.rooms,
    role=lambda ticket: ticket[1],
    check=lambda conn, interview_id, video: _in_call(conn, interview_id, video=video),
    ticket=_ticket,
    what="an interview",
)
leave_all = ROOM.leave_all

ACTIONS = {
    "room.join": join,
    "room.admit": admit,
    "room.mode": mode,
    "room.message": message,
    "room.phone": phone,
    "room.set_phone": set_phone,
    **ROOM.actions(),
}

# The payload field naming the edition each command acts in (fair.live.booth_commands): a
# candidate with an interview within 30 minutes or under way is never held there
# (fair.admission_gate.exempt). None: never held (the shared commands of a room the socket
# joined, fair.live.peers, as in fair.live.call_commands).
EDITION_OF = {
    **dict.fromkeys(ROOM.actions()),
    "room.join": "interview_id",
    "room.admit": "interview_id",
    "room.mode": "interview_id",
    "room.message": "interview_id",
    "room.phone": "interview_id",
    "room.set_phone": "interview_id",
}
