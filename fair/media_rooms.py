"""What boundaries and the domain ask of the media rooms (webconference stages, interview calls
through the server), whichever backend holds them.

Two backends implement `MediaRooms`: fair.media.stage.Stages, the rooms of this process (the
embedded default), and fair.media.remote.RemoteStages, which runs each call in the `fair media`
process holding the room (FAIR_MEDIA_URL). The app puts one of them in its state
(fair.app_state.AppState.stages); the live socket's stage and room commands, the web routes
that end a talk or change its recording, and the recordings of fair.webconferences call it.

The Protocol lives here, below the boundaries, because web/ and live/ must not import media/
(nor the domain any boundary): they depend on this description, media/ implements it, and only
fair/app.py picks the backend. Permissions are the callers' to check; rooms only hold
connections. A room is named by a string (`webconference:<id>`, `interview:<id>`); a key is a
socket's connection id (or `<id>:screen` for its screen share).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from fair import channels, db
from fair.errors import FairError, MediaUnavailable
from fair.events import Event

INTERVIEW = "interview"
CONVERSATION = "conversation"


def interview_room(interview_id: int) -> str:
    """An interview's call through the relay (fair.live.room_commands); not a channel."""
    return f"{INTERVIEW}:{interview_id}"


def conversation_room(conversation_id: int) -> str:
    """A booth conversation's video call through the relay (fair.live.call_commands)."""
    return f"{CONVERSATION}:{conversation_id}"


def report(log: logging.Logger, exc: BaseException, what: str) -> str | None:
    """`fair.db.report` for work that reaches the media processes as well as the database: log
    `exc`, which stopped `what`, once, and return the outage's code (None for a defect).

    No media process answering (`stage.unavailable`: their Redis out of reach, none alive, no
    reply in time) is an outage, expected while one restarts: one warning line with the
    request id (fair.logs), no traceback; none more when the media client logged it as it
    gave up (fair.media.remote: MediaUnavailable.reported). The database's outage and defects
    as fair.db.report says."""
    if isinstance(exc, FairError) and exc.code == MediaUnavailable.code:
        if not (isinstance(exc, MediaUnavailable) and exc.reported):
            log.warning("%s: media unavailable: %s", what, exc.message)
        return exc.code
    return db.report(log, exc, what)


def moved(room: str, *, leg: bool = False) -> Event | None:
    """What the people of `room` hear once it moved to another media process (its own died):
    a talk's pages `stage.moved` on its channel (with `leg`, one leg of the talk died: its
    viewers watch again, its presenters need not publish); the two people of a relayed call
    `room.relay` (an interview) or `call.relay` (a booth conversation) with state `moved` on
    its channel. Each page then publishes and watches again at once, rather than after its ICE
    times out."""
    kind, _, ident = room.partition(":")
    if not ident.isdigit():
        return None
    if kind == channels.WEBCONFERENCE:
        payload: dict[str, Any] = {"webconference_id": int(ident)}
        if leg:
            payload["leg"] = True
        return Event(room, "stage.moved", payload)
    if kind == INTERVIEW:
        payload = {"interview_id": int(ident), "state": "moved"}
        return Event(channels.room(int(ident)), "room.relay", payload)
    if kind == CONVERSATION:
        payload = {"conversation_id": int(ident), "state": "moved"}
        return Event(channels.call(int(ident)), "call.relay", payload)
    return None


class MediaRooms(Protocol):
    """The media rooms' calls (fair.media.stage.Stages documents what each does)."""

    async def publish(
        self, room: str, key: str, sdp: str, *, info: dict[str, Any] | None = None
    ) -> str:
        """Take a publisher's offer; the server's answer."""
        ...

    async def unpublish(self, room: str, key: str) -> bool:
        """Close this one publication; whether it was there."""
        ...

    async def watch(
        self, room: str, key: str, *, max_viewers: int | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """A viewer's connection: the server's offer and what each of its tracks is."""
        ...

    async def answer(self, room: str, key: str, sdp: str) -> None:
        """A viewer's answer to the offer `watch` made."""
        ...

    async def leave(self, room: str, key: str) -> bool:
        """Close this key's connections in the room; whether it had any."""
        ...

    async def alive(self) -> bool:
        """Whether rooms can be served now (the readiness check): always in this process;
        with `fair media` processes, whether one of them is alive."""
        return True

    async def end(self, room: str) -> None:
        """The talk ended: close every connection of its room, and its recording's file."""
        ...

    async def record(self, room: str, path: str) -> None:
        """Record the room's first camera publication to a new WebM file at `path`."""
        ...

    async def stop_recording(self, room: str) -> dict[str, int]:
        """Close the room's recording: {"bytes", "seconds"} of its file."""
        ...
