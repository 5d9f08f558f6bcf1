"""A logged-in socket follows its account: it closes once its session no longer holds.

Log-out, "log out everywhere", a password reset and deactivation revoke server-side sessions and
publish the user's id on the deployment's accounts channel (fair.user_sessions.signal), through
the broadcaster, so in every process. Each process's hub (fair.live.hub) then re-checks its
sockets of that user (`recheck`), which close with CLOSE_SESSION_ENDED when their session was
revoked, expired, the account deactivated or its role changed (the client then reconnects and
gets what the account may now see). Pub/sub may lose a message: the hub also re-checks every
socket every RECHECK_SECONDS, CHUNK sockets a read, and keeps their sessions seen.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fair import app_state, db, user_sessions

if TYPE_CHECKING:  # socket.py imports this module
    from fair.live.socket import Connection

log = logging.getLogger("fair.live")

CLOSE_SESSION_ENDED = 4401
CLOSE_REASON = "session ended"
RECHECK_SECONDS = 60.0
CHUNK = 500


async def recheck(state: app_state.AppState, conns: list[Connection]) -> None:
    """Close those of `conns` whose session no longer holds, for the same role as when they
    opened; touch the sessions of the others when due. A busy database keeps the sockets: the
    next round checks again."""
    for start in range(0, len(conns), CHUNK):
        chunk = conns[start : start + CHUNK]
        ids = {c.session_id for c in chunk if c.session_id is not None}
        try:
            async with state.read_sessions() as session:
                held = await user_sessions.holding(session, ids)
        except Exception as exc:
            db.report(log, exc, "re-checking the sockets' sessions")
            continue
        for conn in chunk:
            found = held.get(conn.session_id) if conn.session_id is not None else None
            if found is None or conn.user is None or found[0] != conn.user.role:
                conn.end(CLOSE_SESSION_ENDED)
        due = [id_ for id_, (_, seen) in held.items() if user_sessions.seen_long_ago(seen)]
        if due:  # long-lived sockets keep their sessions seen
            try:
                async with db.unit_of_work(state.write_sessions) as session:
                    await user_sessions.touch_many(session, due)
            except Exception as exc:
                db.report(log, exc, "touching the sockets' sessions")
