"""fair.media.relay: a presenter's aiortc peer, the relay and decoding aiortc viewers, all on
loopback in this process, SDP exchanged directly (no signalling server). The peers, the relay's
`stage` and the `encoders` spy are tests/media_setup.py's."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fair.media.fanout import PYLIBSRTP_VERSION
from fair.media.relay import AIORTC_VERSION, ForwardingRelay, is_keyframe
from tests.media_setup import HEIGHT, WIDTH, Stage, Viewer, connect, peer, until


async def test_viewers_decode_the_presenters_frames_and_a_late_one_starts_within_2s(
    stage: Stage, encoders: dict[str, set[int]]
) -> None:
    started = time.monotonic()
    first = [await stage.join() for _ in range(3)]
    await until(lambda: all(v.count("video") >= 15 and v.count("audio") >= 25 for v in first), 10)
    for viewer in first:
        assert {(w, h) for _, w, h in viewer.frames["video"]} == {(WIDTH, HEIGHT)}

    # A late joiner: the presenter's encoder makes a keyframe only when asked (aiortc's GOP is
    # 3000 frames), so its first picture proves the relay's keyframe request reached it.
    await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - started)))
    joined = time.monotonic()
    late = await stage.join()
    await until(lambda: late.count("video") >= 1, 2.0)
    assert late.frames["video"][0][0] - joined < 2.0
    assert late.frames["video"][0][1:] == (WIDTH, HEIGHT)
    await until(lambda: late.count("audio") >= 5, 2.0)

    # One viewer leaves: the others keep receiving, and the relay forgets it.
    await first[0].close()
    await stage.relay_out[0].close()
    counts = [v.count("video") for v in (first[1], first[2], late)]
    await asyncio.sleep(1.0)
    after = [v.count("video") for v in (first[1], first[2], late)]
    assert all(b - a >= 15 for a, b in zip(counts, after, strict=True)), (counts, after)
    assert stage.relay.viewers == 3

    # Nothing was encoded but by the presenter: one VP8 and one Opus encoder in all.
    assert {kind: len(ids) for kind, ids in encoders.items()} == {"video": 1, "audio": 1}
    presenter_senders = {t.kind: t.sender for t in stage.presenter.getTransceivers()}
    assert presenter_senders["video"].track is not None
    # Keyframe requests were rate-limited (at most one per 0.5 s since the start).
    elapsed = time.monotonic() - started
    assert 1 <= stage.relay.keyframe_requests <= elapsed / 0.5 + 1


async def test_keyframe_requests_are_rate_limited(stage: Stage) -> None:
    viewer = await stage.join()
    await until(lambda: viewer.count("video") >= 3, 10)
    await asyncio.sleep(0.6)
    before = stage.relay.keyframe_requests
    for _ in range(20):
        stage.relay.request_keyframe()
    assert stage.relay.keyframe_requests == before + 1  # at once
    await asyncio.sleep(0.2)
    for _ in range(20):
        stage.relay.request_keyframe()
    assert stage.relay.keyframe_requests == before + 1  # the rest wait for the interval
    await asyncio.sleep(0.45)
    assert stage.relay.keyframe_requests == before + 2  # and make one request, not forty


async def test_a_sink_gets_the_encoded_frames_without_a_peer(stage: Stage) -> None:
    import fractions

    got: list[tuple[str, int, Any, bool]] = []

    def sink(kind: str, packet: Any, keyframe: bool) -> None:
        got.append((kind, packet.pts, packet.time_base, keyframe))

    def broken(kind: str, packet: Any, keyframe: bool) -> None:
        raise RuntimeError("a sink that fails never stops the others")

    stage.relay.add_sink(broken)
    stage.relay.add_sink(sink)
    await until(lambda: sum(k == "video" for k, *_ in got) >= 10, 10)
    await until(lambda: sum(k == "audio" for k, *_ in got) >= 10, 10)
    assert stage.relay.viewers == 0  # no peer connection
    video = [g for g in got if g[0] == "video"]
    audio = [g for g in got if g[0] == "audio"]
    assert video[0][3] is True  # the presenter's first frame is a keyframe
    assert {g[2] for g in video} == {fractions.Fraction(1, 90000)}
    assert {(g[2], g[3]) for g in audio} == {(fractions.Fraction(1, 48000), True)}
    stage.relay.remove_sink(sink)
    stage.relay.remove_sink(sink)  # twice: nothing happens
    count = len(got)
    await asyncio.sleep(0.2)
    assert len(got) == count


async def test_a_viewer_closed_before_answering_is_no_longer_fed(stage: Stage) -> None:
    """Closing a viewer's connection is enough, even before its answer (its senders never
    started): the relay lets it go."""
    viewers = [peer() for _ in range(3)]
    for viewer in viewers:
        stage.relay.subscribe(viewer)
        await viewer.setLocalDescription(await viewer.createOffer())
    assert stage.relay.viewers == 3
    for viewer in viewers:
        await viewer.close()
    await until(lambda: stage.relay.viewers == 0, 2)
    assert stage.relay._viewers == {}


VP8 = 97  # aiortc's payload types: Opus 96, VP8 97, its RTX 98


def video_receiver(viewer: Viewer) -> Any:
    return next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")


def record_rtp(receiver: Any, seen: list[Any], drop: set[int] | None = None) -> None:
    """Keep every RTP packet that reaches the viewer's video receiver (RTX still wrapped), then
    let aiortc handle it, unless its sequence number is in `drop` (removed once dropped)."""
    handle = receiver._handle_rtp_packet

    async def spy(packet: Any, arrival_time_ms: int) -> None:
        if drop and packet.sequence_number in drop and packet.payload_type == VP8:
            drop.discard(packet.sequence_number)
            return
        seen.append(packet)
        await handle(packet, arrival_time_ms)

    receiver._handle_rtp_packet = spy


async def test_a_viewer_starts_on_a_keyframe_and_gets_every_packet_after(stage: Stage) -> None:
    """The presenter's camera makes a keyframe only when asked (aiortc's GOP is 3000 frames): a
    viewer joining a second in gets, as its first video packet, the start of a keyframe, then
    contiguous sequence numbers with one timestamp per frame."""
    await until(lambda: stage.relay.frames_in["video"] >= 30, 10)
    viewer, seen = Viewer(), []
    viewer.pc.on("track", lambda track: None)
    out = peer()
    stage.relay.subscribe(out)
    stage.relay_out.append(out)
    stage.viewers.append(viewer)
    await connect(out, viewer.pc)
    record_rtp(video_receiver(viewer), seen)
    await until(lambda: viewer.count("video") >= 10, 10)

    from aiortc.codecs.vpx import VpxPayloadDescriptor

    descriptor, data = VpxPayloadDescriptor.parse(seen[0].payload)
    assert descriptor.partition_start == 1 and is_keyframe("video", data)
    numbers = [p.sequence_number for p in seen]
    assert numbers == [(numbers[0] + i) & 0xFFFF for i in range(len(numbers))]
    frames = [p.timestamp for p in seen if p.marker]
    assert len(set(frames)) == len(frames)


async def test_a_lost_packet_is_sent_again_as_rtx_on_nack(stage: Stage) -> None:
    """The viewer's receiver misses a video packet (dropped on arrival here), NACKs it, and the
    relay answers from its shared history as RTX with the original sequence number."""
    viewer = await stage.join()
    seen: list[Any] = []
    receiver = video_receiver(viewer)
    await until(lambda: viewer.count("video") >= 5, 10)
    record_rtp(receiver, seen)
    await until(lambda: len(seen) >= 3, 5)
    lost = (seen[-1].sequence_number + 5) & 0xFFFF
    record_rtp(receiver, seen, drop={lost})
    await until(lambda: any(p.payload_type != VP8 for p in seen), 5)
    rtx = [p for p in seen if p.payload_type != VP8]
    assert seen[0].payload_type == VP8 and rtx[0].ssrc != seen[0].ssrc
    assert {int.from_bytes(p.payload[:2], "big") for p in rtx} == {lost}  # maybe NACKed twice
    assert lost not in [p.sequence_number for p in seen if p.payload_type == VP8]


async def test_a_second_relay_forwards_to_its_own_viewers(stage: Stage) -> None:
    """Two media processes: the second takes the talk from the first as one of its viewers and
    publishes it to its own. Its viewer decodes the presenter's pictures, nothing is encoded
    but by the presenter, and its keyframe request reaches the presenter through both."""
    second, inbound, outbound = ForwardingRelay(), peer(), peer()
    stage.relay.subscribe(outbound)
    try:
        await outbound.setLocalDescription(await outbound.createOffer())
        await inbound.setRemoteDescription(outbound.localDescription)
        second.publish(inbound)
        await inbound.setLocalDescription(await inbound.createAnswer())
        await outbound.setRemoteDescription(inbound.localDescription)
        first_pli = stage.relay.keyframe_requests
        await until(lambda: second.frames_in["video"] >= 5, 10)

        there, out = Viewer(), peer()
        second.subscribe(out)
        await connect(out, there.pc)
        await until(lambda: there.count("video") >= 15 and there.count("audio") >= 10, 10)
        assert {(w, h) for _, w, h in there.frames["video"]} == {(WIDTH, HEIGHT)}
        assert second.viewers == 1 and stage.relay.viewers == 1
        assert second.keyframe_requests >= 1 and stage.relay.keyframe_requests > first_pli
        await there.close()
        await out.close()
    finally:
        await second.close()
        for pc in (inbound, outbound):
            await pc.close()


def test_the_pinned_aiortc_is_the_installed_one() -> None:
    from importlib.metadata import version
    from pathlib import Path

    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert version("aiortc") == AIORTC_VERSION
    assert f'"aiortc=={AIORTC_VERSION}"' in pyproject
    assert version("pylibsrtp") == PYLIBSRTP_VERSION
    assert f'"pylibsrtp=={PYLIBSRTP_VERSION}"' in pyproject
