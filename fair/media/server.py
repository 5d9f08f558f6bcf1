"""The `fair media` process: media rooms of its own, served to web processes over Redis
(fair.media.broker describes the keys and the RPC), with a fair.media.host.Host for counts and
closing ended talks.

    await serve(conf)                # until SIGTERM or SIGINT
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fair.broadcast import Broadcaster
from fair.errors import FairError
from fair.media.broker import (
    ALIVE_TTL,
    CALL_TIMEOUT,
    HEARTBEAT,
    LIST_TTL,
    LOCAL,
    POP_TIMEOUT,
    ROOM_TTL,
    SCRIPTS,
    STOP_GRACE,
    Keys,
    MediaError,
    dumps,
    encode_error,
    open_redis,
    process_id,
    stop_loops,
    unavailable,
)
from fair.media.host import Host
from fair.settings import Settings, SettingsError

log = logging.getLogger("fair.media")


# The media process -----------------------------------------------------------------------------


class MediaServer:
    """A `fair media` process: its rooms (a Host), its heartbeat, and its requests."""

    def __init__(self, conf: Settings) -> None:
        if not conf.media_url:
            raise SettingsError("FAIR_MEDIA_URL must be set (redis://…) to run `fair media`")
        self.conf = conf
        self.keys = Keys(conf.media_namespace)
        self.id = process_id()
        self.broadcast = Broadcaster(conf.broadcast_url, namespace=conf.broadcast_channel_namespace)
        self.host: Host | None = None
        self._redis: aioredis.Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._busy: dict[str, int] = {}  # rooms with calls in progress, and how many
        self._calls: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._closing = False

    def rooms(self) -> set[str]:
        held = set(self.host.stages.stages) if self.host is not None else set()
        return held | set(self._busy)

    async def start(self) -> None:
        use_host_addresses(self.conf.media_host_addresses)
        await self.broadcast.connect()
        self.host = Host(self.broadcast)
        self._redis = await open_redis(self.conf.media_url)
        self._scripts = {name: self._redis.register_script(script) for name, script in SCRIPTS}
        await self.beat()  # alive before the first request can come
        self._loops = [
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(self._serve()),
        ]
        log.info("media process %s ready", self.id)

    async def stop(self) -> None:
        """Retire from the map, answer what is queued, let calls under way finish (briefly),
        close every connection, release the pins."""
        self._closing = True
        await stop_loops(self._loops)  # no more heartbeats, no more requests taken
        await self._tidy(self._retire)  # web processes stop choosing it
        await self._tidy(self._refuse_queued)
        if self._calls:
            await asyncio.wait(set(self._calls), timeout=STOP_GRACE)
        for call in list(self._calls):
            call.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)
        held = self.rooms()
        if self.host is not None:
            await self.host.close()
        await self._tidy(lambda: self._release(held))
        if self._redis is not None:
            await self._redis.aclose()
        await self.broadcast.disconnect()
        log.info("media process %s stopped", self.id)

    async def _retire(self) -> None:
        await self._client().delete(self.keys.alive(self.id))
        await self._client().zrem(self.keys.load, self.id)

    async def _release(self, held: set[str]) -> None:
        """Release the pins of its rooms: held, or pinned to it by a web process."""
        pinned = await self._client().smembers(self.keys.rooms(self.id))
        for room in held | {str(r) for r in pinned}:
            await self._scripts["release"](keys=[self.keys.room(room)], args=[self.id])
        await self._client().delete(self.keys.requests(self.id), self.keys.rooms(self.id))

    async def _tidy(self, work: Callable[[], Awaitable[None]]) -> None:
        """Shutdown work on the broker: skipped, logged, when it cannot be done."""
        if self._redis is None:  # it never started
            return
        try:
            async with asyncio.timeout(STOP_GRACE):
                await work()
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("media process %s: tidying up failed: %s", self.id, exc)

    async def beat(self) -> None:
        """Say this process lives and how many rooms are pinned to it; keep their pins."""
        keys = [self.keys.alive(self.id), self.keys.load, self.keys.rooms(self.id)]
        args = [self.id, ALIVE_TTL, ROOM_TTL, self.keys.room(), *sorted(self.rooms())]
        for room in await self._scripts["beat"](keys=keys, args=args):
            # This process stalled (stopped, swapping) and its rooms moved: its connections
            # there are stale, and counts it published would contradict the new process's.
            log.warning("media room %s is pinned to another process now: closed here", room)
            if self.host is not None:
                await self.host.drop(str(room))

    async def _heartbeat(self) -> None:
        while not self._closing:
            await asyncio.sleep(HEARTBEAT)
            try:
                async with asyncio.timeout(ALIVE_TTL / 2):
                    await self.beat()
            except Exception as exc:  # Redis away: web processes move rooms past ALIVE_TTL
                log.warning("media heartbeat failed: %s", exc)

    async def _serve(self) -> None:
        key = self.keys.requests(self.id)
        while not self._closing:
            try:
                popped = await self._client().blpop([key], timeout=POP_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("reading media requests failed: %s", exc)
                await asyncio.sleep(1)
                continue
            if popped is not None:
                call = asyncio.create_task(self.handle(str(popped[1])))
                self._calls.add(call)
                call.add_done_callback(self._calls.discard)

    async def handle(self, raw: str) -> None:
        """Run one request and reply to it."""
        try:
            request = json.loads(raw)
            request_id, reply_to = str(request["id"]), str(request["reply_to"])
            method, args, kwargs = str(request["method"]), request["args"], request["kwargs"]
            room = str(args[0])
        except (ValueError, KeyError, TypeError, IndexError):
            log.warning("ignored a malformed media request")
            return
        if float(request.get("expires", 0)) < time.time():
            log.warning("dropped %s on %s: its caller gave up", method, room)
            return
        self._busy[room] = self._busy.get(room, 0) + 1
        try:
            reply = {"id": request_id, "result": await self.run(method, args, kwargs)}
        except Exception as exc:
            if not isinstance(exc, FairError):
                log.exception("media call %s on %s failed", method, room)
            reply = {"id": request_id, "error": encode_error(exc)}
        finally:
            self._busy[room] -= 1
            if not self._busy[room]:
                del self._busy[room]
        await self._reply(reply_to, reply)

    async def run(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """`Stages.<method>(*args, **kwargs)`: public coroutine methods only, `close` not."""
        assert self.host is not None
        function = getattr(self.host.stages, method, None)
        if method.startswith("_") or method in LOCAL or not inspect.iscoroutinefunction(function):
            raise ValueError(f"{method!r} is not a method of media rooms")
        return await function(*args, **kwargs)

    async def _reply(self, reply_to: str, reply: dict[str, Any]) -> None:
        key = self.keys.replies(reply_to)
        try:
            async with asyncio.timeout(CALL_TIMEOUT), self._client().pipeline() as pipe:
                pipe.rpush(key, dumps(reply))
                pipe.expire(key, LIST_TTL)
                await pipe.execute()
        except (RedisError, OSError, TimeoutError) as exc:  # the caller times out
            log.warning("replying to %s failed: %s", reply_to, exc)

    async def _refuse_queued(self) -> None:
        """Answer the requests nobody will run now, rather than letting them time out."""
        redis = self._client()
        while (raw := await redis.lpop(self.keys.requests(self.id))) is not None:
            assert isinstance(raw, str)
            with contextlib.suppress(ValueError, KeyError, TypeError):
                request = json.loads(raw)
                error = encode_error(unavailable())
                await self._reply(str(request["reply_to"]), {"id": request["id"], "error": error})

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            raise MediaError("the media process is not started")
        return self._redis


def use_host_addresses(addresses: tuple[str, ...]) -> None:
    """Offer ICE host candidates on `addresses` only (FAIR_MEDIA_HOST_ADDRESSES). aioice
    gathers every interface's address but loopback's, and has no option for it."""
    if not addresses:
        return
    import aioice.ice

    def chosen(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in addresses if (use_ipv6 if ":" in a else use_ipv4)]

    setattr(aioice.ice, "get_host_addresses", chosen)  # noqa: B010 (a module function)


async def serve(conf: Settings) -> None:
    """`fair media`: serve media rooms until SIGTERM or SIGINT."""
    server = MediaServer(conf)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await server.start()
        await stopping.wait()
    finally:
        await server.stop()
