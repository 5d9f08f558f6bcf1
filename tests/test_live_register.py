"""The open sockets register (fair.live.limits) as the hub keeps it (fair.live.hub): a socket
that closes is never listed after its leave, whichever of the rounds of opened and closed
sockets runs first, and however long the round that lists it takes (Redis: one script call per
CHUNK sockets, one after another).

The Redis case runs on a redis-server of this test's own, put to sleep by `DEBUG SLEEP` (the
shared Redis is never made to wait): serial (tests/conftest.py SERIAL).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
import redis.asyncio as aioredis

from fair import settings
from fair.broadcast import Broadcaster
from fair.live import hub, limits
from fair.live.socket import Connection
from fair.models import User
from tests.server_processes import free_port, redis_server, wait_redis


def _socket(the_hub: hub.Hub, user_id: int) -> Connection:
    """A logged-in socket as the endpoint makes it (no client behind it: the register needs
    only its user and id)."""
    user = User(id=user_id, role="candidate")
    return Connection(None, user, the_hub, session_id=user_id)  # type: ignore[arg-type]


async def _rounds_done(the_hub: hub.Hub) -> None:
    async with asyncio.timeout(10):
        while the_hub._chores:
            await asyncio.wait(set(the_hub._chores))


async def test_a_socket_gone_before_its_round_is_not_registered_by_it() -> None:
    """A socket that leaves with its `ended` unresolved (its serve cancelled) while a round of
    closed sockets is already due: that round runs first, then the round of opened sockets,
    which listed it for good (the process's register never expires anything)."""
    settings.override(settings.load({"FAIR_ENV": "test"}))
    broadcast = Broadcaster("memory://", namespace="register-test")
    the_hub = hub.Hub(broadcast)
    other, mine = _socket(the_hub, 1), _socket(the_hub, 2)
    the_hub.join(other)
    await _rounds_done(the_hub)
    the_hub.leave(other)  # a round of closed sockets due in OPENING_SECONDS
    the_hub.join(mine)  # a round of opened sockets due just after it
    the_hub.leave(mine)  # gone before either ran
    await _rounds_done(the_hub)
    register = limits._register(broadcast)
    assert isinstance(register, limits._Local)
    assert dict(register.sockets) == {}
    await the_hub.stop()
    settings.override(None)


@pytest_asyncio.fixture
async def own_redis() -> AsyncIterator[str]:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with redis_server(port, "--enable-debug-command", "yes"):
        await wait_redis(url)
        yield url


async def test_a_socket_closed_while_its_round_is_in_flight_is_not_registered_after(
    own_redis: str,
) -> None:
    """The round of opened sockets lists them CHUNK at a time; one of the second chunk closes
    while the first is in flight (here, Redis asleep for a second). The round of closed
    sockets, 10 ms later, used to take it off at once, before the second chunk listed it:
    then it stayed listed (counted against its user's limit) until STALE_SECONDS."""
    settings.override(settings.load({"FAIR_ENV": "test"}))
    broadcast = Broadcaster(own_redis, namespace="register-test")
    await broadcast.connect()
    side = aioredis.from_url(own_redis)
    the_hub = hub.Hub(broadcast)
    try:
        sockets = [_socket(the_hub, user_id) for user_id in range(1, limits.CHUNK + 2)]
        first, last = sockets[0], sockets[-1]
        asleep = asyncio.create_task(side.execute_command("DEBUG", "SLEEP", "1"))
        await asyncio.sleep(0.1)  # Redis asleep: the first chunk will wait for it
        for conn in sockets:
            the_hub.join(conn)
        async with asyncio.timeout(5):
            # The round took them (the last in its second chunk).
            while the_hub._opening:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
        last.end(None)
        the_hub.leave(last)
        await asyncio.wait_for(asyncio.shield(asleep), 10)
        await _rounds_done(the_hub)

        async def listed(conn: Connection) -> bool:
            assert conn.user is not None
            key = f"register-test:sockets:{conn.user.id}"
            return await side.zscore(key, conn.connection_id) is not None

        assert (await listed(first), await listed(last)) == (True, False)
    finally:
        await the_hub.stop()
        await side.aclose()
        await broadcast.disconnect()
        settings.override(None)


async def test_a_users_sockets_registered_together_keep_their_order(own_redis: str) -> None:
    """The sockets of one round go to Redis in one script call (one clock reading): a user's
    sockets of that round are still listed in their opening order, so the one pushed out over
    the limit is the oldest (ids chosen to sort the other way round)."""
    broadcast = Broadcaster(own_redis, namespace="register-order")
    await broadcast.connect()
    try:
        register = limits._register(broadcast)
        assert isinstance(register, limits._Shared)
        opening = [(7, "c-first"), (7, "b-second"), (8, "z-other"), (7, "a-third")]
        assert await register.open(opening, 2) == ["c-first"]
        side = aioredis.from_url(own_redis, decode_responses=True)
        try:
            listed = await side.zrange("register-order:sockets:7", 0, -1)
            assert listed == ["b-second", "a-third"]
            assert await side.zrange("register-order:sockets:8", 0, -1) == ["z-other"]
            assert await side.zrange("register-order:seen:7", 0, -1) == ["b-second", "a-third"]
        finally:
            await side.aclose()
    finally:
        await broadcast.disconnect()


async def test_the_register_loads_its_scripts_again_after_redis_forgot_them(
    own_redis: str,
) -> None:
    """The scripts are called by their SHA1; Redis restarted (here, SCRIPT FLUSH) knows none:
    the register loads them again, and lists, refreshes and unlists as before, CHUNK sockets
    a call."""
    broadcast = Broadcaster(own_redis, namespace="register-flush")
    await broadcast.connect()
    side = aioredis.from_url(own_redis, decode_responses=True)
    try:
        register = limits._register(broadcast)
        assert isinstance(register, limits._Shared)
        sockets = [(user_id, f"socket-{user_id}") for user_id in range(limits.CHUNK + 1)]
        assert await register.open(sockets[:1], 3) == []
        await side.script_flush()
        assert await register.open(sockets[1:], 3) == []
        assert len(await side.keys("register-flush:sockets:*")) == limits.CHUNK + 1
        await side.script_flush()
        await side.delete("register-flush:sockets:5")  # e.g. dropped as stale meanwhile
        await register.refresh(sockets)
        assert await side.zrange("register-flush:sockets:5", 0, -1) == ["socket-5"]
        await side.script_flush()
        await register.close(sockets)
        assert await side.keys("register-flush:*") == []
    finally:
        await side.aclose()
        await broadcast.disconnect()
