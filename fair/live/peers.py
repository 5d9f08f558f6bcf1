"""What the two-person calls share (interview rooms, fair.live.room_commands; booth
conversations by video, fair.live.call_commands): relaying a call's frames to one socket."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fair.live import payloads

if TYPE_CHECKING:
    from fair.live.socket import Connection


async def relay(
    conn: Connection,
    queue: asyncio.Queue[str],
    *,
    joined: str,
    present: Callable[[], bool],
    here: Callable[[Any], Awaitable[None]],
) -> None:
    """Relay the call's frames, except this socket's own and those meant for another socket;
    answer another person's arrival (a `joined` event, e.g. "room.peer") with `here(to)` while
    this socket is `present` in the call, so that they know who is in it."""
    while True:
        text = await queue.get()
        data = payloads.event_payload(text)
        if data.get("from") == conn.connection_id or data.get("to") not in (
            None,
            conn.connection_id,
        ):
            continue
        if (
            data.get("event") == joined
            and data.get("state") == "joined"
            and present()
            and conn.user is not None
            and data.get("user_id") != conn.user.id
        ):
            await here(data.get("from"))
        conn.push(text)
