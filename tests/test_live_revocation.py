"""A revoked session loses its sockets even when the revocation is heard while the process is
busy (fair/live/hub.py): a socket whose session was checked before the revocation but that
joins the hub after it is re-checked at once, and the accounts channel forgets a session from
the cache as soon as it is heard, not after an earlier re-check that waits for the database.

A real uvicorn server on PostgreSQL; the database is held up for real by a second connection
that locks a table (LOCK TABLE ... ACCESS EXCLUSIVE), the way a slow database or a busy pool
holds a connect or a re-check up during a surge. No mocks.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import text

from fair import admission_gate, channels, db, unit_of_work, user_sessions
from fair.enums import Role
from fair.events import Event
from fair.live import hub
from tests import factories as f
from tests.conftest import csrf
from tests.live_server import LoggedIn, Server, run_server
from tests.media_setup import until
from tests.server_processes import migrated_database

pytestmark = [pytest.mark.postgresql_only, pytest.mark.usefixtures("server_settings")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with (
        migrated_database("postgresql", tmp_path_factory) as url,
        run_server(tmp_path_factory, "revocation", database_url=url) as running,
    ):
        yield running


async def person(server: Server, role: Role) -> Any:
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            user = await f.user(session, role)
            await session.commit()
            return user
    finally:
        await engine.dispose()


@asynccontextmanager
async def locked(server: Server, table: str) -> AsyncIterator[None]:
    """`table` locked by another connection until the block ends: reads of it wait."""
    engine = db.create_engine(server.conf.database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            try:
                yield
            finally:
                await conn.rollback()
    finally:
        await engine.dispose()


async def on_server(server: Server, work: Any) -> Any:
    """Run a coroutine in the server's loop (its memory broadcaster lives there)."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, server.loop))


async def account_changed(server: Server, user_id: int) -> None:
    """What fair.user_sessions.signal publishes after commit."""
    event = Event(channels.ACCOUNTS, user_sessions.REVOKED_EVENT, {"user_id": user_id})
    await on_server(server, unit_of_work.publish(server.app.state.broadcast, [event]))


def cookie(client: httpx.AsyncClient) -> dict[str, str]:
    return {"Cookie": f"fair_session={client.cookies['fair_session']}"}


async def opened(server: Server, headers: dict[str, str]) -> Any:
    return await websockets.connect(server.ws, additional_headers=headers, origin=server.url)


async def subscribe_own(ws: Any, user_id: int) -> list[Any]:
    await ws.send(json.dumps(["subscribe", 1, {"channel": channels.user(user_id)}]))
    return list(json.loads(await ws.recv()))


async def test_a_socket_checked_before_a_revocation_but_opened_after_it_is_closed(
    server: Server, logged_in: LoggedIn
) -> None:
    candidate = await person(server, Role.CANDIDATE)
    client = await logged_in(candidate)
    the_hub = hub.of(server.app.state.broadcast)
    admission_gate.forget()  # the connect reads the gated editions: held up by the lock
    async with locked(server, "editions"):
        ws = await opened(server, cookie(client))  # session checked; the gate's read waits
        await asyncio.sleep(0.5)
        heard = the_hub.changes
        token = await csrf(client)
        assert (await client.post("/logout", data={"csrf_token": token})).status_code == 303
        await until(lambda: the_hub.changes > heard, 5)  # heard (no socket to re-check yet)
    # The connect goes on and joins the hub after the revocation was handled: its session no
    # longer holds, so the socket closes at once (not at the next round, a minute later).
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(5):
            while True:
                await subscribe_own(ws, candidate.id)
                await asyncio.sleep(0.2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_revocation_is_heard_while_another_accounts_recheck_waits(
    server: Server, logged_in: LoggedIn
) -> None:
    busy, revoked = await person(server, Role.RECRUITER), await person(server, Role.RECRUITER)
    busy_ws = await opened(server, cookie(await logged_in(busy)))  # a socket to re-check
    client = await logged_in(revoked)
    ws = await opened(server, cookie(client))  # its session checked, and cached
    assert (await subscribe_own(ws, revoked.id))[0] == "success"
    await ws.close()
    engine = db.create_engine(server.conf.database_url)
    try:  # the session ends in the database; the signal follows below
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE user_sessions SET revoked_at = now() WHERE user_id = :id"),
                {"id": revoked.id},
            )
    finally:
        await engine.dispose()
    async with locked(server, "user_sessions"):
        await account_changed(server, busy.id)  # its socket's re-check waits for the lock
        await account_changed(server, revoked.id)
        await asyncio.sleep(0.3)
        late = asyncio.ensure_future(_late(server, cookie(client), revoked.id))
        done, _ = await asyncio.wait({late}, timeout=1.5)
        # The revoked session is not served from the cache meanwhile: its connect waits for
        # the session's read like the re-check does.
        assert not done, f"served from the cache: {late.result()}"
    reply = await asyncio.wait_for(late, 10)
    assert reply[:2] == ["error", 1] and reply[2]["code"] == "auth.required"
    await busy_ws.close()


async def _late(server: Server, headers: dict[str, str], user_id: int) -> list[Any]:
    ws = await opened(server, headers)
    try:
        return await subscribe_own(ws, user_id)
    finally:
        await ws.close()
