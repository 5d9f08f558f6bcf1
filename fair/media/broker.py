"""Media processes: each media room is pinned to one `fair media` process (fair.media.server),
its origin, which web processes reach through Redis (FAIR_MEDIA_URL;
fair.media.remote.RemoteStages); a talk with more viewers than one process serves spreads over
others, its legs (see "Legs").
Without FAIR_MEDIA_URL, the web process holds every room itself (fair.media.host, the embedded
default). This module is what both sides share: key names, Lua scripts, errors, JSON.

The map, in Redis, every key under FAIR_MEDIA_NAMESPACE (`<ns>`, `fair:media` by default):

* `<ns>:alive:<process>`: "1" while the media process lives: TTL `ALIVE_TTL` (4 s), refreshed
  every `HEARTBEAT` (1 s). A process is `<host>:<pid>:<random>`.
* `<ns>:room:<room>`: the process a room is pinned to. Set with SET NX, so web processes racing
  to pin a room agree; TTL `ROOM_TTL` (30 s), refreshed by its process while it holds the room
  or serves a call for it, so a pin nobody uses expires.
* `<ns>:rooms:<process>`: the rooms pinned to a process (added with the pin, pruned by its
  heartbeat once their pin has expired or moved).
* `<ns>:load`: sorted set of media processes scored by that number, updated with each pin (in
  the same script, so rooms pinned in a burst spread) and each heartbeat. A room goes to the
  live process with the lowest score.
* `<ns>:legs:<room>`: the processes that are legs of a room (added by a leg when it takes the
  room, refreshed by its heartbeat, removed when it lets the room go); `<ns>:serving:<process>`:
  the rooms a process is a leg of (rewritten by each heartbeat), for when it dies.
* `<ns>:audience:<room>`: a hash: each process's viewers of the room, and `origin`, the origin's
  "presenters:version" (`TALLY`, on each count; the heartbeats keep it).
* `<ns>:requests:<process>`: a media process's requests (a list: RPUSH, BLPOP).
* `<ns>:replies:<web process>`: a web process's replies (a list too: no reply is lost to a
  subscription that is not listening yet, as with pub/sub).

Routing. Each method of the media rooms (fair.media_rooms.MediaRooms: publish, watch, answer,
leave, end, ...) of `RemoteStages` runs the method of the same name of `Stages`, through
`RemoteStages.call(method, room, *args, **kwargs)` with JSON-able arguments, in the process the
room is pinned to (a method added to the Protocol gets its explicit method there too). A pin
to a process whose alive key has gone is moved (compare-and-set) to the least loaded live
process: its presenters and viewers then publish and watch again there. Each web process
also looks for dead processes every `WATCH_DEAD` (1 s) (any process in `<ns>:load` without its
alive key): it fails at once its own calls waiting on one, and moves each of its rooms to a live
process, then removes it from `<ns>:load` (only then: until its rooms have moved, each look
tries again). The web process whose compare-and-set moved a room publishes `stage.moved`
{webconference_id} on the talk's channel, once per move, and static/stage.js publishes and
watches again on it. `leave` and `end` pin nothing (nor move a dead pin): on a room no live
process holds they return False and None. No live process, or no reply within
`CALL_TIMEOUT` (10 s): MediaUnavailable `stage.unavailable` (503, a Conflict).

Legs. `watch` runs at the origin with `cap=FAIR_MEDIA_VIEWERS_PER_PROCESS` (0: no cap, no legs).
An origin at its cap answers Conflict `stage.process_full` {version}; the web process then asks
each live process but the origin, the room's legs first, then the others from the least loaded,
to `watch_leg` (the media process's own method, fair.media.server): a process not yet a leg of
the room, or one that took an older version of it or from another origin, first takes it (under
a lock of its own): it watches at the origin as the viewer `leg:<process>:<random>` (not counted
as a viewer, nor against the cap) and `Stages.take`s that offer, one relayed presenter per
publication, with the same keys and infos; its viewers' keyframe requests go upstream as a
viewer's do. A leg at its cap answers `stage.process_full` too and the next is asked; when none
can take the viewer, the origin serves it past its cap. The web process remembers the leg each of
its sockets watches on, and sends its `answer` and `leave` there (`leave` to the origin too: its
publications). The presenters publish, and the talk ends, at the origin only; legs close with
their upstream connection and hear the talk end on its channel like the origin. A leg whose last
viewer leaves closes its upstream connection and asks the origin to `leave` it; the version
passed along makes a leg take the talk again once its publications changed (viewers watch again
on the new version). A leg never pins the room (its heartbeat gives its leg rooms apart). Counts:
each process's Host sends `stage.count` with the talk's figures (`TALLY`): the origin's
presenters and version, the viewers of every live process; an origin whose room is pinned to
another process now (it stalled and the room moved) neither stores nor sends figures.
`FAIR_STAGE_MAX_VIEWERS` bounds the
talk's viewers over all its processes (read from `<ns>:audience`, so a burst may pass it by a few).

Deaths. A dead leg (no alive key) is found by the look for dead processes: the web process that
takes it out of a room's legs publishes `stage.moved` {webconference_id, leg: true} on the talk's
channel, once: static/stage.js watches again (every viewer of the talk: pages do not know their
process), and presenters need not publish again. A dead origin moves the room as above; its
legs keep their viewers' connections, whose pages watch again on `stage.moved`, and the next
`watch_leg` takes the talk from the new origin (a leg the room moved to becomes its origin when
a presenter publishes there).

RPC. Request `{"id", "reply_to", "method", "args", "kwargs", "expires"}`; reply `{"id",
"result"}` or `{"id", "error": {"type", "message", "code", "params", "status", "fields"}}`. A
FairError raised in the media process comes back as the same class of fair.errors (FairError
itself for others, such as the socket's ProtocolError) with the same message, code, params and
status, so the socket replies as in one process; any other exception is logged there and raised
here as RemoteError (the socket's "server error"). JSON turns tuples into lists: `watch` returns
`[offer, tracks]`, a tuple again in `RemoteStages.watch`. `close` stays local (it closes the
client, not the rooms); the synchronous `counts` is not forwarded. A request the media process
pops after its `expires` (the web process gave up on it) is dropped: hosts need synchronised
clocks.

The media process runs a Host (fair.media.host: `stage.count` events, closing rooms whose talk
ended) on BROADCAST_URL, which must be Redis; one task per request, so a slow negotiation never
holds back another room. On SIGTERM or SIGINT it removes its alive key and load entry, answers
the requests still queued with `stage.unavailable`, closes every connection and releases its
room pins. FAIR_MEDIA_HOST_ADDRESSES limits the ICE host candidates it offers.

Limits: a web process that dies leaves its sockets' connections in the media process (nothing
calls `leave` for them); aiortc's ICE consent checks fail their transport after about 30 s,
but `Stages` keeps the entries (and counts them) until the talk ends or the same key publishes
or watches again. A media process that dies takes its rooms' connections with it; clients
publish and watch again on `stage.moved` (an interview's call gets no event: its own
connection fails).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fair import errors
from fair.errors import FairError

log = logging.getLogger("fair.media")

# A media process killed (SIGKILL, a crash, its host gone) is found dead ALIVE_TTL seconds after
# its last heartbeat at most, WATCH_DEAD more at most by a web process: its talks are told to
# move within about 5 s. A process whose heartbeats stall that long loses its rooms too.
ALIVE_TTL = 4  # seconds a media process stays "alive" after its last heartbeat
HEARTBEAT = 1.0
WATCH_DEAD = 1.0  # seconds between a web process's looks for dead media processes
ROOM_TTL = 30  # seconds a pin outlives the last heartbeat of its process
CALL_TIMEOUT = 10.0
POP_TIMEOUT = 1  # seconds a BLPOP blocks: loops notice a stop that soon
LIST_TTL = 60  # request and reply lists nobody reads (a dead process's) expire
STOP_GRACE = 5.0  # seconds the calls under way get to finish when the process stops
# The broker client's connections (calls, replies, pins, heartbeats; each loop's BLPOP holds
# one): at most CONNECTIONS at once, a command over them waits up to CONNECTIONS_TIMEOUT seconds
# for one to come free, then raises (a RedisError: the call answers `stage.unavailable`).
# redis-py's own pool refuses at once past its 100 (MaxConnectionsError), as the publishing
# client's did in a burst (fair.broadcast CONNECTIONS).
CONNECTIONS = 64
CONNECTIONS_TIMEOUT = 2.0
LOCAL = frozenset({"close", "connect"})  # never forwarded to, nor run for, a web process
# What these return for a room no live process holds (nothing to leave or end there): they
# pin no room, and work while no media process runs (a socket closing, a talk ending).
UNPINNED: dict[str, Any] = {"leave": False, "end": None}

# A talk spread over media processes (see "Legs" above).
PROCESS_FULL = "stage.process_full"  # the code of a process at its viewer cap for a talk
LEG = "leg:"  # the viewing keys of legs at the origin: `leg:<process>:<random>`, not viewers

UNAVAILABLE = "The video service is not available right now: try again in a moment."

# The heartbeat. KEYS: alive, load, the process's rooms, the rooms it is a leg of; ARGV:
# process, ALIVE_TTL, ROOM_TTL, the key prefixes of a room's pin, legs and audience, how many
# rooms it holds, those rooms, then the rooms it is a leg of. It keeps their pins (taking back
# an expired one), forgets rooms pinned elsewhere since, says which legs it serves, keeps the
# audiences, scores its load, and returns the rooms it lost.
BEAT = """
local me, ttl, prefix, legs, audience = ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local held = 7 + tonumber(ARGV[7])
redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
redis.call('DEL', KEYS[4])
for i = held + 1, #ARGV do
  redis.call('SADD', legs .. ARGV[i], me)
  redis.call('EXPIRE', legs .. ARGV[i], ttl)
  redis.call('SADD', KEYS[4], ARGV[i])
end
redis.call('EXPIRE', KEYS[4], ttl)
for i = 8, #ARGV do redis.call('EXPIRE', audience .. ARGV[i], ttl) end
local lost = {}
for i = 8, held do
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
# Pin a room unless pinned already or, given the dead process it is pinned to, move it from there
# (compare-and-set: of web processes racing to move it, one does, and tells its talk). KEYS:
# room, load, the chosen process's rooms; ARGV: the process, ROOM_TTL, the room[, the dead one].
PIN = """
if ARGV[4] then
  if redis.call('GET', KEYS[1]) ~= ARGV[4] then return 0 end
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
elseif not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  return 0
end
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[2], 'XX', redis.call('SCARD', KEYS[3]), ARGV[1])
return 1
"""
# A talk's audience over its processes. KEYS: the room's audience; ARGV: the process ('' to
# only read), its viewers, ROOM_TTL, the alive key prefix, the origin's "presenters:version"
# ('' from a leg). Returns the origin's figures and the viewers of the live processes.
TALLY = """
if ARGV[5] ~= '' and KEYS[2] then
  local pin = redis.call('GET', KEYS[2])
  if pin and pin ~= ARGV[1] then return {'moved', 0} end
end
if ARGV[1] ~= '' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'origin', ARGV[5]) end
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
local all, viewers = redis.call('HGETALL', KEYS[1]), 0
for i = 1, #all, 2 do
  if all[i] ~= 'origin' and redis.call('EXISTS', ARGV[4] .. all[i]) == 1 then
    viewers = viewers + tonumber(all[i + 1])
  end
end
return {redis.call('HGET', KEYS[1], 'origin') or '', viewers}
"""
# Delete the key only if it still holds this value.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


SCRIPTS = (("beat", BEAT), ("pin", PIN), ("release", RELEASE), ("tally", TALLY))


class MediaError(RuntimeError):
    """The media broker (FAIR_MEDIA_URL) cannot be reached at start-up."""


class RemoteError(RuntimeError):
    """An unexpected failure inside a media process (logged there)."""


def unavailable(*, reported: bool = False) -> errors.MediaUnavailable:
    """`stage.unavailable` (503); `reported`: logged already (fair.media_rooms.report)."""
    return errors.MediaUnavailable(UNAVAILABLE, reported=reported)


@dataclass(frozen=True)
class Keys:
    namespace: str

    @property
    def load(self) -> str:
        return f"{self.namespace}:load"

    def alive(self, process: str = "") -> str:
        return f"{self.namespace}:alive:{process}"

    def room(self, room: str = "") -> str:
        return f"{self.namespace}:room:{room}"

    def rooms(self, process: str) -> str:
        return f"{self.namespace}:rooms:{process}"

    def requests(self, process: str) -> str:
        return f"{self.namespace}:requests:{process}"

    def replies(self, process: str) -> str:
        return f"{self.namespace}:replies:{process}"

    def legs(self, room: str = "") -> str:
        return f"{self.namespace}:legs:{room}"

    def serving(self, process: str) -> str:
        return f"{self.namespace}:serving:{process}"

    def audience(self, room: str = "") -> str:
        return f"{self.namespace}:audience:{room}"


def process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


async def open_redis(url: str, *, connections: int = CONNECTIONS) -> aioredis.Redis:
    """A client of the broker, checked, on a pool of `connections` that waits (CONNECTIONS);
    MediaError when it cannot be reached."""
    # No socket_timeout (redis-py would send through asyncio.wait_for, which on Python 3.11
    # can swallow a cancellation); calls carry their own deadlines, and keepalive notices a
    # dead peer. redis-py 8 can still lose a cancellation that lands while it takes a
    # connection from its pool: loops also check a flag, and replies are awaited without one.
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=connections,
        timeout=CONNECTIONS_TIMEOUT,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_keepalive=True,
    )
    client = aioredis.Redis.from_pool(pool)  # closed with the client
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
