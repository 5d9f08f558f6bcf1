"""What the offer search works out again and again, kept a short while per process: the
facets' counts of a search (fair.search_facets) and the spelling probe of a word
(fair.search_terms.respell).

Each answer is kept under the edition's offers version (fair.offers_version), read with the
request, so that a committed change of the edition's offers, booths or employers makes every
answer kept for it stale at once, in every process; `SECONDS` bounds what the version does not
cover (a partner turned off, the vocabulary of the other editions' titles). A session that has
written watched rows not yet committed (`offers_version.KEY` in its `info`) neither reads nor
keeps anything: what it sees is not what the version names. At most `SIZE` answers per kind,
the least recently used dropped first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from fair import offers_version

SECONDS = 60.0
SIZE = 2000
T = TypeVar("T")


class Kept(Generic[T]):
    """Answers by key, `seconds` at most, `size` at most (least recently used dropped)."""

    def __init__(self, *, seconds: float = SECONDS, size: int = SIZE) -> None:
        self.seconds = seconds
        self.size = size
        self._items: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        _ALL.append(self)

    def get(self, key: Hashable, now: float) -> tuple[T] | None:
        """(answer,) when one is kept and fresh (the answer itself may be None); else None."""
        item = self._items.get(key)
        if item is None:
            return None
        if not 0 <= now - item[0] < self.seconds:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return (item[1],)

    def put(self, key: Hashable, answer: T, now: float) -> None:
        self._items[key] = (now, answer)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


_ALL: list[Kept[Any]] = []


def forget() -> None:
    """Drop every answer kept (the tests: each starts its database, and the clock, again)."""
    for kept in _ALL:
        kept.clear()


async def through(
    kept: Kept[T],
    session: AsyncSession,
    edition_id: int,
    key: Hashable,
    compute: Callable[[], Awaitable[T]],
) -> T:
    """The answer kept for `key` in the edition's current offers version, else `compute`'s
    (then kept). Nothing is kept when the edition has no version yet or the session wrote
    watched rows it has not committed."""
    version = await offers_version.current(session, edition_id)  # flushes what is pending
    if version is None or offers_version.KEY in session.info:
        return await compute()
    full = (edition_id, version, key)
    found = kept.get(full, time.monotonic())
    if found is not None:
        return found[0]
    answer = await compute()
    if offers_version.KEY not in session.info:
        kept.put(full, answer, time.monotonic())
    return answer
