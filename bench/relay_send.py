"""The relay's per-viewer send path alone: CPU per RTP packet per viewer in `Fanout.send`.

Usage: .venv/bin/python bench/relay_send.py [--viewers 50] [--seconds 10] [--profile]

One process on loopback: N pairs of aiortc peer connections (the relay's side, a send-only VP8
transceiver attached to a `fair.media.fanout.Fanout`; the viewer's side, receiving and counting
packets with `fair.media.relay.count_only`), then `bench/relay.py`'s encoded clip fed to the
fanout at 30 fps for `--seconds`. The thread CPU time spent inside `Fanout.send` (Python, libsrtp
and the kernel's `sendto`, which on loopback includes delivering to the receiving socket) over
the packets it sent is the figure `bench/relay.py`'s `us/pk` column holds for the whole media
process, without the publisher, the bots' processes and the rest of the event loop: a way to
compare two versions of the send path on a loaded machine (thread CPU, not wall time). Viewers
must receive every packet (printed as `received`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from relay import FPS, encode_clip, peer, setup_aiortc  # noqa: E402


async def pair(fanout: Any, received: list[int]) -> tuple[Any, Any]:
    """A relay-side connection sending `fanout`'s video to a viewer-side one that counts it."""
    from fair.media.relay import codecs, count_only

    relay_pc, viewer_pc = peer(), peer()
    transceiver = relay_pc.addTransceiver("video", direction="sendonly")
    transceiver.setCodecPreferences(codecs("video"))
    fanout.attach(transceiver.sender, lambda: None)
    await relay_pc.setLocalDescription(await relay_pc.createOffer())
    await viewer_pc.setRemoteDescription(relay_pc.localDescription)

    def count(packet: Any) -> None:
        received[0] += 1

    count_only(viewer_pc.getTransceivers()[0].receiver, count)
    await viewer_pc.setLocalDescription(await viewer_pc.createAnswer())
    await relay_pc.setRemoteDescription(viewer_pc.localDescription)
    return relay_pc, viewer_pc


async def run(viewers: int, seconds: float, profile: bool) -> None:
    from fair.media.fanout import Fanout
    from fair.media.relay import is_keyframe

    setup_aiortc()
    video, _ = encode_clip()
    fanout, received = Fanout("video"), [0]
    pairs = [await pair(fanout, received) for _ in range(viewers)]
    deadline = time.monotonic() + 60
    timestamp, index = 0, 0

    def feed() -> tuple[float, int]:
        """One frame to every viewer: (thread CPU seconds in `send`, packets sent)."""
        nonlocal timestamp, index
        data = video[index % len(video)]
        before_packets, before_cpu = fanout.packets, time.thread_time()
        fanout.send(data, timestamp, is_keyframe("video", data))
        cpu = time.thread_time() - before_cpu
        timestamp, index = timestamp + 90000 // FPS, index + 1
        return cpu, (fanout.packets - before_packets) * fanout.sending

    while fanout.sending < viewers and time.monotonic() < deadline:
        feed()
        await asyncio.sleep(1 / FPS)
    if fanout.sending < viewers:
        raise SystemExit(f"{fanout.sending} of {viewers} viewers started in 60 s")
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu = sent = 0.0
    received[0] = 0
    start = time.monotonic()
    for n in range(int(seconds * FPS)):
        spent, count = feed()
        cpu, sent = cpu + spent, sent + count
        await asyncio.sleep(max(start + (n + 1) / FPS - time.monotonic(), 0))
    await asyncio.sleep(0.5)  # the last datagrams read
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    print(
        f"viewers {viewers}  packets sent {sent:.0f}  received {received[0]}  "
        f"send path {cpu / sent * 1e6:.2f} us/packet  ({cpu:.2f} s CPU in send over "
        f"{time.monotonic() - start:.1f} s)"
    )
    for relay_pc, viewer_pc in pairs:
        await viewer_pc.close()
        await relay_pc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--profile", action="store_true", help="cProfile the measured part")
    args = parser.parse_args()
    asyncio.run(run(args.viewers, args.seconds, args.profile))


if __name__ == "__main__":
    main()
