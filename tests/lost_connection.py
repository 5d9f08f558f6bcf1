"""A pooled PostgreSQL connection ended for real between its checkout and its first statement
(a restart, pg_terminate_backend, before the event loop read the end of its socket): what
fair.db `lost_unused` and `again` are about. Used by tests/test_*_lost_connection.py.

The connection is ended from the pool's checkout event (so after the pool's own check,
`fair.db._closed_is_a_disconnect`, and before anything is sent on it): the first connection
checked out once `ending` is armed has its backend terminated, and waited for."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url

from tests.conftest import PG_ADMIN


async def _terminate(pid: int) -> bool:
    dsn = make_url(PG_ADMIN).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        return bool(await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", pid))
    finally:
        await admin.close()


@contextlib.contextmanager
def ending(app: Any) -> Iterator[list[int]]:
    """The backend pids ended (at most one: the first connection checked out meanwhile)."""
    ended: list[int] = []

    def end(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if ended:
            return
        pid = dbapi_connection.driver_connection.get_server_pid()
        done: list[bool] = []
        # Outside the app's event loop (this listener runs in it, synchronously): the loop
        # reads nothing of the connection's socket until its first statement is sent.
        thread = threading.Thread(target=lambda: done.append(asyncio.run(_terminate(pid))))
        thread.start()
        thread.join(10)
        assert done == [True]
        ended.append(pid)

    engine = app.state.engine.sync_engine
    event.listen(engine, "checkout", end)
    try:
        yield ended
    finally:
        event.remove(engine, "checkout", end)
