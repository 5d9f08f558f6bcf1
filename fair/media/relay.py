"""Forward a presenter's encoded media to many viewers, encoding nothing per viewer.

aiortc's stock `MediaRelay` hands every viewer the *decoded* frames, so each viewer's sender
encodes them again: one VP8 encoder per viewer, a few viewers per core. Here the presenter's
media is taken as encoded frames, before aiortc would decode them, and sent to every viewer by a
`fair.media.fanout.Fanout` per kind: packetized once per frame for all viewers; per viewer and
packet an RTP header, SRTP and a UDP send, without aiortc's per-viewer RTP task.

    relay = ForwardingRelay()
    relay.publish(presenter_pc)      # after setRemoteDescription(presenter's offer)
    relay.subscribe(viewer_pc)       # before the relay's offer to that viewer
    relay.unsubscribe(viewer_pc)     # or just close viewer_pc
    relay.add_sink(callback)         # callback(kind, packet, keyframe): a recorder, no peer
    await relay.close()

Codecs: VP8 and Opus only (what the relay negotiates with viewers); the presenter must send
those. Keyframes: a viewer starts on a keyframe; the relay asks the presenter for one (RTCP PLI)
when a viewer starts or reports picture loss, at most once per `keyframe_interval` seconds.
Another media process can be a viewer like any other and `publish` what it receives to its own
viewers: a talk spread over several processes (fair.media.stage's legs, `bench/relay.py
--processes 2`); its keyframe requests go upstream as any viewer's do.

aiortc internals used, all in this module (pinned: aiortc==1.16.0, see pyproject.toml):

* `RTCRtpReceiver._RTCRtpReceiver__decoder_queue`: the queue of `(codec, JitterFrame)` that the
  receiver's jitter buffer fills for its decoder thread; `_Tap` replaces it (see `tap`).
* `RTCRtpReceiver._RTCRtpReceiver__jitter_buffer`: a smaller one for the presenter's video
  (`bound_stalls`).
* `RTCRtpReceiver._handle_rtp_packet`: replaced for the benchmark's counting bots
  (`count_only`).
* `RTCRtpReceiver._send_rtcp_pli(ssrc)`: sends a PLI upstream.
* The viewers' `RTCRtpSender`s: see `fair.media.fanout`, which lists what it uses.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import queue
from collections.abc import Callable
from typing import Any, TypeAlias

import av
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.jitterbuffer import JitterBuffer

from fair.media.fanout import Fanout

logger = logging.getLogger(__name__)

AIORTC_VERSION = "1.16.0"  # the internals below were read in this version
CODECS = {"video": "video/VP8", "audio": "audio/opus"}
KINDS = ("audio", "video")
VIDEO_JITTER_PACKETS = 128

OnFrame = Callable[[Any, bytes, int], None]  # (codec parameters, encoded frame, timestamp)
# PyAV's stubs make Packet generic in its stream type; at run time it is not subscriptable.
Packet: TypeAlias = "av.Packet[Any]"
Sink = Callable[[str, Packet, bool], None]  # (kind, encoded packet, keyframe)


# The one place that reaches into aiortc ------------------------------------------------------


class _Tap(queue.Queue):  # type: ignore[type-arg]
    """Stands in for a receiver's decoder queue: complete encoded frames go to `on_frame`
    instead of the decoder thread. The `None` that stops the receiver still reaches the thread,
    whichever queue it reads (ours if we were installed before `receive()`, else the old one)."""

    def __init__(self, original: queue.Queue, on_frame: OnFrame) -> None:  # type: ignore[type-arg]
        super().__init__()
        self._original, self._on_frame = original, on_frame

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            super().put(None)
            self._original.put(None)
            return
        codec, frame = item
        self._on_frame(codec, frame.data, frame.timestamp)


def tap(receiver: RTCRtpReceiver, on_frame: OnFrame) -> None:
    """Deliver the receiver's complete encoded frames to `on_frame` (in the event loop) and stop
    decoding them: the receiver's track then yields nothing. Call before media flows."""
    name = "_RTCRtpReceiver__decoder_queue"
    setattr(receiver, name, _Tap(getattr(receiver, name), on_frame))


def bound_stalls(receiver: RTCRtpReceiver) -> None:
    """A smaller video jitter buffer for the presenter's receiver. aiortc NACKs a gap once; if the
    retransmission is lost too, it waits until the buffer (512 packets, ten seconds and more at
    500 kbps) is full before skipping the frame, and every viewer's video stops meanwhile. With
    128 packets (a keyframe fits) it skips after about 2 s and sends a PLI itself."""
    if receiver.track is not None and receiver.track.kind == "video":
        name = "_RTCRtpReceiver__jitter_buffer"
        setattr(receiver, name, JitterBuffer(capacity=VIDEO_JITTER_PACKETS, is_video=True))


def count_only(receiver: RTCRtpReceiver, on_packet: Callable[[Any], None]) -> None:
    """Hand each decrypted RTP packet (aiortc's `RtpPacket`) to `on_packet` and do nothing else
    with it: no jitter buffer, NACK, REMB or decoding. For load-testing bots, not viewers."""

    async def handle(packet: Any, arrival_time_ms: int) -> None:
        on_packet(packet)

    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]


def _send_pli(receiver: RTCRtpReceiver) -> asyncio.Task[None] | None:
    sources = receiver.getSynchronizationSources()
    if not sources:
        return None
    return asyncio.ensure_future(receiver._send_rtcp_pli(sources[-1].source))


# ---------------------------------------------------------------------------------------------


def is_keyframe(kind: str, data: bytes) -> bool:
    """Every Opus frame stands alone; a VP8 frame is a keyframe when its P bit is 0 (RFC 6386)."""
    return kind == "audio" or (len(data) > 0 and data[0] & 0x01 == 0)


class ForwardingRelay:
    """One presenter's audio and video, forwarded as encoded frames to any number of viewers."""

    def __init__(self, *, keyframe_interval: float = 0.5) -> None:
        self.keyframe_interval = keyframe_interval
        self.keyframe_requests = 0  # PLIs actually sent upstream
        self.frames_in = {kind: 0 for kind in KINDS}  # encoded frames from the presenter
        self._receivers: dict[str, RTCRtpReceiver] = {}
        self._fanouts = {kind: Fanout(kind) for kind in KINDS}
        self._viewers: dict[RTCPeerConnection, list[RTCRtpSender]] = {}
        self._last_pli = float("-inf")
        self._pending_pli: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._sinks: list[Sink] = []

    def publish(
        self, presenter: RTCPeerConnection, transceivers: list[RTCRtpTransceiver] | None = None
    ) -> None:
        """Take the presenter's audio and video (the first of each kind among `transceivers`,
        all of the connection's by default: another media process's connection carries every
        publication of its room). Call once its offer is the remote description (the receivers
        exist) and before media flows."""
        for transceiver in presenter.getTransceivers() if transceivers is None else transceivers:
            if transceiver.kind in KINDS and transceiver.kind not in self._receivers:
                self._receivers[transceiver.kind] = transceiver.receiver
                tap(transceiver.receiver, self._frame_handler(transceiver.kind))
                bound_stalls(transceiver.receiver)

    def subscribe(self, viewer: RTCPeerConnection) -> list[RTCRtpSender]:
        """Add a send-only transceiver to the viewer's connection for each kind the presenter
        publishes (VP8 video, Opus audio; a screen share has video alone), fed by the relay.
        Call after `publish` and before the relay creates its offer to the viewer."""
        senders = []
        for kind in [k for k in KINDS if k in self._receivers]:
            transceiver = viewer.addTransceiver(kind, direction="sendonly")
            transceiver.setCodecPreferences(codecs(kind))
            self._fanouts[kind].attach(transceiver.sender, self.request_keyframe)
            senders.append(transceiver.sender)
        self._viewers[viewer] = senders

        # A viewer closed before its sender started (no answer yet) would otherwise stay fed.
        @viewer.on("connectionstatechange")
        def _closed() -> None:
            if viewer.connectionState in ("closed", "failed"):
                self.unsubscribe(viewer)

        return senders

    def unsubscribe(self, viewer: RTCPeerConnection) -> None:
        """Stop feeding this viewer (closing its connection does the same)."""
        for sender in self._viewers.pop(viewer, []):
            self._fanouts[sender.kind].detach(sender)

    def add_sink(self, sink: Sink) -> None:
        """Also hand every forwarded frame to `sink(kind, packet, keyframe)`, in the event loop,
        without a peer connection and without decoding (a recorder, say). The packet is shared by
        every sink (`pts` the RTP timestamp, `time_base` 1/clock rate): read it, never change
        it, and return quickly. Video arrives from wherever the presenter is: call
        `request_keyframe` to start on a keyframe soon. A sink that raises is logged, not
        removed, and never stops the forwarding."""
        self._sinks.append(sink)

    def remove_sink(self, sink: Sink) -> None:
        """Stop handing frames to `sink` (nothing happens if it was not added)."""
        if sink in self._sinks:
            self._sinks.remove(sink)

    @property
    def viewers(self) -> int:
        """Viewers subscribed to the video (connected or not yet)."""
        return len(self._fanouts["video"].legs)

    def request_keyframe(self) -> None:
        """Ask the presenter for a keyframe now, or at the end of the current interval if one
        was asked for less than `keyframe_interval` seconds ago."""
        if self._pending_pli is not None:
            return
        loop = asyncio.get_running_loop()
        wait = self._last_pli + self.keyframe_interval - loop.time()
        if wait <= 0:
            self._send_pli()
        else:
            self._pending_pli = loop.call_later(wait, self._send_pli)

    async def close(self) -> None:
        """Stop every viewer's track and forget the sinks; the peer connections are their
        owners' to close."""
        self._sinks.clear()
        if self._pending_pli is not None:
            self._pending_pli.cancel()
        for viewer in list(self._viewers):
            self.unsubscribe(viewer)
        for task in list(self._tasks):
            task.cancel()

    def _send_pli(self) -> None:
        self._pending_pli = None
        receiver = self._receivers.get("video")
        if receiver is None:
            return
        task = _send_pli(receiver)
        if task is None:  # nothing received yet: the first frames will be a keyframe anyway
            return
        self._last_pli = asyncio.get_running_loop().time()
        self.keyframe_requests += 1
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _frame_handler(self, kind: str) -> OnFrame:
        fanout = self._fanouts[kind]

        def on_frame(codec: Any, data: bytes, timestamp: int) -> None:
            if codec.mimeType.lower() != CODECS[kind].lower():
                logger.warning("relay: the presenter sends %s, not %s", codec.mimeType, kind)
                return
            self.frames_in[kind] += 1
            key = is_keyframe(kind, data)
            fanout.send(data, timestamp, key)
            if self._sinks:
                self._to_sinks(kind, codec, data, timestamp, key)

        return on_frame

    def _to_sinks(self, kind: str, codec: Any, data: bytes, timestamp: int, key: bool) -> None:
        packet = av.Packet(data)  # one packet, shared by every sink
        packet.pts = timestamp
        packet.time_base = fractions.Fraction(1, codec.clockRate)
        for sink in list(self._sinks):
            try:
                sink(kind, packet, key)
            except Exception:
                logger.exception("relay: a sink failed on a %s frame", kind)


def codecs(kind: str) -> list[Any]:
    """VP8 (with its RTX) or Opus, from aiortc's capabilities: what the relay forwards, hence
    what presenters must send and viewers receive."""
    capabilities = RTCRtpSender.getCapabilities(kind)
    wanted = [c for c in capabilities.codecs if c.mimeType.lower() == CODECS[kind].lower()]
    rtx = [c for c in capabilities.codecs if c.mimeType.lower() == f"{kind}/rtx"]
    return wanted + rtx
