"""Webconference relay: one aiortc publisher, N viewer bots, fair's ForwardingRelay against
aiortc's stock MediaRelay.

Usage: .venv/bin/python bench/relay.py [--viewers 25,50,100,200] [--modes forward,mediarelay]
                                       [--seconds 10] [--warmup 5] [--bots-per-process 50]
                                       [--processes K --ramp 50]
                                       [--measure-every K] [--priority P] [--diagnose]

For each N and each mode, fresh processes on loopback:

* the media process (`--serve-relay MODE PORT`): one aiortc peer connection per participant and
  a newline-delimited JSON control socket on PORT, used for signalling (the publisher offers;
  the relay offers to each viewer) and to read the process's CPU time;
  - `forward`: `fair.media.relay.ForwardingRelay` (encoded frames, nothing encoded per viewer);
  - `mediarelay`: `aiortc.contrib.media.MediaRelay`, the stock path (decoded once, encoded
    again by every viewer's sender): the baseline;
* the publisher (`--publish PORT`): a 640x360 VP8 source at 30 fps and an Opus 440 Hz tone,
  encoded once when the process starts by aiortc's own encoders (VP8 capped at 500 kbps, aiortc's
  default target made its maximum too): 4 s of video with a keyframe every 2 s (60 frames) and
  1 s of audio, replayed in a loop in real time as `av.Packet`s, which the sender only
  packetizes. So the publisher costs a few hundredths of a core and N = 200 measures the relay,
  not the source's encoder. A keyframe request (PLI/FIR) from the media process makes the video
  jump to the loop's next keyframe (at most 59 frames ahead);
* viewer bots (`--view PORT COUNT`), at most `--bots-per-process` viewers a process: aiortc peer
  connections that count complete encoded frames and RTP packets from the RTP headers (SRTP
  leaves them in clear) where aioice receives the datagrams: no decryption, no jitter buffer,
  no NACK, no decoding (`Bot`). With `--measure-every K`, one bot in K does so; the others are
  light: the same peers (ICE and its consent checks, DTLS, RTCP), whose RTP the kernel drops
  at their socket (a BPF filter) and counts. They cost the load generator their STUN, DTLS and
  RTCP only, so that 1,000 viewers fit beside two media processes on 2 cores; their RTP rate
  is reported against the measured bots' (it must be 97 % of their median or more), and they
  count as connected once RTP reaches them. Simulated, then: fps and loss are those of the
  measured bots (every K-th to join, on every media process); the media process's work is
  the same for every viewer, but on loopback a sender's system time includes some of the
  receiving socket's work (queueing, the wakeup), which a filtered socket skips: light bots
  may make the media processes' CPU a little lower than real receivers on loopback would.

Priorities: each media process and the publisher run in a session of their own
(`spawn_apart`: with the kernel's autogroups, a session of their own is a share of the cores
of their own), the bots in the bench's, at nice 5; with `--priority P` (root) the media
processes and the publisher run at nice -P (their autogroups'), above the rest of a shared
machine (a production media process has its host to itself), and each bot process in a
session of its own at nice -(P - 5) (`spawn_bots`: viewers' browsers have machines of their
own; starved, a full bot's socket fills with RTP and the consent checks behind it go
unanswered). Every row reports the media processes' run-queue wait either way.

With `--processes K` (K > 1, the forward mode), fair's own production path instead: K `python -m
fair media` processes on Redis (`BENCH_REDIS_URL`, this machine's by default; keys under a
namespace of the run's own, deleted afterwards), FAIR_MEDIA_VIEWERS_PER_PROCESS = N / K; the
publisher (`--publish-remote`) and the bots (`--view-remote COUNT RATE`) signal through
`fair.media.remote.RemoteStages` as a web process's sockets do, the bots joining `--ramp` a
second in all: the origin takes N / K, then each further viewer is placed on a leg, which takes
the talk from the origin as one viewer. The row's `cores` are the K media processes' (from
/proc), its `us/pk` their CPU per RTP packet the bots received, its `src fps` the video
frames a second the best-served bot saw begin (complete or not: what reached it from the
publisher), its note the viewers each process counts (`<ns>:audience:<room>`, where `origin` is
the origin's "presenters:version": 0 presenters once it lost the publisher) and the fps of the
viewers each process serves, and a closing line says whether the run is valid: every viewer
connected, at 29+ fps, under 1 % loss.

Every row also says what else could make a run invalid: `pub fps`, the video frames the
publisher handed its sender a second (30 unless the publisher itself waited for a core), and
`wait s/s`, the seconds a second the media processes spent runnable without a core
(/proc/<pid>/task/*/schedstat): on a machine busy with other work a starved media process
reads its presenter's socket late (its receive buffer fills, ~6 s of media, then drops), each
lost packet stalls every viewer's video until the jitter buffer skips the frame, and aioice's
default consent freshness (six checks answered late) closes the presenter's connection. Past
`STARVED` the closing line says STARVED: the figures are the machine's, not the relay's.

After the closing lines, for every invalid forward run (every one with `--diagnose`), what the
bots and the media processes saw, the full (measured) bots and the light ones apart: how many
left the connected state and when; the STUN binding requests on their sockets both ways (the
media process's checks received and answered, their own sent and answered); their sockets'
drops and largest receive queue; each bot process's event loop lag, CPU and run-queue wait by
5 s window (`Watch`); and the media processes' 'ICE consent lost' lines (fair.media.consent:
the checks answered, the other end's binding requests), matched to their bots by port (their
stderr is kept until the run ends, then echoed without those lines).

After every viewer has its first video frame and `--warmup` seconds, the run is measured for
`--seconds`: the media process's CPU (user + system, from getrusage, all threads) over wall time;
per viewer, the video frames per second and the packet loss (lost over expected on the main audio
and video streams, before retransmission); and, to tell what saturates, the CPU of the publisher,
of the bots and of the rest of the machine, and the datagrams the media process's sockets dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import _harness  # noqa: E402  (after the line above: it imports this checkout's fair)
from _harness import cpu_seconds, free_port  # noqa: E402

WIDTH, HEIGHT, FPS = 640, 360, 30
GOAL_VIEWERS_PER_CORE, GOAL_FPS, GOAL_LOSS, GOAL_RATIO = 100, 24.0, 0.01, 10.0
# Issue 17: mediasoup's order of magnitude, one media process at the source's 30 fps.
TARGET_VIEWERS_PER_CORE, TARGET_FPS = 500, 29.0
# Seconds a second the media processes may wait, together, for a core the machine's other
# processes hold, before a run says it measured a starved relay rather than the relay.
STARVED = 0.1
# A light bot (`Bot`) must get at least this share of the measured bots' median packet rate.
LIGHT_RATE = 0.97


PEER_CONSENT = "FAIR_BENCH_PEER_CONSENT"  # "aioice": the bench's peers keep aioice's own consent


def setup_aiortc() -> None:
    """Loopback only (aioice skips 127.0.0.1 otherwise), and a 500 kbps VP8 ceiling: aiortc's
    encoder follows the receiver's REMB between 250 kbps and 1.5 Mbps; pinned, the publisher and the
    baseline's per-viewer encoders all aim at the stated 500 kbps. Every peer keeps ICE consent
    as fair's media processes and browsers do (fair.media.consent: a media process lagging under
    load shows in fps and loss, it does not lose its publisher and bots after 30 s), unless
    --peer-consent aioice (to compare). At 1,000 viewers over two processes on 2 cores, runs with
    --priority 10 lost consent of 120-200 viewers ~30 s after joining whatever the bots' consent
    (the media processes STARVED, 0.12-0.14 s/s); with --priority 20 they were valid."""
    import aioice.ice
    from aiortc.codecs import vpx

    from fair.media import consent

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    vpx.MIN_BITRATE = vpx.MAX_BITRATE = vpx.DEFAULT_BITRATE
    if os.environ.get(PEER_CONSENT, "fair") == "fair":  # --peer-consent
        consent.install()


def peer() -> Any:
    from aiortc import RTCConfiguration, RTCPeerConnection

    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def log_states(pc: Any, name: str) -> None:
    """Tell stderr when a connection leaves the connected state (consent lost: no answer to its
    checks for 30 s, fair.media.consent)."""
    start = time.monotonic()

    def changed() -> None:
        if pc.connectionState not in ("new", "connecting", "connected"):
            elapsed = time.monotonic() - start
            print(f"{name}: {pc.connectionState} after {elapsed:.0f} s", file=sys.stderr)

    pc.on("connectionstatechange", changed)


async def ask(reader: Any, writer: Any, message: dict[str, Any]) -> dict[str, Any]:
    writer.write(json.dumps(message).encode() + b"\n")
    await writer.drain()
    return dict(json.loads(await reader.readline()))


# The media process ---------------------------------------------------------------------------


async def serve_relay(mode: str, port: int) -> None:
    from aiortc import RTCSessionDescription
    from aiortc.contrib.media import MediaRelay

    from fair.media.relay import ForwardingRelay, codecs

    setup_aiortc()
    forwarding, stock = ForwardingRelay(), MediaRelay()
    sources: dict[str, Any] = {}
    pcs: dict[int, Any] = {}  # by viewer id (the publisher's is 0)
    counts = {"joined": 0, "left": 0}

    async def leave(pc: Any) -> None:  # no reference to pc outlives the call
        if mode == "forward":
            forwarding.unsubscribe(pc)
        await pc.close()

    async def handle(reader: Any, writer: Any) -> None:
        while line := await reader.readline():
            message = json.loads(line)
            op, reply = message["op"], {}
            if op == "publish":
                pc = peer()
                await pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
                if mode == "forward":
                    forwarding.publish(pc)
                else:
                    sources.update({t.kind: t.receiver.track for t in pc.getTransceivers()})
                await pc.setLocalDescription(await pc.createAnswer())
                pcs[0] = pc
                log_states(pc, "media process: the publisher's connection")
                reply = {"sdp": pc.localDescription.sdp}
            elif op == "view":
                pc = peer()
                if mode == "forward":
                    forwarding.subscribe(pc)
                else:
                    for kind in ("audio", "video"):
                        track = stock.subscribe(sources[kind])
                        pc.addTransceiver(track, direction="sendonly").setCodecPreferences(
                            codecs(kind)
                        )
                await pc.setLocalDescription(await pc.createOffer())
                if message.get("downstream"):  # another media process: not a viewer
                    key = -1
                else:
                    counts["joined"] += 1
                    key = counts["joined"]
                pcs[key] = pc
                reply = {"id": key, "sdp": pc.localDescription.sdp}
                del pc  # the media process's references are in pcs: see "stats"
            elif op == "answer":
                answer = RTCSessionDescription(message["sdp"], "answer")
                await pcs[message["id"]].setRemoteDescription(answer)
            elif op == "leave":  # a viewer leaves: unsubscribed, its connection closed
                await leave(pcs.pop(message["id"]))
                counts["left"] += 1
            elif op == "stats":
                reply = media_stats(forwarding, pcs, counts, message.get("objects", False))
                if message.get("trim"):  # give freed heap back to the system, then read RSS
                    import ctypes

                    ctypes.CDLL("libc.so.6").malloc_trim(0)
                    trimmed = media_stats(forwarding, pcs, counts, False)
                    reply["trimmed_rss_kib"] = trimmed["rss_kib"]
            elif op == "profile":  # cProfile of this process for a few seconds: the hot spots
                reply = await profile(float(message.get("seconds", 5)))
            elif op == "trace":  # with BENCH_TRACEMALLOC=1: where the memory grew since "mark"
                reply = trace(message.get("mark", False))
            elif op == "usage":
                usage = resource.getrusage(resource.RUSAGE_SELF)
                reply = {
                    "sent": packets_sent(forwarding, pcs),
                    "cpu": usage.ru_utime + usage.ru_stime,
                    "wall": time.monotonic(),
                    "frames_in": forwarding.frames_in,
                    "keyframe_requests": forwarding.keyframe_requests,
                    "publisher": pcs[0].connectionState if 0 in pcs else None,
                    "viewers_connected": sum(
                        1 for k, pc in pcs.items() if k > 0 and pc.connectionState == "connected"
                    ),
                }
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()

    if os.environ.get("BENCH_TRACEMALLOC"):
        import tracemalloc

        tracemalloc.start()
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def packets_sent(relay: Any, pcs: dict[int, Any]) -> int:
    """RTP packets sent so far to every viewer (and downstream process): aiortc's count per
    sender, or the fanout's when it sends in aiortc's place (`fair.media.fanout`)."""
    total = 0
    fanouts = getattr(relay, "_fanouts", {})
    for key, pc in pcs.items():
        for transceiver in pc.getTransceivers() if key else []:
            sender = transceiver.sender
            leg = fanouts[sender.kind].legs.get(sender) if fanouts else None
            total += leg.report().packet_count if leg else sender._RTCRtpSender__packet_count
    return total


def media_stats(
    relay: Any, pcs: dict[int, Any], counts: dict[str, int], objects: bool
) -> dict[str, Any]:
    """The media process's memory (current and peak RSS), its peer connections, asyncio tasks
    and the relay's bookkeeping; with `objects`, after a full garbage collection, the live
    instances of the aiortc and relay classes that a leak would keep."""
    import gc

    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    stats: dict[str, Any] = {
        "rss_kib": int(fields["VmRSS"].split()[0]),
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "pcs": len(pcs),
        "pcs_open": sum(1 for pc in pcs.values() if pc.connectionState != "closed"),
        "publisher": pcs[0].connectionState if 0 in pcs else None,
        "tasks": len(asyncio.all_tasks()),
        "relay_viewers": relay.viewers,
        "relay_entries": len(relay._viewers),
        "relay_tasks": len(relay._tasks),
        "threads": len(os.listdir("/proc/self/task")),
        "fds": len(os.listdir("/proc/self/fd")),
        **counts,
    }
    if objects:
        gc.collect()
        names = {
            "RTCPeerConnection",
            "RTCRtpSender",
            "RTCRtpReceiver",
            "RTCDtlsTransport",
            "RTCIceTransport",
            "Connection",
            "_Leg",
            "Packet",
        }
        found = dict.fromkeys(sorted(names), 0)
        for obj in gc.get_objects():
            name = type(obj).__name__
            if name in names:
                found[name] += 1
        stats["objects"] = found
    return stats


async def profile(seconds: float, top: int = 25) -> dict[str, Any]:
    """The functions where this process spent its time (own time, cProfile) over `seconds`."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    await asyncio.sleep(seconds)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return {"profile": out.getvalue()}


_traced: list[Any] = []


def trace(mark: bool, top: int = 15) -> dict[str, Any]:
    """tracemalloc (when started): with `mark`, remember a snapshot; otherwise the lines whose
    allocations grew most since it, and the traced total now and then."""
    import gc
    import tracemalloc

    if not tracemalloc.is_tracing():
        return {"error": "tracemalloc is off: set BENCH_TRACEMALLOC=1"}
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    if mark or not _traced:
        _traced[:] = [snapshot]
        return {"traced_kib": tracemalloc.get_traced_memory()[0] // 1024}
    before = _traced[0]
    lines = [str(d) for d in snapshot.compare_to(before, "lineno")[:top]]
    return {
        "traced_kib": sum(s.size for s in snapshot.statistics("filename")) // 1024,
        "marked_kib": sum(s.size for s in before.statistics("filename")) // 1024,
        "top": lines,
    }


# The publisher -------------------------------------------------------------------------------

CLIP_SECONDS, KEYFRAME_EVERY, AUDIO_RATE, AUDIO_SAMPLES = 4, 2 * FPS, 48000, 960


def pictures(count: int) -> list[Any]:
    """`count` 640x360 pictures: a gradient scrolling sideways under a moving 320x180 patch of
    noise (cycled from 16 precomputed ones), enough detail to fill 500 kbps."""
    import av

    ramp = bytes((x * 255 // (2 * WIDTH)) for x in range(2 * WIDTH))
    noise = [bytes(96 + c % 64 for c in os.urandom(320 * 180)) for _ in range(16)]
    chroma = bytes([128]) * (WIDTH * HEIGHT // 4)
    frames = []
    for n in range(count):
        shift = (n * 4) % WIDTH
        luma = bytearray(ramp[shift : shift + WIDTH] * HEIGHT)
        left, top, patch = (n * 3) % (WIDTH - 320), (n * 2) % (HEIGHT - 180), noise[n % 16]
        for y in range(180):
            start = (top + y) * WIDTH + left
            luma[start : start + 320] = patch[y * 320 : (y + 1) * 320]
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for plane, data in zip(frame.planes, (luma, chroma, chroma), strict=True):
            plane.update(bytes(data))
        frames.append(frame)
    return frames


def encode_clip() -> tuple[list[bytes], list[bytes]]:
    """The publisher's media, encoded once before the run by aiortc's own encoders (same
    settings as a live aiortc sender: VP8 CBR at the pinned 500 kbps, Opus 96 kbps):
    `CLIP_SECONDS` of video, a keyframe every `KEYFRAME_EVERY` frames (2 s) starting with the
    first, after one unkept second so the rate control has settled; and one second of a 440 Hz
    tone in 20 ms Opus frames (440 whole periods: the loop is seamless)."""
    import fractions
    import math
    from array import array

    import av
    from aiortc.codecs.opus import OpusEncoder
    from aiortc.codecs.vpx import Vp8Encoder

    class RawVp8(Vp8Encoder):  # the encoded frame itself, not its RTP payloads
        @classmethod
        def _packetize(cls, buffer: bytes, picture_id: int) -> list[bytes]:
            return [buffer]

    encoder, video = RawVp8(), []
    for n, frame in enumerate(pictures((CLIP_SECONDS + 1) * FPS)):
        frame.pts, frame.time_base = n * 3000, fractions.Fraction(1, 90000)
        kept = n - FPS
        (data,), _ = encoder.encode(frame, force_keyframe=kept >= 0 and kept % KEYFRAME_EVERY == 0)
        if kept >= 0:
            video.append(data)
    opus, samples = OpusEncoder(), 0
    audio: list[bytes] = []
    while len(audio) < AUDIO_RATE // AUDIO_SAMPLES:
        frame = av.AudioFrame(format="s16", layout="mono", samples=AUDIO_SAMPLES)
        tone = array(
            "h",
            (
                int(8000 * math.sin(2 * math.pi * 440 * ((samples + i) % AUDIO_RATE) / AUDIO_RATE))
                for i in range(AUDIO_SAMPLES)
            ),
        )
        frame.planes[0].update(tone.tobytes())
        frame.pts, frame.sample_rate = samples, AUDIO_RATE
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        samples += AUDIO_SAMPLES
        payloads, _ = opus.encode(frame)
        audio += payloads
    return video, audio


def clip_tracks(video: list[bytes], audio: list[bytes]) -> list[Any]:
    """Tracks that play the encoded clip in a loop, paced in real time, as `av.Packet`s: the
    sender only packetizes them (as for `MediaPlayer(decode=False)`). A keyframe request (PLI or
    FIR from the relay, see `publish`) makes the video jump to the clip's next keyframe, at most
    `KEYFRAME_EVERY` - 1 frames ahead; without requests a keyframe comes every 2 s anyway."""
    import fractions

    import av
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

    from fair.media.relay import is_keyframe

    class Clip(MediaStreamTrack):
        def __init__(self, kind: str, frames: list[bytes], rate: int, clock: int) -> None:
            super().__init__()
            self.kind, self.frames, self.rate = kind, frames, rate
            self.step, self.time_base = clock // rate, fractions.Fraction(1, clock)
            self.keys = [i for i, data in enumerate(frames) if is_keyframe(kind, data)]
            self.start: float | None = None
            self.count = self.index = self.keyframe_requests = 0
            self.want_keyframe = False

        def request_keyframe(self) -> None:
            self.keyframe_requests += 1
            self.want_keyframe = True

        async def recv(self) -> av.Packet[Any]:
            if self.readyState != "live":
                raise MediaStreamError
            if self.start is None:
                self.start = time.monotonic()
            else:
                wait = self.start + self.count / self.rate - time.monotonic()
                if wait < -2 / self.rate:  # the process waited for a core: no catching up
                    self.start -= wait  # in a burst above the rate, as a camera would not
                else:
                    await asyncio.sleep(wait)
            if self.want_keyframe:
                self.want_keyframe = False
                later = [i for i in self.keys if i >= self.index]
                self.index = later[0] if later else self.keys[0]
            packet = av.Packet(self.frames[self.index])
            packet.pts, packet.time_base = self.count * self.step, self.time_base
            self.count, self.index = self.count + 1, (self.index + 1) % len(self.frames)
            return packet

    return [
        Clip("audio", audio, AUDIO_RATE // AUDIO_SAMPLES, AUDIO_RATE),
        Clip("video", video, FPS, 90000),
    ]


async def publish(port: int) -> None:
    from aiortc import RTCSessionDescription

    setup_aiortc()
    tracks = clip_tracks(*encode_clip())  # before connecting: the run only replays it
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    pc = peer()
    send_clip(pc, tracks)
    await pc.setLocalDescription(await pc.createOffer())
    answer = await ask(reader, writer, {"op": "publish", "sdp": pc.localDescription.sdp})
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    log_states(pc, "publisher")
    print("published", flush=True)
    await answer_marks(lambda: clip_counts(tracks))


def clip_counts(tracks: list[Any]) -> dict[str, Any]:
    """The video frames the publisher handed its sender so far (`clip_tracks`)."""
    return {"video": tracks[1].count, "t": time.monotonic()}


def send_clip(pc: Any, tracks: list[Any]) -> None:
    """Send `clip_tracks` on `pc`, in VP8 and Opus (what the relay forwards), a keyframe request
    jumping to the clip's next keyframe (it would only flag aiortc's unused encoder)."""
    from fair.media.relay import codecs

    for track in tracks:
        sender = pc.addTrack(track)
        if track.kind == "video":
            sender._send_keyframe = track.request_keyframe
    for transceiver in pc.getTransceivers():
        transceiver.setCodecPreferences(codecs(transceiver.kind))


# Viewer bots ---------------------------------------------------------------------------------


class Stream:
    """Counts one RTP stream: packets received and expected (from the sequence numbers), and
    complete frames: a frame's marker packet arrived and no packet was missing since the one
    before the frame's first."""

    def __init__(self) -> None:
        self.received = self.frames = self.bytes = 0
        self.begun = 0  # frames of which a packet arrived (complete or not): the source's pace
        self.first: int | None = None
        self.highest = 0  # unwrapped sequence number
        self.timestamp: int | None = None
        self.broken = True

    def add(self, seq: int, timestamp: int, marker: bool, size: int) -> None:
        self.received += 1
        self.bytes += size
        if self.first is None:
            self.first = self.highest = seq
            gap = True  # the frame may have started before we joined
        else:
            unwrapped = self.highest + ((seq - self.highest) & 0xFFFF)
            if (seq - self.highest) & 0xFFFF > 0x8000:  # late or duplicate: ignore
                return
            gap = unwrapped != self.highest + 1
            self.highest = unwrapped
        if timestamp != self.timestamp:
            self.begun += 1
            self.timestamp, self.broken = timestamp, gap
        elif gap:
            self.broken = True
        if marker and not self.broken:
            self.frames += 1
            self.broken = True

    @property
    def expected(self) -> int:
        return 0 if self.first is None else self.highest - self.first + 1


RTP_HEADER = struct.Struct("!BBHII")
BOT_RECEIVE_BUFFER = 1 << 20  # bytes; Linux caps it at net.core.rmem_max (4 MiB here)
# A full bot's socket queues its RTP and the media process's consent checks together: a check
# waits behind every datagram before it. At ~180 KB/s of RTP as the kernel charges it on
# loopback (twice SO_RCVBUF), 1 MiB held ~11 s: a bot process that waited for a core answered
# the checks that much later, past their 3.5 s, until its queue drained (fair.media.consent
# cuts after 30 s). So a full bot's queue holds a quarter of that (`--full-bot-buffer`, KiB): a
# longer wait drops RTP, which shows as its loss. The bots' priority (`spawn_bots`) is the fix;
# this bounds the harm when they still fall behind (a full queue drops the checks too).
FULL_BOT_BUFFER = "FAIR_BENCH_FULL_BOT_BUFFER"  # --full-bot-buffer, in bytes, for the bots
FULL_BOT_BUFFER_KIB = 256
SO_ATTACH_FILTER = 26  # <asm-generic/socket.h>


def full_bot_buffer() -> int:
    """A full bot's SO_RCVBUF, bytes (`FULL_BOT_BUFFER_KIB`)."""
    return int(os.environ.get(FULL_BOT_BUFFER, FULL_BOT_BUFFER_KIB << 10))


def discard_rtp_filter() -> bytes:
    """A classic BPF socket filter (struct sock_fprog) that drops RTP (a first byte 0b10xxxxxx,
    a payload type of 96 or more: every codec and RTX here) and keeps the rest (STUN, DTLS,
    RTCP, whose second byte is 200-206). A UDP socket's filter sees the UDP header first: the
    datagram starts at offset 8. The kernel counts what it drops in the socket's `drops`
    (/proc/net/udp); a UDP GSO send's datagrams one by one."""
    import ctypes

    program = [
        (0x30, 0, 0, 8),  # ldb [8]: the datagram's first byte
        (0x54, 0, 0, 0xC0),  # and #0xc0
        (0x15, 0, 4, 0x80),  # jeq #0x80 (RTP or RTCP), else keep
        (0x30, 0, 0, 9),  # ldb [9]: marker and payload type
        (0x54, 0, 0, 0x7F),  # and #0x7f
        (0x35, 0, 1, 96),  # jge #96: RTP, else RTCP (72-78): keep
        (0x06, 0, 0, 0),  # ret #0: drop
        (0x06, 0, 0, 0xFFFFFFFF),  # ret: keep it whole
    ]
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in program))
    _filters.append(code)  # the kernel copies it; kept anyway while the process runs
    return struct.pack("HL", len(program), ctypes.addressof(code))


_filters: list[Any] = []


def discarded_rtp() -> dict[int, int]:
    """Datagrams each UDP socket (by inode) dropped so far, /proc/net/udp's `drops`: a light
    bot's filter's RTP."""
    return {inode: drops for inode, (_, drops) in udp_sockets().items()}


def udp_sockets() -> dict[int, tuple[int, int]]:
    """Each UDP socket's (by inode) receive queue now (bytes, counted as the kernel charges
    them against SO_RCVBUF) and the datagrams it dropped so far (/proc/net/udp: `rx_queue`,
    `drops`: a full receive buffer's, or a light bot's filter's RTP)."""
    found = {}
    with open("/proc/net/udp") as table:
        for line in list(table)[1:]:
            fields = line.split()
            found[int(fields[9])] = (int(fields[4].split(":")[1], 16), int(fields[-1]))
    return found


STUN_REQUEST, STUN_ANSWER = b"\x00\x01", b"\x01\x01"  # a binding request, its success answer


@dataclass
class Stun:
    """A bot's STUN binding messages, counted on its sockets whatever consent it keeps: the
    media process's requests (ICE, then consent checks) received and answered, the bot's own
    sent (a retransmission counts again) and answered; monotonic times of the last arrivals."""

    requests_in: int = 0
    answers_out: int = 0
    requests_out: int = 0
    answers_in: int = 0
    last_request_in: float | None = None
    last_answer_in: float | None = None

    def received(self, data: bytes) -> None:
        head = data[:2]
        if head == STUN_REQUEST:
            self.requests_in += 1
            self.last_request_in = time.monotonic()
        elif head == STUN_ANSWER:
            self.answers_in += 1
            self.last_answer_in = time.monotonic()

    def counting(self, send: Any) -> Any:
        """A protocol's `send_stun`, counting what it sends."""
        from aioice import stun

        def send_stun(message: Any, addr: Any) -> None:
            if message.message_class == stun.Class.REQUEST:
                self.requests_out += 1
            elif message.message_class == stun.Class.RESPONSE:
                self.answers_out += 1
            send(message, addr)

        return send_stun


class Bot:
    """A viewer that counts RTP packets from their headers, which SRTP leaves in clear: no
    decryption, no jitter buffer, no NACK, no aiortc receive task. STUN (consent checks), DTLS
    and RTCP still go to aioice and aiortc, so the connection stays up as a browser's would.

    A `light` bot is the same peer, but the kernel drops its RTP before Python reads it (a
    socket filter, `discard_rtp_filter`) and counts it: it costs its process the STUN, DTLS
    and RTCP only, and tells how many RTP packets reached it, not their frames or losses."""

    def __init__(self, light: bool = False) -> None:
        self.pc, self.id = peer(), 0
        self.streams = {"audio": Stream(), "video": Stream()}
        self.where = ""  # the media process it watches on, when several serve the talk
        self.light = light
        self.inodes: list[int] = []  # its sockets (a light bot's drops are its RTP)
        self.port = 0  # its socket's (the address the media process checks consent with)
        self.stun = Stun()
        self.joined: float | None = None  # monotonic, once its answer is made
        self.left: float | None = None  # when its connection failed or closed
        self.pc.on("connectionstatechange", self._changed)

    def _changed(self) -> None:
        if self.pc.connectionState in ("failed", "closed") and self.left is None:
            self.left = time.monotonic()

    def count_headers(self) -> None:
        """Read each datagram's RTP header where aioice receives it (its protocol's
        `datagram_received`, replaced on this connection's sockets); RTX and RTCP pass."""
        kinds, kind = {}, ""
        for line in self.pc.remoteDescription.sdp.splitlines():
            if line.startswith("m="):
                kind = line[2:].split()[0]
            elif line.startswith("a=rtpmap:") and line.split()[1].split("/")[0] in ("VP8", "opus"):
                kinds[int(line[9:].split()[0])] = self.streams[kind]
        unpack, stun = RTP_HEADER.unpack_from, self.stun.received
        transport = self.pc.getTransceivers()[0].receiver.transport.transport
        for protocol in transport._connection._protocols:
            # Room for a few hundred ms of video when the bot's process waits for a core (the
            # load generator, niced): its drops are the bench's, not the relay's.
            sock = protocol.transport.get_extra_info("socket")
            size = BOT_RECEIVE_BUFFER if self.light else full_bot_buffer()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            self.inodes.append(os.fstat(sock.fileno()).st_ino)
            self.port = sock.getsockname()[1]
            protocol.send_stun = self.stun.counting(protocol.send_stun)
            original = protocol.datagram_received
            if self.light:
                sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, discard_rtp_filter())

                def passed(data: bytes, addr: Any, original: Any = original) -> None:
                    stun(data)
                    original(data, addr)

                protocol.datagram_received = passed
                continue

            def received(data: bytes, addr: Any, original: Any = original) -> None:
                if 128 <= data[0] < 192 and (data[1] & 0x7F) in kinds:  # RTP (not RTCP: 72-76)
                    first, second, seq, timestamp, _ = unpack(data)
                    size = len(data) - 12 - 4 * (first & 0x0F)
                    if first & 0x10:  # header extensions
                        size -= 4 + 4 * int.from_bytes(data[14:16], "big")
                    kinds[second & 0x7F].add(seq, timestamp, second & 0x80, size)
                else:
                    stun(data)
                    original(data, addr)

            protocol.datagram_received = received

    async def accept(self, offer: str, send: list[Any] | None = None) -> str:
        """Take an offer (SDP) from whatever signals it, sending `send` (`clip_tracks`) back
        if given; the answer to send back."""
        from aiortc import RTCSessionDescription

        await self.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        if send:
            send_clip(self.pc, send)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self.count_headers()
        self.joined = time.monotonic()
        return str(self.pc.localDescription.sdp)

    async def join(self, reader: Any, writer: Any) -> None:
        offer = await ask(reader, writer, {"op": "view"})
        sdp = await self.accept(offer["sdp"])
        await ask(reader, writer, {"op": "answer", "id": offer["id"], "sdp": sdp})
        self.id = int(offer["id"])

    async def leave(self, reader: Any, writer: Any, id: int) -> None:
        await ask(reader, writer, {"op": "leave", "id": id})
        await self.pc.close()

    def discarded(self, drops: dict[int, int]) -> int:
        """RTP packets that reached a light bot (`drops`: `discarded_rtp()`)."""
        return sum(drops.get(inode, 0) for inode in self.inodes)

    def diagnosis(
        self, sockets: dict[int, tuple[int, int]], queued: dict[int, int]
    ) -> dict[str, Any]:
        """What `diagnose` tells of this bot: kind, port, where, when it joined and left (if
        it did), its state, its STUN counts (`Stun`), its sockets' drops (a full bot's: its
        receive buffer overflowing) and largest receive queue seen (`queued`, by inode)."""
        return {
            "light": self.light,
            "port": self.port,
            "where": self.where,
            "joined": self.joined,
            "left": self.left,
            "state": self.pc.connectionState,
            "stun": vars(self.stun),
            "drops": sum(sockets.get(inode, (0, 0))[1] for inode in self.inodes),
            "queued": max((queued.get(inode, 0) for inode in self.inodes), default=0),
        }

    def counts(self, drops: dict[int, int] | None = None) -> dict[str, Any]:
        if self.light:
            packets = self.discarded(drops if drops is not None else discarded_rtp())
            return {"light": packets, "t": time.monotonic(), "where": self.where}
        audio, video = self.streams["audio"], self.streams["video"]
        return {
            "video": video.frames,
            "begun": video.begun,
            "bytes": video.bytes + audio.bytes,
            "received": video.received + audio.received,
            "expected": video.expected + audio.expected,
            "t": time.monotonic(),
            "where": self.where,
        }


async def view(port: int, count: int, every: int) -> None:
    os.nice(5)  # the load generator yields to the media process and the publisher
    setup_aiortc()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    bots = [Bot(light=n % every != 0) for n in range(count)]
    watch = Watch(bots)
    for bot in bots:
        await bot.join(reader, writer)
    await counted(bots, 60, watch)


class Watch:
    """A bot process's own health, in windows of `WINDOW` seconds: its event loop's lag (how
    late a timer ran), its CPU and run-queue wait (seconds a second), and its bots' sockets:
    the largest receive queue (bytes as charged against SO_RCVBUF) of the full bots' and of
    the light bots', and the full bots' drops (a full receive buffer). A full bot's socket
    queues its RTP and its STUN together: a consent check waits behind the RTP before it,
    however small the loop's lag. Runs from its creation (`diagnose` reads it)."""

    WINDOW, TICK = 5.0, 0.1

    def __init__(self, bots: list[Bot]) -> None:
        self.bots = bots  # the list itself: a bot replaced in it is followed
        self.windows: list[dict[str, float]] = []
        self.queued: dict[int, int] = {}  # the largest receive queue seen, by socket inode
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        loop, pid = asyncio.get_running_loop(), os.getpid()
        cpu, wait, start, lag = own_cpu(), run_queue_wait(pid), time.monotonic(), 0.0
        drops = self.full_drops(udp_sockets())
        while True:
            before = loop.time()
            await asyncio.sleep(self.TICK)
            lag = max(lag, loop.time() - before - self.TICK)
            if (now := time.monotonic()) - start < self.WINDOW:
                continue
            sockets = udp_sockets()
            window = {"t": now, "lag": lag, **self.sample(sockets)}
            window["cpu"] = ((used := own_cpu()) - cpu) / (now - start)
            window["wait"] = ((waited := run_queue_wait(pid)) - wait) / (now - start)
            window["drops_full"] = (dropped := self.full_drops(sockets)) - drops
            self.windows.append(window)
            cpu, wait, drops, start, lag = used, waited, dropped, now, 0.0

    def sample(self, sockets: dict[int, tuple[int, int]]) -> dict[str, float]:
        """The largest receive queue now of the full and of the light bots' sockets (KiB)."""
        largest = {"queued_full": 0.0, "queued_light": 0.0}
        for bot in self.bots:
            for inode in bot.inodes:
                queued = sockets.get(inode, (0, 0))[0]
                self.queued[inode] = max(self.queued.get(inode, 0), queued)
                name = "queued_light" if bot.light else "queued_full"
                largest[name] = max(largest[name], queued / 1024)
        return largest

    def full_drops(self, sockets: dict[int, tuple[int, int]]) -> int:
        return sum(
            sockets.get(inode, (0, 0))[1] for b in self.bots if not b.light for inode in b.inodes
        )

    def diagnose(self) -> dict[str, Any]:
        """This process's windows and its bots' `Bot.diagnosis`, as `--diagnose` shows them."""
        sockets = udp_sockets()
        self.sample(sockets)
        bots = [bot.diagnosis(sockets, self.queued) for bot in self.bots]
        return {"pid": os.getpid(), "now": time.monotonic(), "windows": self.windows, "bots": bots}


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def counted(bots: list[Bot], wait: float, watch: Watch | None = None) -> None:
    """Say how many bots got a first video frame (a light bot: RTP) within `wait` seconds,
    then their counts at each `mark` read on stdin (`watch.diagnose()` at each `diagnose`),
    until stdin ends."""

    def reached() -> list[Bot]:
        drops = discarded_rtp() if any(b.light for b in bots) else {}
        return [b for b in bots if (b.discarded(drops) if b.light else b.streams["video"].frames)]

    deadline = time.monotonic() + wait
    # Polled: the frames are counted by RTP callbacks (or the kernel), which signal nothing.
    while time.monotonic() < deadline and len(reached()) < len(bots):  # noqa: ASYNC110
        await asyncio.sleep(0.5)
    print(json.dumps({"connected": len(reached())}), flush=True)

    def counts() -> list[dict[str, Any]]:
        drops = discarded_rtp() if any(b.light for b in bots) else {}
        return [bot.counts(drops) for bot in bots]

    await answer_marks(counts, watch.diagnose if watch else None)
    for bot in bots:
        await bot.pc.close()


async def answer_marks(counts: Any, diagnose: Any = None) -> None:
    """Print `counts()` as a JSON line at each `mark` read on stdin (`diagnose()` at each
    `diagnose`), until stdin ends."""
    loop = asyncio.get_running_loop()
    while (line := (await loop.run_in_executor(None, sys.stdin.readline)).strip()) in (
        "mark",
        "diagnose",
    ):
        answer = counts() if line == "mark" or diagnose is None else diagnose()
        print(json.dumps(answer), flush=True)


# The production path: `fair media` processes, reached through Redis --------------------------

ROOM, PRESENTER = "webconference:17", "presenter"  # a talk's room, as fair names it


async def remote_stages() -> Any:
    """A web process's side of the media processes (fair.media.remote), from this process's
    environment (`production_env`)."""
    from fair import settings
    from fair.broadcast import Broadcaster
    from fair.media.remote import RemoteStages

    conf = settings.get()
    broadcast = Broadcaster(conf.broadcast_url, namespace=conf.broadcast_channel_namespace)
    await broadcast.connect()
    stages = RemoteStages(conf, broadcast)
    await stages.connect()
    return stages


async def publish_remote() -> None:
    """The publisher, through the media processes: the talk's room is pinned to the least
    loaded one (its origin)."""
    from aiortc import RTCSessionDescription

    setup_aiortc()
    tracks = clip_tracks(*encode_clip())
    stages = await remote_stages()
    pc = peer()
    send_clip(pc, tracks)
    await pc.setLocalDescription(await pc.createOffer())
    answer = await stages.publish(ROOM, PRESENTER, pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    log_states(pc, "publisher")
    print("published", flush=True)
    await answer_marks(lambda: clip_counts(tracks))


async def view_remote(count: int, rate: float, every: int) -> None:
    """`count` viewer bots that watch through the media processes as a web process's sockets
    do (`RemoteStages.watch`, then `answer`: the origin up to its cap, then a leg), `rate` a
    second."""
    os.nice(5)
    setup_aiortc()
    stages = await remote_stages()
    bots, start = [Bot(light=n % every != 0) for n in range(count)], time.monotonic()
    watch = Watch(bots)
    for n in range(count):
        if time.monotonic() > start + count / rate + JOIN_SLACK:
            print(f"{count - n} bots not joined within {JOIN_SLACK} s of the ramp", file=sys.stderr)
            break
        await asyncio.sleep(max(start + n / rate - time.monotonic(), 0))
        key = f"viewer:{os.getpid()}:{n}"
        for attempt in range(3):  # a page tries again when refused; then it is not connected
            try:
                offer, _ = await stages.watch(ROOM, key)
                await stages.answer(ROOM, key, await bots[n].accept(offer))
                bots[n].where = stages.leg(ROOM, key) or "origin"
                break
            except Exception as exc:  # a Conflict, a media process's failure, a time-out
                print(f"{key}, attempt {attempt + 1}: {exc!r}", file=sys.stderr)
                await bots[n].pc.close()
                bots[n] = Bot(light=bots[n].light)
                await asyncio.sleep(0.5)
    await counted(bots, 60, watch)


def production_env(namespace: str, cap: int) -> dict[str, str]:
    """The environment of the `fair media` processes and of the bench's processes that reach
    them: Redis at `BENCH_REDIS_URL` (this machine's by default), keys and channels under
    `namespace`, talks spread past `cap` viewers a process."""
    return {
        **os.environ,
        "FAIR_ENV": "test",
        "FAIR_BACKGROUND_TASKS": "off",
        "FAIR_MEDIA_URL": REDIS_URL,
        "BROADCAST_URL": REDIS_URL,
        "FAIR_MEDIA_NAMESPACE": namespace,
        "FAIR_BROADCAST_NAMESPACE": namespace,
        "FAIR_MEDIA_HOST_ADDRESSES": "127.0.0.1",
        "FAIR_MEDIA_VIEWERS_PER_PROCESS": str(cap),
        "PYTHONPATH": ROOT,
    }


REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
JOIN_SLACK = 60  # seconds past its ramp a bot process keeps joining (a starved machine)


# The orchestrator ----------------------------------------------------------------------------


def spawn(children: _harness.Children, *args: str, script: str = __file__) -> subprocess.Popen[str]:
    """One of this bench's processes (`--serve-relay`, `--publish`, `--view`, or `script`'s)."""
    return children.talker([os.path.abspath(script), *args])


def spawn_apart(
    children: _harness.Children,
    args: list[str],
    env: dict[str, str] | None = None,
    stderr: Any = None,
) -> subprocess.Popen[str]:
    """`spawn`, in a session of its own: Linux's scheduler (with autogroup, the default) shares
    the cores between sessions first, then between a session's processes by their nice values.
    A media process or the publisher in the bench's session would share one slot with every
    bot process (ten at 1,000 viewers, each weighing as much under saturation); in its own, it
    gets a slot of its own, as a service on its host would, and `--priority` raises that."""
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True, "stderr": stderr}
    return children.start(args, env, start_new_session=True, **pipes)  # type: ignore[return-value]


# With --priority P, the bot processes run at nice -(P - BOTS_BELOW), 0 at most, each in a
# session (autogroup) of its own: their share beside the machine's other load, below the media
# processes. Alone on the machine at 1,000 viewers over two media processes (--priority 20,
# --measure-every 4, at 0b2548a): bots at nice -15 (BOTS_BELOW 5) took the media's cores
# (media waited 1.02 s/s, viewers' fps min 16.1: INVALID), at nice -8 0.56 s/s (INVALID), at
# nice 0 valid (717 viewers/core, fps min 29.8, loss 0 %, no consent lost).
BOTS_BELOW = 20


def spawn_bots(
    children: _harness.Children, views: list[list[str]], env: dict[str, str] | None, priority: int
) -> list[subprocess.Popen[str]]:
    """The bot processes (`views`: their command lines). They stand for viewers' browsers,
    each on a machine of its own: with `--priority` P, each runs in a session of its own
    (`spawn_apart`) at nice -(P - `BOTS_BELOW`), above the machine's other load (they need
    ~0.07 core a hundred viewers), below the media processes. In the bench's session, at the
    machine's nice 0 or even -(P - 5) (one group for them all), they waited for a core up to a
    second a second on a loaded machine (load 12-17), their full bots' sockets filled with RTP,
    and the media processes' consent checks queued behind it went unanswered: consent lost."""
    if not priority:
        return [children.talker(view, env) for view in views]
    bots = [spawn_apart(children, view, env) for view in views]
    prioritise([p.pid for p in bots], max(priority - BOTS_BELOW, 0))
    return bots


def expect(process: subprocess.Popen[str], timeout: float) -> str:
    """The process's next line of output, or an error after `timeout` seconds."""
    import selectors

    named = cast("list[str]", process.args)[-3:]  # spawn's command line
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        if not selector.select(timeout):
            raise TimeoutError(f"no answer from {named} in {timeout}s")
    line = process.stdout.readline()  # type: ignore[union-attr]
    if not line:
        raise RuntimeError(f"{named} exited")
    return line.strip()


def control(port: int, message: dict[str, Any]) -> dict[str, Any]:
    """One request to the media process's control socket, from the orchestrator."""
    with socket.create_connection(("127.0.0.1", port)) as s, s.makefile("rw") as f:
        f.write(json.dumps(message) + "\n")
        f.flush()
        return dict(json.loads(f.readline()))


def relay_usage(port: int) -> dict[str, Any]:
    return control(port, {"op": "usage"})


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, over all cores (/proc/stat)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / ticks, sum(values) / ticks


def socket_drops(pids: list[int]) -> list[dict[str, int]]:
    """Per process, the UDP datagrams each of its sockets (by inode) dropped so far because its
    receive buffer was full, from /proc/net/udp's `drops` column."""
    drops: dict[str, int] = {}
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(OSError), open(name) as table:
            for line in list(table)[1:]:
                fields = line.split()
                drops[fields[9]] = int(fields[-1])
    counts = []
    for pid in pids:
        mine = {}
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in drops:
                        mine[link[8:-1]] = drops[link[8:-1]]
        counts.append(mine)
    return counts


def dropped(before: dict[str, int], after: dict[str, int]) -> int:
    """Datagrams dropped between two `socket_drops`, by the sockets open at both."""
    return sum(after[inode] - before[inode] for inode in after.keys() & before.keys())


def udp_receive_buffer_errors() -> int:
    """The kernel's count of UDP datagrams dropped because a socket's buffer was full."""
    with open("/proc/net/snmp") as snmp:
        header, values = [line.split() for line in snmp if line.startswith("Udp:")][:2]
    return int(values[header.index("RcvbufErrors")])


@dataclass
class Result:
    mode: str
    viewers: int
    connected: int
    cores: float
    fps_min: float
    fps_median: float
    loss_max: float
    loss_mean: float
    kbps: float
    source_fps: float | None
    drops: int
    publisher_cores: float = 0.0
    bot_cores: float = 0.0
    other_cores: float = 0.0  # the rest of the machine: processes that are not the bench's
    media_drops: int = 0  # datagrams dropped by the media process's sockets
    us_per_packet: float = 0.0  # the media processes' CPU per RTP packet sent, in microseconds
    notes: str = ""
    publisher_fps: float = 0.0  # video frames the publisher sent a second
    media_wait: float = 0.0  # seconds a second the media processes waited for a core
    by_process: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    light_ratio: float | None = None  # light bots: lowest packet rate / measured bots' median
    light: int = 0  # viewers that are light bots (`Bot`): no fps nor loss of their own
    diagnosis: list[str] = field(default_factory=list)  # `diagnosis`, shown when invalid

    @property
    def valid(self) -> bool:
        """Every viewer connected, at `TARGET_FPS` or more, under 1 % loss."""
        good = self.connected == self.viewers and self.loss_max < GOAL_LOSS and self.light_ok
        return good and self.fps_min >= TARGET_FPS

    @property
    def light_ok(self) -> bool:
        return self.light_ratio is None or self.light_ratio >= LIGHT_RATE

    @property
    def per_core(self) -> float:
        return self.connected / self.cores if self.cores else float("inf")

    @property
    def equivalent_per_core(self) -> float:
        """Viewers per core, each counted by the share of the source's 30 fps it received
        intact: the fair comparison when a mode cannot keep up."""
        served = self.connected * min(self.fps_median / FPS, 1.0) * (1 - self.loss_mean)
        return served / self.cores if self.cores else float("inf")

    @property
    def quality_ok(self) -> bool:
        return (
            self.connected == self.viewers
            and self.fps_min >= GOAL_FPS
            and self.loss_max < GOAL_LOSS
            and self.light_ok
        )


def shares(n: int, parts: int, chunk: int) -> list[list[int]]:
    """`n` viewers spread evenly over `parts` media processes, in bot processes of at most
    `chunk` viewers: per media process, its bot processes' sizes."""
    each = [n // parts + (1 if i < n % parts else 0) for i in range(parts)]
    return [[min(chunk, m - i) for i in range(0, m, chunk)] for m in each]


def measure(mode: str, n: int, args: argparse.Namespace) -> Result:
    """One run of one media process (`serve_relay`), the viewers in bot processes of at most
    `args.bots_per_process`."""
    port = free_port()
    with _harness.Children() as children:
        script = os.path.abspath(__file__)
        processes = [spawn_apart(children, [script, "--serve-relay", mode, str(port)])]
        expect(processes[0], 20)
        processes.append(spawn_apart(children, [script, "--publish", str(port)]))
        expect(processes[1], 20)
        prioritise([p.pid for p in processes], args.priority)
        sizes = shares(n, 1, args.bots_per_process)[0]
        every = ["--measure-every", str(args.measure_every)]
        views = [[script, "--view", str(port), str(size), *every] for size in sizes if size]
        bots = spawn_bots(children, views, None, args.priority)
        processes += bots
        connected = sum(json.loads(expect(b, 120))["connected"] for b in bots)
        time.sleep(args.warmup)
        usage0 = relay_usage(port)
        window = observe(bots, processes[1], [p.pid for p in processes], 1, args)
        usage1 = relay_usage(port)
        reports = diagnose(bots)
        if args.profile:  # after the measure: cProfile's own cost stays out of the figures
            print(control(port, {"op": "profile", "seconds": args.profile})["profile"])
    wall = usage1["wall"] - usage0["wall"]
    media_cpu, sent = usage1["cpu"] - usage0["cpu"], usage1["sent"] - usage0["sent"]
    source = (usage1["frames_in"]["video"] - usage0["frames_in"]["video"]) / wall
    notes = [
        f"the publisher's connection is {usage1['publisher']}"
        if usage1["publisher"] != "connected"
        else "",
        f"{n - usage1['viewers_connected']} viewer connections not connected"
        if usage1["viewers_connected"] < n
        else "",
    ]
    result = window.result(
        mode,
        n,
        connected,
        media_cpu / wall,
        source if mode == "forward" else None,
        media_cpu / sent * 1e6 if sent else 0.0,
        "; ".join(note for note in notes if note),
    )
    result.diagnosis = diagnosis(reports, [])
    return result


def measure_production(n: int, args: argparse.Namespace) -> Result:
    """One run through fair's own media processes (issue 17: one talk over several): K `fair
    media` processes on Redis, each serving up to N / K viewers
    (FAIR_MEDIA_VIEWERS_PER_PROCESS); the publisher and the bots reach them as web processes do
    (fair.media.remote), the bots joining `args.ramp` a second in all: past the cap, a
    viewer watches on a leg, which takes the talk from the origin as one viewer."""
    import redis

    from fair.media.broker import Keys

    k, namespace = args.processes, f"fair:bench:relay:{os.getpid()}"
    env = production_env(namespace, -(-n // args.processes))
    keys, client = Keys(namespace), redis.Redis.from_url(REDIS_URL, decode_responses=True)
    logs = [tempfile.TemporaryFile("w+") for _ in range(k)]  # their stderr (`media_logs`)
    reports: list[dict[str, Any]] = []
    try:
        with _harness.Children() as children:
            media = [spawn_apart(children, ["-m", "fair", "media"], env, log) for log in logs]
            deadline = time.monotonic() + 60
            while client.zcard(keys.load) < k:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{client.zcard(keys.load)} of {k} media processes up")
                time.sleep(0.2)
            publisher = spawn_apart(children, [os.path.abspath(__file__), "--publish-remote"], env)
            expect(publisher, 60)
            prioritise([p.pid for p in [*media, publisher]], args.priority)
            sizes = [size for size in shares(n, 1, args.bots_per_process)[0] if size]
            rate = args.ramp / len(sizes)
            every = ["--measure-every", str(args.measure_every)]
            views = [
                [os.path.abspath(__file__), "--view-remote", str(size), str(rate), *every]
                for size in sizes
            ]
            bots = spawn_bots(children, views, env, args.priority)
            wait = n / args.ramp + JOIN_SLACK + 90  # the ramp, its slack, `counted`'s 60 s
            connected = sum(json.loads(expect(b, wait))["connected"] for b in bots)
            time.sleep(args.warmup)
            started: list[subprocess.Popen[Any]] = [*media, publisher, *bots]
            pids = [p.pid for p in started]
            cpu0, t0 = [cpu_seconds(p) for p in pids[:k]], time.monotonic()
            window = observe(bots, publisher, pids, k, args)
            cpu1, t1 = [cpu_seconds(p) for p in pids[:k]], time.monotonic()
            audience = client.hgetall(keys.audience(ROOM))
            alive = [p.poll() is None for p in media]
            reports = diagnose(bots)
    finally:
        asyncio.run(_harness.forget_namespace(REDIS_URL, namespace))
        client.close()
        lost = media_logs(logs)
    media_cpu = sum(b - a for a, b in zip(cpu0, cpu1, strict=True))
    received = window.received
    spread = {
        str(name).split(":")[1] if ":" in str(name) else str(name): v
        for name, v in audience.items()
    }
    fps_by_process = {
        place.split(":")[1] if ":" in place else place: f"{low:.1f}/{mid:.1f} ({count})"
        for place, (low, mid, count) in window.by_process.items()
    }
    notes = [
        f"viewers by process (pid: count; origin: presenters:version): {spread}",
        f"fps min/median by process (viewers): {fps_by_process}",
        "" if all(alive) else f"media processes alive: {alive}",
    ]
    result = window.result(
        f"forward:{k}",
        n,
        connected,
        media_cpu / (t1 - t0),
        window.source,  # as the bots saw it: the origin's own count is not read across
        media_cpu / received * 1e6 if received else 0.0,
        "; ".join(v for v in notes if v),
    )
    result.diagnosis = diagnosis(reports, lost)
    return result


# Diagnostics: who loses ICE consent, and why ---------------------------------------------------


def diagnose(bots: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    """Each bot process's `Watch.diagnose()`."""
    for process in bots:
        process.stdin.write("diagnose\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]
    return [json.loads(expect(process, 30)) for process in bots]


LOST = re.compile(
    r"^(\S+ \S+) .*ICE consent lost with \S+:(\d+): no answer for (\d+) s \((\d+) of (\d+) "
    r"checks answered; (\d+) binding requests from the other end, the last (never|\d+ s ago)\)"
)


@dataclass
class Lost:
    """A media process's 'ICE consent lost' line (fair.media.consent.lost)."""

    at: float  # time.monotonic() when it was logged
    port: int  # the other end's: a bot's socket, a leg's, the publisher's
    answered: int  # of its checks
    sent: int
    asked: int  # binding requests from the other end
    last_asked: float | None  # seconds before the line


def media_logs(logs: list[Any]) -> list[Lost]:
    """The media processes' stderr (`logs`): echoed to ours but for their 'ICE consent lost'
    lines, which are returned (`diagnosis` sums them up)."""
    offset = time.time() - time.monotonic()
    lost = []
    for log in logs:
        log.seek(0)
        for line in log:
            if found := LOST.match(line):
                at, port, _, answered, sent, asked, last = found.groups()
                when = datetime.strptime(at, "%Y-%m-%d %H:%M:%S,%f").timestamp() - offset
                ago = None if last == "never" else float(last.split()[0])
                lost.append(Lost(when, int(port), int(answered), int(sent), int(asked), ago))
            else:
                sys.stderr.write(line)
        log.close()
    return lost


def diagnosis(reports: list[dict[str, Any]], lost: list[Lost]) -> list[str]:
    """What the bot processes (`diagnose`) and the media processes (`media_logs`) saw, for the
    light bots and the full (measured) ones apart: which connections left, and why."""
    bots = [bot for report in reports for bot in report["bots"]]
    joins = [bot["joined"] for bot in bots if bot["joined"]]
    if not bots or not joins:
        return []
    t0, by_port = min(joins), {bot["port"]: bot for bot in bots}
    lines = ["diagnostics (times from the first join):"]
    for light in (False, True):
        mine = [bot for bot in bots if bot["light"] == light]
        if mine:
            lines += kind_lines("light" if light else "full", mine, reports[0]["now"])
    if lost:
        lines.append(lost_line(lost, by_port))
    for report in reports:
        lines.append(process_line(report, t0))
    return lines


def kind_lines(kind: str, bots: list[dict[str, Any]], now: float) -> list[str]:
    """The light or the full bots: how many left, when; the STUN both ways, drops, queues."""
    gone = [bot for bot in bots if bot["state"] != "connected"]
    lines = [f"  {kind} bots: {len(bots)}, {len(gone)} not connected at the end"]
    for name, group in (("gone", gone), ("connected", [b for b in bots if b not in gone])):
        if not group:
            continue
        left = [b["left"] - b["joined"] for b in group if b["left"] and b["joined"]]
        stun = {key: [b["stun"][key] for b in group] for key in group[0]["stun"]}
        ago = [now - t for t in stun["last_request_in"] if t is not None]
        lines.append(
            f"    {name} {len(group)}: "
            + (f"left {min(left):.0f}-{max(left):.0f} s after joining; " if left else "")
            + f"media's requests received {median(stun['requests_in'])}, answered "
            f"{median(stun['answers_out'])}, the last {median(ago, '.0f')} s before the end; "
            f"own requests sent {median(stun['requests_out'])}, answered "
            f"{median(stun['answers_in'])} (medians a bot); receive buffer: drops "
            f"{sum(b['drops'] for b in group)} in all"
            + (" (light: mostly their filtered RTP)" if kind == "light" else "")
            + f", largest queue {max(b['queued'] for b in group) / 1024:.0f} KiB"
        )
    return lines


def lost_line(lost: list[Lost], by_port: dict[int, dict[str, Any]]) -> str:
    kinds = {"full": 0, "light": 0, "not a bot": 0}
    for line in lost:
        bot = by_port.get(line.port)
        kinds["not a bot" if bot is None else "light" if bot["light"] else "full"] += 1
    after = [line.at - by_port[line.port]["joined"] for line in lost if line.port in by_port]
    return (
        f"  media processes: {len(lost)} 'ICE consent lost' ({kinds['full']} full bots, "
        f"{kinds['light']} light, {kinds['not a bot']} not bots)"
        + (f" {min(after):.0f}-{max(after):.0f} s after the bot joined" if after else "")
        + f"; their checks answered {median([x.answered for x in lost])} of "
        f"{median([x.sent for x in lost])}, the other end's binding requests "
        f"{median([x.asked for x in lost])}, the last "
        f"{median([x.last_asked for x in lost if x.last_asked is not None], '.0f')} s before "
        "(medians)"
    )


def process_line(report: dict[str, Any], t0: float) -> str:
    """A bot process: its bots gone, its loop's lag, CPU and wait, its sockets' queues."""
    bots, windows = report["bots"], report["windows"]
    full = [b for b in bots if not b["light"]]
    gone = [b for b in bots if b["state"] != "connected"]
    gone_full = sum(1 for b in gone if not b["light"])

    def worst(key: str) -> float:
        return max((w[key] for w in windows), default=0.0)

    lags = " ".join(f"{w['lag']:.1f}/{w['queued_full']:.0f}" for w in windows)
    return (
        f"  bot process {report['pid']} ({len(full)} full, {len(bots) - len(full)} light): "
        f"{gone_full} full and {len(gone) - gone_full} light gone; lag max {worst('lag'):.1f} s, "
        f"CPU {min((w['cpu'] for w in windows), default=0):.2f}-{worst('cpu'):.2f} s/s, "
        f"run-queue wait max {worst('wait'):.2f} s/s, full bots' queue max "
        f"{worst('queued_full'):.0f} KiB (light {worst('queued_light'):.0f}), full bots' drops "
        f"{sum(w['drops_full'] for w in windows)}; lag (s) / full bots' queue (KiB) by "
        f"{Watch.WINDOW:.0f} s from "
        f"{(windows[0]['t'] - t0) if windows else 0:.0f} s: {lags}"
    )


def median(values: list[Any], spec: str = ".0f") -> str:
    return format(statistics.median(values), spec) if values else "-"


@dataclass
class Window:
    """What the bots and /proc saw over the measured seconds."""

    fps: list[float]
    loss: list[float]
    kbps: list[float]
    source: float  # video frames a second the best-served bot saw begin: what the relay sent
    received: int  # RTP packets, by every bot
    drops: int  # the kernel's UDP receive-buffer drops, machine-wide
    media_drops: int  # by the media processes' sockets
    publisher_cores: float
    bot_cores: float
    other_cores: float
    publisher_fps: float  # video frames the publisher handed its sender a second
    media_wait: float  # seconds a second the media processes waited for a core, together
    by_process: dict[str, tuple[float, float, int]]  # fps min, median, viewers by process
    light_ratio: float | None  # the light bots' lowest packet rate over the measured' median
    light: int  # light bots

    def result(
        self,
        mode: str,
        n: int,
        connected: int,
        cores: float,
        source: float | None,
        us_per_packet: float,
        notes: str,
    ) -> Result:
        return Result(
            mode,
            n,
            connected,
            cores,
            min(self.fps),
            statistics.median(self.fps),
            max(self.loss),
            statistics.mean(self.loss),
            statistics.median(self.kbps),
            source,
            self.drops,
            self.publisher_cores,
            self.bot_cores,
            self.other_cores,
            self.media_drops,
            us_per_packet,
            notes,
            self.publisher_fps,
            self.media_wait,
            self.by_process,
            self.light_ratio,
            self.light,
        )


def observe(
    bots: list[Any], publisher: Any, pids: list[int], k: int, args: argparse.Namespace
) -> Window:
    """`args.seconds` of the run: `pids` are the `k` media processes', the publisher's
    (`publisher`), then the bots' (`bots`)."""

    def mark() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        for p in [publisher, *bots]:
            p.stdin.write("mark\n")
            p.stdin.flush()
        sent = json.loads(expect(publisher, 30))
        return sent, [c for b in bots for c in json.loads(expect(b, 30))]

    drops0, waits0 = udp_receive_buffer_errors(), [run_queue_wait(p) for p in pids[:k]]
    cpu0, busy0, sockets0 = [cpu_seconds(p) for p in pids], machine_busy(), socket_drops(pids)
    (sent0, before), t0 = mark(), time.monotonic()
    time.sleep(args.seconds)
    drops1, waits1 = udp_receive_buffer_errors(), [run_queue_wait(p) for p in pids[:k]]
    cpu1, busy1, sockets1 = [cpu_seconds(p) for p in pids], machine_busy(), socket_drops(pids)
    (sent1, after), wall = mark(), time.monotonic() - t0
    cores = [(b - a) / wall for a, b in zip(cpu0, cpu1, strict=True)]
    fps, loss, kbps, begun, where, rates, light = [], [], [], [], [], [], []
    for a, b in zip(before, after, strict=True):
        seconds = b["t"] - a["t"]
        if "light" in b:  # RTP packets a second, dropped and counted by the kernel
            light.append((b["light"] - a["light"]) / seconds)
            continue
        rates.append((b["received"] - a["received"]) / seconds)
        fps.append((b["video"] - a["video"]) / seconds)
        begun.append((b["begun"] - a["begun"]) / seconds)
        expected, received = b["expected"] - a["expected"], b["received"] - a["received"]
        loss.append(max(expected - received, 0) / expected if expected else 1.0)
        kbps.append((b["bytes"] - a["bytes"]) * 8 / seconds / 1000)
        where.append(str(b["where"]))
    machine = (busy1[0] - busy0[0]) / (busy1[1] - busy0[1]) * (os.cpu_count() or 1)
    by_process: dict[str, list[float]] = {}
    for place, rate in zip(where, fps, strict=True):
        by_process.setdefault(place, []).append(rate)
    pairs = list(zip(before, after, strict=True))
    received = sum(b["received"] - a["received"] for a, b in pairs if "light" not in b)
    discarded = sum(b["light"] - a["light"] for a, b in pairs if "light" in b)
    return Window(
        fps,
        loss,
        kbps,
        max(begun),
        received + discarded,
        drops1 - drops0,
        sum(dropped(sockets0[i], sockets1[i]) for i in range(k)),
        cores[k],
        sum(cores[k + 1 :]),
        machine - sum(cores),
        (sent1["video"] - sent0["video"]) / (sent1["t"] - sent0["t"]),
        sum(b - a for a, b in zip(waits0, waits1, strict=True)) / wall,
        {place: (min(v), statistics.median(v), len(v)) for place, v in by_process.items()},
        light_share(light, rates),
        len(light),
    )


def prioritise(pids: list[int], priority: int) -> None:
    """Run `pids` (each in a session of its own: `spawn_apart`) at nice -`priority`
    (`--priority`; root or CAP_SYS_NICE): their scheduling autogroups' nice, which ranks them
    against the machine's other sessions, and their threads' (the kernel without autogroup)."""
    if not priority:
        return
    for pid in pids:
        with contextlib.suppress(OSError):  # no autogroup in this kernel
            with open(f"/proc/{pid}/autogroup", "w") as group:
                group.write(str(-priority))
        with contextlib.suppress(FileNotFoundError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(ProcessLookupError):
                    os.setpriority(os.PRIO_PROCESS, int(task), -priority)


def light_share(light: list[float], measured: list[float]) -> float | None:
    """The light bots' lowest RTP rate over the measured bots' median (None without light
    bots; 0 when the measured bots got nothing, as bots that never joined)."""
    if not light:
        return None
    median = statistics.median(measured) if measured else 0.0
    return min(light) / median if median > 0 else 0.0


def run_queue_wait(pid: int) -> float:
    """Seconds the threads of `pid` spent so far runnable but waiting for a core (the second
    field of /proc/<pid>/task/*/schedstat): how much the machine's other load held it back."""
    total = 0
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[1])
    return total / 1e9


def row(r: Result, baseline: float | None) -> str:
    """`baseline`: the best equivalent viewers per core the baseline reached so far."""
    if r.mode.startswith("forward"):
        ok = r.quality_ok and r.per_core >= GOAL_VIEWERS_PER_CORE
        ratio = None
        if baseline:
            ratio = r.equivalent_per_core / baseline
            ok = ok and ratio >= GOAL_RATIO
        verdict = (f"{ratio:6.1f}x  " if ratio is not None else "     -   ") + (
            "ok" if ok else "MISSED"
        )
    else:
        verdict = "         " + ("quality ok" if r.quality_ok else "DEGRADED")
    source = f"{r.source_fps:6.1f}" if r.source_fps is not None else "     -"
    return (
        f"{r.mode:<11}{r.viewers:>5}{r.connected:>5}{r.cores:>7.2f}{r.per_core:>7.0f}"
        f"{r.equivalent_per_core:>7.0f}{r.publisher_fps:>6.1f}{source}{r.fps_min:>6.1f}"
        f"{r.fps_median:>6.1f}{r.loss_max * 100:>7.2f}{r.loss_mean * 100:>7.2f}{r.kbps:>6.0f}"
        f"{r.drops:>7}{r.media_drops:>6}{r.publisher_cores:>6.2f}{r.bot_cores:>6.2f}"
        f"{r.other_cores:>6.2f}{r.media_wait:>6.2f}{r.us_per_packet:>7.1f}"
        f"  {verdict}" + (f"  ({r.notes})" if r.notes else "")
    )


def target_line(results: list[Result]) -> str:
    """Issue 17's target, on the forward runs: at least `TARGET_VIEWERS_PER_CORE` viewers per
    core of media process, every viewer at `TARGET_FPS` or more with under 1 % loss."""
    good = [r for r in results if r.quality_ok and r.fps_min >= TARGET_FPS]
    best = max(good or results, key=lambda r: r.per_core)
    verdict = "ok" if best in good and best.per_core >= TARGET_VIEWERS_PER_CORE else "MISSED"
    return (
        f"target >= {TARGET_VIEWERS_PER_CORE} viewers/core at {TARGET_FPS:.0f}+ fps, loss < "
        f"{GOAL_LOSS:.0%}: best {best.mode} N={best.viewers}: {best.per_core:.0f} viewers/core, "
        f"fps min {best.fps_min:.1f}, loss max {best.loss_max:.2%}: {verdict}"
    )


def spread_line(r: Result) -> str:
    """Whether a talk over several media processes held: every viewer connected and at
    `TARGET_FPS` or more with under 1 % loss (issue 17: one talk of 1,000 viewers, two
    processes). What an invalid run's cause may be is said beside: a publisher that sent
    fewer frames, media processes that waited for a core (`STARVED`: the machine's other
    load, not the relay's own work)."""
    valid = r.valid
    starved = " (STARVED)" if r.media_wait > STARVED else ""
    light = (
        f" ({r.light} light: RTP rate min {r.light_ratio:.0%} of the measured median)"
        if r.light_ratio is not None
        else ""
    )
    return (
        f"one talk over {r.mode.split(':')[1]} media processes, {r.viewers} viewers{light}: "
        f"{r.connected} connected, fps min {r.fps_min:.1f}, loss max {r.loss_max:.2%}, "
        f"{r.per_core:.0f} viewers/core; publisher sent {r.publisher_fps:.1f} fps, media "
        f"processes waited {r.media_wait:.2f} s/s for a core{starved}: "
        f"{'valid' if valid else 'INVALID'}"
    )


HEADER = (
    f"{'mode':<11}{'N':>5}{'conn':>5}{'cores':>7}{'v/core':>7}{'eq/core':>7}{'pub':>6}{'src':>6}"
    f"{'fps':>6}{'fps':>6}{'loss':>7}{'loss':>7}{'kbps':>6}{'kernel':>7}{'media':>6}{'pub':>6}"
    f"{'bots':>6}{'other':>6}{'wait':>6}{'cpu':>7}  vs baseline (eq/core)\n"
    f"{'':<11}{'':>5}{'':>5}{'':>7}{'':>7}{'':>7}{'fps':>6}{'fps':>6}{'min':>6}{'med':>6}"
    f"{'max %':>7}{'avg %':>7}{'':>6}{'drops':>7}{'drops':>6}{'cores':>6}{'cores':>6}{'cores':>6}"
    f"{'s/s':>6}{'us/pk':>7}  verdict"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", default="25,50,100,200")
    parser.add_argument("--modes", default="forward,mediarelay")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--bots-per-process", type=int, default=100)
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="more than 1: the forward mode's talk over that many `fair media` processes",
    )
    parser.add_argument(
        "--ramp", type=float, default=50.0, help="viewers joining a second (with --processes)"
    )
    parser.add_argument(
        "--priority",
        type=int,
        default=0,
        help="P > 0: the media processes and the publisher at nice -P (root), above the "
        "machine's other load",
    )
    parser.add_argument(
        "--measure-every",
        type=int,
        default=1,
        help="K > 1: one bot in K measures fps and loss, the others are light (see Bot)",
    )
    parser.add_argument(
        "--peer-consent",
        choices=("fair", "aioice"),
        default="fair",
        help="the ICE consent of the bench's own peers (publisher, bots): fair.media.consent's, "
        "or aioice's own (the media processes keep fair's either way)",
    )
    parser.add_argument(
        "--full-bot-buffer",
        type=int,
        default=FULL_BOT_BUFFER_KIB,
        metavar="KIB",
        help="a full (measured) bot's socket receive buffer (SO_RCVBUF; light bots: 1 MiB)",
    )
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="print the diagnostics (light and full bots, bot processes, ICE consent lost) of "
        "every forward run, not only of the invalid ones",
    )
    parser.add_argument(
        "--profile", type=float, default=0, help="then cProfile the media process for S seconds"
    )
    parser.add_argument("--serve-relay", nargs=2, metavar=("MODE", "PORT"))
    parser.add_argument("--publish", metavar="PORT")
    parser.add_argument("--view", nargs=2, metavar=("PORT", "COUNT"))
    parser.add_argument("--publish-remote", action="store_true")
    parser.add_argument("--view-remote", nargs=2, metavar=("COUNT", "RATE"))
    args = parser.parse_args()
    if args.publish_remote:
        return asyncio.run(publish_remote())
    if args.view_remote:
        count, rate = int(args.view_remote[0]), float(args.view_remote[1])
        return asyncio.run(view_remote(count, rate, args.measure_every))
    if args.serve_relay:
        return asyncio.run(serve_relay(args.serve_relay[0], int(args.serve_relay[1])))
    if args.publish:
        return asyncio.run(publish(int(args.publish)))
    if args.view:
        return asyncio.run(view(int(args.view[0]), int(args.view[1]), args.measure_every))

    if args.priority and os.geteuid() != 0:
        raise SystemExit("--priority needs root (nice below 0)")
    # Inherited by the publisher and the bots, whose own arguments leave these at their defaults.
    os.environ[PEER_CONSENT] = args.peer_consent
    os.environ[FULL_BOT_BUFFER] = str(args.full_bot_buffer << 10)
    print(
        f"{os.cpu_count()} CPUs; goal: >= {GOAL_VIEWERS_PER_CORE} viewers/core, fps >= "
        f"{GOAL_FPS:.0f}, loss < {GOAL_LOSS:.0%}, >= {GOAL_RATIO:.0f}x the baseline's eq/core; "
        f"media processes and publisher at nice {-args.priority}, bots at nice "
        f"{-max(args.priority - BOTS_BELOW, 0) if args.priority else 5}, one bot in "
        f"{args.measure_every} measuring"
    )
    print(HEADER, flush=True)
    best_baseline: float | None = None
    forwarded: list[Result] = []
    spread: list[Result] = []  # runs over several media processes
    failed = 0
    for n in [int(v) for v in args.viewers.split(",")]:
        for mode in reversed(args.modes.split(",")):  # the baseline first, for the ratio
            try:
                if mode == "forward" and args.processes > 1:
                    result = measure_production(n, args)
                    spread.append(result)
                else:
                    result = measure(mode, n, args)
            except (TimeoutError, RuntimeError) as exc:
                print(f"{mode:<11}{n:>5}  failed: {exc}", flush=True)
                failed += 1
                continue
            if mode == "mediarelay":
                best_baseline = max(best_baseline or 0.0, result.equivalent_per_core) or None
            else:
                forwarded.append(result)
            print(row(result, best_baseline), flush=True)
    if forwarded:
        print(target_line(forwarded))
    for result in spread:
        print(spread_line(result))
    for result in forwarded:
        if result.diagnosis and (args.diagnose or not result.valid):
            print(f"{result.mode} N={result.viewers}: " + "\n".join(result.diagnosis))
    if failed:
        raise SystemExit(f"{failed} run(s) failed: see above and stderr")


if __name__ == "__main__":
    main()
