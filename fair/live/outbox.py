"""A socket's outgoing frames (PROTOCOL.md, Limits): its own command replies first, then the
events of what it follows, bounded, with state coalesced and a slow socket told to resync.

Two kinds of event frames:

* **state** (`STATE_EVENTS`: counts, queue positions, staffing, panels, heartbeats): each
  carries the latest value of something, which replaces the previous one. A state frame
  still queued when a newer one of the same key (channel, event and the fields named here)
  arrives is removed, and the newer one queued at the end: a slow consumer gets the latest
  state, never a backlog of outdated ones, and what it receives is a subsequence of what was
  published, in order.
* **messages** (every other event: chat, Q&A, calls' signals, a call to a booth…) must all
  arrive. When one cannot be queued (the queue holds `size` frames), nothing is lost
  silently: the queued events are dropped and one `resync` event is queued for each channel
  they (and the new one) came from, which every client answers by re-reading what it shows,
  as after a reconnection (static/live.js, room.js, call.js, stage.js, dashboard.js). The
  socket stays open: under overload a reconnection storm would cost more than the backlog.

Replies to the socket's own commands go ahead of every event, so that fan-out never starves a
user's commands on their own socket: a reply goes at once even while the socket's next event
waits for its turn (which keeps its place in line). Fan-out frames wait for their turn
(`Pacer`): at most `PACE` of them are sent per turn of the event loop, whatever the number of
sockets, and `PACE_BESIDE_COMMANDS` while a command of any socket is being handled, so that a
command's reads and database round trips (a dozen turns or more) are never queued behind
thousands of sends: under overload the process never idles, and each turn lasts as long as the
sends it makes. Coalesced and dropped frames are counted in /metrics
(fair.metrics), added up once per turn of the loop.

A frame is classified once per published event, not per socket (`classify` keeps the recent
frames: the broadcaster hands the same string to every subscriber).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from itertools import count
from typing import Any

from fair import metrics
from fair.broadcast import resync_frame

# Event name -> payload fields that, with the channel, name the state it carries.
STATE_EVENTS: dict[str, tuple[str, ...]] = {
    "heartbeat": (),
    "resync": (),
    "booth.waiting": ("booth_id",),
    "booth.staffing": ("booth_id",),
    "queue.changed": ("booth_id",),
    "queue.position": ("booth_id", "entry_id"),
    "notices.unread": (),
    "stage.count": ("webconference_id",),
    "panel": ("edition_id",),
}
# Fan-out frames sent per turn of the event loop, over all sockets: a few milliseconds of sends
# (30-100 us each, compressed, on this 2-core machine under load), and a few hundred
# microseconds while commands are being handled, so that a command (a dozen turns or more: its
# frame read, the pool's ping, each query) is answered in tens of milliseconds, not hundreds,
# beside a fan-out that keeps the process busy. Measured under load only
# (bench/fanout.py --scenario overload).
PACE = 32
PACE_BESIDE_COMMANDS = 4


@lru_cache(maxsize=32)  # the frames being fanned out now: one string for all subscribers
def classify(text: str) -> tuple[str, tuple[Any, ...] | None]:
    """(channel, state key) of an event frame; the key is None for a message (or anything
    that is not a well-formed event frame: kept, never coalesced)."""
    try:
        frame = json.loads(text)
    except ValueError:
        return "", None
    if not (isinstance(frame, list) and len(frame) == 3 and isinstance(frame[2], dict)):
        return "", None
    channel, payload = str(frame[1]), frame[2]
    fields = STATE_EVENTS.get(str(payload.get("event")))
    if fields is None or any(f not in payload for f in fields):
        return channel, None
    return channel, (channel, payload["event"], *(repr(payload[f]) for f in fields))


class Uncounted:
    """What the outboxes coalesced and dropped since the last `flush` to the metrics: plain
    integers on the hot path (a frame to thousands of sockets), added to the Prometheus
    counters once per turn of the loop that sends (`Pacer`)."""

    def __init__(self) -> None:
        self.coalesced = self.dropped = self.resyncs = 0

    def flush(self) -> None:
        if self.coalesced:
            metrics.LIVE_COALESCED.inc(self.coalesced)
        if self.dropped:
            metrics.LIVE_DROPPED.labels("socket").inc(self.dropped)
        if self.resyncs:
            metrics.LIVE_RESYNCS.inc(self.resyncs)
        self.coalesced = self.dropped = self.resyncs = 0


uncounted = Uncounted()


class Outbox:
    """One socket's frames to send: replies (bounded by `size`, False when full), then events
    (at most `size`, coalesced or resynced as the module says). One reader: `get`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.replies: deque[str] = deque()
        # key -> frame, in the order to send: a state's key, or a message's unique number
        self.events: OrderedDict[Any, str] = OrderedDict()
        self.channels: dict[Any, str] = {}  # key -> channel of the queued frame
        self._numbers = count()
        self._ready = asyncio.Event()  # something to send, or the turn came
        self._turn: asyncio.Future[None] | None = None  # the pacer's turn being waited for

    def __len__(self) -> int:
        return len(self.replies) + len(self.events)

    def reply(self, text: str) -> bool:
        """Queue a reply to one of this socket's commands, ahead of the events."""
        if len(self.replies) >= self.size:
            return False
        self.replies.append(text)
        self._ready.set()
        return True

    def event(self, text: str) -> None:
        """Queue an event frame; never waits, never fails (see the module)."""
        channel, key = classify(text)
        if key is not None and self.events.pop(key, None) is not None:
            uncounted.coalesced += 1
        elif len(self.events) >= self.size:
            self._resync(channel, dropping=key is None)
            if key is None:
                return  # the message is part of what the client re-reads
        slot: Any = next(self._numbers) if key is None else key
        self.events[slot] = text
        self.channels[slot] = channel
        if self._turn is None:  # else the writer wakes on its turn (or a reply), not on each event
            self._ready.set()

    def _resync(self, channel: str, *, dropping: bool) -> None:
        """Drop the queued events (and the new one, `dropping`); queue `resync` on each
        channel they came from."""
        lost = {*self.channels.values(), channel} - {""}
        uncounted.dropped += len(self.events) + dropping
        uncounted.resyncs += 1
        self.events.clear()
        self.channels.clear()
        for name in sorted(lost):
            self.event(resync_frame(name))

    async def get(self, pacer: Pacer) -> str:
        """The next frame to send: a reply at once (even while waiting for a turn), an event
        when `pacer` gives this socket its turn."""
        while True:
            if self.replies:
                return self.replies.popleft()
            if self.events:
                if self._turn is None:
                    self._turn = pacer.ticket()
                    if self._turn is not None:
                        self._turn.add_done_callback(self._turned)
                if self._turn is None or self._turn.done():
                    self._turn = None
                    key, text = self.events.popitem(last=False)
                    del self.channels[key]
                    return text
            self._ready.clear()
            try:
                await self._ready.wait()
            except asyncio.CancelledError:  # the socket closed: its turn goes to the others
                if self._turn is not None:
                    self._turn.cancel()
                raise

    def _turned(self, _turn: asyncio.Future[None]) -> None:
        self._ready.set()


class Pacer:
    """Turns of the event loop for fan-out sends: at most `pace` per turn (`beside_commands`
    while commands are being handled: `handling`), the others wait (first come, first served)
    for the next turns, while everything else runs between."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        pace: int = PACE,
        beside_commands: int = PACE_BESIDE_COMMANDS,
    ) -> None:
        self.loop = loop
        self.pace = pace
        self.beside_commands = beside_commands
        self.commands = 0  # commands being handled now, of every socket of this loop
        self.used = 0  # sends allowed in the current turn
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.armed = False

    @contextmanager
    def handling(self) -> Iterator[None]:
        """Around a command being handled: fan-out gets the smaller budget meanwhile."""
        self.commands += 1
        try:
            yield
        finally:
            self.commands -= 1

    def budget(self) -> int:
        """Sends allowed per turn now."""
        return self.beside_commands if self.commands else self.pace

    async def turn(self) -> None:
        waiter = self.ticket()
        if waiter is not None:
            await waiter

    def ticket(self) -> asyncio.Future[None] | None:
        """None if a send may go now (counted in this turn's budget), else a future resolved
        on its turn (cancel it to give the turn up)."""
        if self.used < self.budget() and not self.waiting:
            self.used += 1
            self._arm()
            return None
        waiter: asyncio.Future[None] = self.loop.create_future()
        self.waiting.append(waiter)
        self._arm()
        return waiter

    def _arm(self) -> None:
        if not self.armed:
            self.armed = True
            self.loop.call_soon(self._next_turn)

    def _next_turn(self) -> None:
        """Runs once per turn of the loop while sends are under way: a new budget, spent
        first on the oldest waiters (they run in the next turn)."""
        self.armed = False
        self.used = 0
        uncounted.flush()
        budget = self.budget()
        while self.waiting and self.used < budget:
            waiter = self.waiting.popleft()
            if not waiter.done():  # a cancelled socket's turn is skipped
                waiter.set_result(None)
                self.used += 1
        if self.used:
            self._arm()


_pacers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pacer] = weakref.WeakKeyDictionary()


def pacer() -> Pacer:
    """The running loop's pacer: one per process (per loop), shared by all its sockets."""
    loop = asyncio.get_running_loop()
    found = _pacers.get(loop)
    if found is None:
        found = _pacers[loop] = Pacer(loop)
    return found
