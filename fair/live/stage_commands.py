"""Webconference stage commands of /live (PROTOCOL.md, "Stages").

Presenters publish to a media process, viewers receive from it. Every command reads the
webconference and checks the person again. `stage.start`/`stage.end` go through the domain
(webconferences.start/end, which publish `stage.state` on `webconference:<id>` after commit).
The media connections live behind `app.state.stages` (fair.media_rooms.MediaRooms:
fair.media.stage.Stages in the embedded default, fair.media.remote.RemoteStages with media
processes), in the room `webconference:<id>`, keyed by this socket's connection id
(`<id>:screen` for its screen share), and close with the socket.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, ice, media_rooms, settings, webconferences
from fair.enums import QuestionStatus
from fair.live import payloads
from fair.media_rooms import MediaRooms
from fair.models import Webconference
from fair.webconferences import audience, recordings

if TYPE_CHECKING:
    from fair.live.socket import Connection

log = logging.getLogger("fair.live")
SOURCES = ("camera", "screen")


async def publish(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, webconference_id = conn.me(), payloads.integer(payload, "webconference_id")
    sdp = payloads.sdp(payload, "offer")
    source = _source(payload, "camera")
    await conn.read(lambda session: webconferences.require_presenter(session, me, webconference_id))
    room = channels.webconference(webconference_id)
    conn.media_rooms.add(room)
    info = {"name": me.name, "source": source}
    answer = await conn.media().publish(room, _key(conn, source), sdp, info=info)
    return {"webconference_id": webconference_id, "type": "answer", "sdp": answer}


async def unpublish(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    """Take one publication back (a screen share that stops), keeping the others."""
    conn.me()
    webconference_id = payloads.integer(payload, "webconference_id")
    source = _source(payload, "screen")
    room = channels.webconference(webconference_id)
    unpublished = await conn.media().unpublish(room, _key(conn, source))
    return {"webconference_id": webconference_id, "source": source, "unpublished": unpublished}


def _source(payload: dict[str, Any], default: str) -> str:
    return payloads.choice(payload, "source", SOURCES, default=default)


def _key(conn: Connection, source: str) -> str:
    """This socket's publishing key for a source: its connection id for the camera."""
    return conn.connection_id if source == "camera" else f"{conn.connection_id}:{source}"


async def start(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    """The talk goes live; its stage records if a presenter consented (recordings)."""
    reply = await _move(conn, payload, webconferences.start, "live")
    await _recording(conn, reply["webconference_id"], recordings.start_recording)
    return reply


async def end(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    reply = await _move(conn, payload, webconferences.end, "ended")
    await _recording(conn, reply["webconference_id"], recordings.finish_recording)
    await conn.media().end(channels.webconference(reply["webconference_id"]))
    return reply


async def _recording(
    conn: Connection,
    webconference_id: int,
    step: Callable[[MediaRooms, AsyncSession, Webconference], Awaitable[None]],
) -> None:
    async def work(session: AsyncSession) -> None:
        webconference = await webconferences.get(session, webconference_id)
        await step(conn.media(), session, webconference)

    await conn.write(work)


async def watch(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, webconference_id = conn.me(), payloads.integer(payload, "webconference_id")
    presents = await conn.read(
        lambda session: webconferences.require_viewer(session, me, webconference_id)
    )
    room = channels.webconference(webconference_id)
    conn.media_rooms.add(room)
    offer, tracks = await conn.media().watch(
        room, conn.connection_id, max_viewers=settings.get().stage_max_viewers
    )

    async def arrive(session: AsyncSession) -> None:
        await audience.arrive(
            session, user=me, webconference_id=webconference_id, connection_id=conn.connection_id
        )

    if not presents:  # presenters watching each other are not the audience
        await conn.write(arrive)
    return {
        "webconference_id": webconference_id,
        "type": "offer",
        "sdp": offer,
        "tracks": tracks,
        "ice_servers": ice.servers(user_id=me.id),
    }


async def answer(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, webconference_id = conn.me(), payloads.integer(payload, "webconference_id")
    sdp = payloads.sdp(payload, "answer")
    await conn.read(lambda session: webconferences.require_viewer(session, me, webconference_id))
    room = channels.webconference(webconference_id)
    await conn.media().answer(room, conn.connection_id, sdp)
    return {"webconference_id": webconference_id}


async def leave(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    conn.me()
    webconference_id = payloads.integer(payload, "webconference_id")
    room = channels.webconference(webconference_id)
    conn.media_rooms.discard(room)
    left = await conn.media().leave(room, conn.connection_id)
    await _depart(conn, webconference_id)
    return {"webconference_id": webconference_id, "left": left}


async def leave_all(conn: Connection) -> None:
    """The socket closes: its media connections close too, and its attendance."""
    for room in list(conn.media_rooms):
        try:
            await conn.media().leave(room, conn.connection_id)
            parsed = channels.parse(room)
            if parsed is not None and parsed[0] == channels.WEBCONFERENCE:
                await _depart(conn, parsed[1])
        except Exception as exc:  # the database (its attendance) or the media out of reach
            media_rooms.report(log, exc, "leaving a stage")
    conn.media_rooms.clear()


async def ask(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, webconference_id = conn.me(), payloads.integer(payload, "webconference_id")
    body = payloads.body(payload)

    async def work(session: AsyncSession) -> dict[str, Any]:
        question = await audience.ask(
            session, user=me, webconference_id=webconference_id, body=body
        )
        return {"webconference_id": webconference_id, "question_id": question.id}

    return await conn.write(work)


async def vote(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, question_id = conn.me(), payloads.integer(payload, "question_id")
    up = payloads.flag(payload, "up", default=True)

    async def work(session: AsyncSession) -> dict[str, Any]:
        question = await audience.vote(session, user=me, question_id=question_id, up=up)
        return {"question_id": question_id, "votes": question.votes, "voted": up}

    return await conn.write(work)


async def moderate(conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
    me, question_id = conn.me(), payloads.integer(payload, "question_id")
    status = QuestionStatus(payloads.choice(payload, "status", QuestionStatus))

    async def work(session: AsyncSession) -> dict[str, Any]:
        await audience.moderate(session, by=me, question_id=question_id, status=status)
        return {"question_id": question_id, "status": status.value}

    return await conn.write(work)


async def _depart(conn: Connection, webconference_id: int) -> None:
    async def work(session: AsyncSession) -> None:
        await audience.depart(
            session, webconference_id=webconference_id, connection_id=conn.connection_id
        )

    await conn.write(work)


async def _move(
    conn: Connection,
    payload: dict[str, Any],
    move: Callable[..., Awaitable[None]],
    state: str,
) -> dict[str, Any]:
    me, webconference_id = conn.me(), payloads.integer(payload, "webconference_id")

    async def work(session: AsyncSession) -> dict[str, Any]:
        webconference = await webconferences.require_presenter(session, me, webconference_id)
        await move(session, by=me, webconference=webconference)
        return {"webconference_id": webconference_id, "state": state}

    return await conn.write(work)


ACTIONS = {
    "stage.publish": publish,
    "stage.unpublish": unpublish,
    "stage.start": start,
    "stage.end": end,
    "stage.watch": watch,
    "stage.answer": answer,
    "stage.leave": leave,
    "stage.ask": ask,
    "stage.vote": vote,
    "stage.moderate": moderate,
}

# The payload field naming the edition each command acts in (fair.live.booth_commands); None:
# never held (the answer to the offer of `stage.watch`, which passed the gate; leaving; a vote
# or a presenter's decision on a question of a talk).
EDITION_OF = {
    "stage.publish": "webconference_id",
    "stage.unpublish": "webconference_id",
    "stage.start": "webconference_id",
    "stage.end": "webconference_id",
    "stage.watch": "webconference_id",
    "stage.answer": None,
    "stage.leave": None,
    "stage.ask": "webconference_id",
    "stage.vote": None,
    "stage.moderate": None,
}
