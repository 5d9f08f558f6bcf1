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
import secrets
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
    LEG,
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
from fair.media.remote import RemoteStages
from fair.media.stage import Upstream
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
        self.upstream = RemoteStages(conf, self.broadcast, watch=False)  # calls to origins
        self._wiring: dict[str, asyncio.Lock] = {}  # a leg taking its room, by room
        self._redis: aioredis.Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._busy: dict[str, int] = {}  # rooms with calls in progress, and how many
        self._calls: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._closing = False

    def rooms(self) -> set[str]:
        """The rooms pinned here: held (but as a leg), or with calls under way."""
        held = self.host.stages.stages if self.host is not None else {}
        return {room for room, stage in held.items() if stage.upstream is None} | set(self._busy)

    def legs(self) -> set[str]:
        """The rooms this process is a leg of (it takes them from their origin)."""
        held = self.host.stages.stages if self.host is not None else {}
        return {room for room, stage in held.items() if stage.upstream is not None}

    async def start(self) -> None:
        use_host_addresses(self.conf.media_host_addresses)
        await self.broadcast.connect()
        self.host = Host(self.broadcast, tally=self.tally, on_unlink=self._unlinked)
        self._redis = await open_redis(self.conf.media_url)
        await self.upstream.connect()
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
        held, legs = self.rooms(), self.legs()
        if self.host is not None:
            await self.host.close()
        await self._tidy(lambda: self._release(held, legs))
        await self.upstream.close()
        if self._redis is not None:
            await self._redis.aclose()
        await self.broadcast.disconnect()
        log.info("media process %s stopped", self.id)

    async def _retire(self) -> None:
        await self._client().delete(self.keys.alive(self.id))
        await self._client().zrem(self.keys.load, self.id)

    async def _release(self, held: set[str], legs: set[str]) -> None:
        """Release the pins of its rooms (held, or pinned to it by a web process) and its
        legs."""
        redis = self._client()
        pinned = await redis.smembers(self.keys.rooms(self.id))
        for room in held | {str(r) for r in pinned}:
            await self._scripts["release"](keys=[self.keys.room(room)], args=[self.id])
            await redis.delete(self.keys.audience(room))  # counted again where it moves
        for room in legs:
            await redis.srem(self.keys.legs(room), self.id)
            await redis.hdel(self.keys.audience(room), self.id)
        mine = [self.keys.requests(self.id), self.keys.rooms(self.id), self.keys.serving(self.id)]
        await redis.delete(*mine)

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
        keys = [
            self.keys.alive(self.id),
            self.keys.load,
            self.keys.rooms(self.id),
            self.keys.serving(self.id),
        ]
        rooms, legs = sorted(self.rooms()), sorted(self.legs())
        prefixes = [self.keys.room(), self.keys.legs(), self.keys.audience()]
        args = [self.id, ALIVE_TTL, ROOM_TTL, *prefixes, len(rooms), *rooms, *legs]
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
        # A call keeps its room pinned here, unless this process is (to be) a leg of it.
        busy = method != "watch_leg" and room not in self.legs()
        if busy:
            self._busy[room] = self._busy.get(room, 0) + 1
        try:
            reply = {"id": request_id, "result": await self.run(method, args, kwargs)}
        except Exception as exc:
            if not isinstance(exc, FairError):
                log.exception("media call %s on %s failed", method, room)
            reply = {"id": request_id, "error": encode_error(exc)}
        finally:
            if busy:
                self._busy[room] -= 1
                if not self._busy[room]:
                    del self._busy[room]
        await self._reply(reply_to, reply)

    async def run(self, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """`Stages.<method>(*args, **kwargs)`: public coroutine methods only, `close` not;
        and `watch_leg`."""
        assert self.host is not None
        if method == "watch_leg":
            return await self.watch_leg(*args, **kwargs)
        function = getattr(self.host.stages, method, None)
        if method.startswith("_") or method in LOCAL or not inspect.iscoroutinefunction(function):
            raise ValueError(f"{method!r} is not a method of media rooms")
        return await function(*args, **kwargs)

    # A leg of a talk (fair.media.broker, "Legs") ------------------------------------------------

    async def watch_leg(
        self, room: str, key: str, *, origin: str, version: int, cap: int | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """`Stages.watch` on this process as a leg of the room: first take the room from
        `origin` (again, if it took an older version of it or from another origin)."""
        assert self.host is not None
        stages = self.host.stages
        async with self._wiring.setdefault(room, asyncio.Lock()):
            upstream = stages.upstream(room)
            if upstream is None or _stale(upstream, origin, version):
                await self._take(room, origin, version)
        return await stages.watch(room, key, cap=cap)

    async def _take(self, room: str, origin: str, version: int) -> None:
        """Watch the room at its origin as one viewer, and take what it sends as this room's
        presenters (`Stages.take`)."""
        assert self.host is not None
        key = f"{LEG}{self.id}:{secrets.token_hex(3)}"
        offer, tracks = await self.upstream.call_on(origin, "watch", room, key)
        try:
            answer = await self.host.stages.take(
                room, offer, tracks, origin=origin, version=version, key=key
            )
            await self.upstream.call_on(origin, "answer", room, key, answer)
        except Exception:
            self._later(self.upstream.call_on(origin, "leave", room, key))
            raise
        await self._client().sadd(self.keys.legs(room), self.id)
        log.info("media room %s: a leg of %s now", room, origin)

    async def _unlinked(self, room: str, upstream: Upstream) -> None:
        """A leg closed its upstream connection (its last viewer left, or it takes the room
        anew): no longer a leg of the room, and its origin can forget it at once."""
        if room not in self.legs():
            await self._client().srem(self.keys.legs(room), self.id)
        self._later(self.upstream.call_on(upstream.origin, "leave", room, upstream.key))

    def _later(self, call: Awaitable[Any]) -> None:
        """A call to another media process that nothing waits for (it may be dead)."""

        async def run() -> None:
            try:
                await call
            except Exception as exc:
                log.info("a call to another media process failed: %s", exc)

        task = asyncio.create_task(run())
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def tally(
        self, room: str, presenters: int, viewers: int, version: int
    ) -> tuple[int, int, int] | None:
        """The talk's counts over its processes: its origin's presenters and version, and
        the viewers of every live process serving it (`<ns>:audience:<room>`); None when this
        process counts as the origin but the room is pinned to another process (it stalled
        and the room moved: its stale figures are neither stored nor sent)."""
        assert self.host is not None
        origin = "" if self.host.stages.upstream(room) else f"{presenters}:{version}"
        args = [self.id, viewers, ROOM_TTL, self.keys.alive(), origin]
        keys = [self.keys.audience(room), self.keys.room(room)]
        figures, total = await self._scripts["tally"](keys=keys, args=args)
        if figures == "moved":  # stalled, this origin's room is another's now: not its figures
            return None
        if not figures:
            return presenters, int(total), version
        at_origin, origin_version = str(figures).split(":")
        return int(at_origin), int(total), int(origin_version)

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


def _stale(upstream: Upstream, origin: str, version: int) -> bool:
    failed = upstream.pc.connectionState in ("failed", "closed")
    return failed or (upstream.origin, upstream.version) != (origin, version)


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
