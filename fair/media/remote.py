"""Media processes: each media room lives in one `fair media` process, which web processes
reach through Redis (FAIR_MEDIA_URL). Without FAIR_MEDIA_URL, the web process holds every
room itself (fair.media.host, the embedded default).

    stages = RemoteStages(conf)      # a web process: app.state.stages, the methods of Stages
    await stages.connect()
    answer = await stages.publish(room, key, sdp, info=...)   # runs in the room's process
    await stages.close()

    await serve(conf)                # `fair media`: until SIGTERM or SIGINT

The map, in Redis, every key under FAIR_MEDIA_NAMESPACE (`<ns>`, `fair:media` by default):

* `<ns>:alive:<process>`: "1" while the media process lives: TTL `ALIVE_TTL` (10 s), refreshed
  every `HEARTBEAT` (3 s). A process is `<host>:<pid>:<random>`.
* `<ns>:room:<room>`: the process a room is pinned to. Set with SET NX, so web processes racing
  to pin a room agree; TTL `ROOM_TTL` (30 s), refreshed by its process while it holds the room
  or serves a call for it, so a pin nobody uses expires.
* `<ns>:rooms:<process>`: the rooms pinned to a process (added with the pin, pruned by its
  heartbeat once their pin has expired or moved).
* `<ns>:load`: sorted set of media processes scored by that number, updated with each pin (in
  the same script, so rooms pinned in a burst spread) and each heartbeat. A room goes to the
  live process with the lowest score.
* `<ns>:requests:<process>`: a media process's requests (a list: RPUSH, BLPOP).
* `<ns>:replies:<web process>`: a web process's replies (a list too: no reply is lost to a
  subscription that is not listening yet, as with pub/sub).

Routing. Every public coroutine method of `Stages` (publish, watch, answer, leave, end, and any
added later) is forwarded by name, `RemoteStages.<method>(room, *args, **kwargs)` with JSON-able
arguments, to the process the room is pinned to. A pin to a process whose alive key has gone
is removed (compare-and-delete) and the room pinned again to the least loaded live process: its
presenters and viewers then publish and watch again there. `leave` and `end` pin nothing: on a
room no live process holds they return False and None. No live process, or no reply within
`CALL_TIMEOUT` (10 s): Conflict `stage.unavailable` (503).

RPC. Request `{"id", "reply_to", "method", "args", "kwargs", "expires"}`; reply `{"id",
"result"}` or `{"id", "error": {"type", "message", "code", "params", "status", "fields"}}`. A
FairError raised in the media process comes back as the same class of fair.errors (FairError
itself for others, such as the socket's ProtocolError) with the same message, code, params and
status, so the socket replies as in one process; any other exception is logged there and raised
here as RemoteError (the socket's "server error"). JSON turns tuples into lists: `watch` returns
`[offer, tracks]`, unpacked the same. `close` stays local (it closes the client, not the
rooms); the synchronous `counts` is not forwarded. A request the media process pops after its
`expires` (the web process gave up on it) is dropped: hosts need synchronised clocks.

The media process runs a Host (fair.media.host: `stage.count` events, closing rooms whose talk
ended) on BROADCAST_URL, which must be Redis; one task per request, so a slow negotiation never
holds back another room. On SIGTERM or SIGINT it removes its alive key and load entry, answers
the requests still queued with `stage.unavailable`, closes every connection and releases its
room pins. FAIR_MEDIA_HOST_ADDRESSES limits the ICE host candidates it offers.

Limits: a web process that dies leaves its sockets' connections in the media process (nothing
calls `leave` for them); aiortc's ICE consent checks fail their transport after about 30 s,
but `Stages` keeps the entries (and counts them) until the talk ends or the same key publishes
or watches again. A media process that dies takes its rooms' connections with it; clients must
publish and watch again.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import secrets
import signal
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fair import errors
from fair.errors import Conflict, FairError
from fair.live.broadcast import Broadcaster
from fair.media.host import Host
from fair.settings import Settings, SettingsError

log = logging.getLogger("fair.media")

ALIVE_TTL = 10  # seconds a media process stays "alive" after its last heartbeat
HEARTBEAT = 3.0
ROOM_TTL = 30  # seconds a pin outlives the last heartbeat of its process
CALL_TIMEOUT = 10.0
POP_TIMEOUT = 1  # seconds a BLPOP blocks: loops notice a stop that soon
LIST_TTL = 60  # request and reply lists nobody reads (a dead process's) expire
STOP_GRACE = 5.0  # seconds the calls under way get to finish when the process stops
LOCAL = frozenset({"close", "connect"})  # never forwarded to, nor run for, a web process
# What these return for a room no live process holds (nothing to leave or end there): they
# pin no room, and work while no media process runs (a socket closing, a talk ending).
UNPINNED: dict[str, Any] = {"leave": False, "end": None}

UNAVAILABLE = "The video service is not available right now: try again in a moment."

# The heartbeat. KEYS: alive, load, the process's rooms; ARGV: process, ALIVE_TTL, ROOM_TTL,
# room key prefix, then the rooms it holds. It keeps their pins (taking back an expired one),
# forgets rooms pinned elsewhere since, scores its load, and returns the rooms it lost.
BEAT = """
local me, ttl, prefix = ARGV[1], ARGV[3], ARGV[4]
redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
local lost = {}
for i = 5, #ARGV do
  local owner = redis.call('GET', prefix .. ARGV[i])
  if owner == me or not owner then
    redis.call('SET', prefix .. ARGV[i], me, 'EX', ttl)
    redis.call('SADD', KEYS[3], ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
for _, room in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if redis.call('GET', prefix .. room) ~= me then redis.call('SREM', KEYS[3], room) end
end
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('ZADD', KEYS[2], redis.call('SCARD', KEYS[3]), me)
return lost
"""
# Pin a room unless pinned already. KEYS: room, load, the chosen process's rooms; ARGV: the
# process, ROOM_TTL, the room.
PIN = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[2], 'XX', redis.call('SCARD', KEYS[3]), ARGV[1])
return 1
"""
# Delete the key only if it still holds this value.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


SCRIPTS = (("beat", BEAT), ("pin", PIN), ("release", RELEASE))


class MediaError(RuntimeError):
    """The media broker (FAIR_MEDIA_URL) cannot be reached at start-up."""


class RemoteError(RuntimeError):
    """An unexpected failure inside a media process (logged there)."""


def unavailable() -> Conflict:
    return Conflict(UNAVAILABLE, code="stage.unavailable", status=503)


@dataclass(frozen=True)
class Keys:
    namespace: str

    @property
    def load(self) -> str:
        return f"{self.namespace}:load"

    def alive(self, process: str) -> str:
        return f"{self.namespace}:alive:{process}"

    def room(self, room: str = "") -> str:
        return f"{self.namespace}:room:{room}"

    def rooms(self, process: str) -> str:
        return f"{self.namespace}:rooms:{process}"

    def requests(self, process: str) -> str:
        return f"{self.namespace}:requests:{process}"

    def replies(self, process: str) -> str:
        return f"{self.namespace}:replies:{process}"


def process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


async def open_redis(url: str) -> aioredis.Redis:
    """A client of the broker, checked; MediaError when it cannot be reached."""
    # No socket_timeout (redis-py would send through asyncio.wait_for, which on Python 3.11
    # can swallow a cancellation); calls carry their own deadlines, and keepalive notices a
    # dead peer. redis-py 8 can still lose a cancellation that lands while it takes a
    # connection from its pool: loops also check a flag, and replies are awaited without one.
    client = aioredis.from_url(
        url, decode_responses=True, socket_connect_timeout=2, socket_keepalive=True
    )
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise MediaError(f"Cannot reach Redis at {url} (FAIR_MEDIA_URL): {exc}") from exc
    return client


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def encode_error(exc: BaseException) -> dict[str, Any]:
    if not isinstance(exc, FairError):
        return {"type": None}
    return {
        "type": type(exc).__name__,
        "message": exc.message,
        "code": exc.code,
        "params": exc.params,
        "status": exc.status,
        "fields": exc.fields,
    }


def decode_error(data: dict[str, Any]) -> Exception:
    if data.get("type") is None:
        return RemoteError("a media process failed (see its log)")
    found = getattr(errors, str(data["type"]), None)
    cls = found if isinstance(found, type) and issubclass(found, FairError) else FairError
    return cls(
        str(data["message"]),
        status=data.get("status"),
        code=data.get("code"),
        params=data.get("params") or {},
        fields=data.get("fields") or {},
    )


# The web side ----------------------------------------------------------------------------------


class RemoteStages:
    """The media rooms of every `fair media` process, with the methods of `Stages`."""

    def __init__(self, conf: Settings) -> None:
        if not conf.media_url:
            raise SettingsError("FAIR_MEDIA_URL must be set to use media processes")
        self.url = conf.media_url
        self.keys = Keys(conf.media_namespace)
        self.id = process_id()
        self._redis: aioredis.Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    async def connect(self) -> None:
        self._redis = await open_redis(self.url)
        self._scripts = {name: self._redis.register_script(script) for name, script in SCRIPTS}
        self._reader = asyncio.create_task(self._read_replies())

    async def close(self) -> None:
        self._closing = True
        if self._reader is not None:
            await stop_loops([self._reader])
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_exception(unavailable())
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._redis.delete(self.keys.replies(self.id))
            await self._redis.aclose()
        self._redis = self._reader = None

    def __getattr__(self, method: str) -> Callable[..., Awaitable[Any]]:
        if method.startswith("_") or method in LOCAL:
            raise AttributeError(method)

        async def forward(room: str, *args: Any, **kwargs: Any) -> Any:
            return await self.call(method, room, *args, **kwargs)

        forward.__name__ = method
        return forward

    async def call(self, method: str, room: str, *args: Any, **kwargs: Any) -> Any:
        """Run `Stages.<method>(room, *args, **kwargs)` in the room's media process."""
        request_id = uuid.uuid4().hex
        waiting = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiting
        request = {
            "id": request_id,
            "reply_to": self.id,
            "method": method,
            "args": [room, *args],
            "kwargs": kwargs,
            "expires": time.time() + CALL_TIMEOUT,
        }
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CALL_TIMEOUT
        try:
            async with asyncio.timeout_at(deadline):
                process = await self.owner(room, pin=method not in UNPINNED)
                if process is None:
                    return UNPINNED[method]
                await self._push(self.keys.requests(process), dumps(request))
            # Waiting needs no cancellation (which redis-py can lose, see open_redis).
            await asyncio.wait({waiting}, timeout=max(deadline - loop.time(), 0))
            if not waiting.done():
                raise TimeoutError
            reply = waiting.result()
        except TimeoutError:
            log.warning("no reply to %s on %s within %s s", method, room, CALL_TIMEOUT)
            raise unavailable() from None
        except (RedisError, OSError) as exc:
            log.warning("media broker unreachable for %s on %s: %s", method, room, exc)
            raise unavailable() from exc
        finally:
            self._waiting.pop(request_id, None)
        if "error" in reply:
            raise decode_error(reply["error"])
        return reply.get("result")

    async def owner(self, room: str, *, pin: bool = True) -> str | None:
        """The live process `room` is pinned to, pinning it first if need be (else None)."""
        redis = self._client()
        key = self.keys.room(room)
        for _ in range(3):  # another web process may pin it, or its process die, meanwhile
            found = await redis.get(key)
            if found is not None:
                pinned = str(found)
                if await redis.exists(self.keys.alive(pinned)):
                    return pinned
                log.warning("media room %s was in %s, which stopped", room, pinned)
                await self._scripts["release"](keys=[key], args=[pinned])
            if not pin:
                return None
            chosen = await self.least_loaded()
            if chosen is None:
                raise unavailable()
            keys = [key, self.keys.load, self.keys.rooms(chosen)]
            if await self._scripts["pin"](keys=keys, args=[chosen, ROOM_TTL, room]):
                return chosen
        raise unavailable()

    async def least_loaded(self) -> str | None:
        """The live media process holding the fewest rooms; forgets dead ones on the way."""
        redis = self._client()
        processes = [str(p) for p in await redis.zrange(self.keys.load, 0, -1)]  # fewest first
        if not processes:
            return None
        async with redis.pipeline(transaction=False) as pipe:
            for process in processes:
                pipe.exists(self.keys.alive(process))
            alive = await pipe.execute()
        dead = [p for p, up in zip(processes, alive, strict=True) if not up]
        if dead:
            await redis.zrem(self.keys.load, *dead)
        return next((p for p, up in zip(processes, alive, strict=True) if up), None)

    async def _push(self, key: str, message: str) -> None:
        async with self._client().pipeline(transaction=False) as pipe:
            pipe.rpush(key, message)
            pipe.expire(key, LIST_TTL)
            await pipe.execute()

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            raise unavailable()
        return self._redis

    async def _read_replies(self) -> None:
        key = self.keys.replies(self.id)
        while not self._closing:
            try:
                popped = await self._client().blpop([key], timeout=POP_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: calls time out meanwhile
                log.warning("reading media replies failed: %s", exc)
                await asyncio.sleep(1)
                continue
            if popped is not None:
                self._resolve(str(popped[1]))

    def _resolve(self, raw: str) -> None:
        try:
            reply = json.loads(raw)
            waiting = self._waiting.get(reply["id"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed media reply")
            return
        if waiting is not None and not waiting.done():  # else: it timed out already
            waiting.set_result(reply)


# The media process -----------------------------------------------------------------------------


class MediaServer:
    """A `fair media` process: its rooms (a Host), its heartbeat, and its requests."""

    def __init__(self, conf: Settings) -> None:
        if not conf.media_url:
            raise SettingsError("FAIR_MEDIA_URL must be set (redis://…) to run `fair media`")
        self.conf = conf
        self.keys = Keys(conf.media_namespace)
        self.id = process_id()
        self.broadcast = Broadcaster(conf.broadcast_url)
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
            log.warning("media room %s is pinned to another process now", room)

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


async def stop_loops(loops: list[asyncio.Task[None]]) -> None:
    """Cancel these loops and wait for them; one whose cancellation got lost anyway (a
    blocking pop) still sees it has stopped within POP_TIMEOUT."""
    if not loops:
        return
    for loop in loops:
        loop.cancel()
    await asyncio.wait(loops, timeout=POP_TIMEOUT + 1)
    for loop in loops:
        if not loop.done():
            log.warning("a media loop did not stop")


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
