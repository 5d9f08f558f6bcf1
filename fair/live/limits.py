"""The limits of /live sockets (PROTOCOL.md, "Limits"): how fast one socket may send commands,
and how many sockets one user may hold open.

Commands: a token bucket per socket, `FAIR_LIVE_COMMAND_RATE` commands a second with bursts of
`FAIR_LIVE_COMMAND_BURST`. A command over it answers `live.rate_limited`; the socket stays open.

Sockets: at most `FAIR_LIVE_MAX_SOCKETS` per user. A logged-in socket registers itself as it
opens (`open_socket`) and leaves the register as it closes (`close_socket`); opening one more
than the limit names the oldest, which close with CLOSE_TOO_MANY. The register is kept in this
process with `memory://`, and in Redis with `redis://`, so that the limit holds across
processes:

* `<namespace>:sockets:<user id>`: a sorted set of the user's socket ids by opening time
  (Redis's clock, so hosts need not agree), and `<namespace>:seen:<user id>` by last refresh;
  each process refreshes its sockets every REFRESH_SECONDS in one pipeline (fair.live.hub's
  round, `refresh`), and an entry not refreshed for STALE_SECONDS (its
  process died) is dropped when the user opens the next socket. Both keys expire after
  STALE_SECONDS without any refresh.
* The oldest hear it on the deployment's internal channel (`channels.SOCKETS`), through the
  broadcaster, so in whichever process they live (fair.live.hub follows it). Pub/sub may
  lose the message: such a socket stays open, unlisted, until the user's next socket pushes
  the next oldest out.

Redis unreachable: the socket is let in without the limit (logged), never refused.
"""

from __future__ import annotations

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
CHUNK = 1000


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


async def open_sockets(broadcast: Broadcaster, conns: list[Connection]) -> None:
    """Register logged-in sockets as they open (the hub gathers those of a moment: one Redis
    pipeline for them all); the oldest of each user's sockets over the limit are told to
    close, in whichever process they live. A failure is logged and lets the sockets live on
    unlisted: the limit is not worth closing a socket for."""
    opening = [(c.user.id, c.connection_id) for c in conns if c.user is not None]
    try:
        oldest = await _register(broadcast).open(opening, settings.get().live_max_sockets)
        if oldest:
            await broadcast.publish(channels.SOCKETS, json.dumps({"close": oldest}))
    except Exception:
        log.exception("the open sockets register failed")


async def refresh(broadcast: Broadcaster, conns: list[Connection]) -> None:
    """Keep this process's logged-in sockets listed (the hub, every REFRESH_SECONDS)."""
    await _update(broadcast, conns, closed=False)


async def close_sockets(broadcast: Broadcaster, conns: list[Connection]) -> None:
    """Take closed sockets off the register (the hub gathers those of a moment)."""
    await _update(broadcast, conns, closed=True)


async def _update(broadcast: Broadcaster, conns: list[Connection], *, closed: bool) -> None:
    listed = [(c.user.id, c.connection_id) for c in conns if c.user is not None]
    register = _register(broadcast)
    try:
        await (register.close(listed) if closed else register.refresh(listed))
    except Exception:
        log.exception("the open sockets register failed")


class _Local:
    """The register of one process (memory://): the user's sockets in opening order."""

    def __init__(self) -> None:
        self.sockets: dict[int, dict[str, None]] = defaultdict(dict)

    async def open(self, opening: list[tuple[int, str]], limit: int) -> list[str]:
        oldest: list[str] = []
        for user_id, connection_id in opening:
            mine = self.sockets[user_id]
            mine[connection_id] = None
            over = list(mine)[: max(0, len(mine) - limit)]
            for found in over:
                del mine[found]
            oldest += over
        return oldest

    async def refresh(self, listed: list[tuple[int, str]]) -> None:
        return None

    async def close(self, closing: list[tuple[int, str]]) -> None:
        for user_id, connection_id in closing:
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

# KEYS: sockets, seen. ARGV: connection id.
CLOSE_SCRIPT = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""


class _Shared:
    """The register in Redis, shared by every process of the deployment (its namespace)."""

    def __init__(self, broadcast: Broadcaster) -> None:
        self.broadcast = broadcast

    def _keys(self, user_id: int) -> list[str]:
        namespace = self.broadcast.namespace
        return [f"{namespace}:sockets:{user_id}", f"{namespace}:seen:{user_id}"]

    async def open(self, opening: list[tuple[int, str]], limit: int) -> list[str]:
        found = await self._pipelined(OPEN_SCRIPT, opening, limit, STALE_SECONDS)
        return [str(id_) for ids in found for id_ in ids or []]

    async def refresh(self, listed: list[tuple[int, str]]) -> None:
        await self._pipelined(REFRESH_SCRIPT, listed, STALE_SECONDS)

    async def _pipelined(
        self, script: str, sockets: list[tuple[int, str]], *args: Any
    ) -> list[Any]:
        """`script` for each (user id, connection id), in pipelines of CHUNK; what each
        returned (nothing once Redis is unreachable: logged)."""
        client = self.broadcast.client()
        found: list[Any] = []
        if client is None:
            return found
        for start in range(0, len(sockets), CHUNK):
            try:
                async with client.pipeline(transaction=False) as pipe:
                    for user_id, connection_id in sockets[start : start + CHUNK]:
                        keys = self._keys(user_id)
                        pipe.eval(script, len(keys), *keys, connection_id, *args)
                    found += await pipe.execute()
            except (RedisError, OSError) as exc:
                log.warning("the socket register in Redis is unreachable: %s", exc)
                break
        return found

    async def close(self, closing: list[tuple[int, str]]) -> None:
        await self._pipelined(CLOSE_SCRIPT, closing)


_registers: weakref.WeakKeyDictionary[Broadcaster, _Local | _Shared] = weakref.WeakKeyDictionary()


def _register(broadcast: Broadcaster) -> _Local | _Shared:
    """The register of this broadcaster's deployment (one per app in the process)."""
    found = _registers.get(broadcast)
    if found is None:
        found = _Shared(broadcast) if broadcast.client() is not None else _Local()
        _registers[broadcast] = found
    return found
