"""Booth desk commands of /live (PROTOCOL.md, "Booth queues and conversations", "Booth presence").

A candidate's place in a booth's queue (fair.queues), the private conversation a call opens
(fair.conversations), and a recruiter's socket staffing the booth (fair.presence). Each command
is one write session (or one read for `queue.status`); its events leave after commit. A socket
that staffs a booth keeps its presence fresh with each heartbeat (`touch`) and leaves the booth
when it closes (`leave_all`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from fair import conversations, db, employers, presence, queues
from fair.enums import NextStep
from fair.live import payloads
from fair.models import QueueEntry, User

if TYPE_CHECKING:
    from fair.live.socket import Connection

log = logging.getLogger("fair.live")


# The queue -------------------------------------------------------------------------------------


async def queue_join(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    # Joining registers them to the booth's edition: its gate passed first (`EDITION_OF`).
    me, booth_id = conn.me(), payloads.integer(payload, "booth_id")

    async def work(session: AsyncSession) -> dict[str, Any]:
        booth = await employers.get_booth(session, booth_id)
        entry = await queues.join(session, candidate=me, booth=booth)
        return await _place(session, entry)

    return await conn.write(work)


async def queue_status(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, booth_id = conn.me(), payloads.integer(payload, "booth_id")

    async def read(session: AsyncSession) -> dict[str, Any]:
        await employers.public_booth(session, booth_id)  # as the booth's page
        entry = await queues.entry_of(session, candidate=me, booth_id=booth_id)
        if entry is None:
            counts = await queues.counts(session, booth_id)
            return {"booth_id": booth_id, "entry_id": None, **counts}
        return await _place(session, entry)

    return await conn.read(read)


async def queue_leave(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, booth_id = conn.me(), payloads.integer(payload, "booth_id")

    async def work(session: AsyncSession) -> dict[str, Any]:
        booth = await employers.get_booth(session, booth_id)
        entry = await queues.leave(session, candidate=me, booth=booth)
        return {"booth_id": booth_id, "left": entry is not None}

    return await conn.write(work)


async def queue_next(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, booth_id = conn.me(), payloads.integer(payload, "booth_id")

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

    return await conn.write(work)


async def queue_answer(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, entry_id = conn.me(), payloads.integer(payload, "entry_id")

    async def work(session: AsyncSession) -> dict[str, Any]:
        entry = await queues.get_entry(session, entry_id)
        conversation = await conversations.answer(session, candidate=me, entry=entry)
        return {"conversation_id": conversation.id, "booth_id": conversation.booth_id}

    return await conn.write(work)


async def _place(session: AsyncSession, entry: QueueEntry) -> dict[str, Any]:
    position, estimate = await queues.position_of(session, entry)
    return {
        "booth_id": entry.booth_id,
        "entry_id": entry.id,
        "status": entry.status,
        "position": position,
        "estimate_seconds": estimate,
    }


# Staffing the booth ----------------------------------------------------------------------------


async def staff(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, booth_id = conn.me(), payloads.integer(payload, "booth_id")

    async def work(session: AsyncSession) -> dict[str, Any]:
        booth = await employers.get_booth(session, booth_id)
        await presence.staff(session, recruiter=me, booth=booth, connection_id=conn.connection_id)
        return {"booth_id": booth_id, "staffed": True}

    conn.staffs = True  # before the write: a close racing the commit still unstaffs
    return await conn.write(work)


async def unstaff(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    conn.me()
    booth_id = payloads.integer(payload, "booth_id")

    async def work(session: AsyncSession) -> dict[str, Any]:
        left = await presence.unstaff(session, connection_id=conn.connection_id, booth_id=booth_id)
        return {"booth_id": booth_id, "left": left}

    return await conn.write(work)


async def touch(conn: Connection) -> None:
    """Keep this socket's presence fresh, else `presence.expire` removes it after 90 s."""
    if not conn.staffs:
        return
    try:
        await conn.write(lambda s: presence.touch(s, connection_id=conn.connection_id))
    except Exception as exc:  # a busy database: the next heartbeat retries
        db.report(log, exc, "touching booth presence")


async def leave_all(conn: Connection) -> None:
    """The socket closes: it no longer staffs its booth (expiry is the fallback)."""
    if not conn.staffs:
        return
    try:
        await conn.write(lambda s: presence.unstaff(s, connection_id=conn.connection_id))
    except Exception as exc:  # a busy database: presence.expire removes it after 90 s
        db.report(log, exc, "unstaffing a booth")


# The conversation ------------------------------------------------------------------------------


async def conversation_send(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, conversation_id = conn.me(), payloads.integer(payload, "conversation_id")
    body = payloads.body(payload)

    async def work(session: AsyncSession) -> dict[str, Any]:
        conversation = await conversations.get(session, conversation_id)
        message = await conversations.send_message(
            session, user=me, conversation=conversation, body=body
        )
        return {"conversation_id": conversation_id, "message_id": message.id}

    return await conn.write(work)


async def conversation_end(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, conversation_id = conn.me(), payloads.integer(payload, "conversation_id")
    next_step = NextStep(payloads.choice(payload, "next_step", NextStep))

    async def work(session: AsyncSession) -> dict[str, Any]:
        conversation = await conversations.get(session, conversation_id)
        await conversations.end(
            session, recruiter=me, conversation=conversation, next_step=next_step
        )
        return {"conversation_id": conversation_id, "next_step": next_step.value}

    return await conn.write(work)


ACTIONS = {
    "queue.join": queue_join,
    "queue.status": queue_status,
    "queue.leave": queue_leave,
    "queue.next": queue_next,
    "queue.answer": queue_answer,
    "booth.staff": staff,
    "booth.unstaff": unstaff,
    "conversation.send": conversation_send,
    "conversation.end": conversation_end,
}

# The payload field naming the edition each command acts in, whose admission gate a candidate
# passes first (fair.live.admitted.check_command); None: never held (a read as the booth's
# page, or leaving: it frees a place).
EDITION_OF = {
    "queue.join": "booth_id",
    "queue.status": None,
    "queue.leave": None,
    "queue.next": "booth_id",
    "queue.answer": "entry_id",
    "booth.staff": "booth_id",
    "booth.unstaff": None,
    "conversation.send": "conversation_id",
    "conversation.end": "conversation_id",
}
