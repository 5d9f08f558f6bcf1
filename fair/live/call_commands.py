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

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, conversation_calls, conversations, ice, settings
from fair.enums import InterviewMode
from fair.errors import Conflict
from fair.live import payloads, peers
from fair.media_rooms import conversation_room

if TYPE_CHECKING:
    from fair.live.socket import Connection


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

    async def read(session: AsyncSession) -> str | None:
        conversation = await conversations.get(session, conversation_id)
        return await conversation_calls.phone_number(session, user=me, conversation=conversation)

    return {"conversation_id": conversation_id, "phone": await conn.read(read)}


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
    await CALL.follow(conn, conversation_id)
    conn.calls[conversation_id] = role
    await CALL.peer(conn, conversation_id, "joined", session=media)
    return reply


# Helpers ---------------------------------------------------------------------------------------


async def _check(conn: Connection, conversation_id: int) -> str:
    """This user's role in the call, checked in the database now."""
    me = conn.me()
    return await conn.read(
        lambda session: conversation_calls.require_call(
            session, user=me, conversation_id=conversation_id
        )
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


CALL = peers.Call(
    prefix="call",
    key="conversation_id",
    channel=channels.call,
    media_room=conversation_room,
    joined=lambda conn: conn.calls,
    role=lambda role: role,
    check=lambda conn, conversation_id, _video: _in_call(conn, conversation_id),
    ticket=_joined,
    what="a conversation",
)
leave_all = CALL.leave_all

ACTIONS = {
    "conversation.mode": mode,
    "conversation.accept": accept,
    "conversation.decline": decline,
    "conversation.phone": phone,
    "conversation.set_phone": set_phone,
    "call.join": join,
    **CALL.actions(),
}

# The payload field naming the edition each command acts in (fair.live.booth_commands); None:
# never held (the shared commands of a call the socket joined, fair.live.peers: a call under
# way is not cut, and leaving frees a place).
EDITION_OF = {
    **dict.fromkeys(CALL.actions()),
    "conversation.mode": "conversation_id",
    "conversation.accept": "conversation_id",
    "conversation.decline": "conversation_id",
    "conversation.phone": "conversation_id",
    "conversation.set_phone": "conversation_id",
    "call.join": "conversation_id",
}
