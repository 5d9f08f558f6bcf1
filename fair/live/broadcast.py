"""Broadcast backends chosen by URL: memory:// (one process) and redis:// (pub/sub).

Pub/sub only says "something changed" (at-most-once); the database stays the source of truth.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

QUEUE_SIZE = 1000


class BroadcastError(RuntimeError):
    """The broadcast backend cannot be reached; the message says which and where."""


class Broadcaster:
    """Fan-out of channel messages to this process's subscribers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = defaultdict(set)
        self._redis: aioredis.Redis | None = None
        self._pubsub: aioredis.client.PubSub | None = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        if self.url.startswith("memory://"):
            return
        self._redis = aioredis.from_url(self.url, decode_responses=True)
        try:
            await self._redis.ping()
        except (RedisConnectionError, OSError) as exc:
            raise BroadcastError(
                f"Cannot reach Redis at {self.url} (BROADCAST_URL): {exc}. Start Redis or set "
                "BROADCAST_URL=memory:// for a single process."
            ) from exc
        self._pubsub = self._redis.pubsub()
        await self._pubsub.subscribe("fair:__control__")
        self._reader = asyncio.create_task(self._read())

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._pubsub is not None:
            await self._pubsub.aclose()
        if self._redis is not None:
            await self._redis.aclose()

    async def publish(self, channel: str, message: str) -> None:
        if self._redis is not None:
            await self._redis.publish(f"fair:{channel}", message)
        else:
            self._deliver(channel, message)

    def _deliver(self, channel: str, message: str) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            if queue.full():  # a slow subscriber loses messages, never slows the others
                continue
            queue.put_nowait(message)

    async def _read(self) -> None:
        assert self._pubsub is not None
        async for item in self._pubsub.listen():
            if item.get("type") == "message":
                self._deliver(str(item["channel"]).removeprefix("fair:"), str(item["data"]))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        first = not self._subscribers[channel]
        self._subscribers[channel].add(queue)
        if first and self._pubsub is not None:
            await self._pubsub.subscribe(f"fair:{channel}")
        try:
            yield queue
        finally:
            self._subscribers[channel].discard(queue)
            if not self._subscribers[channel]:
                del self._subscribers[channel]
                if self._pubsub is not None:
                    await self._pubsub.unsubscribe(f"fair:{channel}")
