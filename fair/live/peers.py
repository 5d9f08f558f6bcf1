"""What the two-person calls share (interview rooms, fair.live.room_commands; booth
conversations by video, fair.live.call_commands): `Call`, the signalling and media-relay
commands both run the same way once each says how its person is checked, and `relay`, a call's
frames relayed to one socket.

A call is named by a prefix ("room", "call": its events are `<prefix>.signal`, `.peer`,
`.relay`), the payload key of its id, its channel and its media room; each socket keeps the
calls it joined in a dict of its own (`conn.rooms`, `conn.calls`) whose values give its role.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fair import media_rooms, unit_of_work
from fair.errors import Conflict, FairError
from fair.events import Event
from fair.live import payloads

if TYPE_CHECKING:
    from fair.live.socket import Connection

log = logging.getLogger("fair.live")


async def relay(
    conn: Connection,
    queue: asyncio.Queue[str],
    *,
    joined: str,
    present: Callable[[], bool],
    here: Callable[[Any], Awaitable[None]],
) -> None:
    """Relay the call's frames, except this socket's own and those meant for another socket;
    answer another person's arrival (a `joined` event, e.g. "room.peer") with `here(to)` while
    this socket is `present` in the call, so that they know who is in it."""
    while True:
        text = await queue.get()
        data = payloads.event_payload(text)
        if data.get("from") == conn.connection_id or data.get("to") not in (
            None,
            conn.connection_id,
        ):
            continue
        if (
            data.get("event") == joined
            and data.get("state") == "joined"
            and present()
            and conn.user is not None
            and data.get("user_id") != conn.user.id
        ):
            await here(data.get("from"))
        conn.push(text)


@dataclass(frozen=True)
class Call:
    """One kind of two-person call: what its commands share.

    `joined(conn)` is the socket's dict of joined calls, `role(value)` the role one of its values
    gives; `check(conn, id, video)` raises unless this socket may exchange media in the call now
    (joined, checked again in the database; `video` when it must run by video) and returns the
    role; `ticket(conn, id)` raises unless the socket joined the call (no database read).
    """

    prefix: str
    key: str
    channel: Callable[[int], str]
    media_room: Callable[[int], str]
    joined: Callable[[Connection], dict[int, Any]]
    role: Callable[[Any], str]
    check: Callable[[Connection, int, bool], Awaitable[str]]
    ticket: Callable[[Connection, int], object]
    what: str  # for logs: "an interview", "a conversation"

    # Commands ---------------------------------------------------------------------------------

    async def signal(self, conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
        call_id = payloads.integer(payload, self.key)
        data, to = payloads.signal(payload), payloads.text(payload, "to")
        await self.check(conn, call_id, False)
        await self.publish(conn, call_id, f"{self.prefix}.signal", to=to, data=data)
        return {self.key: call_id}

    async def relay_publish(self, conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
        """Send this socket's camera and microphone to the relay; the other person hears
        `<prefix>.relay` `published`, and watches."""
        call_id, sdp = payloads.integer(payload, self.key), payloads.sdp(payload, "offer")
        role = await self.check(conn, call_id, True)
        room = self.media_room(call_id)
        conn.media_rooms.add(room)
        answer = await conn.media().publish(room, conn.connection_id, sdp, info={"role": role})
        await self.publish(conn, call_id, f"{self.prefix}.relay", state="published", role=role)
        return {self.key: call_id, "type": "answer", "sdp": answer}

    async def relay_watch(self, conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
        """The relay's offer of what the other person publishes (watching again replaces it)."""
        call_id = payloads.integer(payload, self.key)
        await self.check(conn, call_id, True)
        room = self.media_room(call_id)
        conn.media_rooms.add(room)
        try:
            offer, tracks = await conn.media().watch(room, conn.connection_id)
        except FairError as exc:
            if exc.code != "stage.no_presenter":
                raise
            raise Conflict(
                "The other person sends no sound or picture through the server yet.",
                code=f"{self.prefix}.relay_empty",
            ) from None
        return {self.key: call_id, "type": "offer", "sdp": offer, "tracks": tracks}

    async def relay_answer(self, conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
        call_id, sdp = payloads.integer(payload, self.key), payloads.sdp(payload, "answer")
        await self.check(conn, call_id, False)
        await conn.media().answer(self.media_room(call_id), conn.connection_id, sdp)
        return {self.key: call_id}

    async def relay_leave(self, conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
        call_id = payloads.integer(payload, self.key)
        self.ticket(conn, call_id)
        return {self.key: call_id, "left": await self._relay_leave(conn, call_id)}

    async def leave(self, conn: Connection, payload: dict[str, Any]) -> dict[str, Any]:
        call_id = payloads.integer(payload, self.key)
        conn.me()
        return {self.key: call_id, "left": await self._leave(conn, call_id)}

    def actions(self) -> dict[str, Callable[[Connection, dict[str, Any]], Awaitable[Any]]]:
        """The shared commands by name (`<prefix>.signal`, `.leave`, `.relay_*`)."""
        return {
            f"{self.prefix}.signal": self.signal,
            f"{self.prefix}.leave": self.leave,
            f"{self.prefix}.relay_publish": self.relay_publish,
            f"{self.prefix}.relay_watch": self.relay_watch,
            f"{self.prefix}.relay_answer": self.relay_answer,
            f"{self.prefix}.relay_leave": self.relay_leave,
        }

    # Joining and leaving ---------------------------------------------------------------------

    async def follow(self, conn: Connection, call_id: int) -> None:
        """Follow the call's channel through `relay` (replacing a plain subscription)."""
        channel = self.channel(call_id)
        if call_id in self.joined(conn) and channel in conn.subscriptions:
            return
        await conn.unsubscribe_channel(channel)
        await conn.follow(channel, lambda queue: self._forward(conn, queue, call_id))

    async def _forward(self, conn: Connection, queue: asyncio.Queue[str], call_id: int) -> None:
        await relay(
            conn,
            queue,
            joined=f"{self.prefix}.peer",
            present=lambda: call_id in self.joined(conn),
            here=lambda to: self.peer(conn, call_id, "here", to=to),
        )

    async def peer(
        self, conn: Connection, call_id: int, state: str, *, to: Any = None, session: Any = None
    ) -> None:
        """Tell the other person this socket's `state` in the call ("joined", "here", "left")."""
        role = self.role(self.joined(conn)[call_id])
        user_id = conn.user.id if conn.user is not None else None
        fields = {"state": state, "role": role, "user_id": user_id, "session": session}
        await self.publish(conn, call_id, f"{self.prefix}.peer", to=to, **fields)

    async def publish(self, conn: Connection, call_id: int, event: str, **fields: Any) -> None:
        payload = {self.key: call_id, "from": conn.connection_id, **fields}
        await unit_of_work.publish(conn.broadcast, [Event(self.channel(call_id), event, payload)])

    async def _relay_leave(self, conn: Connection, call_id: int) -> bool:
        """Close this socket's relay connections in the call; the other hears `.relay` `left`."""
        room = self.media_room(call_id)
        if room not in conn.media_rooms:
            return False
        conn.media_rooms.discard(room)
        left = bool(await conn.media().leave(room, conn.connection_id))
        # Said even when the media process let go first (the page closed its connections before
        # this command): the other person must hear that this one left the relay.
        role = self.role(self.joined(conn)[call_id])
        await self.publish(conn, call_id, f"{self.prefix}.relay", state="left", role=role)
        return left

    async def _leave(self, conn: Connection, call_id: int) -> bool:
        joined = self.joined(conn)
        if call_id not in joined:
            return False
        try:
            await self._relay_leave(conn, call_id)
        except Exception as exc:  # no media process answers: leaving must still work
            media_rooms.report(log, exc, f"leaving {self.what}'s media relay")
        await self.peer(conn, call_id, "left")
        del joined[call_id]
        await conn.unsubscribe_channel(self.channel(call_id))
        return True

    async def leave_all(self, conn: Connection) -> None:
        """The socket closes: the other person hears it left (a reload joins again); its relay
        connections close."""
        for call_id in list(self.joined(conn)):
            try:
                await self._leave(conn, call_id)
            except Exception as exc:  # the database or the media processes out of reach
                media_rooms.report(log, exc, f"leaving {self.what}'s call")
