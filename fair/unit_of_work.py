"""The unit of work: one session per request, socket command or background round, committed at
the edge, its live events published only after the commit.

Domain code flushes, never commits; it queues after-commit callbacks (`db.after_commit`: mail)
and live events (`events.emit`). The boundary that opened the session ends it here: `commit`
commits, runs the callbacks, then publishes the events; `discard` rolls back and drops both;
`write` does either around one piece of work. Pub/sub is at-most-once: a failed publication is
logged, never raised, since the transaction has committed.

Infrastructure, below every boundary: web/ (`web.auth.page`), live/ (one write per socket
command), media/ (`media.host`: its counts, not from a session) and the worker all call it,
and none of them imports another for it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fair import db, events
from fair.broadcast import Broadcaster
from fair.events import Event

log = logging.getLogger("fair.unit_of_work")
T = TypeVar("T")


def event_frame(event: Event) -> str:
    """The `["event", channel, {"event": ..., ...}]` frame of PROTOCOL.md for `event`."""
    frame = ["event", event.channel, {"event": event.event, **event.payload}]
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


async def publish(broadcast: Broadcaster, queued: Iterable[Event]) -> None:
    """Publish committed events; a failure is logged, never raised (pub/sub is at-most-once)."""
    for event in queued:
        try:
            await broadcast.publish(event.channel, event_frame(event))
        except Exception:
            log.exception("could not publish %s on %s", event.event, event.channel)


async def write(
    maker: async_sessionmaker[AsyncSession],
    broadcast: Broadcaster,
    work: Callable[[AsyncSession], Awaitable[T]],
) -> T:
    """Run `work` in its own write session: commit, then publish its events.

    On error the transaction rolls back and its after-commit callbacks and events are dropped.
    """
    async with maker() as session:
        try:
            result = await work(session)
        except BaseException:
            await discard(session)
            raise
        await commit(session, broadcast)
        return result


async def read(
    maker: async_sessionmaker[AsyncSession],
    broadcast: Broadcaster,
    work: Callable[[AsyncSession], Awaitable[T]],
) -> T:
    """Run `work`, which writes nothing, in a read session, then publish the events it queued
    (a round that only reads and tells, such as fair.live_panel's: no write lock taken)."""
    async with maker() as session:
        try:
            result = await work(session)
        except BaseException:
            events.drop(session)
            raise
        queued = events.take(session)
    await publish(broadcast, queued)
    return result


async def commit(session: AsyncSession, broadcast: Broadcaster) -> None:
    """Commit, run the after-commit callbacks, then publish the queued live events."""
    await db.commit(session)
    await publish(broadcast, events.take(session))


async def discard(session: AsyncSession) -> None:
    """Roll back, dropping the after-commit callbacks and the live events."""
    session.info.pop("after_commit", None)
    events.drop(session)
    await session.rollback()
