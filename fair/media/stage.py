"""Webconference stages: presenters publish to this process, viewers receive from it.

The embedded default runs one process, so the registry is in memory (`app.state.stages`,
opened and closed by the app's lifespan). Each stage, keyed by webconference id, holds one
server-side RTCPeerConnection and one `ForwardingRelay` per presenter socket, and one
RTCPeerConnection per viewer socket, fed by every presenter's relay at the time it watches.

    stages = Stages()
    answer = await stages.publish(wid, key, offer_sdp)   # presenter's offer -> our answer
    offer = await stages.watch(wid, key)                 # our offer to a viewer
    await stages.answer(wid, key, answer_sdp)            # the viewer's answer
    await stages.leave(wid, key)                         # a socket leaves (or closes)
    await stages.end(wid)                                # the talk ended: close every pc
    await stages.close()                                 # the app stops

Permissions are the caller's (fair.live.socket) to check; this module only holds connections.
aiortc gathers its candidates before `setLocalDescription` returns, so every SDP carries them
(no trickle ICE). Codecs: VP8 and Opus (the relay forwards encoded frames unchanged).
"""

from __future__ import annotations

import contextlib
import logging
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


@dataclass
class Presenter:
    pc: RTCPeerConnection
    relay: ForwardingRelay


@dataclass
class Stage:
    webconference_id: int
    presenters: dict[str, Presenter] = field(default_factory=dict)  # by socket key
    viewers: dict[str, RTCPeerConnection] = field(default_factory=dict)

    def pcs(self) -> list[RTCPeerConnection]:
        return [p.pc for p in self.presenters.values()] + list(self.viewers.values())


class Stages:
    """The live stages of this process."""

    def __init__(self, ice_servers: list[dict[str, Any]] | None = None) -> None:
        self._ice_servers = ice_servers
        self.stages: dict[int, Stage] = {}

    def _pc(self) -> RTCPeerConnection:
        servers = self._ice_servers
        if servers is None:  # STUN as set; TURN credentials for the server itself (user 0)
            servers = rooms.ice_servers(user_id=0)
        config = RTCConfiguration(iceServers=[RTCIceServer(**s) for s in servers])
        return RTCPeerConnection(config)

    def _stage(self, webconference_id: int) -> Stage:
        return self.stages.setdefault(webconference_id, Stage(webconference_id))

    async def publish(self, webconference_id: int, key: str, sdp: str) -> str:
        """Take a presenter's offer (audio and video); return the server's answer. The same
        socket publishing again replaces its previous connection."""
        await self._drop_presenter(webconference_id, key)
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
        self._stage(webconference_id).presenters[key] = Presenter(pc, relay)
        return str(pc.localDescription.sdp)

    async def watch(self, webconference_id: int, key: str) -> str:
        """A viewer's connection, fed by every presenter publishing now: the server's offer."""
        stage = self.stages.get(webconference_id)
        if stage is None or not stage.presenters:
            raise Conflict(
                "No presenter is on stage yet: try again in a moment.",
                code="stage.no_presenter",
            )
        await self._drop_viewer(stage, key)
        pc = self._pc()
        for presenter in stage.presenters.values():
            presenter.relay.subscribe(pc)
        stage.viewers[key] = pc
        try:
            await pc.setLocalDescription(await pc.createOffer())
        except Exception as exc:  # the stage ended meanwhile (its connections closed)
            await pc.close()
            raise Conflict("This webconference has ended.", code="stage.ended") from exc
        return str(pc.localDescription.sdp)

    async def answer(self, webconference_id: int, key: str, sdp: str) -> None:
        stage = self.stages.get(webconference_id)
        pc = stage.viewers.get(key) if stage is not None else None
        if pc is None or pc.signalingState != "have-local-offer":
            raise Conflict("Start watching before answering.", code="stage.not_watching")
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:
            raise Conflict(
                "This signal is not an offer, an answer or a candidate, or it is too large.",
                code="stage.bad_answer",
            ) from exc

    async def leave(self, webconference_id: int, key: str) -> bool:
        """Close this socket's connections on the stage; whether it had any."""
        stage = self.stages.get(webconference_id)
        if stage is None:
            return False
        had = key in stage.viewers or key in stage.presenters
        await self._drop_viewer(stage, key)
        await self._drop_presenter(webconference_id, key)
        if not stage.presenters and not stage.viewers:
            self.stages.pop(webconference_id, None)
        return had

    async def end(self, webconference_id: int) -> None:
        """The talk ended: close every connection of its stage."""
        stage = self.stages.pop(webconference_id, None)
        if stage is not None:
            await _close(stage)

    async def close(self) -> None:
        """The app stops: close every stage."""
        for webconference_id in list(self.stages):
            await self.end(webconference_id)

    async def _drop_viewer(self, stage: Stage, key: str) -> None:
        pc = stage.viewers.pop(key, None)
        if pc is None:
            return
        for presenter in stage.presenters.values():
            presenter.relay.unsubscribe(pc)
        await pc.close()

    async def _drop_presenter(self, webconference_id: int, key: str) -> None:
        stage = self.stages.get(webconference_id)
        presenter = stage.presenters.pop(key, None) if stage is not None else None
        if presenter is not None:
            await presenter.relay.close()
            await presenter.pc.close()


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
