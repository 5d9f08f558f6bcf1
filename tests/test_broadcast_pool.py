"""The publishing client's Redis connections are a bounded pool that makes a command wait for
a free connection instead of refusing it (fair.broadcast CONNECTIONS): in the 10,000-candidate
surge at 07a6e82, redis-py's own pool (100, refusing at once) answered 537 held candidates'
status asks 503 "the waiting line cannot be reached". Real Redis, nothing mocked."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from fair import broadcast
from fair.broadcast import Broadcaster

URL = "redis://127.0.0.1:6379/0"


async def test_a_burst_beyond_the_pool_waits_for_connections() -> None:
    """150 commands at once on the product's pool (64), each holding its connection 0.2 s: all
    answered, none refused (redis-py's own pool refused past 100: MaxConnectionsError)."""
    hub = Broadcaster(URL, namespace=f"test-pool-{secrets.token_hex(4)}")
    await hub.connect()
    try:
        client = hub.client()
        assert client is not None
        key = f"{hub.namespace}:empty"
        answers = await asyncio.gather(*(client.blpop([key], timeout=0.2) for _ in range(150)))
        assert answers == [None] * 150
    finally:
        await hub.disconnect()


async def test_commands_beyond_the_pool_wait_for_a_connection() -> None:
    hub = Broadcaster(URL, namespace=f"test-pool-{secrets.token_hex(4)}", connections=2)
    await hub.connect()
    try:
        client = hub.client()
        assert client is not None
        key = f"{hub.namespace}:empty"
        # Eight commands at once, each holding its connection 0.2 s, over two connections.
        answers = await asyncio.gather(*(client.blpop([key], timeout=0.2) for _ in range(8)))
        assert answers == [None] * 8
        pool = client.connection_pool
        assert pool.max_connections == 2
    finally:
        await hub.disconnect()


async def test_a_command_that_waits_too_long_is_an_error_redis_callers_handle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(broadcast, "CONNECTIONS_TIMEOUT", 0.1)
    hub = Broadcaster(URL, namespace=f"test-pool-{secrets.token_hex(4)}", connections=1)
    await hub.connect()
    try:
        client = hub.client()
        assert client is not None
        key = f"{hub.namespace}:empty"
        held = asyncio.create_task(client.blpop([key], timeout=1))
        await asyncio.sleep(0.1)
        with pytest.raises(RedisConnectionError):
            await client.get(key)
        assert await held is None
    finally:
        await hub.disconnect()
