"""Booth conversations by video or phone over the real /live socket (fair/live/call_commands.py),
on SQLite and PostgreSQL: a request, a refusal, an acceptance, back to written chat, the phone
number for the recruiter only while they talk by phone, the call's signalling between its two
people only, and the media relay fallback decoded by two aiortc participants.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from fair import clock, conversations, db, queues, settings
from fair.models import User
from tests import factories as f
from tests.conftest import BACKENDS
from tests.live_server import LoggedIn, Server, run_server
from tests.media_setup import Viewer, camera_and_microphone, peer, until
from tests.server_processes import migrated_database as _database
from tests.sockets import Client, socket_of


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with (
        _database(request.param, tmp_path_factory) as url,
        run_server(tmp_path_factory, "calls", database_url=url) as running,
    ):
        yield running


@pytest.fixture(autouse=True)
def _server_settings(server: Server) -> Iterator[None]:
    settings.override(server.conf)
    clock.set_now(None)
    yield
    settings.override(server.conf)


@dataclass
class World:
    conversation_id: int
    candidate: User
    recruiter: User
    colleague: User  # a recruiter of the same booth, not in the conversation


async def seed(server: Server) -> World:
    """A live booth where the recruiter called the candidate, who answered."""
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session)
            booth, recruiter = await f.booth(session, edition_=edition)
            candidate = await f.candidate(session, name="Awa Diallo")
            colleague = await f.colleague(session, booth_=booth, owner=recruiter)
            entry = await queues.join(session, candidate=candidate, booth=booth)
            await queues.take_next(session, recruiter=recruiter, booth=booth)
            conversation = await conversations.answer(session, candidate=candidate, entry=entry)
            await session.commit()
            return World(conversation.id, candidate, recruiter, colleague)
    finally:
        await engine.dispose()


async def mode_event(*sockets: Client) -> list[dict[str, Any]]:
    found = []
    for ws in sockets:
        event = await ws.event()
        assert event["event"] == "conversation.mode", event
        found.append(event)
    return found


async def test_request_refuse_accept_phone_and_strangers(
    server: Server, logged_in: LoggedIn
) -> None:
    world = await seed(server)
    cid = world.conversation_id
    one = {"conversation_id": cid}
    async with (
        socket_of(server, await logged_in(world.recruiter)) as rws,
        socket_of(server, await logged_in(world.candidate)) as cws,
        socket_of(server, await logged_in(world.colleague)) as other,
    ):
        for ws, user in ((rws, world.recruiter), (cws, world.candidate)):
            await ws.ok("subscribe", {"channel": f"user:{user.id}"})

        # The recruiter asks for video; the candidate refuses; the recruiter asks again.
        state = {"conversation_id": cid, "mode": "chat"}
        asked = {**state, "requested_mode": "video", "requested_by": "recruiter"}
        assert await rws.ok("conversation.mode", {**one, "mode": "video"}) == asked
        event = {"event": "conversation.mode", **asked, "change": "requested", "by": "recruiter"}
        assert await mode_event(rws, cws) == [event, event]
        assert await rws.refused("call.join", one) == "conversation.not_video"
        assert await rws.refused("conversation.accept", one) == "conversation.own_request"
        nothing = {**state, "requested_mode": None, "requested_by": None}
        assert await cws.ok("conversation.decline", one) == nothing
        [declined, _] = await mode_event(rws, cws)
        assert (declined["change"], declined["by"]) == ("declined", "candidate")
        assert await cws.refused("conversation.accept", one) == "conversation.no_request"

        # Someone else, even a recruiter of the same booth, gets nothing done.
        for action, payload in (
            ("conversation.mode", {**one, "mode": "video"}),
            ("conversation.accept", one),
            ("conversation.decline", one),
            ("conversation.phone", one),
            ("conversation.set_phone", {**one, "phone": "06 12 34 56 78"}),
            ("call.join", one),
        ):
            assert await other.refused(action, payload) == "conversation.not_found", action
        for action in ("call.signal", "call.relay_watch", "call.relay_leave"):
            payload = {**one, "data": {"type": "ready"}}
            assert await other.refused(action, payload) == "call.not_joined", action
        assert await other.refused("subscribe", {"channel": f"call:{cid}"}) == "live.forbidden"
        assert await other.refused("conversation.mode", {**one, "mode": "hd"}) == (
            "live.bad_message"
        )

        # Accepted: both join the call and signal to each other only.
        await rws.ok("conversation.mode", {**one, "mode": "video"})
        await mode_event(rws, cws)
        video = {**state, "mode": "video", "requested_mode": None, "requested_by": None}
        assert await cws.ok("conversation.accept", one) == video
        [accepted, _] = await mode_event(rws, cws)
        assert (accepted["change"], accepted["by"]) == ("accepted", "candidate")
        joined = await rws.ok("call.join", {**one, "session": "r1"})
        assert (joined["role"], joined["relay"], joined["ice_servers"]) == (
            "recruiter",
            False,
            [],
        )
        rid = joined["connection_id"]
        cjoined = await cws.ok("call.join", {**one, "session": "c1"})
        ccid = cjoined["connection_id"]
        assert await rws.event() == {
            "event": "call.peer",
            "conversation_id": cid,
            "from": ccid,
            "to": None,
            "state": "joined",
            "role": "candidate",
            "user_id": world.candidate.id,
            "session": "c1",
        }
        here = await cws.event()
        assert (here["event"], here["state"], here["from"], here["to"]) == (
            "call.peer",
            "here",
            rid,
            ccid,
        )
        offer = {"type": "offer", "sdp": "v=0\r\n", "session": "r1"}
        await rws.ok("call.signal", {**one, "to": ccid, "data": offer})
        assert await cws.event() == {
            "event": "call.signal",
            "conversation_id": cid,
            "from": rid,
            "to": ccid,
            "data": offer,
        }
        await rws.nothing()

        # Back to written chat, by the candidate alone: signalling stops.
        await cws.ok("conversation.mode", {**one, "mode": "chat"})
        [switched, _] = await mode_event(rws, cws)
        assert (switched["mode"], switched["change"]) == ("chat", "switched")
        answer = {**one, "to": rid, "data": {"type": "answer", "sdp": "v=0\r\n"}}
        assert await cws.refused("call.signal", answer) == "conversation.not_video"
        assert await cws.ok("call.leave", one) == {**one, "left": True}
        left = await rws.event()
        assert (left["event"], left["state"], left["from"]) == ("call.peer", "left", ccid)

        # By phone: the number shows to the recruiter only, once given, while by phone.
        assert await rws.refused("conversation.phone", one) == "conversation.phone_hidden"
        await cws.ok("conversation.mode", {**one, "mode": "phone"})
        await mode_event(rws, cws)
        assert await rws.refused("conversation.phone", one) == "conversation.phone_hidden"
        await rws.ok("conversation.accept", one)
        await mode_event(rws, cws)
        assert await rws.ok("conversation.phone", one) == {**one, "phone": ""}
        given = await cws.ok("conversation.set_phone", {**one, "phone": "06 12 34 56 78"})
        assert given == {**one, "phone": "06 12 34 56 78"}
        for ws in (rws, cws):
            assert await ws.event() == {"event": "conversation.phone", **one}
        assert await rws.ok("conversation.phone", one) == {**one, "phone": "06 12 34 56 78"}
        assert await cws.refused("conversation.phone", one) == "conversation.forbidden"
        assert await rws.refused("conversation.set_phone", {**one, "phone": "0600000000"}) == (
            "conversation.forbidden"
        )

        # Once ended, nothing more: the number hides.
        await rws.ok("conversation.end", {**one, "next_step": "none"})
        assert await rws.refused("conversation.phone", one) == "conversation.ended"
        assert await cws.refused("conversation.mode", {**one, "mode": "video"}) == (
            "conversation.ended"
        )


async def publisher() -> RTCPeerConnection:
    pc = peer()
    for track in camera_and_microphone():
        pc.addTransceiver(track, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc


async def test_the_relay_carries_the_call_when_direct_media_fails(
    server: Server, logged_in: LoggedIn, loopback_only: None
) -> None:
    settings.override(replace(server.conf, interview_relay=True))
    world = await seed(server)
    cid = world.conversation_id
    one = {"conversation_id": cid}
    pcs = {"recruiter": await publisher(), "candidate": await publisher()}
    viewers = {"recruiter": Viewer(), "candidate": Viewer()}
    async with (
        socket_of(server, await logged_in(world.recruiter)) as rws,
        socket_of(server, await logged_in(world.candidate)) as cws,
    ):
        try:
            await cws.ok("conversation.mode", {**one, "mode": "video"})
            await rws.ok("conversation.accept", one)
            sockets = {"recruiter": rws, "candidate": cws}
            ids = {}
            for role, ws in sockets.items():
                joined = await ws.ok("call.join", one)
                assert joined["relay"] is True
                ids[role] = joined["connection_id"]
            assert (await rws.event())["state"] == "joined"
            assert (await cws.event())["state"] == "here"
            assert await cws.refused("call.relay_watch", one) == "call.relay_empty"
            for role, ws in sockets.items():
                offer = {**one, "type": "offer", "sdp": pcs[role].localDescription.sdp}
                published = await ws.ok("call.relay_publish", offer)
                answer = RTCSessionDescription(published["sdp"], "answer")
                await pcs[role].setRemoteDescription(answer)
            heard = await cws.event()
            assert (heard["event"], heard["state"], heard["role"]) == (
                "call.relay",
                "published",
                "recruiter",
            )
            for role, ws in sockets.items():
                watched = await ws.ok("call.relay_watch", one)
                other = "candidate" if role == "recruiter" else "recruiter"
                assert {t["key"] for t in watched["tracks"]} == {ids[other]}
                pc = viewers[role].pc
                await pc.setRemoteDescription(RTCSessionDescription(watched["sdp"], "offer"))
                await pc.setLocalDescription(await pc.createAnswer())
                sdp = pc.localDescription.sdp
                await ws.ok("call.relay_answer", {**one, "type": "answer", "sdp": sdp})
            await until(lambda: all(v.count("video") >= 5 for v in viewers.values()), 20)
            stages = server.app.state.stages
            assert tuple(stages.counts(f"conversation:{cid}")) == (2, 2)
            assert await cws.ok("call.relay_leave", one) == {**one, "left": True}
            assert tuple(stages.counts(f"conversation:{cid}")) == (1, 1)
        finally:
            for pc in pcs.values():
                await pc.close()
            for viewer in viewers.values():
                await viewer.close()
    # Closing the sockets closed their relay connections.
    await until(lambda: tuple(server.app.state.stages.counts(f"conversation:{cid}")) == (0, 0), 5)
