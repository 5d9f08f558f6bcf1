"""The media viewers' gauge (fair.metrics.MEDIA_VIEWERS, issue 17 item 5): a stage's viewers
counted as they watch, leave and the talk ends, with real aiortc connections on loopback.
Serial (tests/conftest.py SERIAL): WebRTC media."""

from __future__ import annotations

import re
from typing import Any

from aiortc import RTCSessionDescription

from fair import metrics
from fair.media.stage import Stages
from tests.media_setup import camera_and_microphone, peer


def viewers() -> float:
    text = metrics.exposition(metrics.Figures([])).decode()
    found = re.search(r"^fair_media_viewers (\S+)$", text, re.M)
    assert found, text
    return float(found.group(1))


async def publish(stages: Stages, room: str, key: str) -> Any:
    presenter = peer()
    for track in camera_and_microphone():
        presenter.addTrack(track)
    await presenter.setLocalDescription(await presenter.createOffer())
    answer = await stages.publish(room, key, presenter.localDescription.sdp, info={"name": key})
    await presenter.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return presenter


async def test_the_gauge_follows_a_stage_s_viewers(loopback_only: None) -> None:
    stages = Stages([])
    presenter = await publish(stages, "webconference:1", "a")
    seen = [viewers()]
    for key in ("v1", "v2", "v3"):
        await stages.watch("webconference:1", key)
    seen.append(viewers())
    await stages.leave("webconference:1", "v1")
    seen.append(viewers())
    await stages.end("webconference:1")
    seen.append(viewers())
    await presenter.close()
    await stages.close()
    assert seen == [0, 3, 2, 0]
