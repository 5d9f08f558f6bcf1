"""What /live sockets share in a process (fair/live/hub.py): a connect with a session checked
moments ago reads nothing, a public channel seen moments ago neither, and a revoked session is
refused on the very next connect (the cache forgets it when the revocation is heard).

A real uvicorn server (tests/live_server.py); statements counted with a SQLAlchemy event
listener on the server's own engine.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import update

from fair import admission_gate, channels, cli, clock, db, settings, user_sessions
from fair.broadcast import resync_frame
from fair.enums import Role
from fair.live import hub, socket
from fair.models import User, UserSession
from tests import factories as f
from tests.conftest import csrf
from tests.live_server import LoggedIn, Server, statements


@pytest.fixture(autouse=True)
def _settings(server: Server) -> Iterator[None]:
    clock.set_now(None)
    settings.override(server.conf)
    yield
    clock.set_now(None)


async def make(server: Server, role: Role = Role.CANDIDATE, *, published: bool = True) -> Any:
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            user = await f.user(session, role)
            made = await f.edition(session, publish=published)
            await session.commit()
            return user, made.id
    finally:
        await engine.dispose()


async def opened(server: Server, client: httpx.AsyncClient | None = None) -> Any:
    headers = {"Cookie": f"fair_session={client.cookies['fair_session']}"} if client else {}
    return await websockets.connect(server.ws, additional_headers=headers, origin=server.url)


async def call(ws: Any, action: str, payload: dict[str, Any]) -> list[Any]:
    await ws.send(json.dumps([action, 1, payload]))
    return list(json.loads(await asyncio.wait_for(ws.recv(), 5)))


async def test_a_connect_with_a_cached_session_reads_nothing(
    server: Server, logged_in: LoggedIn
) -> None:
    # With the default admission caps: the edition's gate is armed, not engaged (nobody
    # presses it), so a candidate's socket without the admission cookie reads nothing to pass
    # it either (fair.admission_gate caches both; the engaged case, with the cookie:
    # test_admission_live::test_an_admitted_candidate_s_socket_reads_nothing_to_pass_the_gate).
    assert (server.conf.admission_active_cap, server.conf.admission_arrivals_per_minute) == (
        settings.ADMISSION_ACTIVE_CAP,
        settings.ADMISSION_ARRIVALS_PER_MINUTE,
    )
    user, edition_id = await make(server)
    client = await logged_in(user)
    own, hall = channels.user(user.id), channels.edition(edition_id)
    with statements(server) as first:
        ws = await opened(server, client)
        assert await call(ws, "subscribe", {"channel": own}) == ["success", 1, {"channel": own}]
        assert await call(ws, "subscribe", {"channel": hall}) == ["success", 1, {"channel": hall}]
        await ws.close()
    # The session's read (users joined), then the edition's visibility.
    assert len([s for s in first if "FROM user_sessions JOIN users" in s]) == 1
    assert any("FROM editions" in s for s in first)
    with statements(server) as again:
        ws = await opened(server, client)
        assert await call(ws, "subscribe", {"channel": own}) == ["success", 1, {"channel": own}]
        assert await call(ws, "subscribe", {"channel": hall}) == ["success", 1, {"channel": hall}]
        await ws.close()
    assert again == [], again


async def test_a_revoked_session_is_refused_on_the_next_connect(
    server: Server, logged_in: LoggedIn
) -> None:
    user, _ = await make(server)
    client = await logged_in(user)
    own = channels.user(user.id)
    ws = await opened(server, client)  # checked, and cached for 30 s
    assert await call(ws, "subscribe", {"channel": own}) == ["success", 1, {"channel": own}]
    saved = httpx.Cookies(client.cookies)
    token = await csrf(client)
    assert (await client.post("/logout", data={"csrf_token": token})).status_code == 303
    await ws.wait_closed()
    # Seconds within the cache's 30: the cookie of the ended session opens a visitor's socket.
    late = await opened(server, httpx.AsyncClient(cookies=saved))
    reply = await call(late, "subscribe", {"channel": own})
    assert reply[:2] == ["error", 1] and reply[2]["code"] == "auth.required"
    await late.close()


async def test_a_session_is_cached_no_longer_than_it_holds(
    server: Server, logged_in: LoggedIn
) -> None:
    """A session about to go idle for good (user_sessions.IDLE_LIFETIME) is cached until then,
    not CACHE_SECONDS more: the next connect after it is a visitor's."""
    user, _ = await make(server)
    client = await logged_in(user)
    own = channels.user(user.id)
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            almost = clock.now() - user_sessions.IDLE_LIFETIME + timedelta(seconds=1)
            await session.execute(
                update(UserSession)
                .where(UserSession.user_id == user.id)
                .values(last_seen_at=almost)
            )
            await session.commit()
    finally:
        await engine.dispose()
    ws = await opened(server, client)  # checked: holds one more second
    assert await call(ws, "subscribe", {"channel": own}) == ["success", 1, {"channel": own}]
    await ws.close()
    await asyncio.sleep(1.5)
    late = await opened(server, client)
    reply = await call(late, "subscribe", {"channel": own})
    assert reply[:2] == ["error", 1] and reply[2]["code"] == "auth.required"
    await late.close()


async def test_sockets_connecting_together_share_their_sessions_reads(
    server: Server, logged_in: LoggedIn
) -> None:
    people = [(await make(server))[0] for _ in range(8)]
    clients = [await logged_in(user) for user in people]
    with statements(server) as seen:
        # Four browser tabs each, all at once: each gets its own user, and no session is read
        # twice (the connects of a moment wait for one read).
        sockets = await asyncio.gather(*(opened(server, c) for c in clients for _ in range(4)))
        owners = [user for user in people for _ in range(4)]
        replies = await asyncio.gather(
            *(
                call(ws, "subscribe", {"channel": channels.user(u.id)})
                for ws, u in zip(sockets, owners, strict=True)
            )
        )
        await asyncio.gather(*(ws.close() for ws in sockets))
    assert [r[0] for r in replies] == ["success"] * 32
    assert 1 <= len([s for s in seen if "FROM user_sessions JOIN users" in s]) <= 8


async def test_a_hidden_edition_is_not_remembered_as_public(
    server: Server, logged_in: LoggedIn
) -> None:
    user, hidden = await make(server, published=False)
    channel = channels.edition(hidden)
    for _ in range(2):  # refused each time, from the database each time (the edition, or its
        # offers version when the edition is kept under it: fair.editions)
        with statements(server) as seen:
            ws = await opened(server, await logged_in(user))
            reply = await call(ws, "subscribe", {"channel": channel})
            await ws.close()
        assert reply[:2] == ["error", 1] and reply[2]["code"] == "live.forbidden"
        assert any("FROM editions" in s or "FROM offers_versions" in s for s in seen)


def test_the_session_cache_expires_and_stays_bounded() -> None:
    cache = hub.SessionCache(seconds=0.05, size=2)
    ana, bob = User(id=1, role="candidate"), User(id=2, role="candidate")
    cache.put("a", ana, 10)
    cache.put("b", bob, 20)
    cache.put("a2", ana, 11)  # over the size: the oldest ("a") goes
    assert (cache.get("a"), len(cache)) == (None, 2)
    assert [cache.get(k).session_id for k in ("b", "a2")] == [20, 11]  # type: ignore[union-attr]
    cache.forget_user(ana.id)
    assert (cache.get("a2"), len(cache)) == (None, 1)
    time.sleep(0.06)
    assert (cache.get("b"), len(cache)) == (None, 0)


def test_sockets_are_served_lean_with_the_endpoints_frame_limit() -> None:
    assert cli.WEBSOCKETS == {
        "ws": "websockets-sansio",
        "ws_max_size": socket.MAX_MESSAGE_BYTES,
        "ws_per_message_deflate": False,
        "ws_ping_interval": 60.0,
        "ws_ping_timeout": 20.0,
    }


async def test_sockets_subscribing_together_to_the_hall_read_the_edition_once(
    server: Server,
) -> None:
    # An opening: many sockets ask for the hall's channel before any answer is known. They
    # wait for one read (each reading it emptied the pool: `server.busy` to the rest).
    _, edition_id = await make(server)
    hall = channels.edition(edition_id)
    sockets = await asyncio.gather(*(opened(server) for _ in range(20)))
    with statements(server) as seen:
        replies = await asyncio.gather(
            *(call(ws, "subscribe", {"channel": hall}) for ws in sockets)
        )
    await asyncio.gather(*(ws.close() for ws in sockets))
    assert replies == [["success", 1, {"channel": hall}]] * 20
    assert len([s for s in seen if "FROM editions" in s]) == 1


async def test_candidates_connecting_together_read_the_gated_editions_once(
    server: Server, logged_in: LoggedIn
) -> None:
    # Whether an edition is gated is cached for seconds (fair.admission_gate); the connects
    # arriving while it is read wait for that read instead of each reading it.
    user, _ = await make(server)
    client = await logged_in(user)
    admission_gate.forget()
    with statements(server) as seen:
        sockets = await asyncio.gather(*(opened(server, client) for _ in range(20)))
        replies = await asyncio.gather(*(call(ws, "ping", {}) for ws in sockets))
    await asyncio.gather(*(ws.close() for ws in sockets))
    assert replies == [["success", 1, {}]] * 20
    assert len([s for s in seen if "FROM editions" in s]) == 1


async def test_a_booth_declined_after_its_approval_is_no_longer_public_at_once(
    server: Server, logged_in: LoggedIn
) -> None:
    """The hub remembers a public channel for CACHE_SECONDS: a booth declined within them was
    followed by new visitors all the same until then. The decision's notice on the hidden
    channel makes the hub forget it at once."""
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            admin = await f.user(session, Role.ADMIN)
            booth, _ = await f.booth(session, edition_=await f.edition(session))
            await session.commit()
    finally:
        await engine.dispose()
    channel = channels.booth(booth.id)
    visitor = await opened(server)
    assert await call(visitor, "subscribe", {"channel": channel}) == [
        "success",
        1,
        {"channel": channel},
    ]
    await visitor.close()
    client = await logged_in(admin)
    decided = await client.post(
        f"/organiser/booths/{booth.id}/decision",
        data={"decision": "decline", "reason": "Hors sujet", "csrf_token": await csrf(client)},
    )
    assert decided.status_code == 303
    late = await opened(server)
    reply = await call(late, "subscribe", {"channel": channel})
    await late.close()
    assert reply[:2] == ["error", 1] and reply[2]["code"] == "live.forbidden"


def test_a_resync_of_the_hidden_channel_forgets_every_public_channel() -> None:
    the_hub = hub.Hub(None)  # type: ignore[arg-type]
    the_hub.remember_public("booth:1")
    the_hub.remember_public("booth:2")
    the_hub.forget_public('["event","hidden",{"event":"hidden","channels":["booth:1"]}]')
    assert list(the_hub.public) == ["booth:2"]
    the_hub.forget_public(resync_frame(channels.HIDDEN))  # notices may have been lost
    assert list(the_hub.public) == []


async def test_a_candidate_s_socket_after_the_kept_pages_reads_nothing(
    server: Server, logged_in: LoggedIn
) -> None:
    """At an opening a candidate opens the edition's page, then its socket: the page served
    from the page kept for candidates checked the session through this hub (fair.web.auth),
    so the socket's connect and its subscribe to the candidate's own channel read nothing
    (issue 17: one session read each, the page's own read apart)."""
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            made = await f.edition(session)
            booth, _recruiter = await f.booth(session, edition_=made)
            await f.offer(session, booth_=booth)
            first, second = await f.candidate(session), await f.candidate(session)
            await session.commit()
    finally:
        await engine.dispose()
    landing = f"/e/{made.slug}"
    before = await logged_in(first)
    assert (await before.get(landing)).status_code == 200  # rendered, kept
    # Her socket reads the armed editions, which the process keeps a few seconds
    # (admission_gate.CACHE_SECONDS): not one read a candidate.
    await (await opened(server, before)).close()
    client = await logged_in(second)
    page = await client.get(landing)
    assert f'data-user-id="{second.id}"' in page.text
    own = channels.user(second.id)
    with statements(server) as seen:
        ws = await opened(server, client)
        assert await call(ws, "subscribe", {"channel": own}) == ["success", 1, {"channel": own}]
        await ws.close()
    assert seen == []
