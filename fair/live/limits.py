"""The limits of /live sockets (PROTOCOL.md, "Limits"): how fast one socket may send commands,
and how many sockets one user may hold open.

Commands: a token bucket per socket, `FAIR_LIVE_COMMAND_RATE` commands a second with bursts of
`FAIR_LIVE_COMMAND_BURST`. A command over it answers `live.rate_limited`; the socket stays open.

Sockets: at most `FAIR_LIVE_MAX_SOCKETS` per user. A logged-in socket registers itself while it
lives (`hold`); opening one more than the limit names the oldest, which close with
CLOSE_TOO_MANY. The register is kept in this process with `memory://`, and in Redis with
`redis://`, so that the limit holds across processes:

* `<namespace>:sockets:<user id>`: a sorted set of the user's socket ids by opening time
  (Redis's clock, so hosts need not agree), and `<namespace>:seen:<user id>` by last refresh;
  each socket refreshes every REFRESH_SECONDS, and an entry not refreshed for STALE_SECONDS (its
  process died) is dropped when the user opens the next socket. Both keys expire after
  STALE_SECONDS without any refresh.
* The oldest hear it on the user's internal channel (`channels.sockets`), through the
  broadcaster, so in whichever process they live. Pub/sub may lose the message: such a socket
  stays open, unlisted, until the user's next socket pushes the next oldest out.

Redis unreachable: the socket is let in without the limit (logged), never refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from fair import channels, settings
from fair.broadcast import Broadcaster
from fair.errors import TooMany

if TYPE_CHECKING:
    from fair.live.socket import Connection

log = logging.getLogger("fair.live")

CLOSE_TOO_MANY = 4429
CLOSE_REASON = "too many connections: this was the oldest"
REFRESH_SECONDS = 30.0
STALE_SECONDS = 90


class CommandBucket:
    """`rate` commands a second on average, `burst` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def rate_limited() -> TooMany:
    return TooMany(
        "You are sending too many commands: wait a moment, then try again.",
        code="live.rate_limited",
    )


# Open sockets per user -----------------------------------------------------------------------


async def hold(conn: Connection) -> int | None:
    """Run with the socket: register it, and return CLOSE_TOO_MANY once newer sockets of the
    same user push it out (a visitor's socket runs until cancelled). A failure here is logged
    and lets the socket live on unlisted: the limit is not worth closing a socket for."""
    if conn.user is not None:
        try:
            return await _hold(conn, conn.user.id)
        except Exception:
            log.exception("the open sockets register failed")
    await asyncio.Event().wait()
    return None


async def _hold(conn: Connection, user_id: int) -> int:
    me = conn.connection_id
    register = _register(conn.broadcast)
    channel = channels.sockets(user_id)
    # Subscribed first: a notice sent right after registering is not missed.
    async with conn.broadcast.subscribe(channel) as notices:
        try:
            oldest = await register.open(user_id, me, settings.get().live_max_sockets)
            if oldest:
                await conn.broadcast.publish(channel, json.dumps({"close": oldest}))
            while True:
                try:
                    notice = await asyncio.wait_for(notices.get(), REFRESH_SECONDS)
                except TimeoutError:
                    await register.refresh(user_id, me)
                    continue
                if me in _closing(notice):
                    return CLOSE_TOO_MANY
        finally:
            await register.close(user_id, me)


def _closing(notice: str) -> list[str]:
    try:
        ids = json.loads(notice).get("close")
    except (ValueError, AttributeError):
        return []
    return ids if isinstance(ids, list) else []


class _Local:
    """The register of one process (memory://): the user's sockets in opening order."""

    def __init__(self) -> None:
        self.sockets: dict[int, dict[str, None]] = defaultdict(dict)

    async def open(self, user_id: int, connection_id: str, limit: int) -> list[str]:
        mine = self.sockets[user_id]
        mine[connection_id] = None
        oldest = list(mine)[: max(0, len(mine) - limit)]
        for found in oldest:
            del mine[found]
        return oldest

    async def refresh(self, user_id: int, connection_id: str) -> None:
        return None

    async def close(self, user_id: int, connection_id: str) -> None:
        mine = self.sockets.get(user_id, {})
        mine.pop(connection_id, None)
        if not mine:
            self.sockets.pop(user_id, None)


# KEYS: sockets, seen. ARGV: connection id, limit, STALE_SECONDS. Returns the ids pushed out.
OPEN_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
for _, id in ipairs(stale) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[1])
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[2])
local oldest = {}
if over > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if #oldest < over and id ~= ARGV[1] then
      table.insert(oldest, id)
      redis.call('ZREM', KEYS[1], id)
      redis.call('ZREM', KEYS[2], id)
    end
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return oldest
"""
# KEYS: sockets, seen. ARGV: connection id, STALE_SECONDS. A socket dropped meanwhile (Redis
# restarted, or it was thought dead) is listed again, as the newest.
REFRESH_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""


class _Shared:
    """The register in Redis, shared by every process of the deployment (its namespace)."""

    def __init__(self, broadcast: Broadcaster) -> None:
        self.broadcast = broadcast

    def _keys(self, user_id: int) -> list[str]:
        namespace = self.broadcast.namespace
        return [f"{namespace}:sockets:{user_id}", f"{namespace}:seen:{user_id}"]

    async def _run(self, script: str, keys: list[str], *args: Any) -> Any:
        client = self.broadcast.client()
        if client is None:
            return []
        try:
            return await client.eval(script, len(keys), *keys, *args)
        except (RedisError, OSError) as exc:
            log.warning("the socket register in Redis is unreachable: %s", exc)
            return []

    async def open(self, user_id: int, connection_id: str, limit: int) -> list[str]:
        keys = self._keys(user_id)
        found = await self._run(OPEN_SCRIPT, keys, connection_id, limit, STALE_SECONDS)
        return [str(id_) for id_ in found or []]

    async def refresh(self, user_id: int, connection_id: str) -> None:
        await self._run(REFRESH_SCRIPT, self._keys(user_id), connection_id, STALE_SECONDS)

    async def close(self, user_id: int, connection_id: str) -> None:
        client = self.broadcast.client()
        if client is None:
            return
        try:
            for key in self._keys(user_id):
                await client.zrem(key, connection_id)
        except (RedisError, OSError) as exc:
            log.warning("the socket register in Redis is unreachable: %s", exc)


_registers: weakref.WeakKeyDictionary[Broadcaster, _Local | _Shared] = weakref.WeakKeyDictionary()


def _register(broadcast: Broadcaster) -> _Local | _Shared:
    """The register of this broadcaster's deployment (one per app in the process)."""
    found = _registers.get(broadcast)
    if found is None:
        found = _Shared(broadcast) if broadcast.client() is not None else _Local()
        _registers[broadcast] = found
    return found
