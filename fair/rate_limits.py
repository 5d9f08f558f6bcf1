"""Requests counted per minute and per key (a partner's API key): at most `per_minute` in each
clock minute, the next one told how many seconds remain until the minute ends (Retry-After).

A fixed window (the clock minute) rather than a sliding one: one counter per key, one Redis
INCR per request, at the cost of letting a client send up to twice the bound across a minute's
edge, which a bound meant to stop runaway scripts tolerates.

- `MemoryLimiter`: this process's counters (the embedded default, one process). Scaled out to
  several web processes, each counts on its own, so a key gets up to `per_minute` times the
  number of processes.
- `RedisLimiter`: the deployment's counters in Redis (`BROADCAST_URL=redis://…`: the
  broadcaster's client), shared by every process: `INCR` and `EXPIRE` of one key per API key
  and minute. With Redis unreachable, the process's own counters answer instead (the bound
  then holds per process), so an outage of Redis does not close the API.
"""

from __future__ import annotations

import math
import weakref
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from fair import clock

WINDOW = 60  # seconds


class Limiter(Protocol):
    async def hit(self, key: str, *, per_minute: int) -> int:
        """Count one request of `key`: 0 when allowed, else the seconds to wait."""
        ...


def _window() -> tuple[int, int]:
    """The current minute's number and the whole seconds until it ends (at least 1)."""
    now = clock.now().timestamp()
    index = int(now // WINDOW)
    return index, max(1, math.ceil((index + 1) * WINDOW - now))


class MemoryLimiter:
    """This process's counts: one (minute, count) pair per key, the past minutes' dropped once
    `max_keys` keys are held (so memory stays bounded by the keys active in a minute)."""

    def __init__(self, *, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self.counts: dict[str, tuple[int, int]] = {}
        _made.add(self)

    async def hit(self, key: str, *, per_minute: int) -> int:
        return self.count(key, per_minute=per_minute)

    def count(self, key: str, *, per_minute: int) -> int:
        index, remaining = _window()
        minute, seen = self.counts.get(key, (index, 0))
        seen = seen + 1 if minute == index else 1
        if key not in self.counts and len(self.counts) >= self.max_keys:
            self.counts = {k: v for k, v in self.counts.items() if v[0] == index}
        self.counts[key] = (index, seen)
        return remaining if seen > per_minute else 0


_made: weakref.WeakSet[MemoryLimiter] = weakref.WeakSet()


def forget_all() -> None:
    """Every process counter starts again (tests: each test its own counts, whatever minute
    the clock is frozen at)."""
    for limiter in list(_made):
        limiter.counts.clear()


def of(redis: Redis | None, *, namespace: str, fallback: MemoryLimiter) -> Limiter:
    """The deployment's counter when Redis is there (BROADCAST_URL), else this process's."""
    return RedisLimiter(redis, namespace=namespace, fallback=fallback) if redis else fallback


class RedisLimiter:
    """The deployment's counts in Redis, under `namespace`; this process's (`fallback`) while
    Redis does not answer."""

    def __init__(self, client: Redis, *, namespace: str, fallback: MemoryLimiter) -> None:
        self.client = client
        self.namespace = namespace
        self.fallback = fallback

    async def hit(self, key: str, *, per_minute: int) -> int:
        index, remaining = _window()
        name = f"{self.namespace}:rate:{key}:{index}"
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, WINDOW * 2)
                seen, _ = await pipe.execute()
        except (RedisError, OSError):
            return self.fallback.count(key, per_minute=per_minute)
        return remaining if int(seen) > per_minute else 0
