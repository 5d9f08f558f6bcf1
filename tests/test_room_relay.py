"""Interview calls through the media relay (FAIR_INTERVIEW_RELAY, or the fallback when
browser-to-browser media fails): the real /live socket on uvicorn (SQLite, memory broadcaster),
two aiortc participants that publish their camera and microphone with `room.relay_publish`,
watch each other with `room.relay_watch`, and decode what the server forwards.

The server is tests/live_server.py's, the socket client tests/sockets.py's; the interview and
the peers are tests/media_setup.py's (a synthetic 640x360 camera and a 440 Hz microphone).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from fair import clock, settings
from fair.interviews import rooms
from tests.live_server import Server
from tests.media_setup import (
    HEIGHT,
    WIDTH,
    Viewer,
    World,
    seed,
    token_of,
    until,
)
from tests.media_setup import relay_publish as publish
from tests.media_setup import relay_publisher as publisher
from tests.media_setup import relay_watch as watch
from tests.sockets import Client, socket_of


@pytest.fixture(autouse=True)
def _server_settings(server: Server) -> Iterator[None]:
    """The server reads the process-wide settings: here they force the relay."""
    settings.override(replace(server.conf, interview_relay=True))
    clock.set_now(None)
    yield
    clock.set_now(None)
    settings.override(server.conf)


def media_room(world: World) -> str:
    return f"interview:{world.interview.id}"


def counts(server: Server, world: World) -> tuple[int, int]:
    """(presenters, viewers) in the interview's media room of the server."""
    stages = server.app.state.stages
    return tuple(stages.counts(media_room(world)))  # type: ignore[return-value]


async def enter(
    server: Server,
    world: World,
    logged_in: Any,
    rws: Client,
    cws: Client,
) -> tuple[str, str]:
    """Both join (the reply says to use the relay), the candidate is not let in yet."""
    iid = world.interview.id
    rtoken = await token_of(await logged_in(world.recruiter), iid)
    ctoken = await token_of(await logged_in(world.candidate), iid)
    r = await rws.ok("room.join", {"interview_id": iid, "token": rtoken})
    c = await cws.ok("room.join", {"interview_id": iid, "token": ctoken})
    assert (r["relay"], c["relay"]) == (True, True)
    assert (await rws.event())["state"] == "joined"
    assert (await cws.event())["state"] == "here"
    return r["connection_id"], c["connection_id"]


async def test_both_people_send_and_receive_through_the_relay(
    server: Server,
    logged_in: Any,
    loopback_only: None,
) -> None:
    world = await seed(server)
    iid = world.interview.id
    stages = server.app.state.stages
    pcs = {"recruiter": await publisher(), "candidate": await publisher()}
    viewers = {"recruiter": Viewer(), "candidate": Viewer()}
    async with (
        socket_of(server, await logged_in(world.recruiter)) as rws,
        socket_of(server, await logged_in(world.candidate)) as cws,
        socket_of(server, await logged_in(world.colleague)) as colleague,
    ):
        try:
            rid, cid = await enter(server, world, logged_in, rws, cws)
            offer = {"interview_id": iid, "sdp": pcs["candidate"].localDescription.sdp}

            # Only the two people, joined, the candidate once let in; SDPs checked.
            ctoken = await token_of(await logged_in(world.candidate), iid)
            assert await colleague.refused("room.join", {"interview_id": iid, "token": ctoken}) == (
                "room.not_found"
            )
            assert await colleague.refused("room.relay_publish", offer) == "room.not_joined"
            assert await colleague.refused("room.relay_watch", {"interview_id": iid}) == (
                "room.not_joined"
            )
            assert await colleague.refused("room.relay_leave", {"interview_id": iid}) == (
                "room.not_joined"
            )
            assert await cws.refused("room.relay_publish", offer) == "room.not_admitted"
            assert await cws.refused("room.relay_watch", {"interview_id": iid}) == (
                "room.not_admitted"
            )
            assert counts(server, world) == (0, 0)
            await rws.ok("room.admit", {"interview_id": iid})
            for ws in (rws, cws):
                assert (await ws.event())["event"] == "room.admitted"
            bad = {"interview_id": iid, "type": "answer", "sdp": offer["sdp"]}
            assert await cws.refused("room.relay_publish", bad) == "stage.bad_sdp"
            garbled = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"  # no ICE credentials
            assert await cws.refused("room.relay_publish", {**offer, "sdp": garbled}) == (
                "stage.bad_offer"
            )
            # A written (or phone) interview sends no media through the server.
            await rws.ok("room.mode", {"interview_id": iid, "mode": "chat"})
            for ws in (rws, cws):
                assert (await ws.event())["event"] == "room.mode"
            assert await cws.refused("room.relay_publish", offer) == "room.not_video"
            assert await cws.refused("room.relay_watch", {"interview_id": iid}) == (
                "room.not_video"
            )
            await rws.ok("room.mode", {"interview_id": iid, "mode": "video"})
            for ws in (rws, cws):
                assert (await ws.event())["event"] == "room.mode"
            assert await cws.refused("room.relay_watch", {"interview_id": iid}) == (
                "room.relay_empty"
            )
            answer = {"interview_id": iid, "sdp": "v=0\r\n"}
            assert await cws.refused("room.relay_answer", answer) == "stage.not_watching"

            # Each publishes; the other hears it and watches.
            await publish(rws, iid, pcs["recruiter"])
            published = {"event": "room.relay", "interview_id": iid, "state": "published"}
            assert await cws.event() == {**published, "from": rid, "role": "recruiter"}
            await publish(cws, iid, pcs["candidate"])
            assert await rws.event() == {**published, "from": cid, "role": "candidate"}
            for ws, role, other, key in ((rws, "recruiter", "candidate", cid),
                                         (cws, "candidate", "recruiter", rid)):  # fmt: skip
                tracks = await watch(ws, iid, viewers[role])
                assert sorted((t["kind"], t["key"], t["info"]["role"]) for t in tracks) == [
                    ("audio", key, other),
                    ("video", key, other),
                ]

            # Each decodes the other's picture and sound, forwarded by the server.
            await until(lambda: all(v.count("video") >= 10 for v in viewers.values()), 20)
            await until(lambda: all(v.count("audio") >= 10 for v in viewers.values()), 5)
            for viewer in viewers.values():
                assert {size[1:] for size in viewer.frames["video"]} == {(WIDTH, HEIGHT)}
            assert counts(server, world) == (2, 2)
            stage = stages.stages[media_room(world)]
            assert set(stage.presenters) == set(stage.viewers) == {rid, cid}
            assert all(p.relay.frames_in["video"] > 0 for p in stage.presenters.values())
            await rws.nothing()
            await cws.nothing()

            # The candidate hangs up: its two connections close, the recruiter hears it.
            theirs = [stage.presenters[cid].pc, stage.viewers[cid].pc]
            assert await cws.ok("room.relay_leave", {"interview_id": iid}) == {
                "interview_id": iid,
                "left": True,
            }
            assert await rws.event() == {
                "event": "room.relay",
                "interview_id": iid,
                "state": "left",
                "from": cid,
                "role": "candidate",
            }
            assert counts(server, world) == (1, 1)
            await until(lambda: all(pc.connectionState == "closed" for pc in theirs), 5)
            assert await cws.ok("room.relay_leave", {"interview_id": iid}) == {
                "interview_id": iid,
                "left": False,
            }

            # They come back, then close their page: the socket's connections close with it.
            viewers["candidate"] = Viewer()
            pcs["candidate"] = await publisher()
            await publish(cws, iid, pcs["candidate"])
            assert (await rws.event())["state"] == "published"
            await watch(cws, iid, viewers["candidate"])
            assert counts(server, world) == (2, 2)
            await cws.close()
            await until(lambda: counts(server, world) == (1, 1), 5)
            relayed = await rws.event()
            assert (relayed["event"], relayed["state"], relayed["from"]) == (
                "room.relay",
                "left",
                cid,
            )
            left = await rws.event()
            assert (left["event"], left["state"], left["from"]) == ("room.peer", "left", cid)

            # Leaving the room leaves the relay too; once over, the room refuses the relay.
            assert await rws.ok("room.leave", {"interview_id": iid}) == {
                "interview_id": iid,
                "left": True,
            }
            assert media_room(world) not in stages.stages
            rtoken = await token_of(await logged_in(world.recruiter), iid)
            await rws.ok("room.join", {"interview_id": iid, "token": rtoken})
            clock.set_now(rooms.closes_at(world.interview) + timedelta(seconds=1))
            offer = {"interview_id": iid, "sdp": pcs["recruiter"].localDescription.sdp}
            assert await rws.refused("room.relay_publish", offer) == "room.closed"
            assert await rws.refused("room.relay_watch", {"interview_id": iid}) == "room.closed"
        finally:
            for viewer in viewers.values():
                await viewer.close()
            for pc in pcs.values():
                await pc.close()


async def test_without_the_setting_join_says_direct_and_the_fallback_still_works(
    server: Server,
    logged_in: Any,
    loopback_only: None,
) -> None:
    """Browser to browser by default; a page whose direct call failed may still publish."""
    settings.override(server.conf)
    world = await seed(server)
    iid = world.interview.id
    rtoken = await token_of(await logged_in(world.recruiter), iid)
    pc = await publisher()
    try:
        async with socket_of(server, await logged_in(world.recruiter)) as rws:
            joined = await rws.ok("room.join", {"interview_id": iid, "token": rtoken})
            assert joined["relay"] is False
            await rws.ok("room.admit", {"interview_id": iid})
            await publish(rws, iid, pc)
            assert counts(server, world) == (1, 0)
        # The presenter leaves the counts before its connection has closed; the room is
        # forgotten once it has (media.stage.Stages.leave): wait for both.
        stages = server.app.state.stages
        await until(lambda: media_room(world) not in stages.stages, 5)
        assert counts(server, world) == (0, 0)
    finally:
        await pc.close()
