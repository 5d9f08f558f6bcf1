"""Send one encoded stream to many viewers' RTP senders at once, without aiortc's per-viewer
coroutine chain.

aiortc's `RTCRtpSender` sends each viewer's copy through its own task: `track.recv()`, the
payloader, an `RtpPacket` object, its serializer, then three awaited layers (DTLS transport,
ICE connection, datagram protocol) for every packet of every viewer. A `Fanout` does per frame,
once for every viewer, what is the same for all of them (the VP8 payloads with one shared
picture id, the abs-send-time), and per viewer and packet only what differs: a 12-byte RTP
header plus the viewer's header extensions packed with `struct`, SRTP with the viewer's own
libsrtp session (C) in one buffer shared by all (`SendBuffer`), and one `sendmsg` per viewer and
frame on the viewer's ICE-selected socket: with UDP GSO, the kernel cuts it into the frame's
datagrams.

    fanout = Fanout("video")
    fanout.attach(sender, on_keyframe_request)   # before the viewer's offer; its send() starts it
    fanout.send(data, timestamp, keyframe)       # each encoded frame from the presenter
    fanout.detach(sender)

A viewer's sequence numbers are the fanout's packet counter plus an offset of its own, so the
history of recent packets, for retransmissions (NACK, answered as RTX when negotiated), is one
for all viewers. A video viewer starts at a keyframe: until then it gets nothing. The sender
object stays aiortc's: it still registers with the transport's RTCP router, so receiver
reports, NACK and PLI/FIR arrive as usual; this module replaces only its RTP loop, its
retransmission and its sender reports (with this viewer's counts).

aiortc internals used, all in this module (pinned: aiortc==1.16.0, see pyproject.toml):

* `RTCRtpSender._run_rtp(codec)` and `_run_rtcp()`: replaced per sender (before `send()`
  starts them) by `_Leg.run_rtp` and `_Leg.run_rtcp`; `RTCRtpSender._retransmit(seq)` by
  `_Leg.retransmit`; `_send_keyframe()` by the caller's keyframe request.
* Its private `__rtp_started`, `__rtp_exited`, `__rtcp_started`, `__rtcp_exited` events (which
  `stop()` waits for), `__rtx_payload_type`, `__mid`, `__cname`, `__lsr`, `__lsr_time`,
  `__rtp_header_extensions_map` (its `__ids`: the negotiated extension ids), `_ssrc`,
  `_rtx_ssrc`, and `_send_rtcp(packets)`.
* `RTCDtlsTransport._tx_srtp` (the viewer's pylibsrtp session) and `_state`; its ICE transport's
  `_connection._nominated[1]`: aioice's selected pair (`protocol.transport`, `remote_addr`).
* `aiortc.codecs.vpx.Vp8Encoder._packetize(buffer, picture_id)`, `aiortc.clock`,
  `aiortc.rtp`'s RTCP packet classes.

Also, in `SendBuffer`: pylibsrtp's `_binding` (`ffi`, `lib.srtp_protect`) and `Session._srtp` (the
libsrtp context; pinned: pylibsrtp 1.0.0), and asyncio's datagram transport's `_sock` (uvloop's
transport has none: it is sent to through `sendto`).
"""

from __future__ import annotations

import asyncio
import errno
import random
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpSender, clock
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcdtlstransport import State
from aiortc.rtp import RtcpByePacket, RtcpSdesPacket, RtcpSenderInfo, RtcpSourceInfo, RtcpSrPacket
from pylibsrtp import SRTP_MAX_TRAILER_LEN
from pylibsrtp._binding import ffi, lib

PYLIBSRTP_VERSION = "1.0.0"  # its binding, used in `SendBuffer`, was read in this version
HISTORY = 1024  # packets kept for retransmissions, per stream (aiortc keeps 128 per sender)
BACKLOG = 256 * 1024  # bytes queued in a viewer's socket transport before its frames are skipped
_HEADER = struct.Struct("!BBHII")
_BLANK = bytes(_HEADER.size)  # a packet's header, written per viewer in `SendBuffer.seal`
_ROOM = _HEADER.size + 4 + 32  # header, extension header and elements: at most (mid, abs-send-time)
_UDP_SEGMENT = 103  # linux/udp.h (Python 3.11's socket module lacks it): UDP GSO, Linux >= 4.18
_SEGMENT = struct.Struct("=H")
_GSO_MAX = 32  # datagrams per GSO send (Linux takes at most 64, and 64 KiB)
_srtp_protect = lib.srtp_protect
_CONNECTED = State.CONNECTED  # read once: an Enum member's lookup is slow in Python 3.11
_EXTENSION = struct.Struct("!HH")
_SENDER = "_RTCRtpSender__"


def _private(sender: RTCRtpSender, name: str) -> Any:
    return getattr(sender, _SENDER + name)


class _Leg:
    """One viewer's sender on a fanout: its offsets, codec, keys and socket."""

    def __init__(self, fanout: Fanout, sender: RTCRtpSender, keyframe: Callable[[], None]) -> None:
        self.fanout, self.sender, self.keyframe = fanout, sender, keyframe
        self.ssrc, self.rtx_ssrc = sender._ssrc, sender._rtx_ssrc
        self.seq_base = random.randint(0, 32767)  # aiortc's range: no early wrap for SRTP
        self.ts_base = random.getrandbits(32)
        self.rtx_seq = random.randint(0, 32767)
        self.payload_type = self.rtx_type = 0
        self.first = -1  # the fanout's counter at this viewer's first packet; -1: not started
        self.octets_before = 0
        self.last_timestamp = self.last_ntp = 0
        self.mid = b""
        self.ids: Any = None
        self.abs_id = 0
        self.ext_prefix = self.ext_suffix = b""
        self.protect: Callable[[bytes], bytes] | None = None
        self.session: Any = None  # the viewer's pylibsrtp session, kept alive for `srtp`
        self.srtp: Any = None  # its libsrtp context, for `SendBuffer.seal`
        self.dtls = sender.transport
        self.destination: tuple[Any, Any] | None = None
        self.stopped = asyncio.get_running_loop().create_future()
        sender._run_rtp = self.run_rtp  # type: ignore[method-assign]
        sender._run_rtcp = self.run_rtcp  # type: ignore[method-assign]
        sender._retransmit = self.retransmit  # type: ignore[method-assign]
        sender._send_keyframe = keyframe  # type: ignore[method-assign]

    async def run_rtp(self, codec: Any) -> None:
        """In place of aiortc's RTP loop: join the fanout, then wait to be stopped."""
        sender = self.sender
        _private(sender, "rtp_started").set()
        self.payload_type = codec.payloadType
        self.rtx_type = _private(sender, "rtx_payload_type") or 0
        self.mid = (_private(sender, "mid") or "").encode()
        self.ids = _private(sender, "rtp_header_extensions_map")._HeaderExtensionsMap__ids
        self._layout()
        self.dtls = sender.transport
        self.session = self.dtls._tx_srtp
        self.protect, self.srtp = self.session.protect, self.session._srtp[0]
        self.fanout._ready(self)
        try:
            await self.stopped
        except asyncio.CancelledError:
            pass
        finally:
            self.fanout._gone(self)
            _private(sender, "rtp_exited").set()

    async def run_rtcp(self) -> None:
        """aiortc's sender reports, with this viewer's counts (aiortc's would be zeros)."""
        sender = self.sender
        _private(sender, "rtcp_started").set()
        cname = _private(sender, "cname")
        try:
            while True:
                await asyncio.sleep(0.5 + random.random())
                packets: list[Any] = [RtcpSrPacket(ssrc=self.ssrc, sender_info=self.report())]
                setattr(sender, _SENDER + "lsr", (self.last_ntp >> 16) & 0xFFFFFFFF)
                setattr(sender, _SENDER + "lsr_time", time.time())
                if cname is not None:
                    item = RtcpSourceInfo(ssrc=self.ssrc, items=[(1, cname.encode("utf8"))])
                    packets.append(RtcpSdesPacket(chunks=[item]))
                await sender._send_rtcp(packets)
        except asyncio.CancelledError:
            pass
        await sender._send_rtcp([RtcpByePacket(sources=[self.ssrc])])
        _private(sender, "rtcp_exited").set()

    def report(self) -> RtcpSenderInfo:
        fanout = self.fanout
        sent = fanout.packets - self.first if self.first >= 0 else 0
        octets = fanout.octets - self.octets_before if self.first >= 0 else 0
        return RtcpSenderInfo(
            ntp_timestamp=self.last_ntp,
            rtp_timestamp=self.last_timestamp,
            packet_count=sent & 0xFFFFFFFF,
            octet_count=octets & 0xFFFFFFFF,
        )

    def start(self, counter: int) -> None:
        self.first, self.octets_before = counter, self.fanout.octets

    def socket(self) -> tuple[Any, Any] | None:
        """The viewer's datagram transport and address, None once it cannot send."""
        if self.dtls._state is not _CONNECTED:
            return None
        if self.destination is None:  # aioice nominates a pair once; closing it closes the DTLS
            pair = self.dtls.transport._connection._nominated.get(1)
            if pair is not None:
                self.destination = pair.protocol.transport, pair.remote_addr
        return self.destination

    def extensions(self, abs_send_time: bytes) -> bytes:
        """The one-byte header extensions aiortc would send: mid and abs-send-time."""
        return self.ext_prefix + abs_send_time + self.ext_suffix if self.abs_id else self.ext_prefix

    def _layout(self) -> None:
        """What `extensions` joins around the abs-send-time: the extension header, the mid
        element and the abs-send-time's id byte; then the padding."""
        ids, body = self.ids, b""
        if ids.mid and self.mid:
            body += bytes([(ids.mid << 4) | (len(self.mid) - 1)]) + self.mid
        self.abs_id = ids.abs_send_time or 0
        size = len(body) + (4 if self.abs_id else 0)
        if not size:
            self.ext_prefix = self.ext_suffix = b""
            return
        padding = -size % 4
        if self.abs_id:
            body += bytes([(self.abs_id << 4) | 2])
        self.ext_prefix = _EXTENSION.pack(0xBEDE, (size + padding) // 4) + body
        self.ext_suffix = b"\x00" * padding
        if not self.abs_id:
            self.ext_prefix += self.ext_suffix

    async def retransmit(self, sequence_number: int) -> None:
        """Answer a NACK from the shared history, as RTX when the viewer negotiated it."""
        fanout = self.fanout
        if self.first < 0 or self.protect is None:
            return
        newest = fanout.packets - 1
        seq = sequence_number
        counter = newest - ((newest - (seq - self.seq_base)) & 0xFFFF)
        kept = fanout.history[counter % HISTORY]
        if counter < self.first or kept is None or kept[0] != counter:
            return
        _, timestamp, marker, payload = kept
        ts = (self.ts_base + timestamp) & 0xFFFFFFFF
        if self.rtx_type:
            payload = struct.pack("!H", seq) + payload
            pt, seq, ssrc = self.rtx_type, self.rtx_seq, self.rtx_ssrc
            self.rtx_seq = (self.rtx_seq + 1) & 0xFFFF
        else:
            pt, ssrc = self.payload_type, self.ssrc
        extensions = self.extensions(_abs_send_time())
        first = 0x90 if extensions else 0x80
        header = _HEADER.pack(first, marker << 7 | pt, seq, ts, ssrc)
        destination = self.socket()
        if destination is not None:
            destination[0].sendto(self.protect(header + extensions + payload), destination[1])


def _abs_send_time() -> bytes:
    return struct.pack("!I", (clock.current_ntp_time() >> 14) & 0x00FFFFFF)[1:]


class SendBuffer:
    """One buffer where a frame's packets are protected for one viewer after another, back to
    back, then sent from: per packet two copies and a libsrtp call in C, no Python bytes object;
    per viewer one `sendmsg` for all its packets of the frame (UDP GSO: the kernel cuts the
    buffer into datagrams of the first one's size, which every packet but the last has) straight
    on the socket, not through asyncio's transport (unless that already holds a backlog, which
    must go first)."""

    gso = True  # off for the process once a kernel or device refuses it

    def __init__(self) -> None:
        self._allocate(64 * 1024)
        self.length = ffi.new("int *")

    def _allocate(self, size: int) -> None:
        self.buffer = bytearray(size)
        self.view = memoryview(self.buffer)
        self.pointer = ffi.from_buffer("char[]", self.buffer)

    def fit(self, payloads: list[bytes]) -> None:
        """Room for a frame's packets, with the largest header and SRTP trailer each."""
        needed = sum(len(p) for p in payloads) + len(payloads) * (_ROOM + SRTP_MAX_TRAILER_LEN)
        if needed > len(self.buffer):
            self._allocate(needed)

    def seal(self, leg: _Leg, packets: list[bytes], seq: int, ts: int, extended: bool) -> list[int]:
        """`packets` (blank headers, then the extensions and payloads) with `leg`'s headers,
        protected by its SRTP session one after another in the buffer: where each ends. A packet
        libsrtp refuses is left out."""
        buffer, view, pointer, length = self.buffer, self.view, self.pointer, self.length
        pack, protect, srtp = _HEADER.pack_into, _srtp_protect, leg.srtp
        byte0, pt, ssrc, last = (
            0x90 if extended else 0x80,
            leg.payload_type,
            leg.ssrc,
            len(packets) - 1,
        )
        ends, offset = [], 0
        for i, packet in enumerate(packets):
            size = len(packet)
            view[offset : offset + size] = packet
            pack(
                buffer, offset, byte0, pt | (0x80 if i == last else 0), (seq + i) & 0xFFFF, ts, ssrc
            )
            length[0] = size
            if protect(srtp, pointer + offset, length) == 0:
                offset += length[0]
                ends.append(offset)
        return ends

    def transmit(self, transport: Any, address: Any, ends: list[int], even: bool) -> None:
        """Send the sealed packets that end at `ends` to `address` on `transport`'s socket;
        `even`: every packet but the last has the size of the first, the last no more."""
        if not ends or transport.is_closing():
            return
        view, start, count = self.view, 0, 0
        sock: Any = getattr(transport, "_sock", None)  # asyncio's transport; uvloop's has none
        step = _GSO_MAX if even and self.gso else 1
        try:
            for k in range(0, len(ends) if sock is not None else 0, step):
                if transport.get_write_buffer_size():  # what asyncio holds goes first
                    break
                count = min(step, len(ends) - k)
                end = ends[k + count - 1]
                if count > 1:
                    option = [(socket.SOL_UDP, _UDP_SEGMENT, _SEGMENT.pack(ends[k] - start))]
                    sock.sendmsg([view[start:end]], option, 0, address)
                else:
                    sock.sendto(view[start:end], address)
                start = end
        except (BlockingIOError, InterruptedError):  # the kernel's buffer is full
            pass
        except OSError as exc:
            if count > 1 and exc.errno in (errno.EIO, errno.EINVAL, errno.ENOPROTOOPT):
                SendBuffer.gso = False  # no UDP GSO on this machine or device: a datagram at a time
        for end in ends:  # what is left, through the transport, which queues what must wait
            if end > start:
                transport.sendto(bytes(view[start:end]), address)
                start = end


class Fanout:
    """One kind ("audio" or "video") of one presenter, sent to every attached viewer."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.packets = 0  # packets sent so far, to everyone (a viewer's seq = its base + this)
        self.octets = 0  # payload bytes so far
        self.history: list[tuple[int, int, int, bytes] | None] = [None] * HISTORY
        self.picture_id = random.randint(0, (1 << 15) - 1)
        self.legs: dict[RTCRtpSender, _Leg] = {}  # attached: the relay's viewers
        self._live: list[_Leg] = []  # started: sent to
        self._waiting: list[_Leg] = []  # connected, waiting for a keyframe
        self._work = SendBuffer()

    def attach(self, sender: RTCRtpSender, keyframe: Callable[[], None]) -> None:
        """Take over `sender`'s RTP: call before its connection's `send()` starts it."""
        self.legs[sender] = _Leg(self, sender, keyframe)

    def detach(self, sender: RTCRtpSender) -> None:
        """Stop sending to `sender` (its RTCP goes on until aiortc stops the sender)."""
        leg = self.legs.pop(sender, None)
        if leg is not None:
            self._gone(leg)
            if not leg.stopped.done():
                leg.stopped.set_result(None)

    def send(self, data: bytes, timestamp: int, keyframe: bool) -> None:
        """One encoded frame (`timestamp` on the codec's RTP clock) to every started viewer;
        viewers waiting for a keyframe start on this one if it is."""
        if self._waiting and (keyframe or self.kind == "audio"):
            for leg in self._waiting:
                leg.start(self.packets)
            self._live += self._waiting
            self._waiting = []
        payloads = self._payloads(data)
        first, count, last = self.packets, len(payloads), len(payloads) - 1
        for i, payload in enumerate(payloads):
            self.history[(first + i) % HISTORY] = (first + i, timestamp, int(i == last), payload)
        self.packets += count
        self.octets += sum(len(p) for p in payloads)
        if not self._live:
            return
        abs_send_time = _abs_send_time()
        ntp = clock.current_ntp_time()
        self._work.fit(payloads)
        size = len(payloads[0])
        even = all(len(p) == size for p in payloads[:-1]) and len(payloads[-1]) <= size
        plain: dict[bytes, list[bytes]] = {}  # by extensions: the packets, headers left blank
        dead = []
        for leg in self._live:
            destination = leg.socket()
            if destination is None:
                dead.append(leg)
                continue
            transport, address = destination
            if transport.get_write_buffer_size() > BACKLOG:  # the kernel refuses: skip
                continue
            extensions = leg.extensions(abs_send_time)
            packets = plain.get(extensions)
            if packets is None:
                packets = plain[extensions] = [_BLANK + extensions + p for p in payloads]
            ts = (leg.ts_base + timestamp) & 0xFFFFFFFF
            ends = self._work.seal(leg, packets, leg.seq_base + first, ts, bool(extensions))
            self._work.transmit(transport, address, ends, even)
            leg.last_timestamp, leg.last_ntp = ts, ntp
        for leg in dead:
            self._gone(leg)

    def _payloads(self, data: bytes) -> list[bytes]:
        if self.kind == "audio":
            return [data]
        payloads = Vp8Encoder._packetize(data, self.picture_id)
        self.picture_id = (self.picture_id + 1) % (1 << 15)
        return payloads

    def _ready(self, leg: _Leg) -> None:
        if self.legs.get(leg.sender) is not leg:  # detached before its connection started
            return
        self._waiting.append(leg)
        if self.kind == "video":
            leg.keyframe()

    def _gone(self, leg: _Leg) -> None:
        for group in (self._live, self._waiting):
            if leg in group:
                group.remove(leg)

    @property
    def sending(self) -> int:
        """Viewers being sent to now (connected, and started on a keyframe for video)."""
        return len(self._live)
