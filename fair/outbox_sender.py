"""The loop that sends an outbox (fair.mail's mails, fair.webhook_delivery's deliveries): a round
when it starts, then whenever a commit queued something (`Wakeup.wake`, an after-commit
callback), and every `interval` seconds anyway (retries falling due, a wake-up lost with another
process's commit).

One wake-up event per event loop (a test's loop, the app's, the worker's), made on first use:
an asyncio.Event belongs to the loop it was first awaited on.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable

from fair import db


class Wakeup:
    """The wake-up of one outbox's sender, per event loop."""

    def __init__(self) -> None:
        self._events: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = (
            weakref.WeakKeyDictionary()
        )

    def event(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        found = self._events.get(loop)
        if found is None:
            found = self._events[loop] = asyncio.Event()
        return found

    async def wake(self) -> None:
        """Start a round now (an after-commit callback of the commit that queued something)."""
        self.event().set()


async def run(
    wakeup: Wakeup,
    round_: Callable[[], Awaitable[bool]],
    *,
    interval: float,
    log: logging.Logger,
    what: str,
) -> None:
    """Run `round_` at once (a worker restarted after a crash sends what is due without
    waiting an interval), then whenever woken and every `interval` seconds, again at once while
    it says more may be due (it returns True); a failed round is logged and the sender keeps
    going."""
    event = wakeup.event()
    event.set()
    while True:
        try:
            await asyncio.wait_for(event.wait(), timeout=interval)
        except TimeoutError:
            pass
        event.clear()
        try:
            while await round_():
                pass
        except Exception as exc:  # keep the sender alive; the next round retries
            db.report(log, exc, what)
