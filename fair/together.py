"""Reads shared by the asks of a moment: each ask waits for one read of every key asked
within `moment` seconds of the first, or while that read runs (the next read takes those), at
most `batch` keys a read.

What a surge asks at once (thousands of pages opened within a minute, each wanting a fact of
its viewer) then costs one database connection a moment, not one each from a pool they would
empty: the pages served without a unit of work read their viewers' facts so (fair.web.kept).
The live hub batches the sockets' sessions the same way with a reader of its own
(fair.live.hub `_lookups`, READ_BATCH), which could move onto this one. Each instance belongs
to one event loop (one app's state).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fair import db

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

MOMENT = 0.01  # seconds
BATCH = 500  # keys a read, at most
# Pool timeouts a read made for the asks of a moment waits, at most (`patiently`).
PATIENCE = 3


class Together(Generic[K, V]):
    """`get(key)`: the value `read(keys)` found for `key` (None: not found), read with the
    other keys asked at the same moment; the read's exception, when it failed."""

    def __init__(
        self,
        read: Callable[[list[K]], Awaitable[Mapping[K, V]]],
        *,
        moment: float = MOMENT,
        batch: int = BATCH,
    ) -> None:
        self._read = read
        self.moment = moment
        self.batch = batch
        self.reads = 0  # reads made so far
        self._asks: dict[K, list[asyncio.Future[V | None]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        waiting: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._asks.setdefault(key, []).append(waiting)
        if self._task is None or self._task.done():
            # A context of its own: the read is no one request's (its log lines' request id,
            # its Server-Timing spans).
            self._task = asyncio.create_task(self._run(), context=contextvars.Context())
        return await waiting

    async def _run(self) -> None:
        await asyncio.sleep(self.moment)
        while self._asks:
            keys = list(itertools.islice(self._asks, self.batch))
            waiters = {key: self._asks.pop(key) for key in keys}
            self.reads += 1
            try:
                found = await self._read(keys)
            except Exception as exc:  # each ask answers it (the database unreachable)
                for waiting in itertools.chain.from_iterable(waiters.values()):
                    if not waiting.done():  # its request may have gone
                        waiting.set_exception(exc)
                continue
            for key, waiting_for in waiters.items():
                for waiting in waiting_for:
                    if not waiting.done():
                        waiting.set_result(found.get(key))


async def patiently(read: Callable[[], Awaitable[T]], *, attempts: int = PATIENCE) -> T:
    """`read()`, tried again while every connection of the database pool stays taken past its
    timeout (SQLAlchemy's pool TimeoutError; `attempts` tries in all), any other error raised
    at once: for a read made for the asks of a moment (fair.web.kept's viewers and versions,
    the live hub's sessions), one timeout of which answered each of them 503 (issue 17: 2,645
    edition pages "server.busy" in the 10,000-candidate opening without a gate, a few failed
    reads of up to 500 candidates each, while single requests held the pool). Each ask waits
    FAIR_DB_POOL_TIMEOUT × `attempts` at most, as if it had stood in line for the pool."""
    for _ in range(attempts - 1):
        with contextlib.suppress(PoolTimeout):
            return await read()
    return await read()


async def read_patiently(
    maker: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    what: str,
) -> T:
    """`work` in a read session of `maker`, made for the asks of a moment: it waits for the
    pool as `patiently` does, and is asked again once on another connection when its first
    statement found its pooled connection lost (fair.db `read_again`: one lost connection
    would otherwise answer every ask of the moment 503)."""
    return await patiently(lambda: db.read_again(maker, work, what=what))
