"""Broadcast backends chosen by URL: memory:// (one process) and redis:// (pub/sub).

Pub/sub only says "something changed" (at-most-once); the database stays the source of truth.
Infrastructure, below every boundary: web/, live/, media/ and the worker publish through it
(committed events go out through fair.unit_of_work), live/ sockets subscribe; it carries text
frames and knows nothing of fair's domain.

Redis channels are named `<namespace>:<channel>`, the namespace being the deployment's
(FAIR_BROADCAST_NAMESPACE, by default derived from its database: `Settings.
broadcast_channel_namespace`). Redis pub/sub ignores the database number of BROADCAST_URL, so
without it two deployments sharing a Redis server would hear each other's events.

Redis going away must not take the site with it:

* `connect` fails fast with BroadcastError when Redis cannot be reached at start-up (a wrong
  BROADCAST_URL is a configuration error).
* Afterwards, `publish` never raises for an unreachable Redis: the message is logged and
  dropped for the other processes (this one's subscribers have it). The request has already
  committed; failing its response would lie about what was stored, and subscribers re-fetch
  state after the outage anyway.
* The reader task survives a lost connection: it logs, waits (0.2 s, doubling up to 5 s),
  opens a new PubSub, subscribes again to every channel that still has subscribers in this
  process (one Redis subscription per channel per process), then pushes a `resync` event
  frame to each local subscriber, since whatever was published meanwhile is lost: clients
  re-fetch their state (PROTOCOL.md).
* `subscribe` during an outage registers the subscriber locally; Redis learns about the channel
  when the reader reconnects.

`listen` (and `subscribe`) return once Redis has confirmed the channel's subscription (at most
CONFIRM_TIMEOUT seconds): a socket told it follows a channel hears what any process publishes
next (the SUBSCRIBE was only sent: a process that asked PUBSUB NUMSUB or published on another
connection could be served first, and a worker's live panel round found nobody following).

A process hears its own messages at once, as with memory://: `publish` hands them to this
process's subscribers before it returns, and sends them to Redis marked with the process's
`origin`, whose echo its reader skips. What a request published is true for the next request
the same process serves (a log-out drops the kept session before its response leaves: with the
echo awaited, a copy of the cookie was served the user's page in between), and the other
processes hear it through Redis as before. Frames in Redis are `<origin> <frame>` (ORIGIN_SIZE
hex digits, a space); one without that mark is delivered whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from fair import metrics

log = logging.getLogger("fair.broadcast")

QUEUE_SIZE = 1000
DELIVER_CHUNK = 500  # subscribers handed a message per turn of the event loop
CONTROL = "__control__"  # followed by the PubSub even when no socket follows anything
RECONNECT_FIRST = 0.2
RECONNECT_MAX = 5.0
CONNECT_TIMEOUT = 2.0
PUBLISH_TIMEOUT = 2.0
# The publishing client's connections (publishes, the admission line, the media brokers' state):
# at most CONNECTIONS at once, a command over them waits up to CONNECTIONS_TIMEOUT seconds for
# one to come free, then raises (a RedisError: the admission line answers 503 "out of reach").
# redis-py's own pool refuses at once past its 100 (MaxConnectionsError): in the 10,000-candidate
# surge at 07a6e82, 537 held candidates' status asks answered 503 that way in a burst.
CONNECTIONS = 64
CONNECTIONS_TIMEOUT = 2.0
CONFIRM_TIMEOUT = 2.0  # the longest `listen` waits for Redis to confirm a subscription
ORIGIN_SIZE = 16  # hex digits of a process's mark on what it publishes


class BroadcastError(RuntimeError):
    """The broadcast backend cannot be reached; the message says which and where."""


def resync_frame(channel: str) -> str:
    """The `resync` event frame of PROTOCOL.md: events on `channel` may have been lost."""
    return json.dumps(["event", channel, {"event": "resync"}], separators=(",", ":"))


class Broadcaster:
    """Fan-out of channel messages to this process's subscribers."""

    def __init__(self, url: str, *, namespace: str, connections: int = CONNECTIONS) -> None:
        self.url = url
        self.connections = connections
        self.namespace = namespace
        self.prefix = f"{namespace}:"
        self._subscribers: dict[str, set[Callable[[str], None]]] = defaultdict(set)
        self._redis: aioredis.Redis | None = None  # publishing (short timeouts)
        self._listener: aioredis.Redis | None = None  # the PubSub connection (no read timeout)
        self._pubsub: PubSub | None = None  # None while Redis is unreachable
        self._reader: asyncio.Task[None] | None = None
        self.origin = secrets.token_hex(ORIGIN_SIZE // 2)  # this process's mark in Redis
        # Channels whose subscription Redis has not confirmed yet: done when it does.
        self._confirming: dict[str, asyncio.Future[None]] = {}

    async def connect(self) -> None:
        if self.url.startswith("memory://"):
            return
        # No silent retries inside redis-py: an outage must surface here, to be handled once.
        no_retry = Retry(NoBackoff(), 0)
        pool = aioredis.BlockingConnectionPool.from_url(
            self.url,
            max_connections=self.connections,
            timeout=CONNECTIONS_TIMEOUT,
            decode_responses=True,
            retry=no_retry,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=PUBLISH_TIMEOUT,
        )
        self._redis = aioredis.Redis.from_pool(pool)  # closed with the client
        self._listener = aioredis.from_url(
            self.url,
            decode_responses=True,
            retry=no_retry,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_keepalive=True,
        )
        try:
            await self._redis.ping()
            self._pubsub = await self._open_pubsub()
        except (RedisError, OSError) as exc:
            await self._close_clients()
            raise BroadcastError(
                f"Cannot reach Redis at {self.url} (BROADCAST_URL): {exc}. Start Redis or set "
                "BROADCAST_URL=memory:// for a single process."
            ) from exc
        self._reader = asyncio.create_task(self._read())

    async def ping(self) -> None:
        """One round trip to Redis (the readiness check); nothing with the memory backend."""
        if self.url.startswith("memory"):
            return
        if self._redis is None:
            raise BroadcastError(f"Not connected to Redis at {self.url} (BROADCAST_URL)")
        await self._redis.ping()

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._drop_pubsub()
        await self._close_clients()

    def client(self) -> aioredis.Redis | None:
        """The Redis client publishing for this process (short timeouts), None with memory://;
        for small shared state of the same deployment (keys under `namespace`)."""
        return self._redis

    async def _close_clients(self) -> None:
        for client in (self._redis, self._listener):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        self._redis = self._listener = None

    async def publish(self, channel: str, message: str) -> None:
        """Send `message` to every subscriber of `channel`: this process's at once, the others'
        through Redis (with Redis down, logged and dropped for them)."""
        await self._deliver(channel, message)
        if self._redis is None:
            return
        try:
            await self._redis.publish(self.prefix + channel, f"{self.origin} {message}")
        except (RedisError, OSError) as exc:
            log.warning("Redis unreachable, message on %s dropped: %s", channel, exc)

    async def listened(self, channels: Collection[str]) -> set[str]:
        """Which of `channels` some subscriber follows now: this process's, and with Redis any
        process's (PUBSUB NUMSUB counts one Redis subscription per process following the
        channel). While Redis is unreachable every channel counts as followed: a wasted round
        is better than a panel left silent."""
        local = {c for c in channels if self._subscribers.get(c)}
        if self._redis is None or not channels:
            return local
        try:
            counts = await self._redis.pubsub_numsub(*(self.prefix + c for c in channels))
        except (RedisError, OSError):
            return set(channels)
        return local | {str(name).removeprefix(self.prefix) for name, n in counts if n}

    async def _deliver(self, channel: str, message: str) -> None:
        """Hand `message` to each subscriber of `channel`, DELIVER_CHUNK at a time: between
        chunks the loop runs whatever else waits (a channel followed by thousands of sockets
        does not hold the process up for one event)."""
        sinks = list(self._subscribers.get(channel, ()))
        for start in range(0, len(sinks), DELIVER_CHUNK):
            if start:
                await asyncio.sleep(0)
            for sink in sinks[start : start + DELIVER_CHUNK]:
                sink(message)

    def _foreign(self, data: str) -> str | None:
        """The frame of a Redis message, None if this process published it (heard already)."""
        mark, space, frame = data[:ORIGIN_SIZE], data[ORIGIN_SIZE : ORIGIN_SIZE + 1], data
        if space != " " or len(mark) != ORIGIN_SIZE or mark.strip("0123456789abcdef"):
            return data  # not marked (a process of another version)
        return None if mark == self.origin else frame[ORIGIN_SIZE + 1 :]

    async def _open_pubsub(self) -> PubSub:
        """A new PubSub following the control channel and every channel subscribed here."""
        assert self._listener is not None
        pubsub = self._listener.pubsub()
        try:
            await pubsub.subscribe(*(self.prefix + c for c in [CONTROL, *self._subscribers]))
        except BaseException:
            await _close(pubsub)
            raise
        return pubsub

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            await _close(pubsub)

    async def _reconnect(self) -> None:
        """Open a new PubSub, then catch up with (un)subscriptions made while it was opening."""
        wanted = set(self._subscribers)
        self._pubsub = await self._open_pubsub()
        added = [self.prefix + c for c in set(self._subscribers) - wanted]
        removed = [self.prefix + c for c in wanted - set(self._subscribers)]
        if added:
            await self._pubsub.subscribe(*added)
        if removed:
            await self._pubsub.unsubscribe(*removed)
        for channel in list(self._subscribers):
            await self._deliver(channel, resync_frame(channel))

    async def _read(self) -> None:
        """Deliver Redis messages until cancelled, reconnecting after any failure."""
        delay = RECONNECT_FIRST
        while True:
            try:
                if self._pubsub is None:
                    await self._reconnect()
                    log.warning("Redis reachable again at %s: channels re-subscribed", self.url)
                    delay = RECONNECT_FIRST
                assert self._pubsub is not None
                async for item in self._pubsub.listen():
                    if item.get("type") == "subscribe":
                        self._confirmed(str(item["channel"]).removeprefix(self.prefix))
                    elif item.get("type") == "message":
                        message = self._foreign(str(item["data"]))
                        if message is not None:
                            channel = str(item["channel"]).removeprefix(self.prefix)
                            await self._deliver(channel, message)
                raise ConnectionError("the Redis subscription ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "Redis subscription lost (%s: %s); retrying in %.1f s",
                    type(exc).__name__,
                    exc,
                    delay,
                )
                await self._drop_pubsub()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
        """Follow `channel` through a queue of QUEUE_SIZE frames; when it is full, frames are
        dropped (and counted): a slow subscriber never slows the others, and is told, by one
        `resync` frame queued at the first drop (in a place kept for it), that frames of
        `channel` were lost (a socket forwarding them passes it on: the client re-fetches)."""
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE + 1)
        told = False  # the resync of the current drops is queued

        def put(message: str) -> None:
            nonlocal told
            if queue.qsize() < QUEUE_SIZE:
                queue.put_nowait(message)
                told = False
                return
            metrics.LIVE_DROPPED.labels("subscription").inc()
            if not told:
                queue.put_nowait(resync_frame(channel))
                told = True

        async with self.listen(channel, put):
            yield queue

    @asynccontextmanager
    async def listen(self, channel: str, sink: Callable[[str], None]) -> AsyncIterator[None]:
        """Follow `channel`: `sink` is called with each frame as it arrives, in the reading
        task (one call per frame and subscriber, no task of its own): it must not wait, nor
        raise."""
        first = not self._subscribers[channel]
        self._subscribers[channel].add(sink)
        try:
            if first and self._pubsub is not None:
                self._confirming.setdefault(channel, asyncio.get_running_loop().create_future())
                if not await self._redis_call("subscribe", channel):
                    self._confirmed(channel)  # not sent: the reconnection will subscribe
            await self._confirmation(channel)
            yield
        finally:
            self._subscribers[channel].discard(sink)
            if not self._subscribers[channel]:
                del self._subscribers[channel]
                await self._redis_call("unsubscribe", channel)

    def _confirmed(self, channel: str) -> None:
        waiting = self._confirming.pop(channel, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    async def _confirmation(self, channel: str) -> None:
        """Wait (CONFIRM_TIMEOUT at most: Redis may be out of reach, the reader catches up)
        until Redis has confirmed the subscription to `channel` asked for here."""
        waiting = self._confirming.get(channel)
        if waiting is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(waiting), CONFIRM_TIMEOUT)
        except TimeoutError:
            if self._confirming.get(channel) is waiting:
                del self._confirming[channel]
            log.warning("Redis has not confirmed the subscription to %s yet", channel)

    async def _redis_call(self, command: str, channel: str) -> bool:
        """(Un)subscribe in Redis (whether it was sent); during an outage the reader's
        reconnection catches up."""
        pubsub = self._pubsub
        if pubsub is None:
            return False
        try:
            await getattr(pubsub, command)(self.prefix + channel)
        except (RedisError, OSError) as exc:
            log.warning("Redis %s of %s deferred: %s", command, channel, exc)
            return False
        return True


async def _close(pubsub: PubSub) -> None:
    """Close `pubsub`; its connection may be gone already."""
    with contextlib.suppress(Exception):
        # redis-py 8.1 leaves PubSub.aclose unannotated and 8.2 annotates it: called untyped,
        # so that mypy passes with either (a fresh install takes the newest).
        untyped: Any = pubsub
        await untyped.aclose()
