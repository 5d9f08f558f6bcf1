"""A process's small cache in memory: values by key, each kept a while, a bounded number of them.

One class for what fair keeps briefly: the search's answers (fair.search.cache), the rendered
public pages (fair.page_cache), the live hub's sessions and public channels (fair.live.hub).
A value is fresh from the moment it was put (`now`, the cache's clock unless given) for the
cache's `seconds`, or fewer as put; a stale one is dropped when read. Past `size` values, or
`max_weight` in all when the cache weighs its values, the least recently used (put or read)
is dropped first. No I/O, no lock: each is used from one event loop.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(slots=True)
class _Item(Generic[V]):
    value: V
    since: float
    until: float
    weight: int


class TTLCache(Generic[K, V]):
    """Values by key, fresh `seconds` at most, `size` (and `max_weight`) at most, least
    recently used dropped first; `on_drop(key, value)` hears of each one dropped, but for
    `clear`."""

    def __init__(
        self,
        *,
        seconds: float,
        size: int,
        weigh: Callable[[V], int] | None = None,
        max_weight: int = 0,
        on_drop: Callable[[K, V], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.max_weight = max_weight
        self.weight = 0  # of the values held, when weighed
        self._weigh = weigh
        self._on_drop = on_drop
        self._clock = clock
        self._items: OrderedDict[K, _Item[V]] = OrderedDict()

    def get(self, key: K, *, now: float | None = None) -> V | None:
        """The value kept under `key` if fresh (then the most recently used); else None, a
        stale one dropped."""
        item = self._items.get(key)
        if item is None:
            return None
        now = self._clock() if now is None else now
        if not item.since <= now < item.until:
            self.pop(key)
            return None
        self._items.move_to_end(key)
        return item.value

    def put(self, key: K, value: V, *, now: float | None = None, seconds: float = math.inf) -> None:
        """Keep `value` from `now` for the cache's `seconds` or these `seconds` if fewer,
        dropping the least recently used past the bounds."""
        self.pop(key)
        now = self._clock() if now is None else now
        weight = 0 if self._weigh is None else self._weigh(value)
        self._items[key] = _Item(value, now, now + min(self.seconds, seconds), weight)
        self.weight += weight
        while len(self._items) > self.size or (
            self._weigh is not None and self.weight > self.max_weight
        ):
            self.pop(next(iter(self._items)))

    def pop(self, key: K) -> V | None:
        """Drop the value under `key`, fresh or not: it, or None when there was none."""
        item = self._items.pop(key, None)
        if item is None:
            return None
        self.weight -= item.weight
        if self._on_drop is not None:
            self._on_drop(key, item.value)
        return item.value

    def clear(self) -> None:
        """Drop everything, `on_drop` not told."""
        self._items.clear()
        self.weight = 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[K]:
        """The keys held, fresh or not, the least recently used first."""
        return iter(self._items)
