"""Record a publication's encoded VP8 video and Opus audio to a WebM file, decoding nothing.

    recorder = Recorder("/var/recordings/webconference-3-1.webm")
    relay.add_sink(recorder.push)    # each forwarded frame: (kind, packet, keyframe)
    relay.request_keyframe()         # the file starts at a keyframe
    ...
    recorder.restart()               # another publication feeds it from now on
    size, seconds = await recorder.stop()

The packets are muxed as they come (a stream copy): no decoder or encoder runs, so a recording
costs a few file writes per frame. The file is created at the first video keyframe, which is
time 0; video before it is dropped (it could not be decoded), and so is audio.

Timestamps: each kind has its own RTP clock (90 kHz video, 48 kHz audio) starting at a random
value and wrapping around at 2**32. Each is unwrapped, then placed on the file's timeline from
the moment its first frame arrived (audio and video are aligned by arrival, within the network
jitter), then follows its own clock. After `restart`, the new source is placed by arrival in the
same way: a gap while no one published shows as a still picture and silence.

Writes happen in the event loop: a frame is a few kilobytes, written through the OS cache.
Closing the file (the WebM cues, a seek and a rewrite of the header) runs in a thread.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import os
from collections.abc import Callable
from typing import Any

import av

log = logging.getLogger("fair.media")

TIME_BASE = fractions.Fraction(1, 1000)  # WebM's: milliseconds
CLOCKS = {"video": 90000, "audio": 48000}
WRAP = 1 << 32
DEFAULT_SIZE = (640, 360)


def vp8_size(data: bytes) -> tuple[int, int] | None:
    """The width and height a VP8 keyframe announces (RFC 6386, 9.1), if it is one."""
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None


class StreamClock:
    """One kind's RTP timestamps, unwrapped and placed on the file's timeline."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.last_raw: int | None = None
        self.unwrapped = 0
        self.origin: tuple[int, float] | None = None  # (unwrapped RTP time, seconds in file)

    def unwrap(self, raw: int) -> int:
        if self.last_raw is not None:
            step = (raw - self.last_raw) % WRAP
            self.unwrapped += step - WRAP if step >= WRAP // 2 else step  # late: negative
        self.last_raw = raw
        return self.unwrapped

    def seconds(self, raw: int, arrived: float) -> float:
        """Where this frame falls in the file; the first one of a source at `arrived`."""
        rtp = self.unwrap(raw)
        if self.origin is None:
            self.origin = (rtp, arrived)
        start, at = self.origin
        return at + (rtp - start) / self.rate


class Recorder:
    """One WebM file, fed encoded frames by `push` until `stop`."""

    def __init__(self, path: str, *, now: Callable[[], float] | None = None) -> None:
        self.path = path
        self._now = now or _loop_time
        self._container: Any = None
        self._streams: dict[str, Any] = {}
        self._clocks: dict[str, StreamClock] = {}
        self._started: float | None = None  # when the file's time 0 arrived
        self._last = {"video": -1, "audio": -1}  # the last pts written, per kind
        self._keyframe_seen = False  # in the current source
        self._stopped = False
        self.frames = {"video": 0, "audio": 0}

    def push(self, kind: str, packet: av.Packet[Any], keyframe: bool) -> None:
        """A relay sink: mux one frame (a copy: the relay's packet is shared)."""
        if self._stopped or kind not in CLOCKS:
            return
        if not self._keyframe_seen:
            if kind != "video" or not keyframe:
                return
            self._keyframe_seen = True
            self._clocks = {k: StreamClock(rate) for k, rate in CLOCKS.items()}
        try:
            self._write(kind, bytes(packet), int(packet.pts or 0))
        except Exception:  # a full disk, a muxer error: the recording ends here
            log.exception("recording to %s failed", self.path)
            self._stopped = True

    def restart(self) -> None:
        """Another publication feeds the recorder from now on: its clocks are new; its video
        starts at its first keyframe."""
        self._keyframe_seen = False

    async def stop(self) -> tuple[int, int]:
        """Close the file: (its size in bytes, its length in whole seconds); (0, 0) when no
        keyframe ever came (no file is left)."""
        self._stopped = True
        container, self._container = self._container, None
        if container is None:
            return 0, 0
        seconds = max(self._last.values()) * TIME_BASE
        try:
            size = await asyncio.to_thread(_close, container, self.path)
        except Exception:
            log.exception("closing the recording %s failed", self.path)
            return 0, 0
        return size, round(seconds)

    def _write(self, kind: str, data: bytes, timestamp: int) -> None:
        now = self._now()
        if self._container is None:
            self._open(vp8_size(data) or DEFAULT_SIZE)
            self._started = now
        assert self._started is not None
        seconds = self._clocks[kind].seconds(timestamp, now - self._started)
        pts = max(round(seconds / TIME_BASE), self._last[kind] + 1)  # strictly increasing
        self._last[kind] = pts
        packet = av.Packet(data)
        packet.stream = self._streams[kind]
        packet.time_base = TIME_BASE
        packet.pts = packet.dts = pts
        self._container.mux(packet)
        self.frames[kind] += 1

    def _open(self, size: tuple[int, int]) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        container = av.open(self.path, "w", format="webm")
        video = container.add_mux_stream("vp8", width=size[0], height=size[1])
        # The Opus stream is declared through libopus, never used to encode: its set-up writes
        # the OpusHead that WebM players need (ffmpeg's mux-only streams have none).
        audio = container.add_stream("libopus", rate=CLOCKS["audio"])
        audio.layout = "stereo"
        self._container, self._streams = container, {"video": video, "audio": audio}


def _close(container: Any, path: str) -> int:
    container.close()
    return os.path.getsize(path)


def _loop_time() -> float:
    return asyncio.get_running_loop().time()
