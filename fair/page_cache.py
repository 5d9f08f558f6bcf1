"""A process's short cache of rendered pages: bounded, in memory, with no I/O.

fair.web.browsing decides which pages go in (public browsing pages as anonymous visitors see
them, while their edition's admission gate is on) and what a page kept must not carry; this
holds them: each under its key (URL and language) with the moment it was rendered and the
version of what it shows (fair.offers_version), for `seconds` at most, the least recently
used dropped first past `max_pages` pages or `max_bytes` bytes. The app's state holds one per
web process (fair.app_state), which is why it sits here, below the boundaries.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fair.ttl_cache import TTLCache

# The path with its query string, the language; for a page kept for logged-in candidates
# (fair.web.browsing.shared), also the audience and what else of the viewer it shows.
Key = tuple[str, ...]


@dataclass(frozen=True)
class Page:
    """A rendered answer as kept: nothing in it belongs to one visitor."""

    stored_at: float  # seconds (fair.clock)
    version: str  # what the page shows, in this version ("": none known)
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class PageCache:
    """Pages kept `seconds` at most; `max_pages` and `max_bytes` of bodies at most."""

    def __init__(self, *, seconds: float, max_pages: int = 500, max_bytes: int = 32 << 20) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.pages: TTLCache[Key, Page] = TTLCache(
            seconds=seconds, size=max_pages, weigh=_size, max_weight=max_bytes
        )
        # The renders under way, by key: a page asked for again meanwhile waits for the first
        # render rather than run its own (at most one entry per request in progress).
        self.renders: dict[Key, asyncio.Future[Page | None]] = {}

    def claim(self, key: Key) -> asyncio.Future[Page | None]:
        """A render of `key` under way from now (`renders`): those asking for the page
        meanwhile wait for it. `settle` ends it, whatever happens."""
        rendering: asyncio.Future[Page | None] = asyncio.get_running_loop().create_future()
        self.renders[key] = rendering
        return rendering

    def settle(self, key: Key, rendering: asyncio.Future[Page | None], page: Page | None) -> None:
        """End the render `claim` gave (once: later calls do nothing): those waiting for it
        get `page` (None: not kept, they render their own)."""
        if self.renders.get(key) is rendering:
            del self.renders[key]
        if not rendering.done():
            rendering.set_result(page)

    @property
    def bytes(self) -> int:
        return self.pages.weight

    def get(self, key: Key, *, version: str, now: float) -> Page | None:
        """The page kept under `key` if it is fresh and of this version; else None (and a
        stale one is dropped)."""
        page = self.pages.get(key, now=now)
        if page is not None and page.version != version:
            self.pages.pop(key)
            return None
        return page

    def put(self, key: Key, page: Page) -> None:
        """Keep `page` (not one larger than a quarter of the bytes allowed), dropping the
        least recently used past the bounds."""
        self.pages.pop(key)
        if len(page.body) <= self.max_bytes // 4:
            self.pages.put(key, page, now=page.stored_at)

    def __len__(self) -> int:
        return len(self.pages)


def _size(page: Page) -> int:
    return len(page.body)
