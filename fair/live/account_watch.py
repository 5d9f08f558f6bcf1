"""A logged-in socket follows its account: it closes once its session no longer holds.

Log-out, "log out everywhere", a password reset and deactivation revoke server-side sessions and
publish on the user's internal channel `account:<id>` (fair.user_sessions.signal), through the
broadcaster, so in every process. Each socket of that user hears it, reads its own session again
and closes with CLOSE_SESSION_ENDED when it was revoked, expired, the account deactivated or its
role changed (the client then reconnects and gets what the account may now see). Pub/sub may lose
a message: the socket also re-checks every RECHECK_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from fair import app_state, channels, db, user_sessions
from fair.models import User

if TYPE_CHECKING:  # socket.py imports this module
    from fair.live.socket import Connection

log = logging.getLogger("fair.live")

CLOSE_SESSION_ENDED = 4401
CLOSE_REASON = "session ended"
RECHECK_SECONDS = 60.0


async def follow(connection: Connection) -> int | None:
    """Run with the socket; return CLOSE_SESSION_ENDED once its session stops holding."""
    user = connection.user
    key = connection.websocket.session.get("sid")
    if user is None or not isinstance(key, str):
        await asyncio.Event().wait()  # a visitor's socket: nothing to follow
        return None
    async with connection.broadcast.subscribe(channels.account(user.id)) as queue:
        # Checked once subscribed: a revocation since the socket's first read is not missed.
        while await _holds(connection, user, key):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(queue.get(), RECHECK_SECONDS)
    return CLOSE_SESSION_ENDED


async def _holds(connection: Connection, user: User, key: str) -> bool:
    """Whether the socket's session still holds, for the same role as when it opened."""
    state = app_state.of(connection.websocket)
    try:
        async with state.read_sessions() as session:
            found = await user_sessions.find(session, key)
    except Exception:  # a busy database: keep the socket, the next round checks again
        log.exception("re-checking a socket's session failed")
        return True
    if found is None:
        return False
    now, record = found
    if now.role != user.role:
        return False
    if user_sessions.stale(record):  # a long-lived socket keeps its session seen
        with contextlib.suppress(Exception):
            async with db.unit_of_work(state.write_sessions) as session:
                await user_sessions.touch(session, record.id)
    return True
