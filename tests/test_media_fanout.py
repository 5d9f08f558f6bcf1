"""fair.media.fanout: frames of many packets from a `Fanout` to aiortc viewers on loopback, each
packet decrypted by the viewer's own SRTP session (aiortc's receiver) and counted there."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from fair.media.fanout import Fanout, SendBuffer
from fair.media.relay import codecs, count_only
from tests.media_setup import connect, peer, until


def vp8_frame(size: int, keyframe: bool) -> bytes:
    """Bytes the fanout takes for a VP8 frame: its P bit (bit 0 of byte 0) says which kind."""
    return bytes([0x10 if keyframe else 0x11]) + os.urandom(size - 1)


async def watch(fanout: Fanout, seen: list[Any]) -> list[Any]:
    """A viewer of `fanout`'s video that keeps every RTP packet it decrypts; started on keyframes
    sent until its first packet arrives; its connections, to close."""
    out, viewer = peer(), peer()
    transceiver = out.addTransceiver("video", direction="sendonly")
    transceiver.setCodecPreferences(codecs("video"))
    fanout.attach(transceiver.sender, lambda: None)
    await connect(out, viewer)
    count_only(viewer.getTransceivers()[0].receiver, seen.append)
    timestamp = 0
    async with asyncio.timeout(10):
        while not seen:
            fanout.send(vp8_frame(100, True), timestamp, True)
            timestamp += 3000
            await asyncio.sleep(0.05)
    return [out, viewer]


@pytest.mark.parametrize("gso", [True, False], ids=["udp-gso", "a-datagram-at-a-time"])
async def test_frames_of_many_packets_reach_the_viewer_whole_and_in_order(
    loopback_only: None, gso: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 100 KiB keyframe (80 packets: more than one GSO send holds, more than the work buffer's
    first size) and a 3-packet frame arrive as the VP8 packetizer cut them, sequence numbers
    contiguous, the marker on each frame's last packet, and what they carry is the frames."""
    from aiortc.codecs.vpx import VpxPayloadDescriptor

    monkeypatch.setattr(SendBuffer, "gso", gso)
    fanout, seen = Fanout("video"), []
    connections = await watch(fanout, seen)
    try:
        await until(lambda: len(seen) >= 1, 5)
        seen.clear()
        frames = [vp8_frame(100 * 1024, True), vp8_frame(3000, False)]
        fanout.send(frames[0], 900000, True)
        fanout.send(frames[1], 903000, False)
        await until(lambda: len(seen) >= 80 + 3, 10)
        await asyncio.sleep(0.2)  # nothing more comes
        numbers = [p.sequence_number for p in seen]
        assert numbers == [(numbers[0] + i) & 0xFFFF for i in range(80 + 3)]
        assert [p.marker for p in seen] == [0] * 79 + [1] + [0, 0, 1]
        timestamps = [p.timestamp for p in seen]
        assert timestamps == [timestamps[0]] * 80 + [(timestamps[0] + 3000) & 0xFFFFFFFF] * 3
        data = [VpxPayloadDescriptor.parse(p.payload)[1] for p in seen]
        assert [b"".join(data[:80]), b"".join(data[80:])] == frames
        assert SendBuffer.gso is gso  # loopback takes GSO: never turned off by a refusal
    finally:
        for pc in connections:
            await pc.close()
