"""What a media process (or the web process, in the embedded default) does beside holding
connections: it tells a webconference's channel how many watch, and closes a stage whose talk
is over, however it ended (the presenter's button, an organiser's page, another process).

    host = Host(broadcast)           # host.stages: the fair.media.stage.Stages it serves
    ...
    await host.close()

`stage.count` {webconference_id, presenters, viewers, version} goes out on `webconference:<id>`
at most once per `interval` seconds per room (the latest counts, at the end of the interval): a
few hundred viewers arriving at the start of a talk make a handful of events, not hundreds.
`version` changes whenever a publication starts or stops, so viewers re-watch even when a
presenter who reloaded leaves the count as it was. With `tally` (a talk spread over media
processes, fair.media.server), the figures sent are the talk's over all its processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from fair import channels, unit_of_work
from fair.broadcast import Broadcaster
from fair.events import Event
from fair.media.stage import OnUnlink, Stages

log = logging.getLogger("fair.media")
OVER = ("ended", "cancelled")
# (room, presenters, viewers, version) here -> the talk's over every process (fair.media.server)
Tally = Callable[[str, int, int, int], Awaitable[tuple[int, int, int] | None]]


class Host:
    def __init__(
        self,
        broadcast: Broadcaster,
        *,
        ice_servers: list[dict[str, Any]] | None = None,
        interval: float = 1.0,
        tally: Tally | None = None,
        on_unlink: OnUnlink | None = None,
    ) -> None:
        self.broadcast = broadcast
        self.interval = interval
        self.tally = tally
        self.stages = Stages(ice_servers, on_change=self._changed, on_unlink=on_unlink)
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._watchers: dict[str, tuple[AsyncExitStack, asyncio.Task[None]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        await self.stages.close()
        for room in list(self._watchers):
            await self._unwatch(room)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drop(self, room: str) -> None:
        """`room` is served by another process now: close it here without a count."""
        handle = self._pending.pop(room, None)
        if handle is not None:
            handle.cancel()
        await self.stages.drop(room)
        await self._unwatch(room)

    async def _changed(self, room: str, presenters: int, viewers: int) -> None:
        parsed = channels.parse(room)
        if parsed is None or parsed[0] != channels.WEBCONFERENCE:
            return  # interview rooms have no audience to count
        if presenters or viewers:
            await self._watch(room)
        else:
            await self._unwatch(room)
        if room not in self._pending:
            loop = asyncio.get_running_loop()
            self._pending[room] = loop.call_later(self.interval, self._send_count, room)

    def _send_count(self, room: str) -> None:
        self._pending.pop(room, None)
        parsed = channels.parse(room)
        assert parsed is not None
        counts = (*self.stages.counts(room), self.stages.version(room))
        task = asyncio.create_task(self._publish_count(room, parsed[1], *counts))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish_count(
        self, room: str, webconference_id: int, presenters: int, viewers: int, version: int
    ) -> None:
        if self.tally is not None:
            try:
                figures = await self.tally(room, presenters, viewers, version)
            except Exception as exc:  # the broker away: this process's own figures
                log.warning("adding up the audience of %s failed: %s", room, exc)
            else:
                if figures is None:  # the room is another process's now: no count from here
                    return
                presenters, viewers, version = figures
        payload = {
            "webconference_id": webconference_id,
            "presenters": presenters,
            "viewers": viewers,
            "version": version,
        }
        await unit_of_work.publish(self.broadcast, [Event(room, "stage.count", payload)])

    async def _watch(self, room: str) -> None:
        """Follow the talk's channel while its room is open, to close it once over."""
        if room in self._watchers:
            return
        stack = AsyncExitStack()
        queue = await stack.enter_async_context(self.broadcast.subscribe(room))
        task = asyncio.create_task(self._follow(room, queue))
        self._watchers[room] = (stack, task)

    async def _unwatch(self, room: str) -> None:
        found = self._watchers.pop(room, None)
        if found is None:
            return
        stack, task = found
        if task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await stack.aclose()

    async def _follow(self, room: str, queue: asyncio.Queue[str]) -> None:
        while True:
            frame = json.loads(await queue.get())
            payload = frame[2] if isinstance(frame, list) and len(frame) == 3 else {}
            if payload.get("event") == "stage.state" and payload.get("state") in OVER:
                try:
                    await self.stages.end(room)  # which unwatches: this task ends here
                except Exception:
                    log.exception("closing the stage of %s failed", room)
                return
