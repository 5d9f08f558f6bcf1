"""Interview rooms through the real /live socket (uvicorn, SQLite, memory broadcaster): room.*
commands, permissions and entry tokens, the signalling relay, and two headless aiortc peers (a
recruiter and a candidate) exchanging audio and video on loopback, signalled through the room.

The server runs in its own thread and loop (tests/live_server.py); clients log in over HTTP, read
their entry token from the room page (tests/media_setup.py), and talk to /live with
tests/sockets.py's client.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from fair import channels, clock, db, migrations, settings
from fair.interviews import rooms
from fair.models import RoomMessage
from tests import factories as f
from tests.conftest import login
from tests.live_server import Server
from tests.media_setup import World, seed, seed_in, token_of
from tests.server_processes import free_port, redis_server, servers
from tests.sockets import Client, socket_of


@pytest.fixture(autouse=True)
def _server_settings(server: Server) -> Iterator[None]:
    """Other tests reset the process-wide settings and clock; the server reads them too."""
    settings.override(server.conf)
    clock.set_now(None)
    yield
    clock.set_now(None)


@pytest_asyncio.fixture
async def world(server: Server) -> World:
    return await seed(server)


# Permissions and tokens ------------------------------------------------------------------------


async def test_join_needs_the_person_the_window_and_their_token(
    server: Server, world: World, logged_in: Any
) -> None:
    iid = world.interview.id
    candidate, recruiter = await logged_in(world.candidate), await logged_in(world.recruiter)
    colleague = await logged_in(world.colleague)
    mine, theirs = await token_of(candidate, iid), await token_of(recruiter, iid)
    assert (await colleague.get(f"/interviews/{iid}/room")).status_code == 404

    async with socket_of(server, candidate) as ws, socket_of(server, colleague) as other:
        assert await ws.refused("room.join", {"interview_id": iid, "token": theirs}) == (
            "room.bad_token"
        )
        assert await ws.refused("room.join", {"interview_id": iid}) == "room.bad_token"
        assert await ws.refused("room.join", {"interview_id": iid, "token": 7}) == (
            "live.bad_message"
        )
        # Someone else's valid token does not let a colleague in: the room does not exist.
        for token in (mine, theirs):
            assert await other.refused("room.join", {"interview_id": iid, "token": token}) == (
                "room.not_found"
            )
        # Nothing but room.join opens a room; following its channel needs to be in it.
        assert await ws.refused(
            "room.signal", {"interview_id": iid, "data": {"type": "ready"}}
        ) == ("room.not_joined")
        assert await other.refused("subscribe", {"channel": channels.room(iid)}) == (
            "live.forbidden"
        )
        assert await ws.ok("subscribe", {"channel": channels.room(iid)}) == {
            "channel": channels.room(iid)
        }

        joined = await ws.ok("room.join", {"interview_id": iid, "token": mine})
        interview = world.interview
        assert joined == {
            "interview_id": iid,
            "role": "candidate",
            "admitted": False,
            "mode": "video",
            "ice_servers": [],
            "starts_at": interview.starts_at.isoformat(),
            "ends_at": interview.ends_at.isoformat(),
            "closes_at": rooms.closes_at(interview).isoformat(),
            "connection_id": joined["connection_id"],
            "relay": False,
        }
        uuid.UUID(joined["connection_id"])

        # After the slot, the same token is useless, on every command.
        clock.set_now(rooms.closes_at(interview) + timedelta(seconds=1))
        assert await ws.refused("room.join", {"interview_id": iid, "token": mine}) == (
            "room.closed"
        )
        assert await ws.refused("room.message", {"interview_id": iid, "body": "Allô ?"}) == (
            "room.closed"
        )
        clock.set_now(None)
        # A room that is not open yet.
        later = await seed(server, starts_at=clock.now() + timedelta(minutes=30))
        late = await logged_in(later.candidate)
        page = await late.get(f"/interviews/{later.interview.id}/room")
        assert "data-token" not in page.text and 'data-state="not_open"' in page.text
        forged = rooms.entry_token(later.interview, later.candidate.id)
        async with socket_of(server, late) as early:
            assert await early.refused(
                "room.join", {"interview_id": later.interview.id, "token": forged}
            ) == ("room.not_open")


async def test_signals_reach_the_other_person_only(
    server: Server, world: World, logged_in: Any
) -> None:
    iid = world.interview.id
    candidate, recruiter = await logged_in(world.candidate), await logged_in(world.recruiter)
    ctoken, rtoken = await token_of(candidate, iid), await token_of(recruiter, iid)
    async with socket_of(server, recruiter) as rws, socket_of(server, candidate) as cws:
        r = await rws.ok("room.join", {"interview_id": iid, "token": rtoken})
        c = await cws.ok("room.join", {"interview_id": iid, "token": ctoken, "session": "s1"})
        rid, cid = r["connection_id"], c["connection_id"]
        assert await rws.event() == {
            "event": "room.peer",
            "interview_id": iid,
            "from": cid,
            "to": None,
            "state": "joined",
            "role": "candidate",
            "user_id": world.candidate.id,
            "session": "s1",
        }
        # The recruiter's socket answers by itself, to the newcomer only.
        assert await cws.event() == {
            "event": "room.peer",
            "interview_id": iid,
            "from": rid,
            "to": cid,
            "state": "here",
            "role": "recruiter",
            "user_id": world.recruiter.id,
            "session": None,
        }

        ready = {"interview_id": iid, "data": {"type": "ready"}}
        assert await cws.refused("room.signal", ready) == "room.not_admitted"
        assert await cws.refused("room.admit", {"interview_id": iid}) == "room.forbidden"
        admitted = await rws.ok("room.admit", {"interview_id": iid})
        for ws in (rws, cws):
            assert await ws.event() == {"event": "room.admitted", **admitted}

        # A signal goes to the other person, never back to its sender; extra fields are dropped.
        offer = {"type": "offer", "sdp": "v=0\r\n", "session": "s2", "evil": "<script>"}
        sent = {"interview_id": iid, "to": cid, "data": offer}
        assert await rws.ok("room.signal", sent) == {"interview_id": iid}
        assert await cws.event() == {
            "event": "room.signal",
            "interview_id": iid,
            "from": rid,
            "to": cid,
            "data": {"type": "offer", "sdp": "v=0\r\n", "session": "s2"},
        }
        candidate_signal = {"candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"}}
        await cws.ok("room.signal", {"interview_id": iid, "data": candidate_signal})
        assert (await rws.event())["data"] == candidate_signal
        await rws.nothing()
        await cws.nothing()

        # A second tab of the candidate: signals addressed to the first one skip it.
        async with socket_of(server, candidate) as tab:
            t = await tab.ok("room.join", {"interview_id": iid, "token": ctoken})
            seen = await cws.event()
            assert (seen["state"], seen["from"], seen["user_id"]) == (
                "joined",
                t["connection_id"],
                world.candidate.id,
            )
            assert (await rws.event())["from"] == t["connection_id"]
            assert (await tab.event())["state"] == "here"  # from the recruiter, not from cws
            await rws.ok("room.signal", sent)
            assert (await cws.event())["data"]["type"] == "offer"
            await tab.nothing()
        for ws in (rws, cws):  # the tab closed: both hear it left
            left = await ws.event()
            assert (left["state"], left["from"]) == ("left", t["connection_id"])

        # Bad signals are refused, whatever their size or shape.
        for data in (
            {"type": "offer"},
            {"type": "pranswer", "sdp": "v=0"},
            {"candidate": "candidate:1"},
            {"type": "offer", "sdp": "x" * 13_000},
            {"candidate": None, "session": 5},
            "ready",
        ):
            code = await cws.refused("room.signal", {"interview_id": iid, "data": data})
            assert code == "room.bad_signal", data

        # Chat, mode and phone through the socket; events after commit, to both.
        sent_message = await cws.ok("room.message", {"interview_id": iid, "body": "<b>Bonjour</b>"})
        for ws in (rws, cws):
            message = await ws.event()
            assert (message["event"], message["message_id"], message["body"]) == (
                "room.message",
                sent_message["message_id"],
                "<b>Bonjour</b>",
            )
        assert await rws.ok("room.mode", {"interview_id": iid, "mode": "phone"}) == {
            "interview_id": iid,
            "mode": "phone",
        }
        for ws in (rws, cws):
            assert await ws.event() == {
                "event": "room.mode",
                "interview_id": iid,
                "mode": "phone",
                "by": "recruiter",
            }
        assert await rws.refused("room.phone", {"interview_id": iid}) == "room.phone_hidden"
        assert await cws.refused("room.phone", {"interview_id": iid}) == "room.forbidden"
        saved = await cws.ok("room.set_phone", {"interview_id": iid, "phone": "06 12 34 56 78"})
        assert saved == {"interview_id": iid, "phone": "06 12 34 56 78"}
        for ws in (rws, cws):
            assert await ws.event() == {"event": "room.phone", "interview_id": iid}
        clock.set_now(world.interview.starts_at + timedelta(minutes=1))
        assert await rws.ok("room.phone", {"interview_id": iid}) == {
            "interview_id": iid,
            "phone": "06 12 34 56 78",
        }
        clock.set_now(None)

        assert await cws.ok("room.leave", {"interview_id": iid}) == {
            "interview_id": iid,
            "left": True,
        }
        left = await rws.event()
        assert (left["event"], left["state"], left["from"]) == ("room.peer", "left", cid)
        assert await cws.ok("room.leave", {"interview_id": iid}) == {
            "interview_id": iid,
            "left": False,
        }
    stored = await _messages(server, iid)
    assert stored == [(world.candidate.id, "<b>Bonjour</b>")]


async def test_closing_the_socket_leaves_the_room(
    server: Server, world: World, logged_in: Any
) -> None:
    iid = world.interview.id
    candidate, recruiter = await logged_in(world.candidate), await logged_in(world.recruiter)
    ctoken, rtoken = await token_of(candidate, iid), await token_of(recruiter, iid)
    async with socket_of(server, recruiter) as rws:
        await rws.ok("room.join", {"interview_id": iid, "token": rtoken})
        async with socket_of(server, candidate) as cws:
            c = await cws.ok("room.join", {"interview_id": iid, "token": ctoken})
            assert (await rws.event())["state"] == "joined"
        left = await rws.event()
        assert (left["state"], left["from"]) == ("left", c["connection_id"])


async def _messages(server: Server, interview_id: int) -> list[tuple[int, str]]:
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(RoomMessage)
                .where(RoomMessage.interview_id == interview_id)
                .order_by(RoomMessage.id)
            )
            return [(m.sender_id, m.body) for m in rows]
    finally:
        await engine.dispose()


# Media between two aiortc peers ----------------------------------------------------------------


def _tracks() -> list[Any]:
    """A synthetic camera (a changing grey picture) and microphone (a 440 Hz tone)."""
    import math
    from array import array

    import av
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

    width, height = 160, 120

    class Camera(VideoStreamTrack):
        async def recv(self) -> Any:
            pts, time_base = await self.next_timestamp()
            frame = av.VideoFrame(width, height, "yuv420p")
            shade = (pts // 3000) % 200 + 20
            for plane, value in zip(frame.planes, (shade, 128, 128), strict=True):
                plane.update(bytes([value]) * plane.buffer_size)
            frame.pts, frame.time_base = pts, time_base
            return frame

    class Microphone(AudioStreamTrack):
        samples = 0

        async def recv(self) -> Any:
            frame = await super().recv()  # paced 20 ms frames of silence, 8 kHz mono s16
            rate = frame.sample_rate
            tone = array(
                "h",
                (
                    int(8000 * math.sin(2 * math.pi * 440 * (self.samples + i) / rate))
                    for i in range(frame.samples)
                ),
            )
            self.samples += frame.samples
            frame.planes[0].update(tone.tobytes())
            return frame

    return [Microphone(), Camera()]


class Peer:
    """A headless participant: an aiortc RTCPeerConnection signalled through its room socket
    the way static/room.js does (the recruiter offers, candidates trickle separately)."""

    def __init__(self, live: Client, interview_id: int, joined: dict[str, Any]) -> None:
        from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

        servers = [RTCIceServer(**server) for server in joined["ice_servers"]]
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self.live, self.interview_id = live, interview_id
        self.received: dict[str, int] = {"audio": 0, "video": 0}
        self.done = asyncio.Event()
        self.readers: list[asyncio.Task[None]] = []
        for track in _tracks():
            self.pc.addTrack(track)
        self.pc.on("track", self._on_track)

    def _on_track(self, track: Any) -> None:
        self.readers.append(asyncio.create_task(self._read(track)))

    async def _read(self, track: Any) -> None:
        with contextlib.suppress(Exception):
            while True:
                await track.recv()
                self.received[track.kind] += 1
                if min(self.received.values()) >= 10:
                    self.done.set()

    async def send_description(self, session: str, to: str) -> None:
        """Send our description without its candidates, then each candidate on its own."""
        description = self.pc.localDescription
        lines = description.sdp.splitlines()
        trickled = ("a=candidate:", "a=end-of-candidates")  # sent one by one below instead
        bare = "\r\n".join(line for line in lines if not line.startswith(trickled))
        data = {"type": description.type, "sdp": bare + "\r\n", "session": session}
        await self.live.ok(
            "room.signal", {"interview_id": self.interview_id, "to": to, "data": data}
        )
        index, mid = -1, None
        for line in lines:
            if line.startswith("m="):
                index += 1
            elif line.startswith("a=mid:"):
                mid = line[len("a=mid:") :]
            elif line.startswith("a=candidate:"):
                found = {"candidate": line[2:], "sdpMid": mid, "sdpMLineIndex": index}
                await self._signal(to, {"candidate": found, "session": session})
        await self._signal(to, {"candidate": None, "session": session})

    async def _signal(self, to: str, data: dict[str, Any]) -> None:
        await self.live.ok(
            "room.signal", {"interview_id": self.interview_id, "to": to, "data": data}
        )

    async def take_signals(self, count_until_end: bool = True) -> None:
        """Apply the other side's description and candidates, until their end-of-candidates."""
        from aiortc import RTCSessionDescription
        from aiortc.sdp import candidate_from_sdp

        while True:
            event = await self.live.event(wait=10)
            if event["event"] != "room.signal":
                continue
            data = event["data"]
            if "sdp" in data:
                await self.pc.setRemoteDescription(RTCSessionDescription(data["sdp"], data["type"]))
                self.other = event["from"]
            elif data.get("candidate") is None:
                await self.pc.addIceCandidate(None)
                return
            else:
                found = candidate_from_sdp(data["candidate"]["candidate"].split(":", 1)[1])
                found.sdpMid = data["candidate"]["sdpMid"]
                found.sdpMLineIndex = data["candidate"]["sdpMLineIndex"]
                await self.pc.addIceCandidate(found)

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await self.pc.close()


async def test_two_aiortc_peers_exchange_media_through_the_room(
    server: Server, world: World, logged_in: Any, loopback_only: None
) -> None:
    candidate, recruiter = await logged_in(world.candidate), await logged_in(world.recruiter)
    async with socket_of(server, recruiter) as rws, socket_of(server, candidate) as cws:
        await call(world.interview.id, (recruiter, rws), (candidate, cws))


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
async def test_a_call_across_two_processes_through_redis(
    tmp_path: Path, loopback_only: None
) -> None:
    """The recruiter's socket on one server process, the candidate's on another: every relay
    (presence, admission, signals) goes through Redis, and the media still flows."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'fair.db'}"
    await migrations.upgrade_async(url)
    port = free_port()
    with redis_server(port):
        async with servers(url, f"redis://127.0.0.1:{port}/0", 2) as (first, second):
            world = await seed_in(url)
            async with (
                httpx.AsyncClient(base_url=first.url) as recruiter,
                httpx.AsyncClient(base_url=second.url) as candidate,
            ):
                await login(recruiter, world.recruiter.email, f.PASSWORD)
                await login(candidate, world.candidate.email, f.PASSWORD)
                async with (
                    socket_of(first, recruiter) as rws,
                    socket_of(second, candidate) as cws,
                ):
                    await call(world.interview.id, (recruiter, rws), (candidate, cws))


async def call(
    iid: int,
    recruiter: tuple[httpx.AsyncClient, Client],
    candidate: tuple[httpx.AsyncClient, Client],
) -> None:
    """Both join, the recruiter admits, the candidate says ready, the recruiter offers; each
    side must receive at least 10 audio and 10 video frames within 20 s."""
    (rhttp, rws), (chttp, cws) = recruiter, candidate
    rtoken, ctoken = await token_of(rhttp, iid), await token_of(chttp, iid)
    r = await rws.ok("room.join", {"interview_id": iid, "token": rtoken})
    c = await cws.ok("room.join", {"interview_id": iid, "token": ctoken})
    assert (await rws.event())["state"] == "joined"
    assert (await cws.event())["state"] == "here"
    await rws.ok("room.admit", {"interview_id": iid})
    assert (await cws.event())["event"] == "room.admitted"
    assert (await rws.event())["event"] == "room.admitted"
    await cws.ok("room.signal", {"interview_id": iid, "data": {"type": "ready"}})
    assert (await rws.event())["data"] == {"type": "ready"}

    caller, callee = Peer(rws, iid, r), Peer(cws, iid, c)
    try:
        started = time.monotonic()
        await caller.pc.setLocalDescription(await caller.pc.createOffer())
        await caller.send_description("call-1", to=c["connection_id"])
        await callee.take_signals()
        await callee.pc.setLocalDescription(await callee.pc.createAnswer())
        await callee.send_description("call-1", to=r["connection_id"])
        await caller.take_signals()
        async with asyncio.timeout(20):
            await asyncio.gather(caller.done.wait(), callee.done.wait())
        elapsed = time.monotonic() - started
        for peer in (caller, callee):
            assert peer.received["audio"] >= 10 and peer.received["video"] >= 10, peer.received
            ice = peer.pc.getTransceivers()[0].receiver.transport.transport
            assert ice.state == "completed"
            assert {found.ip for found in ice.getRemoteCandidates()} == {"127.0.0.1"}
        assert elapsed < 20
    finally:
        await caller.close()
        await callee.close()
