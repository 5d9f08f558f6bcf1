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
  each process refreshes its sockets every REFRESH_SECONDS, CHUNK a script call (fair.live.hub's
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

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
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
    """Register logged-in sockets as they open (the hub gathers those of a moment: one script
    call for CHUNK of them); the oldest of each user's sockets over the limit are told to
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


# Each script takes a batch of sockets (at most CHUNK): KEYS, the user's two keys of each socket
# in turn (`sockets`, `seen`); ARGV, the script's own arguments, then the sockets' ids in the
# same order. One call for a batch, by its SHA1 (EVALSHA): not the script's text once a socket.

# ARGV: limit, STALE_SECONDS, ids. Returns the ids pushed out. Each socket is stamped a
# microsecond after the one before it: a user's sockets of one batch keep their order.
OPEN_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit, stale = tonumber(ARGV[1]), tonumber(ARGV[2])
local oldest = {}
for i = 3, #ARGV do
  local sockets, seen, id = KEYS[2 * i - 5], KEYS[2 * i - 4], ARGV[i]
  local at = now + (i - 3) / 1000000
  for _, gone in ipairs(redis.call('ZRANGEBYSCORE', seen, '-inf', at - stale)) do
    redis.call('ZREM', sockets, gone)
    redis.call('ZREM', seen, gone)
  end
  redis.call('ZADD', sockets, at, id)
  redis.call('ZADD', seen, at, id)
  local over = redis.call('ZCARD', sockets) - limit
  if over > 0 then
    for _, other in ipairs(redis.call('ZRANGE', sockets, 0, -1)) do
      if over > 0 and other ~= id then
        table.insert(oldest, other)
        over = over - 1
        redis.call('ZREM', sockets, other)
        redis.call('ZREM', seen, other)
      end
    end
  end
  redis.call('EXPIRE', sockets, stale)
  redis.call('EXPIRE', seen, stale)
end
return oldest
"""
# ARGV: STALE_SECONDS, ids. A socket dropped meanwhile (Redis restarted, or it was thought
# dead) is listed again, as the newest.
REFRESH_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for i = 2, #ARGV do
  local sockets, seen = KEYS[2 * i - 3], KEYS[2 * i - 2]
  redis.call('ZADD', sockets, 'NX', now, ARGV[i])
  redis.call('ZADD', seen, now, ARGV[i])
  redis.call('EXPIRE', sockets, ARGV[1])
  redis.call('EXPIRE', seen, ARGV[1])
end
return 1
"""
# ARGV: ids.
CLOSE_SCRIPT = """
for i = 1, #ARGV do
  redis.call('ZREM', KEYS[2 * i - 1], ARGV[i])
  redis.call('ZREM', KEYS[2 * i], ARGV[i])
end
return 1
"""


class _Shared:
    """The register in Redis, shared by every process of the deployment (its namespace)."""

    def __init__(self, broadcast: Broadcaster) -> None:
        self.broadcast = broadcast
        # The scripts as registered with the broadcaster's client (its SHA1s), then the client
        self._scripts: tuple[Redis, dict[str, AsyncScript]] | None = None

    def _keys(self, user_id: int) -> tuple[str, str]:
        namespace = self.broadcast.namespace
        return f"{namespace}:sockets:{user_id}", f"{namespace}:seen:{user_id}"

    async def open(self, opening: list[tuple[int, str]], limit: int) -> list[str]:
        found = await self._batched(OPEN_SCRIPT, opening, limit, STALE_SECONDS)
        return [str(id_) for ids in found for id_ in ids or []]

    async def refresh(self, listed: list[tuple[int, str]]) -> None:
        await self._batched(REFRESH_SCRIPT, listed, STALE_SECONDS)

    async def close(self, closing: list[tuple[int, str]]) -> None:
        await self._batched(CLOSE_SCRIPT, closing)

    async def _batched(self, text: str, sockets: list[tuple[int, str]], *args: Any) -> list[Any]:
        """`text` for the (user id, connection id) `sockets`, CHUNK in a call; what each call
        returned (nothing once Redis is unreachable: logged)."""
        client = self.broadcast.client()
        found: list[Any] = []
        if client is None:
            return found
        script = self._script(client, text)
        for start in range(0, len(sockets), CHUNK):
            chunk = sockets[start : start + CHUNK]
            keys = [key for user_id, _ in chunk for key in self._keys(user_id)]
            try:
                found.append(await script(keys, [*args, *(id_ for _, id_ in chunk)], client))
            except (RedisError, OSError) as exc:
                log.warning("the socket register in Redis is unreachable: %s", exc)
                break
        return found

    def _script(self, client: Redis, text: str) -> AsyncScript:
        """`text` registered with `client` (loaded into Redis on its first call, and again
        after a restart of Redis emptied its cache: redis-py's EVALSHA falls back)."""
        if self._scripts is None or self._scripts[0] is not client:
            self._scripts = (client, {})
        scripts = self._scripts[1]
        if text not in scripts:
            scripts[text] = client.register_script(text)
        return scripts[text]


_registers: weakref.WeakKeyDictionary[Broadcaster, _Local | _Shared] = weakref.WeakKeyDictionary()


def _register(broadcast: Broadcaster) -> _Local | _Shared:
    """The register of this broadcaster's deployment (one per app in the process)."""
    found = _registers.get(broadcast)
    if found is None:
        found = _Shared(broadcast) if broadcast.client() is not None else _Local()
        _registers[broadcast] = found
    return found
