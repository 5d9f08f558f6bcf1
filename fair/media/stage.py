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
    await stages.record(room, path)      # record its camera to a WebM file (fair.media.recorder)
    await stages.stop_recording(room)    # {"bytes": ..., "seconds": ...}
    await stages.end(room)               # the talk ended: close every connection
    await stages.close()                 # the process stops

`Stages` implements fair.media_rooms.MediaRooms. The embedded default keeps one in the web
process (`app.state.stages`); with media processes (`fair media`) each holds its own and
`fair.media.remote.RemoteStages`, the other implementation, routes rooms to them. Permissions
are the callers' to check; this module only holds connections. `on_change(room, presenters,
viewers)` is awaited whenever those counts change (the live viewer count, and viewers
re-watching when a presenter arrives or leaves).

Recording: a room records one file at a time, of its first camera publication (audio and video;
screen shares are not recorded). When that publication is replaced or leaves, the recorder stops
taking its frames and follows the room's next first camera publication, if any, in the same file
(a still picture and silence while there is none). `end` stops the recording too, and keeps its
result for `stop_recording`, which the talk's end may call after the room is gone.

aiortc gathers its candidates before `setLocalDescription` returns, so every SDP carries them
(no trickle ICE). Codecs: VP8 and Opus (the relay forwards encoded frames unchanged). Creating
`Stages` installs fair.media.consent: this process's peers keep ICE consent as browsers do (a
peer answering late for a while is not cut).
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
    RTCSessionDescription,
)

from fair import ice, metrics
from fair.errors import Conflict
from fair.media import consent
from fair.media.broker import LEG, PROCESS_FULL
from fair.media.recorder import Recorder
from fair.media.relay import KINDS, ForwardingRelay, codecs
from fair.media_rooms import MediaRooms

log = logging.getLogger("fair.media")

OnChange = Callable[[str, int, int], Awaitable[None]]  # (room, presenters, viewers)
OnUnlink = Callable[[str, "Upstream"], Awaitable[None]]  # (room, the upstream it closed)


@dataclass
class Presenter:
    pc: RTCPeerConnection
    relay: ForwardingRelay
    info: dict[str, Any]  # shown to viewers beside the tracks: name, source (camera, screen)


@dataclass
class Viewer:
    pc: RTCPeerConnection


@dataclass
class Recording:
    recorder: Recorder
    key: str | None = None  # the publication it records now


@dataclass
class Upstream:
    """A leg's connection to the room's process (the origin), where it watches as `key`."""

    origin: str
    version: int  # the origin's version of the room when this leg took it
    key: str
    pc: RTCPeerConnection


@dataclass
class Stage:
    room: str
    presenters: dict[str, Presenter] = field(default_factory=dict)  # by publishing key
    viewers: dict[str, Viewer] = field(default_factory=dict)  # by viewing key
    recording: Recording | None = None
    upstream: Upstream | None = None  # a leg's: its presenters are the origin's, relayed

    def audience(self) -> int:
        return sum(1 for key in self.viewers if not key.startswith(LEG))

    def pcs(self) -> list[RTCPeerConnection]:
        return [p.pc for p in self.presenters.values()] + [v.pc for v in self.viewers.values()]


class Stages(MediaRooms):
    """The media rooms of this process."""

    def __init__(
        self,
        ice_servers: list[dict[str, Any]] | None = None,
        *,
        on_change: OnChange | None = None,
        on_unlink: OnUnlink | None = None,
    ) -> None:
        self._ice_servers = ice_servers
        self._on_change = on_change
        self._on_unlink = on_unlink
        self.stages: dict[str, Stage] = {}
        self._closing: dict[str, asyncio.Future[None]] = {}
        self._versions: dict[str, int] = {}
        self._recorded: dict[str, asyncio.Future[tuple[int, int]]] = {}  # stopped, by room
        consent.install()  # our peers keep ICE consent as browsers do (fair.media.consent)

    def counts(self, room: str) -> tuple[int, int]:
        """(presenters, viewers) in the room now; other media processes are not viewers."""
        stage = self.stages.get(room)
        return (len(stage.presenters), stage.audience()) if stage else (0, 0)

    def upstream(self, room: str) -> Upstream | None:
        """Where this process takes the room from, when it is a leg of it (`take`)."""
        stage = self.stages.get(room)
        return stage.upstream if stage is not None else None

    def version(self, room: str) -> int:
        """Raised on every publication and withdrawal in the room (in this process): viewers
        watch again when it changes, even if the count stays (a presenter reloading)."""
        return self._versions.get(room, 0)

    async def unpublish(self, room: str, key: str) -> bool:
        """Close this one publication (a screen share that stops); whether it was there."""
        stage = self.stages.get(room)
        if stage is None or key not in stage.presenters:
            return False
        await self._drop_presenter(room, key)
        self._forget_if_empty(room)
        await self._changed(room)
        return True

    async def publish(
        self, room: str, key: str, sdp: str, *, info: dict[str, Any] | None = None
    ) -> str:
        """Take a publisher's offer (audio and video, or video alone for a screen); return the
        server's answer. The same key publishing again replaces its previous connection. A
        leg of the room becomes its origin (the one before died)."""
        await self._unlink(room)
        await self._drop_presenter(room, key)
        pc = self._pc()
        relay = ForwardingRelay()
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            for transceiver in pc.getTransceivers():
                if transceiver.kind in KINDS:
                    transceiver.setCodecPreferences(codecs(transceiver.kind))
            relay.publish(pc)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await relay.close()
            await pc.close()
            raise Conflict(
                "This signal is not an offer, an answer or a candidate, or it is too large.",
                code="stage.bad_offer",
            ) from exc
        presenter = Presenter(pc, relay, dict(info or {}))
        self._stage(room).presenters[key] = presenter
        self._versions[room] = self.version(room) + 1
        self._follow(room)

        # The presenter's side closed its connection, or its network went away (ICE consent
        # lost): take the publication off the stage, so that viewers watch again instead of
        # freezing on a dead connection. (Our own closes pop the presenter first.)
        @pc.on("connectionstatechange")
        async def _lost() -> None:
            stage = self.stages.get(room)
            mine = stage is not None and stage.presenters.get(key) is presenter
            if pc.connectionState in ("closed", "failed") and mine:
                await self.unpublish(room, key)

        await self._changed(room)
        return str(pc.localDescription.sdp)

    async def watch(
        self, room: str, key: str, *, max_viewers: int | None = None, cap: int | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """A viewer's connection, fed by every publication in the room but its own: the
        server's offer, and what each of its tracks is ({mid, kind, key, info}). Past `cap`
        viewers in this process (legs not counted): Conflict `stage.process_full` with the
        room's `version` (media processes spread the talk then, fair.media.remote)."""
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
        if cap is not None and key not in stage.viewers and not key.startswith(LEG):
            if stage.audience() >= cap:
                raise Conflict(
                    "This media process serves as many viewers of this talk as it may.",
                    code=PROCESS_FULL,
                    params={"version": self.version(room)},
                )
        await self._drop_viewer(stage, key)
        pc = self._pc()
        described: list[tuple[Any, str, Any]] = []  # read now: a presenter may leave meanwhile
        for source in sources:
            presenter = stage.presenters[source]
            for sender in presenter.relay.subscribe(pc):
                described.append((sender, source, presenter.info))
        viewer = stage.viewers[key] = Viewer(pc)

        # The viewer's browser closed its connection or vanished (its web process too, maybe):
        # free its place and its count.
        @pc.on("connectionstatechange")
        async def _lost() -> None:
            here = self.stages.get(room)
            if pc.connectionState in ("closed", "failed") and here is not None:
                if here.viewers.get(key) is viewer:
                    await self._drop_viewer(here, key)
                    await self._unlink_if_idle(room)
                    self._forget_if_empty(room)
                    await self._changed(room)

        try:
            await pc.setLocalDescription(await pc.createOffer())
        except Exception as exc:  # the stage ended meanwhile (its connections closed)
            await self._drop_viewer(stage, key)
            raise Conflict("This webconference has ended.", code="stage.ended") from exc
        await self._changed(room)
        return str(pc.localDescription.sdp), _tracks(pc, described)

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
        # A leg's presenters are the origin's publications: the socket leaves them there.
        mine = [k for k in stage.presenters if _same(k, key) and stage.upstream is None]
        had = key in stage.viewers or bool(mine)
        await self._drop_viewer(stage, key)
        for published in mine:
            await self._drop_presenter(room, published)
        await self._unlink_if_idle(room)
        self._forget_if_empty(room)
        if had:
            await self._changed(room)
        return had

    async def take(
        self,
        room: str,
        sdp: str,
        tracks: list[dict[str, Any]],
        *,
        origin: str,
        version: int,
        key: str,
    ) -> str:
        """Become a leg of the room: take every publication of the origin's offer `sdp` (made
        to this process watching there as `key`; `tracks` as `watch` describes them) as this
        room's presenters, with their keys and infos, replacing those taken before; return the
        answer. Its viewers watch here as at the origin; keyframe requests go upstream."""
        await self._unlink(room)
        pc = self._pc()
        by_mid = {track["mid"]: track for track in tracks}
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            sources: dict[str, list[Any]] = {}
            for transceiver in pc.getTransceivers():
                track = by_mid.get(transceiver.mid)
                if track is not None:
                    sources.setdefault(track["key"], []).append(transceiver)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await pc.close()
            raise Conflict(
                "This signal is not an offer, an answer or a candidate, or it is too large.",
                code="stage.bad_offer",
            ) from exc
        stage = self._stage(room)
        info = {track["key"]: track["info"] for track in tracks}
        for source, transceivers in sources.items():
            relay = ForwardingRelay()
            relay.publish(pc, transceivers)
            stage.presenters[source] = Presenter(pc, relay, dict(info[source]))
        upstream = stage.upstream = Upstream(origin, version, key, pc)
        self._versions[room] = self.version(room) + 1

        @pc.on("connectionstatechange")
        async def _lost() -> None:  # the origin closed it (the talk ended) or died
            here = self.stages.get(room)
            if pc.connectionState in ("closed", "failed") and here is not None:
                if here.upstream is upstream:
                    await self._unlink(room)
                    self._forget_if_empty(room)
                    await self._changed(room)

        await self._changed(room)
        return str(pc.localDescription.sdp)

    async def end(self, room: str) -> None:
        """The talk ended: close every connection of its room, and its recording's file."""
        if await self._remove(room):
            await self._changed(room)

    async def drop(self, room: str) -> None:
        """The room went to another process (this one stalled): close it here, counting
        nothing (a count of none here would tell its viewers nobody presents there)."""
        await self._remove(room)

    async def _remove(self, room: str) -> bool:
        """Close the room's connections and its recording's file; False when there was no
        room, or another caller closes it (done when that is)."""
        closing = self._closing.get(room)
        if closing is not None:
            await asyncio.shield(closing)
            return False
        stage = self.stages.pop(room, None)
        if stage is None:
            return False
        recorded = self._stop(stage)
        task = asyncio.ensure_future(_close(stage))
        self._closing[room] = task
        try:
            await asyncio.shield(task)
            if recorded is not None:
                await asyncio.wait([recorded])
        finally:
            self._closing.pop(room, None)
        return True

    async def close(self) -> None:
        """The process stops: close every room."""
        for room in list(self.stages):
            await self.end(room)

    async def record(self, room: str, path: str) -> None:
        """Record the room's first camera publication (audio and video; never a screen share)
        to a new WebM file at `path`, from its next keyframe; if no camera publishes yet, from
        the first that does. A room records one file at a time: while it does, this does
        nothing."""
        stage = self._stage(room)
        if stage.recording is not None:
            return
        self._recorded.pop(room, None)
        stage.recording = Recording(Recorder(path))
        self._follow(room)

    async def stop_recording(self, room: str) -> dict[str, int]:
        """Close the room's recording: {"bytes", "seconds"} of its file, zeros when nothing
        was recorded. Also the result of a recording that `end` closed, once."""
        stage = self.stages.get(room)
        if stage is not None:
            self._stop(stage)
            self._forget_if_empty(room)
        recorded = self._recorded.pop(room, None)
        size, seconds = await asyncio.shield(recorded) if recorded is not None else (0, 0)
        return {"bytes": size, "seconds": seconds}

    async def _unlink_if_idle(self, room: str) -> None:
        """A leg whose last viewer left closes its upstream subscription."""
        stage = self.stages.get(room)
        if stage is not None and stage.upstream is not None and not stage.viewers:
            await self._unlink(room)

    async def _unlink(self, room: str) -> None:
        """Close a leg's upstream connection and the presenters it fed; tell `on_unlink`."""
        stage = self.stages.get(room)
        upstream = stage.upstream if stage is not None else None
        if stage is None or upstream is None:
            return
        stage.upstream = None
        for key in list(stage.presenters):
            await self._drop_presenter(room, key)
        await upstream.pc.close()
        if self._on_unlink is not None:
            try:
                await self._on_unlink(room, upstream)
            except Exception:  # the origin notices the closed connection anyway
                log.exception("telling the origin of %s that a leg closed failed", room)

    def _forget_if_empty(self, room: str) -> None:
        stage = self.stages.get(room)
        if stage and not stage.presenters and not stage.viewers and stage.recording is None:
            self.stages.pop(room, None)

    def _pc(self) -> RTCPeerConnection:
        servers = self._ice_servers
        if servers is None:  # STUN as set; TURN credentials for the server itself (user 0)
            servers = ice.servers(user_id=0)
        config = RTCConfiguration(iceServers=[RTCIceServer(**s) for s in servers])
        return RTCPeerConnection(config)

    def _stage(self, room: str) -> Stage:
        return self.stages.setdefault(room, Stage(room))

    async def _changed(self, room: str) -> None:
        metrics.MEDIA_VIEWERS.set(sum(stage.audience() for stage in self.stages.values()))
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
            self._versions[room] = self.version(room) + 1
            self._follow(room)
            await presenter.relay.close()
            await presenter.pc.close()

    def _follow(self, room: str) -> None:
        """Point the room's recorder at its first camera publication, if that changed."""
        stage = self.stages.get(room)
        recording = stage.recording if stage is not None else None
        if stage is None or recording is None:
            return
        first = next((k for k, p in stage.presenters.items() if _camera(p)), None)
        if first == recording.key:
            return
        if recording.key is not None:
            old = stage.presenters.get(recording.key)
            if old is not None:
                old.relay.remove_sink(recording.recorder.push)
            recording.recorder.restart()
        recording.key = first
        if first is not None:
            relay = stage.presenters[first].relay
            relay.add_sink(recording.recorder.push)
            relay.request_keyframe()

    def _stop(self, stage: Stage) -> asyncio.Future[tuple[int, int]] | None:
        """Detach the stage's recorder and start closing its file; the result waits in
        `_recorded` for `stop_recording`."""
        recording, stage.recording = stage.recording, None
        if recording is None:
            return None
        presenter = stage.presenters.get(recording.key or "")
        if presenter is not None:
            presenter.relay.remove_sink(recording.recorder.push)
        stopping = asyncio.ensure_future(recording.recorder.stop())
        self._recorded[stage.room] = stopping
        return stopping


def _camera(presenter: Presenter) -> bool:
    return bool(presenter.info.get("source", "camera") == "camera")


def _same(published: str, key: str) -> bool:
    """Whether a publishing key belongs to this socket key (itself or `key:<source>`)."""
    return published == key or published.startswith(f"{key}:")


def _tracks(pc: RTCPeerConnection, described: list[tuple[Any, str, Any]]) -> list[dict[str, Any]]:
    by_sender = {t.sender: t for t in pc.getTransceivers()}
    tracks = []
    for sender, source, info in described:
        transceiver = by_sender[sender]
        tracks.append(
            {"mid": transceiver.mid, "kind": transceiver.kind, "key": source, "info": info}
        )
    return tracks


async def _close(stage: Stage) -> None:
    for presenter in stage.presenters.values():
        await presenter.relay.close()
    for pc in stage.pcs():
        with contextlib.suppress(Exception):
            await pc.close()
