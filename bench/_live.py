"""A /live socket for the benchmarks: each command's round trip timed and handed to a recorder,
and only the events someone waits for kept (a socket following busy channels for an hour must
hold nothing it was not asked for). tests/sockets.py's `Client` keeps every event instead: right
for a test, a leak in a soak."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import websockets

# What a command's round trip is handed to: the action, when it began (time.time()), how long it
# took (seconds), and what went wrong (None when it succeeded).
Recorder = Callable[[str, float, float, str | None], None]
# What is shown every event while set (`Live.seen`): its channel and its payload.
Seen = Callable[[str, dict[str, Any]], None]


class Live:
    def __init__(self, ws: Any, record: Recorder) -> None:
        self.ws, self.record = ws, record
        self.next_id = 0
        self.replies: dict[int, asyncio.Future[list[Any]]] = {}
        self.waiters: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = []
        self.seen: Seen | None = None  # shown every event while set (a journal of what came)
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, base: str, cookie: str, record: Recorder) -> Live:
        """A socket of the user whose session `cookie` names, on the server at `base`."""
        ws = await websockets.connect(
            base.replace("http://", "ws://") + "/live",
            additional_headers={"Cookie": f"fair_session={cookie}"},
            origin=base,  # type: ignore[arg-type]
            open_timeout=120,
            max_size=None,
        )
        return cls(ws, record)

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame[0] == "event":
                    if self.seen is not None:
                        self.seen(frame[1], frame[2])
                    self._deliver(frame[2])
                elif (waiting := self.replies.pop(frame[1], None)) is not None:
                    if not waiting.done():
                        waiting.set_result(frame)

    def _deliver(self, event: dict[str, Any]) -> None:
        kept = []
        for wanted, future in self.waiters:
            if future.done():
                continue
            if wanted.items() <= event.items():
                future.set_result(event)
            else:
                kept.append((wanted, future))
        self.waiters = kept

    def watch(self, **wanted: Any) -> asyncio.Future[dict[str, Any]]:
        """The next event whose fields include `wanted`, from now on (cancel it to stop)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters.append((wanted, future))
        return future

    async def call(self, action: str, payload: dict[str, Any], wait: float = 60.0) -> list[Any]:
        """Send a command and wait for its reply (`["timeout", id, {}]` after `wait` s); the
        round trip is recorded, an error reply or a timeout as an error."""
        self.next_id += 1
        waiting: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self.replies[self.next_id] = waiting
        began, started = time.time(), time.monotonic()
        try:
            await self.ws.send(json.dumps([action, self.next_id, payload]))
            frame = await asyncio.wait_for(waiting, wait)
        except (TimeoutError, websockets.ConnectionClosed) as exc:
            self.replies.pop(self.next_id, None)
            frame = ["timeout", self.next_id, {"code": type(exc).__name__}]
        seconds = time.monotonic() - started
        error = None if frame[0] == "success" else f"{action}: {frame[0]} {frame[2].get('code')}"
        self.record(action, began, seconds, error)
        return frame

    @property
    def closed(self) -> bool:
        return self.reader.done()

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader
