"""The wire format of /live (see PROTOCOL.md) and the publishing of committed events.

Client to server: `[action, id, payload]`. Server to client: `["success", id, payload]`,
`["error", id, {"code": ..., "message": ...}]` and `["event", channel, {"event": ..., ...}]`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fair import db, events
from fair.errors import FairError
from fair.events import Event
from fair.live.broadcast import Broadcaster

log = logging.getLogger("fair.live")
T = TypeVar("T")
HEARTBEAT = '["event","",{"event":"heartbeat"}]'


class ProtocolError(FairError):
    status = 400
    code = "live.bad_message"


@dataclass(frozen=True)
class Command:
    action: str
    id: Any
    payload: dict[str, Any]


MAX_ID_CHARS = 100
# What no text of a frame may hold: NUL (PostgreSQL refuses it) and lone surrogates, which
# JSON escapes such as \ud800 let through but UTF-8 (the database, our replies) cannot carry.
NOT_TEXT_RE = re.compile("[\x00\ud800-\udfff]")


def parse(text: str) -> Command:
    """A client message, or ProtocolError when it is not `[action, id, {payload}]`.

    Nesting deeper than the parser can follow is refused. The id is echoed in the reply: a
    string id must be short text. The payload's values are checked apart (`payloads.check`:
    text, depth, NaN and Infinity), once the id is known, so that the error reply carries it.
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        data = None
    if (
        not isinstance(data, list)
        or len(data) != 3
        or not isinstance(data[0], str)
        or not isinstance(data[1], str | int | None)
        or isinstance(data[1], bool)
        or (isinstance(data[1], str) and not is_short_text(data[1]))
        or not isinstance(data[2], dict)
    ):
        raise ProtocolError("This message is not of the form [action, id, payload].")
    return Command(data[0], data[1], data[2])


def is_short_text(value: str) -> bool:
    return len(value) <= MAX_ID_CHARS and NOT_TEXT_RE.search(value) is None


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def success(id_: Any, payload: dict[str, Any] | None = None) -> str:
    return dumps(["success", id_, payload or {}])


def error(id_: Any, code: str, message: str) -> str:
    return dumps(["error", id_, {"code": code, "message": message}])


def event_frame(event: Event) -> str:
    return dumps(["event", event.channel, {"event": event.event, **event.payload}])


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


async def commit(session: AsyncSession, broadcast: Broadcaster) -> None:
    """Commit, run the after-commit callbacks, then publish the queued live events."""
    await db.commit(session)
    await publish(broadcast, events.take(session))


async def discard(session: AsyncSession) -> None:
    """Roll back, dropping the after-commit callbacks and the live events."""
    session.info.pop("after_commit", None)
    events.drop(session)
    await session.rollback()
