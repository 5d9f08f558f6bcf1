"""The set-up the media tests share (a pytest plugin: tests/conftest.py).

Peers on loopback, in this process (tests/test_media_relay.py, test_stage.py, test_room_relay.py,
test_recordings.py, test_media_recorder.py, test_media_process.py):
- `peer()`, `camera_and_microphone()` (a synthetic 640x360 camera, WIDTH x HEIGHT, and a
  440 Hz microphone), `Viewer` (decodes everything, as a browser would), `until(condition, s)`;
- fixtures `loopback_only` (aioice gathers 127.0.0.1 only), `encoders` (a spy counting aiortc's
  encoder objects) and `stage` (a presenter publishing to a ForwardingRelay, viewers joining).

An interview whose room is open, seeded into a live server's database (test_room_rtc.py,
test_room_relay.py, test_media_process.py): `World`, `seed(server)`, `seed_in(database_url)`,
`token_of(client, id)`; its call through the relay over a /live client: `relay_publisher()`,
`relay_publish(ws, id, pc)`, `relay_watch(ws, id, viewer)`.

Media processes on a private redis-server (test_media_process.py, test_media_recorder.py):
fixtures `redis_url` and `media_conf` (settings with a media namespace of the test's own),
`media_servers(conf, n)` and `web_processes(conf, n)`; `ROOM` is the first talk's media room.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
import uuid
from array import array
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder

from fair import db, settings
from fair.broadcast import Broadcaster
from fair.media.relay import ForwardingRelay
from fair.media.remote import RemoteStages
from fair.media.server import MediaServer
from fair.models import Interview, User
from tests import factories as f
from tests.live_server import Server
from tests.server_processes import free_port, redis_server, wait_redis
from tests.sockets import Client

ROOM = "webconference:1"
TOKEN_RE = re.compile(r'data-token="([^"]+)"')

# Peers and the relay -----------------------------------------------------------------------------

WIDTH, HEIGHT = 640, 360


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice gathers every interface's address but loopback's: keep the media on 127.0.0.1."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@pytest.fixture
def encoders(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[int]]:
    """Which aiortc encoder objects encode anything (a spy on aiortc, not on the relay)."""
    seen: dict[str, set[int]] = {"video": set(), "audio": set()}
    for kind, cls in (("video", Vp8Encoder), ("audio", OpusEncoder)):
        original = cls.encode

        def spy(self: Any, frame: Any, force: bool = False, *, _o: Any = original, _k=kind) -> Any:
            seen[_k].add(id(self))
            return _o(self, frame, force)

        monkeypatch.setattr(cls, "encode", spy)
    return seen


def peer() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def camera_and_microphone() -> list[Any]:
    """A 640x360 picture that changes every frame, and a 440 Hz tone."""
    import av
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

    class Camera(VideoStreamTrack):
        async def recv(self) -> Any:
            pts, time_base = await self.next_timestamp()
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            shade = (pts // 3000) % 200 + 20
            for plane, value in zip(frame.planes, (shade, 128, 128), strict=True):
                plane.update(bytes([value]) * plane.buffer_size)
            frame.pts, frame.time_base = pts, time_base
            return frame

    class Microphone(AudioStreamTrack):
        samples = 0

        async def recv(self) -> Any:
            frame = await super().recv()
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


async def connect(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


@dataclass
class Viewer:
    """A viewer as a browser would be: it decodes everything (aiortc's default receiver)."""

    pc: RTCPeerConnection = field(default_factory=peer)
    frames: dict[str, list[tuple[float, int, int]]] = field(
        default_factory=lambda: {"audio": [], "video": []}
    )
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pc.on(
            "track", lambda track: self.readers.append(asyncio.create_task(self._read(track)))
        )

    async def _read(self, track: Any) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                size = (frame.width, frame.height) if track.kind == "video" else (0, 0)
                self.frames[track.kind].append((time.monotonic(), *size))

    def count(self, kind: str) -> int:
        return len(self.frames[kind])

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await self.pc.close()


@dataclass
class Stage:
    relay: ForwardingRelay
    presenter: RTCPeerConnection
    relay_in: RTCPeerConnection
    relay_out: list[RTCPeerConnection] = field(default_factory=list)
    viewers: list[Viewer] = field(default_factory=list)

    async def join(self) -> Viewer:
        out, viewer = peer(), Viewer()
        self.relay.subscribe(out)
        await connect(out, viewer.pc)  # the relay offers, as it would to a browser
        self.relay_out.append(out)
        self.viewers.append(viewer)
        return viewer


@pytest_asyncio.fixture
async def stage(loopback_only: None, encoders: dict[str, set[int]]) -> AsyncIterator[Stage]:
    presenter, relay_in = peer(), peer()
    for track in camera_and_microphone():
        presenter.addTrack(track)
    relay = ForwardingRelay()
    await presenter.setLocalDescription(await presenter.createOffer())
    await relay_in.setRemoteDescription(presenter.localDescription)
    relay.publish(relay_in)
    await relay_in.setLocalDescription(await relay_in.createAnswer())
    await presenter.setRemoteDescription(relay_in.localDescription)
    stage = Stage(relay, presenter, relay_in)
    try:
        yield stage
    finally:
        await relay.close()
        for viewer in stage.viewers:
            await viewer.close()
        for pc in (*stage.relay_out, relay_in, presenter):
            await pc.close()


async def until(condition: Any, seconds: float) -> None:
    """Poll: the frames are counted by reader tasks, which signal nothing."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


# An interview's room ---------------------------------------------------------------------------


@dataclass
class World:
    interview: Interview
    candidate: User
    recruiter: User
    colleague: User
    stranger: User


async def seed(server: Server, **kw: Any) -> World:
    return await seed_in(server.conf.database_url, **kw)


async def seed_in(database_url: str, **kw: Any) -> World:
    """A booked interview whose room is open (it starts in 5 minutes unless `starts_at`)."""
    engine = db.create_engine(database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session)
            booth, recruiter = await f.booth(session, edition_=edition)
            candidate = await f.candidate(session, name="Awa Diallo")
            interview = await f.interview(
                session, booth_=booth, recruiter=recruiter, candidate_=candidate, **kw
            )
            colleague = await f.colleague(session, booth_=booth, owner=recruiter)
            stranger = await f.candidate(session)
            await session.commit()
            return World(interview, candidate, recruiter, colleague, stranger)
    finally:
        await engine.dispose()


async def token_of(client: httpx.AsyncClient, interview_id: int) -> str:
    """The entry token, as the room page hands it to static/room.js."""
    page = await client.get(f"/interviews/{interview_id}/room")
    assert page.status_code == 200, page.text
    found = TOKEN_RE.search(page.text)
    assert found is not None, "the room page has no entry token"
    return found.group(1)


async def relay_publisher() -> RTCPeerConnection:
    """A participant's send-only connection: camera and microphone, its offer ready."""
    pc = peer()
    for track in camera_and_microphone():
        pc.addTransceiver(track, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc


async def relay_publish(ws: Client, iid: int, pc: RTCPeerConnection) -> None:
    offer = {"interview_id": iid, "type": "offer", "sdp": pc.localDescription.sdp}
    published = await ws.ok("room.relay_publish", offer)
    assert (published["interview_id"], published["type"]) == (iid, "answer")
    await pc.setRemoteDescription(RTCSessionDescription(published["sdp"], "answer"))


async def relay_watch(ws: Client, iid: int, viewer: Viewer) -> list[dict[str, Any]]:
    watched = await ws.ok("room.relay_watch", {"interview_id": iid})
    assert (watched["interview_id"], watched["type"]) == (iid, "offer")
    await viewer.pc.setRemoteDescription(RTCSessionDescription(watched["sdp"], "offer"))
    await viewer.pc.setLocalDescription(await viewer.pc.createAnswer())
    answer = {"interview_id": iid, "type": "answer", "sdp": viewer.pc.localDescription.sdp}
    assert await ws.ok("room.relay_answer", answer) == {"interview_id": iid}
    return list(watched["tracks"])


# Media processes ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A redis-server of this module's own: pub/sub channels are shared by every database of
    a server, and other test runs publish on `webconference:1` too."""
    port = free_port()
    with redis_server(port):
        yield f"redis://127.0.0.1:{port}/0"


@pytest_asyncio.fixture
async def media_conf(redis_url: str, tmp_path: Path) -> AsyncIterator[settings.Settings]:
    await wait_redis(redis_url)
    loaded = settings.load(
        {
            "FAIR_ENV": "test",
            "FAIR_DATA_DIR": str(tmp_path),
            "BROADCAST_URL": redis_url,
            "FAIR_MEDIA_URL": redis_url,
            "FAIR_MEDIA_NAMESPACE": f"fair:test:{uuid.uuid4().hex[:8]}:media",
        }
    )
    settings.override(loaded)
    yield loaded
    client = aioredis.from_url(redis_url, decode_responses=True)
    leftovers = await client.keys(f"{loaded.media_namespace}:*")
    if leftovers:
        await client.delete(*leftovers)
    await client.aclose()
    settings.override(None)


@contextlib.asynccontextmanager
async def media_servers(conf: settings.Settings, count: int) -> AsyncIterator[list[MediaServer]]:
    servers = [MediaServer(conf) for _ in range(count)]
    try:
        for server in servers:
            await server.start()
        yield servers
    finally:
        for server in servers:
            await server.stop()


@contextlib.asynccontextmanager
async def web_processes(conf: settings.Settings, count: int) -> AsyncIterator[list[RemoteStages]]:
    broadcast = Broadcaster(conf.broadcast_url, namespace=conf.broadcast_channel_namespace)
    clients = [RemoteStages(conf, broadcast) for _ in range(count)]
    await broadcast.connect()
    try:
        for client in clients:
            await client.connect()
        yield clients
    finally:
        for client in clients:
            await client.close()
        await broadcast.disconnect()
