"""A process's tally of page views and active candidates not yet written: bounded counters in
memory, with no I/O. `fair.activity` decides what counts and writes what a round takes; the
app's state holds one tally per web process (fair.app_state), which is why it sits here, below
the boundaries and the domain, and knows nothing of either.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date

PageKey = tuple[int, int, int | None, date]  # edition, booth, offer (None: the booth's page), day
ActiveKey = tuple[int, int, date]  # edition, candidate, day


@dataclass
class Taken:
    """What a round took from a tally to write: view counts and active candidates' days."""

    views: dict[PageKey, int] = field(default_factory=dict)
    active: set[ActiveKey] = field(default_factory=set)
    dropped: int = 0

    def __bool__(self) -> bool:
        return bool(self.views or self.active)


class Tally:
    """This process's views and active candidates not yet written; bounded (fair.activity).

    `max_pages` distinct (page, day) counts and `max_active` active candidates' days wait at
    most; `max_seen` (browser, page, day) marks are remembered to count each once. At the
    defaults, all three full take about 21 MB (measured with tracemalloc); a round every 30
    seconds keeps the first two far below their limits.
    """

    def __init__(
        self, *, max_pages: int = 20_000, max_active: int = 50_000, max_seen: int = 100_000
    ) -> None:
        self.max_pages, self.max_active, self.max_seen = max_pages, max_active, max_seen
        self.views: dict[PageKey, int] = {}
        self.active: set[ActiveKey] = set()
        self.dropped = 0
        self.full = asyncio.Event()  # set when a limit is reached: the round writes at once
        self._key = secrets.token_bytes(16)
        self._seen: set[bytes] = set()
        self._seen_before: set[bytes] = set()

    def view(self, key: PageKey, *, browser: str | None, candidate_id: int | None) -> bool:
        """Count a view of a page on a day (once per `browser`, if given, and day); note the
        candidate active that day. Whether it was counted."""
        counted = self._count(key, browser)
        if candidate_id is not None:
            self._note_active((key[0], candidate_id, key[3]))
        return counted

    def take(self) -> Taken:
        """Everything waiting, to write; the tally starts again empty."""
        taken = Taken(self.views, self.active, self.dropped)
        self.views, self.active, self.dropped = {}, set(), 0
        self.full.clear()
        return taken

    def restore(self, taken: Taken) -> None:
        """Put back what a failed round took, within the limits (the excess is dropped)."""
        for key, n in taken.views.items():
            if key in self.views or len(self.views) < self.max_pages:
                self.views[key] = self.views.get(key, 0) + n
            else:
                self.dropped += n
        room = max(self.max_active - len(self.active), 0)
        missing = list(taken.active - self.active)
        self.active.update(missing[:room])
        self.dropped += taken.dropped + len(missing[room:])

    def _count(self, key: PageKey, browser: str | None) -> bool:
        mark = self._mark("view", key, browser) if browser is not None else None
        if mark is not None and self._seen_already(mark):
            return False
        if key not in self.views and len(self.views) >= self.max_pages:
            self.dropped += 1
            self.full.set()
            return False
        self.views[key] = self.views.get(key, 0) + 1
        if len(self.views) >= self.max_pages:
            self.full.set()
        if mark is not None:
            self._remember(mark)
        return True

    def _note_active(self, key: ActiveKey) -> None:
        mark = self._mark("active", key, None)
        if key in self.active or self._seen_already(mark):
            return
        if len(self.active) >= self.max_active:
            self.dropped += 1
            self.full.set()
            return
        self.active.add(key)
        if len(self.active) >= self.max_active:
            self.full.set()
        self._remember(mark)

    def _mark(self, kind: str, key: tuple[object, ...], browser: str | None) -> bytes:
        text = "|".join(str(part) for part in (kind, *key, browser or ""))
        return hashlib.blake2b(text.encode(), key=self._key, digest_size=8).digest()

    def _seen_already(self, mark: bytes) -> bool:
        return mark in self._seen or mark in self._seen_before

    def _remember(self, mark: bytes) -> None:
        if len(self._seen) >= self.max_seen // 2:
            self._seen_before, self._seen = self._seen, set()
        self._seen.add(mark)
