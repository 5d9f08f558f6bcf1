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
from collections import OrderedDict
from dataclasses import dataclass

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
        self.max_pages = max_pages
        self.max_bytes = max_bytes
        self.pages: OrderedDict[Key, Page] = OrderedDict()
        self.bytes = 0
        # The renders under way, by key: a page asked for again meanwhile waits for the first
        # render rather than run its own (at most one entry per request in progress).
        self.renders: dict[Key, asyncio.Future[Page | None]] = {}

    def get(self, key: Key, *, version: str, now: float) -> Page | None:
        """The page kept under `key` if it is fresh and of this version; else None (and a
        stale one is dropped)."""
        page = self.pages.get(key)
        if page is None:
            return None
        if page.version != version or not 0 <= now - page.stored_at < self.seconds:
            self._drop(key)
            return None
        self.pages.move_to_end(key)
        return page

    def put(self, key: Key, page: Page) -> None:
        """Keep `page` (not one larger than a quarter of the bytes allowed), dropping the
        least recently used past the bounds."""
        if key in self.pages:
            self._drop(key)
        if len(page.body) > self.max_bytes // 4:
            return
        self.pages[key] = page
        self.bytes += len(page.body)
        while len(self.pages) > self.max_pages or self.bytes > self.max_bytes:
            self._drop(next(iter(self.pages)))

    def _drop(self, key: Key) -> None:
        self.bytes -= len(self.pages.pop(key).body)

    def __len__(self) -> int:
        return len(self.pages)
