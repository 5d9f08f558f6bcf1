"""Booth conversation call commands of /live (PROTOCOL.md, "Booth conversations by video or
phone").

The mode commands (`conversation.mode`, `.accept`, `.decline`, `.phone`, `.set_phone`) are one
write (or read) each through fair.conversation_calls; their events leave after commit.

The call itself works as the interview rooms' (live/room_commands.py): browser to browser,
the server relays the signalling on the conversation's internal channel (`channels.call`),
followed through a filter once `call.join` checked the person (frames this socket sent, and
frames addressed to another socket, are not sent to it); when direct media fails, each person
publishes to and watches the media room `conversation:<id>` of `app.state.stages` instead
(`call.relay_*`). Every command checks again, in the database, that this user is one of the
conversation's two people, that it is open and that it runs by video
(`conversation_calls.require_call`). Closing the socket leaves the call and closes its relay
connections (`leave_all`, and stage_commands.leave_all for `conn.media_rooms`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, conversation_calls, conversations, ice, settings, unit_of_work
from fair.enums import InterviewMode
from fair.errors import Conflict, FairError
from fair.events import Event
from fair.live import payloads, peers
from fair.media_rooms import conversation_room as media_room

if TYPE_CHECKING:
    from fair.live.socket import Connection

log = logging.getLogger("fair.live")


# The mode ----------------------------------------------------------------------------------------


async def mode(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, conversation_id = conn.me(), payloads.integer(payload, "conversation_id")
    wanted = InterviewMode(payloads.choice(payload, "mode", InterviewMode))

    async def work(session: AsyncSession) -> dict[str, Any]:
        conversation = await conversations.get(session, conversation_id)
        conversation = await conversation_calls.request_mode(
            session, user=me, conversation=conversation, mode=wanted
        )
        return conversation_calls.state(conversation)

    return await conn.write(work)


async def accept(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, conversation_id = conn.me(), payloads.integer(payload, "conversation_id")

    async def work(session: AsyncSession) -> dict[str, Any]:
        conversation = await conversations.get(session, conversation_id)
        conversation = await conversation_calls.accept(session, user=me, conversation=conversation)
        return conversation_calls.state(conversation)

    return await conn.write(work)


async def decline(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, conversation_id = conn.me(), payloads.integer(payload, "conversation_id")

    async def work(session: AsyncSession) -> dict[str, Any]:
        conversation = await conversations.get(session, conversation_id)
        conversation = await conversation_calls.decline(session, user=me, conversation=conversation)
        return conversation_calls.state(conversation)

    return await conn.write(work)


async def phone(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, conversation_id = conn.me(), payloads.integer(payload, "conversation_id")
    async with conn.read() as session:
        conversation = await conversations.get(session, conversation_id)
        number = await conversation_calls.phone_number(session, user=me, conversation=conversation)
    return {"conversation_id": conversation_id, "phone": number}


async def set_phone(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, conversation_id = conn.me(), payloads.integer(payload, "conversation_id")
    number = payloads.text(payload, "phone") or ""

    async def work(session: AsyncSession) -> dict[str, Any]:
        conversation = await conversations.get(session, conversation_id)
        saved = await conversation_calls.set_phone(
            session, user=me, conversation=conversation, phone=number
        )
        return {"conversation_id": conversation_id, "phone": saved}

    return await conn.write(work)


# The call --------------------------------------------------------------------------------------


async def join(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    """Enter the conversation's video call: follow its signalling, say `joined` to the other."""
    conversation_id = payloads.integer(payload, "conversation_id")
    media = payloads.text(payload, "session")
    role = await _check(conn, conversation_id)
    reply = {
        "conversation_id": conversation_id,
        "role": role,
        "connection_id": conn.connection_id,
        "ice_servers": ice.servers(user_id=conn.me().id),
        "relay": settings.get().interview_relay,
    }
    channel = channels.call(conversation_id)
    if channel not in conn.subscriptions:
        await conn.follow(channel, lambda queue: _forward(conn, queue, conversation_id))
    conn.calls[conversation_id] = role
    await _peer(conn, conversation_id, "joined", session=media)
    return reply


async def signal(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    conversation_id = payloads.integer(payload, "conversation_id")
    data, to = payloads.signal(payload), payloads.text(payload, "to")
    await _in_call(conn, conversation_id)
    await _publish(conn, conversation_id, "call.signal", to=to, data=data)
    return {"conversation_id": conversation_id}


async def leave(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    conversation_id = payloads.integer(payload, "conversation_id")
    conn.me()
    return {"conversation_id": conversation_id, "left": await _leave(conn, conversation_id)}


async def relay_publish(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    """Send this socket's camera and microphone to the relay; the other hears `call.relay`."""
    conversation_id = payloads.integer(payload, "conversation_id")
    sdp = payloads.sdp(payload, "offer")
    role = await _in_call(conn, conversation_id)
    room = media_room(conversation_id)
    conn.media_rooms.add(room)
    answer = await conn.media().publish(room, conn.connection_id, sdp, info={"role": role})
    await _publish(conn, conversation_id, "call.relay", state="published", role=role)
    return {"conversation_id": conversation_id, "type": "answer", "sdp": answer}


async def relay_watch(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    """The relay's offer of what the other person publishes (watching again replaces it)."""
    conversation_id = payloads.integer(payload, "conversation_id")
    await _in_call(conn, conversation_id)
    room = media_room(conversation_id)
    conn.media_rooms.add(room)
    try:
        offer, tracks = await conn.media().watch(room, conn.connection_id)
    except FairError as exc:
        if exc.code != "stage.no_presenter":
            raise
        raise Conflict(
            "The other person sends no sound or picture through the server yet.",
            code="call.relay_empty",
        ) from None
    return {"conversation_id": conversation_id, "type": "offer", "sdp": offer, "tracks": tracks}


async def relay_answer(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    conversation_id = payloads.integer(payload, "conversation_id")
    sdp = payloads.sdp(payload, "answer")
    await _in_call(conn, conversation_id)
    await conn.media().answer(media_room(conversation_id), conn.connection_id, sdp)
    return {"conversation_id": conversation_id}


async def relay_leave(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    conversation_id = payloads.integer(payload, "conversation_id")
    _joined(conn, conversation_id)
    left = await _relay_leave(conn, conversation_id)
    return {"conversation_id": conversation_id, "left": left}


# Helpers ---------------------------------------------------------------------------------------


async def _check(conn: Connection, conversation_id: int) -> str:
    """This user's role in the call, checked in the database now."""
    me = conn.me()
    async with conn.read() as session:
        return await conversation_calls.require_call(
            session, user=me, conversation_id=conversation_id
        )


def _joined(conn: Connection, conversation_id: int) -> str:
    conn.me()
    role = conn.calls.get(conversation_id)
    if role is None:
        raise Conflict("Join the call first.", code="call.not_joined")
    return role


async def _in_call(conn: Connection, conversation_id: int) -> str:
    _joined(conn, conversation_id)
    return await _check(conn, conversation_id)


async def _forward(conn: Connection, queue: asyncio.Queue[str], conversation_id: int) -> None:
    await peers.relay(
        conn,
        queue,
        joined="call.peer",
        present=lambda: conversation_id in conn.calls,
        here=lambda to: _peer(conn, conversation_id, "here", to=to),
    )


async def _peer(
    conn: Connection,
    conversation_id: int,
    state: str,
    *,
    to: Any = None,
    session: str | None = None,
) -> None:
    role = conn.calls.get(conversation_id)
    user_id = conn.user.id if conn.user is not None else None
    fields = {"state": state, "role": role, "user_id": user_id, "session": session}
    await _publish(conn, conversation_id, "call.peer", to=to, **fields)


async def _publish(conn: Connection, conversation_id: int, event: str, **fields: Any) -> None:
    payload = {"conversation_id": conversation_id, "from": conn.connection_id, **fields}
    channel = channels.call(conversation_id)
    await unit_of_work.publish(conn.broadcast, [Event(channel, event, payload)])


async def _relay_leave(conn: Connection, conversation_id: int) -> bool:
    """Close this socket's relay connections in the call; the other hears `call.relay` `left`."""
    room = media_room(conversation_id)
    if room not in conn.media_rooms:
        return False
    conn.media_rooms.discard(room)
    left = bool(await conn.media().leave(room, conn.connection_id))
    role = conn.calls.get(conversation_id)
    await _publish(conn, conversation_id, "call.relay", state="left", role=role)
    return left


async def _leave(conn: Connection, conversation_id: int) -> bool:
    if conversation_id not in conn.calls:
        return False
    try:
        await _relay_leave(conn, conversation_id)
    except Exception:  # the media process is unreachable: leaving the call must still work
        log.exception("leaving a conversation's media relay failed")
    await _peer(conn, conversation_id, "left")
    del conn.calls[conversation_id]
    await conn.unsubscribe_channel(channels.call(conversation_id))
    return True


async def leave_all(conn: Connection) -> None:
    """The socket closes: the other person hears it left the call (a reload joins again)."""
    for conversation_id in list(conn.calls):
        try:
            await _leave(conn, conversation_id)
        except Exception:
            log.exception("leaving a conversation's call failed")


ACTIONS = {
    "conversation.mode": mode,
    "conversation.accept": accept,
    "conversation.decline": decline,
    "conversation.phone": phone,
    "conversation.set_phone": set_phone,
    "call.join": join,
    "call.signal": signal,
    "call.leave": leave,
    "call.relay_publish": relay_publish,
    "call.relay_watch": relay_watch,
    "call.relay_answer": relay_answer,
    "call.relay_leave": relay_leave,
}
