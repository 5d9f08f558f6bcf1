"""The media broker's Redis client (fair.media.broker `open_redis`: the web processes' calls to
media processes, their replies, pins and heartbeats) is a bounded pool that makes a command wait
for a free connection instead of refusing it, as the publishing client's (fair.broadcast
CONNECTIONS, tests/test_broadcast_pool.py): redis-py's own pool refuses past 100 at once
(MaxConnectionsError), which a call answers `stage.unavailable`. Real Redis, nothing mocked."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from fair.media import broker

URL = "redis://127.0.0.1:6379/0"


def empty_key() -> str:
    return f"tidy-test-broker-{secrets.token_hex(4)}:empty"


async def test_a_burst_beyond_the_pool_waits_for_connections() -> None:
    """150 commands at once on the broker's pool (64), each holding its connection 0.2 s: all
    answered, none refused (redis-py's own pool refused past 100: MaxConnectionsError)."""
    client = await broker.open_redis(URL)
    try:
        key = empty_key()
        answers = await asyncio.gather(*(client.blpop([key], timeout=0.2) for _ in range(150)))
        assert answers == [None] * 150
        assert client.connection_pool.max_connections == broker.CONNECTIONS
    finally:
        await client.aclose()


async def test_commands_beyond_the_pool_wait_for_a_connection() -> None:
    """Eight commands at once, each holding its connection 0.2 s, over two connections."""
    client = await broker.open_redis(URL, connections=2)
    try:
        key = empty_key()
        answers = await asyncio.gather(*(client.blpop([key], timeout=0.2) for _ in range(8)))
        assert answers == [None] * 8
        assert client.connection_pool.max_connections == 2
    finally:
        await client.aclose()


async def test_a_command_that_waits_too_long_is_an_error_callers_handle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past CONNECTIONS_TIMEOUT a command raises a RedisError, which the broker's callers turn
    into `stage.unavailable` (fair.media.remote `call`)."""
    monkeypatch.setattr(broker, "CONNECTIONS_TIMEOUT", 0.1)
    client = await broker.open_redis(URL, connections=1)
    try:
        key = empty_key()
        held = asyncio.create_task(client.blpop([key], timeout=1))
        await asyncio.sleep(0.1)
        with pytest.raises(RedisConnectionError):
            await client.get(key)
        assert await held is None
    finally:
        await client.aclose()
