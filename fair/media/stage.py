"""Media rooms: publishers send to this process, viewers receive from it.

A room is named by a string: `webconference:<id>` for a talk's stage, `interview:<id>` for an
interview call that goes through the server (the fallback when browser-to-browser media fails).
Each room holds one server-side RTCPeerConnection and one `ForwardingRelay` per publishing key
(a presenter's socket, or its screen share, `<socket>:screen`), and one RTCPeerConnection per
viewing key, fed by every relay published at the time it watches, except the viewer's own.

    stages = Stages(on_change=...)
    answer = await stages.publish(room, key, offer_sdp, info={"name": ..., "source": "camera"})
    offer, tracks = await stages.watch(room, key, max_viewers=300)  # our offer to a viewer
    await stages.answer(room, key, answer_sdp)                      # the viewer's answer
    await stages.leave(room, key)        # a socket leaves (its `key:*` publications too)
    await stages.end(room)               # the talk ended: close every connection
    await stages.close()                 # the process stops

The embedded default keeps one `Stages` in the web process (`app.state.stages`); with media
processes (`fair media`) each holds its own and `fair.media.remote` routes rooms to them, with
the same methods. Permissions are the callers' to check; this module only holds connections.
`on_change(room, presenters, viewers)` is awaited whenever those counts change (the live
viewer count, and viewers re-watching when a presenter arrives or leaves).

aiortc gathers its candidates before `setLocalDescription` returns, so every SDP carries them
(no trickle ICE). Codecs: VP8 and Opus (the relay forwards encoded frames unchanged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)

from fair import rooms
from fair.errors import Conflict
from fair.media.relay import CODECS, KINDS, ForwardingRelay

log = logging.getLogger("fair.media")

OnChange = Callable[[str, int, int], Awaitable[None]]  # (room, presenters, viewers)


@dataclass
class Presenter:
    pc: RTCPeerConnection
    relay: ForwardingRelay
    info: dict[str, Any]  # shown to viewers beside the tracks: name, source (camera, screen)


@dataclass
class Viewer:
    pc: RTCPeerConnection
    sources: list[str]  # the publishing keys it was fed when it watched


@dataclass
class Stage:
    room: str
    presenters: dict[str, Presenter] = field(default_factory=dict)  # by publishing key
    viewers: dict[str, Viewer] = field(default_factory=dict)  # by viewing key

    def pcs(self) -> list[RTCPeerConnection]:
        return [p.pc for p in self.presenters.values()] + [v.pc for v in self.viewers.values()]


class Stages:
    """The media rooms of this process."""

    def __init__(
        self,
        ice_servers: list[dict[str, Any]] | None = None,
        *,
        on_change: OnChange | None = None,
    ) -> None:
        self._ice_servers = ice_servers
        self._on_change = on_change
        self.stages: dict[str, Stage] = {}
        self._closing: dict[str, asyncio.Future[None]] = {}

    def counts(self, room: str) -> tuple[int, int]:
        """(presenters, viewers) in the room now."""
        stage = self.stages.get(room)
        return (len(stage.presenters), len(stage.viewers)) if stage else (0, 0)

    async def publish(
        self, room: str, key: str, sdp: str, *, info: dict[str, Any] | None = None
    ) -> str:
        """Take a publisher's offer (audio and video, or video alone for a screen); return the
        server's answer. The same key publishing again replaces its previous connection."""
        await self._drop_presenter(room, key)
        pc = self._pc()
        relay = ForwardingRelay()
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            for transceiver in pc.getTransceivers():
                if transceiver.kind in KINDS:
                    transceiver.setCodecPreferences(_codecs(transceiver.kind))
            relay.publish(pc)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await relay.close()
            await pc.close()
            raise Conflict(
                "This signal is not an offer, an answer or a candidate, or it is too large.",
                code="stage.bad_offer",
            ) from exc
        self._stage(room).presenters[key] = Presenter(pc, relay, dict(info or {}))
        await self._changed(room)
        return str(pc.localDescription.sdp)

    async def watch(
        self, room: str, key: str, *, max_viewers: int | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """A viewer's connection, fed by every publication in the room but its own: the
        server's offer, and what each of its tracks is ({mid, kind, key, info})."""
        stage = self.stages.get(room)
        sources = [k for k in stage.presenters if not _same(k, key)] if stage else []
        if stage is None or not sources:
            raise Conflict(
                "No presenter is on stage yet: try again in a moment.",
                code="stage.no_presenter",
            )
        if max_viewers is not None and key not in stage.viewers:
            if len(stage.viewers) >= max_viewers:
                raise Conflict(
                    "This webconference is full (%(count)s viewers): try again in a moment.",
                    code="stage.full",
                    params={"count": max_viewers},
                )
        await self._drop_viewer(stage, key)
        pc = self._pc()
        described: list[tuple[Any, str]] = []
        for source in sources:
            for sender in stage.presenters[source].relay.subscribe(pc):
                described.append((sender, source))
        stage.viewers[key] = Viewer(pc, sources)
        try:
            await pc.setLocalDescription(await pc.createOffer())
        except Exception as exc:  # the stage ended meanwhile (its connections closed)
            stage.viewers.pop(key, None)
            await pc.close()
            raise Conflict("This webconference has ended.", code="stage.ended") from exc
        await self._changed(room)
        return str(pc.localDescription.sdp), _tracks(pc, described, stage)

    async def answer(self, room: str, key: str, sdp: str) -> None:
        stage = self.stages.get(room)
        viewer = stage.viewers.get(key) if stage is not None else None
        if viewer is None or viewer.pc.signalingState != "have-local-offer":
            raise Conflict("Start watching before answering.", code="stage.not_watching")
        try:
            await viewer.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:
            raise Conflict(
                "This signal is not an offer, an answer or a candidate, or it is too large.",
                code="stage.bad_answer",
            ) from exc

    async def leave(self, room: str, key: str) -> bool:
        """Close this key's connections in the room, its `key:*` publications too; whether it
        had any."""
        stage = self.stages.get(room)
        if stage is None:
            return False
        mine = [k for k in stage.presenters if _same(k, key)]
        had = key in stage.viewers or bool(mine)
        await self._drop_viewer(stage, key)
        for published in mine:
            await self._drop_presenter(room, published)
        if not stage.presenters and not stage.viewers:
            self.stages.pop(room, None)
        if had:
            await self._changed(room)
        return had

    async def end(self, room: str) -> None:
        """The talk ended: close every connection of its room."""
        closing = self._closing.get(room)
        if closing is not None:  # another caller is closing it: done when that is
            await asyncio.shield(closing)
            return
        stage = self.stages.pop(room, None)
        if stage is None:
            return
        task = asyncio.ensure_future(_close(stage))
        self._closing[room] = task
        try:
            await asyncio.shield(task)
        finally:
            self._closing.pop(room, None)
        await self._changed(room)

    async def close(self) -> None:
        """The process stops: close every room."""
        for room in list(self.stages):
            await self.end(room)

    def _pc(self) -> RTCPeerConnection:
        servers = self._ice_servers
        if servers is None:  # STUN as set; TURN credentials for the server itself (user 0)
            servers = rooms.ice_servers(user_id=0)
        config = RTCConfiguration(iceServers=[RTCIceServer(**s) for s in servers])
        return RTCPeerConnection(config)

    def _stage(self, room: str) -> Stage:
        return self.stages.setdefault(room, Stage(room))

    async def _changed(self, room: str) -> None:
        if self._on_change is None:
            return
        try:
            await self._on_change(room, *self.counts(room))
        except Exception:  # a count is only news: never let it break a connection
            log.exception("reporting a media room's counts failed")

    async def _drop_viewer(self, stage: Stage, key: str) -> None:
        viewer = stage.viewers.pop(key, None)
        if viewer is None:
            return
        for presenter in stage.presenters.values():
            presenter.relay.unsubscribe(viewer.pc)
        await viewer.pc.close()

    async def _drop_presenter(self, room: str, key: str) -> None:
        stage = self.stages.get(room)
        presenter = stage.presenters.pop(key, None) if stage is not None else None
        if presenter is not None:
            await presenter.relay.close()
            await presenter.pc.close()


def _same(published: str, key: str) -> bool:
    """Whether a publishing key belongs to this socket key (itself or `key:<source>`)."""
    return published == key or published.startswith(f"{key}:")


def _tracks(
    pc: RTCPeerConnection, described: list[tuple[Any, str]], stage: Stage
) -> list[dict[str, Any]]:
    by_sender = {t.sender: t for t in pc.getTransceivers()}
    tracks = []
    for sender, source in described:
        transceiver = by_sender[sender]
        tracks.append(
            {
                "mid": transceiver.mid,
                "kind": transceiver.kind,
                "key": source,
                "info": stage.presenters[source].info,
            }
        )
    return tracks


async def _close(stage: Stage) -> None:
    for presenter in stage.presenters.values():
        await presenter.relay.close()
    for pc in stage.pcs():
        with contextlib.suppress(Exception):
            await pc.close()


def _codecs(kind: str) -> list[Any]:
    """What the relay forwards: VP8 (with RTX) or Opus, as the presenter must send it."""
    capabilities = RTCRtpReceiver.getCapabilities(kind)
    assert capabilities is not None
    wanted = [c for c in capabilities.codecs if c.mimeType.lower() == CODECS[kind].lower()]
    rtx = [c for c in capabilities.codecs if c.mimeType.lower() == f"{kind}/rtx"]
    return wanted + rtx
