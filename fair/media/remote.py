"""Web processes reach media rooms in `fair media` processes through Redis: `RemoteStages`
implements fair.media_rooms.MediaRooms, as fair.media.stage.Stages does, each method running
the same method of the room's process (`call`). Keys, pins and the RPC are described in
fair.media.broker.

    stages = RemoteStages(conf, broadcast)   # app.state.stages when FAIR_MEDIA_URL is set
    await stages.connect()           # and watches for media processes that die
    answer = await stages.publish(room, key, sdp, info=...)   # runs in the room's process
    await stages.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fair import media_rooms, unit_of_work
from fair.broadcast import Broadcaster
from fair.errors import Conflict
from fair.media.broker import (
    CALL_TIMEOUT,
    LIST_TTL,
    POP_TIMEOUT,
    PROCESS_FULL,
    ROOM_TTL,
    SCRIPTS,
    UNPINNED,
    WATCH_DEAD,
    Keys,
    decode_error,
    dumps,
    encode_error,
    open_redis,
    process_id,
    stop_loops,
    unavailable,
)
from fair.media_rooms import MediaRooms
from fair.settings import Settings, SettingsError

log = logging.getLogger("fair.media")


# The web side ----------------------------------------------------------------------------------


class RemoteStages(MediaRooms):
    """The media rooms of every `fair media` process, each call run in the room's process."""

    def __init__(self, conf: Settings, broadcast: Broadcaster, *, watch: bool = True) -> None:
        """`watch`: look for dead media processes (a web process; a media process calling
        another one does not)."""
        if not conf.media_url:
            raise SettingsError("FAIR_MEDIA_URL must be set to use media processes")
        self.url = conf.media_url
        self.broadcast = broadcast
        self.watching = watch
        self.cap = conf.media_viewers_per_process or None
        self._placed: dict[tuple[str, str], str] = {}  # (room, key) -> the leg it watches on
        self.keys = Keys(conf.media_namespace)
        self.id = process_id()
        self._redis: aioredis.Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._callee: dict[str, str] = {}  # request id -> the process it was sent to
        self._loops: list[asyncio.Task[None]] = []
        self._closing = False

    async def connect(self) -> None:
        self._redis = await open_redis(self.url)
        self._scripts = {name: self._redis.register_script(script) for name, script in SCRIPTS}
        self._loops = [asyncio.create_task(self._read_replies())]
        if self.watching:
            self._loops.append(asyncio.create_task(self._watch_dead()))

    async def close(self) -> None:
        self._closing = True
        await stop_loops(self._loops)
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_exception(unavailable())
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._redis.delete(self.keys.replies(self.id))
            await self._redis.aclose()
        self._redis = None
        self._loops = []

    # The media rooms (fair.media_rooms.MediaRooms), each run in the room's process.

    async def publish(
        self, room: str, key: str, sdp: str, *, info: dict[str, Any] | None = None
    ) -> str:
        answer: str = await self.call("publish", room, key, sdp, info=info)
        return answer

    async def unpublish(self, room: str, key: str) -> bool:
        unpublished: bool = await self.call("unpublish", room, key)
        return unpublished

    async def watch(
        self, room: str, key: str, *, max_viewers: int | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """At the room's process (its origin) up to `cap` viewers, then on a leg (see
        fair.media.broker, "Legs")."""
        leg = None
        try:
            offer, tracks = await self.call(
                "watch", room, key, max_viewers=max_viewers, cap=self.cap
            )
        except Conflict as exc:
            if exc.code != PROCESS_FULL:
                raise
            offer, tracks, leg = await self._spread(
                room, key, int(exc.params["version"]), max_viewers
            )
        before = self._placed.pop((room, key), None)
        if leg is not None:
            self._placed[room, key] = leg
        # It watched on another leg before: leave there, unless that process is the one that
        # serves it now (the origin died and the room moved to that leg), where the watch
        # just made replaced the old one.
        if before is not None and before != leg:
            if before != (leg or await self.owner(room, pin=False)):
                with contextlib.suppress(Conflict):
                    await self.call_on(before, "leave", room, key)
        return offer, tracks  # a JSON list on the way: a tuple again, as Stages.watch returns

    async def _spread(
        self, room: str, key: str, version: int, max_viewers: int | None
    ) -> tuple[str, list[dict[str, Any]], str | None]:
        """The origin serves `cap` viewers of the room already: watch on a live leg with room
        to spare (the room's legs first, then the least loaded process, which takes the room
        from the origin). When none can, the origin serves past its cap."""
        origin = await self.owner(room)
        assert origin is not None  # pinned by the watch that found it full
        if max_viewers is not None and await self.audience(room) >= max_viewers:
            raise Conflict(
                "This webconference is full (%(count)s viewers): try again in a moment.",
                code="stage.full",
                params={"count": max_viewers},
            )
        for leg in await self._leg_candidates(room, origin):
            where = {"origin": origin, "version": version, "cap": self.cap}
            try:
                offer, tracks = await self.call_on(leg, "watch_leg", room, key, **where)
            except Conflict as exc:
                if exc.code not in (PROCESS_FULL, "stage.unavailable"):
                    raise
                continue
            return offer, tracks, leg
        log.warning("media room %s: no process can take more viewers, its own serves them", room)
        offer, tracks = await self.call_on(origin, "watch", room, key, max_viewers=max_viewers)
        return offer, tracks, None

    async def _leg_candidates(self, room: str, origin: str) -> list[str]:
        """Live media processes but the origin: the room's legs, then the others, each by load."""
        redis = self._client()
        legs = {str(p) for p in await redis.smembers(self.keys.legs(room))}
        processes = [str(p) for p in await redis.zrange(self.keys.load, 0, -1)]
        async with redis.pipeline(transaction=False) as pipe:
            for process in processes:
                pipe.exists(self.keys.alive(process))
            alive = await pipe.execute()
        live = [p for p, up in zip(processes, alive, strict=True) if up and p != origin]
        return [p for p in live if p in legs] + [p for p in live if p not in legs]

    def leg(self, room: str, key: str) -> str | None:
        """The leg this process placed `key` on to watch `room`, None if at its origin."""
        return self._placed.get((room, key))

    async def audience(self, room: str) -> int:
        """The room's viewers over every live process serving it."""
        args = ["", 0, ROOM_TTL, self.keys.alive(), ""]
        _, viewers = await self._scripts["tally"](keys=[self.keys.audience(room)], args=args)
        return int(viewers)

    async def answer(self, room: str, key: str, sdp: str) -> None:
        leg = self._placed.get((room, key))
        await (
            self.call("answer", room, key, sdp)
            if leg is None
            else self.call_on(leg, "answer", room, key, sdp)
        )

    async def leave(self, room: str, key: str) -> bool:
        """Leave the room's origin (its publications, its viewing) and its leg, if any."""
        left = False
        leg = self._placed.pop((room, key), None)
        if leg is not None:
            with contextlib.suppress(Conflict):  # a dead leg: its connections are gone
                left = bool(await self.call_on(leg, "leave", room, key))
        return bool(await self.call("leave", room, key)) or left

    async def end(self, room: str) -> None:
        """End the room at its origin; its legs close with their upstream connections."""
        for placed in [p for p in self._placed if p[0] == room]:
            del self._placed[placed]
        await self.call("end", room)

    async def record(self, room: str, path: str) -> None:
        await self.call("record", room, path)

    async def stop_recording(self, room: str) -> dict[str, int]:
        written: dict[str, int] = await self.call("stop_recording", room)
        return written

    async def call(self, method: str, room: str, *args: Any, **kwargs: Any) -> Any:
        """Run `Stages.<method>(room, *args, **kwargs)` in the room's media process."""
        return await self._call(None, method, room, list(args), kwargs)

    async def call_on(self, process: str, method: str, room: str, *args: Any, **kwargs: Any) -> Any:
        """Run `Stages.<method>(room, *args, **kwargs)` in this media process (a leg)."""
        return await self._call(process, method, room, list(args), kwargs)

    async def _call(
        self, process: str | None, method: str, room: str, args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        request_id = uuid.uuid4().hex
        waiting = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiting
        request = {
            "id": request_id,
            "reply_to": self.id,
            "method": method,
            "args": [room, *args],
            "kwargs": kwargs,
            "expires": time.time() + CALL_TIMEOUT,
        }
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CALL_TIMEOUT
        try:
            async with asyncio.timeout_at(deadline):
                if process is None:
                    process = await self.owner(room, pin=method not in UNPINNED)
                if process is None:
                    return UNPINNED[method]
                self._callee[request_id] = process
                await self._push(self.keys.requests(process), dumps(request))
            # Waiting needs no cancellation (which redis-py can lose, see open_redis).
            await asyncio.wait({waiting}, timeout=max(deadline - loop.time(), 0))
            if not waiting.done():
                raise TimeoutError
            reply = waiting.result()
        except TimeoutError:
            log.warning("no reply to %s on %s within %s s", method, room, CALL_TIMEOUT)
            raise unavailable(reported=True) from None
        except (RedisError, OSError) as exc:
            log.warning("media broker unreachable for %s on %s: %s", method, room, exc)
            raise unavailable(reported=True) from exc
        finally:
            self._waiting.pop(request_id, None)
            self._callee.pop(request_id, None)
        if "error" in reply:
            raise decode_error(reply["error"])
        return reply.get("result")

    async def owner(self, room: str, *, pin: bool = True) -> str | None:
        """The live process `room` is pinned to, pinning it first if need be (else None)."""
        redis = self._client()
        key = self.keys.room(room)
        for _ in range(3):  # another web process may pin it, or its process die, meanwhile
            found = await redis.get(key)
            dead: list[str] = []  # the process it is pinned to, dead: it moves from there
            if found is not None:
                pinned = str(found)
                if await redis.exists(self.keys.alive(pinned)):
                    return pinned
                log.warning("media room %s was in %s, which stopped", room, pinned)
                dead = [pinned]
            if not pin:  # a dead pin stays for the move, which tells the talk
                return None
            chosen = await self.least_loaded(bury=False)
            if chosen is None:
                raise unavailable()
            keys = [key, self.keys.load, self.keys.rooms(chosen)]
            if await self._scripts["pin"](keys=keys, args=[chosen, ROOM_TTL, room, *dead]):
                if dead:
                    await self._tell_moved(room, chosen)
                return chosen
        raise unavailable()

    async def _tell_moved(self, room: str, process: str, *, leg: bool = False) -> None:
        """Tell the room's people (fair.media_rooms.moved): their pages publish and watch again
        at once (with `leg`, a leg of a talk died: they watch again)."""
        log.warning("media room %s moved to %s", room, process)
        event = media_rooms.moved(room, leg=leg)
        if event is not None:
            await unit_of_work.publish(self.broadcast, [event])

    async def alive(self) -> bool:
        return await self.least_loaded(bury=False) is not None

    async def least_loaded(self, *, bury: bool = True) -> str | None:
        """The live media process holding the fewest rooms. With `bury`, the look for dead
        processes (every WATCH_DEAD seconds): moves their rooms to live ones, then forgets them."""
        redis = self._client()
        processes = [str(p) for p in await redis.zrange(self.keys.load, 0, -1)]  # fewest first
        if not processes:
            return None
        async with redis.pipeline(transaction=False) as pipe:
            for process in processes:
                pipe.exists(self.keys.alive(process))
            alive = await pipe.execute()
        dead = [p for p, up in zip(processes, alive, strict=True) if not up]
        if dead and bury:  # else left for the look for dead ones, which moves their rooms
            buried = await self._bury(dead)
            if buried:
                await redis.zrem(self.keys.load, *buried)
        return next((p for p, up in zip(processes, alive, strict=True) if up), None)

    async def _bury(self, dead: list[str]) -> list[str]:
        """Move the rooms of dead processes to live ones (the web process that moves a room
        tells its talk: `stage.moved`); the dead processes whose rooms all moved."""
        redis = self._client()
        buried: list[str] = []
        for process in dead:
            await self._bury_legs(process)
            for room in sorted(await redis.smembers(self.keys.rooms(process))):
                try:
                    await self.owner(str(room))
                except Conflict:  # no live process: tried again at the next look
                    return buried
            buried.append(process)
        return buried

    async def _bury_legs(self, dead: str) -> None:
        """The rooms a dead process was a leg of: their viewers there watch again (the web
        process that takes it out of a room's legs tells the talk)."""
        redis = self._client()
        for room in sorted(await redis.smembers(self.keys.serving(dead))):
            if await redis.srem(self.keys.legs(str(room)), dead):
                await self._tell_moved(str(room), f"legs other than {dead}", leg=True)
        await redis.delete(self.keys.serving(dead))

    async def _fail_calls_to_dead(self) -> None:
        """Fail at once the calls waiting on a process that died (another web process may
        have moved its rooms already), rather than after CALL_TIMEOUT."""
        callees = sorted(set(self._callee.values()))
        if not callees:
            return
        async with self._client().pipeline(transaction=False) as pipe:
            for process in callees:
                pipe.exists(self.keys.alive(process))
            alive = await pipe.execute()
        dead = {p for p, up in zip(callees, alive, strict=True) if not up}
        for request_id, process in list(self._callee.items()):
            waiting = self._waiting.get(request_id)
            if process in dead and waiting is not None and not waiting.done():
                waiting.set_result({"id": request_id, "error": encode_error(unavailable())})

    async def _watch_dead(self) -> None:
        """Look for dead media processes every WATCH_DEAD seconds."""
        while not self._closing:
            await asyncio.sleep(WATCH_DEAD)
            try:
                async with asyncio.timeout(CALL_TIMEOUT):
                    await self.least_loaded()
                    await self._fail_calls_to_dead()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: tried again next time
                log.warning("watching media processes failed: %s", exc)

    async def _push(self, key: str, message: str) -> None:
        async with self._client().pipeline(transaction=False) as pipe:
            pipe.rpush(key, message)
            pipe.expire(key, LIST_TTL)
            await pipe.execute()

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            raise unavailable()
        return self._redis

    async def _read_replies(self) -> None:
        key = self.keys.replies(self.id)
        while not self._closing:
            try:
                popped = await self._client().blpop([key], timeout=POP_TIMEOUT)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: calls time out meanwhile
                log.warning("reading media replies failed: %s", exc)
                await asyncio.sleep(1)
                continue
            if popped is not None:
                self._resolve(str(popped[1]))

    def _resolve(self, raw: str) -> None:
        try:
            reply = json.loads(raw)
            waiting = self._waiting.get(reply["id"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed media reply")
            return
        if waiting is not None and not waiting.done():  # else: it timed out already
            waiting.set_result(reply)
