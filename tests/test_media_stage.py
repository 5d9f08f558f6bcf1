"""fair.media.stage's `Stages` called directly, in this process (no socket, no media process):
races the socket's tests cannot time. Peers from tests/media_setup.py."""

from __future__ import annotations

import asyncio

from aiortc import RTCSessionDescription

from fair.media.stage import Stages
from tests.media_setup import ROOM, camera_and_microphone, peer


async def test_a_presenter_leaving_while_a_viewer_s_offer_is_made_is_no_server_error(
    loopback_only: None,
) -> None:
    """The presenter's publication closes while the server makes a viewer's offer (ICE
    gathering, an await): the offer still comes with what its tracks were subscribed to, not a
    KeyError (a server error at the socket; with media processes, RemoteError)."""
    stages, presenter = Stages(), peer()
    for track in camera_and_microphone():
        presenter.addTrack(track)
    try:
        await presenter.setLocalDescription(await presenter.createOffer())
        info = {"source": "camera"}
        answer = await stages.publish(ROOM, "p", presenter.localDescription.sdp, info=info)
        await presenter.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        watching = asyncio.create_task(stages.watch(ROOM, "v"))
        for _ in range(3):  # the watch runs up to its offer's ICE gathering
            await asyncio.sleep(0)
        assert not watching.done()
        assert await stages.unpublish(ROOM, "p")
        offer, tracks = await watching
        assert offer.startswith("v=0")
        assert [(t["kind"], t["key"], t["info"]) for t in tracks] == [
            ("audio", "p", info),
            ("video", "p", info),
        ]
    finally:
        await presenter.close()
        await stages.close()
