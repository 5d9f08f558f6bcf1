"""Media processes (fair.media.remote): rooms pinned to `fair media` processes through Redis.

In-process: RemoteStages and MediaServer on a private redis-server (errors crossing as they
are, racing pins, a dead process's pin moved). Then for real: one uvicorn web process and two
`python -m fair media` subprocesses on PostgreSQL and that Redis; aiortc presenters publish two
talks through the web process's /live socket, aiortc viewers decode them, each room on its own
media process; one media process is killed and its talk publishes again on the other; the last
one stops cleanly and the video service is then unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription

from fair import channels, clock, db, logs, settings, user_sessions, webconferences
from fair.broadcast import Broadcaster
from fair.enums import Role, WebconferenceAccess
from fair.errors import Conflict, MediaUnavailable
from fair.interviews import rooms
from fair.media.broker import (
    ALIVE_TTL,
    CALL_TIMEOUT,
    HEARTBEAT,
    LEG,
    WATCH_DEAD,
    Keys,
    RemoteError,
    stop_loops,
)
from fair.media.remote import RemoteStages
from fair.models import User
from tests import factories as f
from tests.live_server import run_server
from tests.media_setup import (
    HEIGHT,
    ROOM,
    WIDTH,
    Viewer,
    World,
    camera_and_microphone,
    media_servers,
    peer,
    relay_publish,
    relay_publisher,
    relay_watch,
    seed_in,
    until,
    web_processes,
)
from tests.server_processes import (
    NEEDS_POSTGRESQL_AND_REDIS,
    ROOT,
    Server,
    free_port,
    redis_server,
    session_cookie,
    stop,
    wait_healthy,
    wait_redis,
)
from tests.sockets import Client

pytestmark = NEEDS_POSTGRESQL_AND_REDIS

STARTUP = 60  # seconds processes get to start (imports take 23 s on a loaded machine)
NO_PRESENTER_FR = "Aucun·e intervenant·e n'est encore sur scène : réessayez dans un instant."


@pytest_asyncio.fixture
async def redis(media_conf: settings.Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(media_conf.media_url, decode_responses=True)
    yield client
    await client.aclose()


async def error_of(awaitable: Any) -> tuple[type, str, str, int, dict[str, Any]]:
    with pytest.raises(Exception) as raised:
        await awaitable
    exc = raised.value
    return type(exc), exc.code, exc.message, exc.status, exc.params


# In process --------------------------------------------------------------------------------------


def test_media_processes_need_redis_for_both_urls() -> None:
    redis = "redis://127.0.0.1:6379/0"
    base = {"FAIR_ENV": "test", "BROADCAST_URL": redis}
    assert settings.load(base).media_url == ""
    loaded = settings.load({**base, "FAIR_MEDIA_URL": redis, "FAIR_MEDIA_HOST_ADDRESSES": " a b "})
    assert (loaded.media_url, loaded.media_namespace) == (redis, "fair:media")
    assert loaded.media_host_addresses == ("a", "b")
    with pytest.raises(settings.SettingsError, match="FAIR_MEDIA_URL must be empty or start"):
        settings.load({**base, "FAIR_MEDIA_URL": "memory://"})
    with pytest.raises(settings.SettingsError, match="BROADCAST_URL must point at Redis"):
        settings.load({**base, "FAIR_MEDIA_URL": redis, "BROADCAST_URL": "memory://"})


async def test_calls_and_their_errors_cross_as_they_are(
    media_conf: settings.Settings, redis: aioredis.Redis
) -> None:
    keys = Keys(media_conf.media_namespace)
    async with media_servers(media_conf, 1) as (server,), web_processes(media_conf, 1) as (stages,):
        # Leaving or ending a room nobody holds pins nothing.
        assert await stages.leave(ROOM, "k1") is False
        assert await stages.end(ROOM) is None
        assert await redis.get(keys.room(ROOM)) is None
        assert await redis.zrange(keys.load, 0, -1, withscores=True) == [(server.id, 0.0)]
        assert await error_of(stages.watch(ROOM, "k1", max_viewers=3)) == (
            Conflict,
            "stage.no_presenter",
            "No presenter is on stage yet: try again in a moment.",
            409,
            {},
        )
        assert await redis.get(keys.room(ROOM)) == server.id
        assert await redis.smembers(keys.rooms(server.id)) == {ROOM}
        assert await redis.zrange(keys.load, 0, -1, withscores=True) == [(server.id, 1.0)]
        assert await error_of(stages.answer(ROOM, "k1", "v=0\r\n")) == (
            Conflict,
            "stage.not_watching",
            "Start watching before answering.",
            409,
            {},
        )
        broken = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"  # no ICE, no DTLS
        assert (await error_of(stages.publish(ROOM, "k1", broken, info={"name": "A"})))[:2] == (
            Conflict,
            "stage.bad_offer",
        )
        # Only the methods of media rooms run there: not `close`, nothing private.
        for method in ("close", "_close", "counts", "nothing"):
            with pytest.raises(RemoteError):
                await stages.call(method, ROOM)
        with pytest.raises(AttributeError):
            stages._secret  # noqa: B018
        assert await stages.leave(ROOM, "k1") is False
        assert await stages.end(ROOM) is None
        assert server.rooms() == set()
    # Stopped: its alive key, load entry, room pins and lists are gone.
    assert await redis.keys(f"{media_conf.media_namespace}:*") == []
    async with web_processes(media_conf, 1) as (stages,):
        assert await stages.leave(ROOM, "k1") is False
        unavailable = await error_of(stages.watch(ROOM, "k1"))
        assert unavailable == (
            MediaUnavailable,  # a Conflict
            "stage.unavailable",
            "The video service is not available right now: try again in a moment.",
            503,
            {},
        )


async def test_racing_web_processes_pin_each_room_once_and_spread_them(
    media_conf: settings.Settings, redis: aioredis.Redis
) -> None:
    keys = Keys(media_conf.media_namespace)
    async with media_servers(media_conf, 2) as servers, web_processes(media_conf, 2) as (one, two):
        rooms = [f"webconference:{n}" for n in range(1, 21)]
        for room in rooms:
            first, second = await asyncio.gather(one.owner(room), two.owner(room))
            assert first == second
        owners = {room: await redis.get(keys.room(room)) for room in rooms}
        for server in servers:
            mine = {room for room, owner in owners.items() if owner == server.id}
            assert len(mine) == 10
            assert await redis.smembers(keys.rooms(server.id)) == mine
            assert await redis.zscore(keys.load, server.id) == 10
            await server.beat()  # the heartbeat agrees
            assert await redis.zscore(keys.load, server.id) == 10


async def test_a_pin_to_a_stopped_process_moves(
    media_conf: settings.Settings, redis: aioredis.Redis
) -> None:
    keys = Keys(media_conf.media_namespace)
    gone = "elsewhere:1:abcdef"
    await redis.set(keys.room(ROOM), gone, ex=30)
    await redis.zadd(keys.load, {gone: 0})
    async with media_servers(media_conf, 1) as (server,), web_processes(media_conf, 1) as (stages,):
        assert (await error_of(stages.watch(ROOM, "k1")))[1] == "stage.no_presenter"
        assert await redis.get(keys.room(ROOM)) == server.id
        async with asyncio.timeout(WATCH_DEAD * 4):  # the next look for dead ones forgets it
            while await redis.zrange(keys.load, 0, -1) != [server.id]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        # Leaving pins nothing, and leaves a dead pin for the move (which tells the talk).
        await redis.set(keys.room(ROOM), gone, ex=30)
        assert await stages.leave(ROOM, "k1") is False
        assert await redis.get(keys.room(ROOM)) == gone


async def test_a_dead_process_s_rooms_move_and_their_talks_are_told_once(
    media_conf: settings.Settings, redis: aioredis.Redis
) -> None:
    keys = Keys(media_conf.media_namespace)
    rooms = [f"webconference:{n}" for n in range(1, 7)]
    namespace = media_conf.broadcast_channel_namespace  # the web processes' (media_setup)
    broadcast = Broadcaster(media_conf.broadcast_url, namespace=namespace)
    await broadcast.connect()
    async with (
        media_servers(media_conf, 2) as (dying, living),
        web_processes(media_conf, 2) as (one, two),
        contextlib.AsyncExitStack() as stack,
    ):
        heard = {room: await stack.enter_async_context(broadcast.subscribe(room)) for room in rooms}
        for room in rooms:
            await one.owner(room)
        held = {room for room in rooms if await redis.get(keys.room(room)) == dying.id}
        assert len(held) == 3
        # A call under way to the dying process, which will never answer it.
        await stop_loops(dying._loops)
        waiting = asyncio.create_task(two.call("watch", sorted(held)[0], "k1"))
        await asyncio.sleep(0.2)
        # It dies: no more heartbeats (its alive key goes as if it had expired).
        started = asyncio.get_running_loop().time()
        await redis.delete(keys.alive(dying.id))
        assert (await error_of(waiting))[1] == "stage.unavailable"
        for room in sorted(held):
            frame = json.loads(await asyncio.wait_for(heard[room].get(), WATCH_DEAD + 2))
            assert frame[1:] == [
                room,
                {"event": "stage.moved", "webconference_id": int(room.split(":")[1])},
            ]
        # Within a few looks (a loaded machine), well before the call would time out.
        assert asyncio.get_running_loop().time() - started < min(WATCH_DEAD * 4, CALL_TIMEOUT / 2)
        for room in rooms:
            assert await redis.get(keys.room(room)) == living.id
        assert await redis.zrange(keys.load, 0, -1, withscores=True) == [(living.id, 6.0)]
        await asyncio.sleep(WATCH_DEAD * 2)  # both web processes looked again: told once
        assert all(queue.empty() for queue in heard.values())
    await broadcast.disconnect()


async def offer_to(stages: RemoteStages, key: str, viewer: Viewer) -> None:
    """`key` watches ROOM through `stages`, as a browser would, in `viewer`."""
    offer, _ = await stages.watch(ROOM, key)
    await viewer.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    await viewer.pc.setLocalDescription(await viewer.pc.createAnswer())
    await stages.answer(ROOM, key, viewer.pc.localDescription.sdp)


async def test_a_talk_past_the_cap_spreads_to_a_leg_which_closes_when_left(
    media_conf: settings.Settings, redis: aioredis.Redis, loopback_only: None
) -> None:
    conf = replace(media_conf, media_viewers_per_process=1)
    keys = Keys(conf.media_namespace)
    presenter, viewers = peer(), [Viewer(), Viewer()]
    for track in camera_and_microphone():
        presenter.addTrack(track)
    async with media_servers(conf, 2) as servers, web_processes(conf, 1) as (stages,):
        try:
            await presenter.setLocalDescription(await presenter.createOffer())
            info = {"name": "Awa", "source": "camera"}
            answer = await stages.publish(ROOM, "p1", presenter.localDescription.sdp, info=info)
            await presenter.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            by_id = {server.id: server for server in servers}
            origin = by_id[await redis.get(keys.room(ROOM))]
            (leg,) = [server for server in servers if server is not origin]
            for key, viewer in zip(("v1", "v2"), viewers, strict=True):
                await offer_to(stages, key, viewer)
            await until(lambda: all(v.count("video") >= 5 for v in viewers), 20)
            assert {size[1:] for v in viewers for size in v.frames["video"]} == {(WIDTH, HEIGHT)}

            # The origin serves v1 and the leg, which serves v2 with the presenter's key and
            # info; the talk's counts add up over both.
            at_origin = origin.host.stages.stages[ROOM]
            (upstream,) = [key for key in at_origin.viewers if key.startswith(LEG)]
            assert set(at_origin.viewers) == {"v1", upstream}
            assert upstream.startswith(f"{LEG}{leg.id}:")
            assert origin.host.stages.counts(ROOM) == (1, 1)
            assert leg.host.stages.counts(ROOM) == (1, 1)
            taken = leg.host.stages.stages[ROOM]
            assert set(taken.presenters) == {"p1"} and set(taken.viewers) == {"v2"}
            assert taken.presenters["p1"].info == info
            assert (stages.leg(ROOM, "v1"), stages.leg(ROOM, "v2")) == (None, leg.id)
            assert await redis.smembers(keys.legs(ROOM)) == {leg.id}
            version = origin.host.stages.version(ROOM)
            # (Each Host tallies when it sends a count, at most a second after a change.)
            await leg.tally(ROOM, 1, 1, 99)
            assert await origin.tally(ROOM, 1, 1, version) == (1, 2, version)
            assert await leg.tally(ROOM, 1, 1, 99) == (1, 2, version)
            assert await stages.audience(ROOM) == 2
            await leg.beat()  # a leg does not pin the room, it says it serves it
            assert await redis.get(keys.room(ROOM)) == origin.id
            assert await redis.smembers(keys.serving(leg.id)) == {ROOM}

            # Its last viewer leaves: the leg closes its upstream, the origin forgets it.
            assert await stages.leave(ROOM, "v2") is True
            await until(lambda: ROOM not in leg.host.stages.stages, 5)
            await until(lambda: set(origin.host.stages.stages[ROOM].viewers) == {"v1"}, 5)
            assert await redis.smembers(keys.legs(ROOM)) == set()
            assert leg.rooms() == leg.legs() == set()
        finally:
            for viewer in viewers:
                await viewer.close()
            await presenter.close()


# Real processes ----------------------------------------------------------------------------------


@dataclass
class Talk:
    webconference_id: int
    presenter: User
    viewers: list[User]
    keys: dict[int, str]  # each person's server-side session key (user_sessions.start)

    @property
    def viewer(self) -> User:
        return self.viewers[0]

    @property
    def room(self) -> str:
        return channels.webconference(self.webconference_id)


@dataclass
class Cluster:
    web: Server
    media: list[subprocess.Popen[bytes]]
    keys: Keys
    redis: aioredis.Redis
    secret: str
    clients: list[Client] = field(default_factory=list)

    async def alive(self) -> dict[str, subprocess.Popen[bytes]]:
        """Live media processes by id (`<host>:<pid>:<random>`)."""
        found = await self.redis.keys(self.keys.alive("*"))
        by_pid = {str(p.pid): p for p in self.media}
        ids = [key.removeprefix(self.keys.alive("")) for key in found]
        return {i: by_pid[i.split(":")[-2]] for i in ids}

    async def socket(self, user: User, key: str) -> Client:
        cookie = session_cookie(self.secret, key, "csrf")
        ws = await websockets.connect(
            self.web.ws,
            additional_headers={"Cookie": f"fair_session={cookie}"},
            origin=self.web.url,
            max_size=None,
        )
        client = Client(ws)
        self.clients.append(client)
        return client


def spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)


@pytest_asyncio.fixture
async def cluster(database_url: str, media_conf: settings.Settings) -> AsyncIterator[Cluster]:
    async with start_cluster(database_url, media_conf) as running:
        yield running


@contextlib.asynccontextmanager
async def start_cluster(
    database_url: str, media_conf: settings.Settings, **more: str
) -> AsyncIterator[Cluster]:
    """A uvicorn web process and two `fair media` processes (`more`: their environment)."""
    env = {
        "DATABASE_URL": database_url,
        "BROADCAST_URL": media_conf.broadcast_url,
        "FAIR_MEDIA_URL": media_conf.media_url,
        "FAIR_MEDIA_NAMESPACE": media_conf.media_namespace,
        "FAIR_MEDIA_HOST_ADDRESSES": "127.0.0.1",
        "FAIR_ENV": "test",
        "FAIR_BACKGROUND_TASKS": "off",
        **more,
    }
    port = free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", "fair.app:create_app", "--factory"]
    web = spawn([*uvicorn, "--port", str(port), "--log-level", "warning"], env)
    media = [spawn([sys.executable, "-m", "fair", "media"], env) for _ in range(2)]
    redis = aioredis.from_url(media_conf.media_url, decode_responses=True)
    keys = Keys(media_conf.media_namespace)
    running = Cluster(
        Server(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/live", web),
        media,
        keys,
        redis,
        media_conf.secret_key,
    )
    try:
        await wait_healthy(running.web, STARTUP)
        async with asyncio.timeout(STARTUP):
            while len(await running.alive()) < 2:
                assert all(p.poll() is None for p in media), "a media process exited"
                await asyncio.sleep(0.1)
        yield running
    finally:
        for client in running.clients:
            await client.close()
        for process in [web, *media]:
            stop(process)
        await redis.aclose()


async def seed(database_url: str, talks: int = 2, viewers: int = 1) -> list[Talk]:
    """Open talks that started yesterday (by the wall clock the servers read), each with its
    presenter, and `viewers` candidates per talk."""
    yesterday = (datetime.now(f.PARIS) - timedelta(days=1)).date()
    clock.set_now(f.day_at(yesterday, 9))
    engine = db.create_engine(database_url)
    seeded = []
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            for _ in range(talks):
                presenter = await f.user(session, Role.ORGANISER, can_log_in=False)
                edition = await f.edition(session, by=presenter)
                data = webconferences.WebconferenceInput(
                    title="Réussir son entretien en visio",
                    description="",
                    starts_at=f.day_at(yesterday, 10),
                    ends_at=f.day_at(yesterday, 11),
                    capacity=10,
                    access=WebconferenceAccess.OPEN,
                    presenter_ids=[presenter.id],
                )
                webconference = await webconferences.schedule(
                    session, by=presenter, edition=edition, data=data
                )
                audience = [
                    await f.user(session, Role.CANDIDATE, can_log_in=False) for _ in range(viewers)
                ]
                keys = {u.id: await user_sessions.start(session, u) for u in [presenter, *audience]}
                seeded.append(Talk(webconference.id, presenter, audience, keys))
            await session.commit()
    finally:
        clock.set_now(None)
        await engine.dispose()
    return seeded


async def publish(ws: Client, talk: Talk) -> RTCPeerConnection:
    pc = peer()
    for track in camera_and_microphone():
        pc.addTrack(track)
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"webconference_id": talk.webconference_id, "sdp": pc.localDescription.sdp}
    published = await ws.ok("stage.publish", offer)
    await pc.setRemoteDescription(RTCSessionDescription(published["sdp"], "answer"))
    return pc


async def watch(ws: Client, talk: Talk) -> Viewer:
    viewer = Viewer()
    watched = await ws.ok("stage.watch", {"webconference_id": talk.webconference_id})
    assert [(t["kind"], t["info"]["source"]) for t in watched["tracks"]] == [
        ("audio", "camera"),
        ("video", "camera"),
    ]
    await viewer.pc.setRemoteDescription(RTCSessionDescription(watched["sdp"], "offer"))
    await viewer.pc.setLocalDescription(await viewer.pc.createAnswer())
    answer = {"webconference_id": talk.webconference_id, "sdp": viewer.pc.localDescription.sdp}
    assert await ws.ok("stage.answer", answer) == {"webconference_id": talk.webconference_id}
    return viewer


async def event_like(ws: Client, seconds: float = 5, **wanted: Any) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            event = await ws.events.get()
            if wanted.items() <= event.items():
                return event


async def test_rooms_on_two_media_processes_a_death_and_a_stop(
    cluster: Cluster,
    database_url: str,
    loopback_only: None,
) -> None:
    talks = await seed(database_url)
    presenters = [await cluster.socket(t.presenter, t.keys[t.presenter.id]) for t in talks]
    audience = [await cluster.socket(t.viewer, t.keys[t.viewer.id]) for t in talks]
    pcs: list[RTCPeerConnection] = []
    viewers: list[Viewer] = []
    try:
        for talk, pws, vws in zip(talks, presenters, audience, strict=True):
            await vws.ok("subscribe", {"channel": talk.room})
            await pws.ok("subscribe", {"channel": talk.room})
            await pws.ok("stage.start", {"webconference_id": talk.webconference_id})
            # A media process's FairError reaches the socket as the same error, translated.
            refused = await vws.call("stage.watch", {"webconference_id": talk.webconference_id})
            assert refused[0] == "error"
            assert refused[2] == {"code": "stage.no_presenter", "message": NO_PRESENTER_FR}
            pcs.append(await publish(pws, talk))
            viewers.append(await watch(vws, talk))
        await until(lambda: all(v.count("video") >= 10 for v in viewers), 20)
        for viewer in viewers:
            assert {size[1:] for size in viewer.frames["video"]} == {(WIDTH, HEIGHT)}
            assert viewer.count("audio") > 0

        # Each talk is on its own media process, whose Host counts its audience.
        alive = await cluster.alive()
        owners = [await cluster.redis.get(cluster.keys.room(t.room)) for t in talks]
        assert sorted(owners) == sorted(alive)
        for talk, vws in zip(talks, audience, strict=True):
            counted = {"webconference_id": talk.webconference_id, "presenters": 1, "viewers": 1}
            await event_like(vws, event="stage.count", **counted)

        # The first talk's process dies (SIGKILL): a web process finds it dead, pins the talk to
        # the other and says so on the talk's channel (`stage.moved`); its pages publish and
        # watch again there, as static/stage.js does, and the viewer sees the presenter again
        # within 10 s of the kill.
        first, second = talks
        survivor = owners[1]
        loop = asyncio.get_running_loop()
        killed = loop.time()
        alive[owners[0]].send_signal(signal.SIGKILL)
        moved = {"event": "stage.moved", "webconference_id": first.webconference_id}
        await event_like(presenters[0], ALIVE_TTL + WATCH_DEAD + 2, **moved)
        told = loop.time() - killed
        assert await cluster.redis.get(cluster.keys.room(first.room)) == survivor
        await pcs[0].close()
        await viewers[0].close()
        pcs[0] = await publish(presenters[0], first)
        await event_like(audience[0], 2, **moved)
        viewers[0] = await watch(audience[0], first)
        before = viewers[1].count("video")
        await until(lambda: viewers[0].count("video") >= 5, max(10 - (loop.time() - killed), 0))
        back = loop.time() - killed
        print(f"media process killed: talk told after {told:.1f} s, frames again at {back:.1f} s")
        assert back < 10
        assert await cluster.alive() == {survivor: alive[survivor]}
        assert viewers[1].count("video") > before  # the other talk never stopped

        # Its presenter ends the second talk: the media process closes its connections.
        ended = await presenters[1].ok("stage.end", {"webconference_id": second.webconference_id})
        assert ended == {"webconference_id": second.webconference_id, "state": "ended"}
        await until(lambda: all(r.done() for r in viewers[1].readers), 10)

        # The last media process stops cleanly: its keys go, and the video service is away.
        process = alive[survivor]
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 15) == 0
        left = set(await cluster.redis.keys(f"{cluster.keys.namespace}:*"))
        assert left <= {cluster.keys.rooms(owners[0])}  # the dead one's, expiring
        talk_id = {"webconference_id": first.webconference_id}
        assert await audience[0].refused("stage.watch", talk_id) == "stage.unavailable"
        offer = peer()
        offer.addTransceiver("video")
        await offer.setLocalDescription(await offer.createOffer())
        payload = {**talk_id, "sdp": offer.localDescription.sdp}
        assert await presenters[0].refused("stage.publish", payload) == "stage.unavailable"
        await offer.close()
    finally:
        for viewer in viewers:
            await viewer.close()
        for pc in pcs:
            await pc.close()


async def test_a_stalled_media_process_closes_the_rooms_it_lost_without_counting_them(
    cluster: Cluster,
    database_url: str,
    loopback_only: None,
) -> None:
    """A media process stopped (SIGSTOP) for 6 s: its talk moves to the other process, and
    the pages publish and watch there. Back (SIGCONT), it learns from its heartbeat that the
    room is another's and closes it without a `stage.count`: one of none there (its stale
    connections closing) would make static/stage.js stop watching the presenter elsewhere."""
    talk = (await seed(database_url))[0]
    pws = await cluster.socket(talk.presenter, talk.keys[talk.presenter.id])
    vws = await cluster.socket(talk.viewer, talk.keys[talk.viewer.id])
    pc: RTCPeerConnection | None = None
    viewer: Viewer | None = None
    stalled: subprocess.Popen[bytes] | None = None
    try:
        for ws in (vws, pws):
            await ws.ok("subscribe", {"channel": talk.room})
        await pws.ok("stage.start", {"webconference_id": talk.webconference_id})
        pc = await publish(pws, talk)
        viewer = await watch(vws, talk)
        await until(lambda: viewer is not None and viewer.count("video") >= 5, 20)
        owner = await cluster.redis.get(cluster.keys.room(talk.room))
        stalled = (await cluster.alive())[owner]
        loop = asyncio.get_running_loop()
        stopped = loop.time()
        stalled.send_signal(signal.SIGSTOP)
        moved = {"event": "stage.moved", "webconference_id": talk.webconference_id}
        await event_like(pws, ALIVE_TTL + WATCH_DEAD + 4, **moved)
        await event_like(vws, 2, **moved)
        await pc.close()
        await viewer.close()
        pc = await publish(pws, talk)
        viewer = await watch(vws, talk)
        await asyncio.sleep(max(6 - (loop.time() - stopped), 0))
        counted = {"webconference_id": talk.webconference_id, "presenters": 1, "viewers": 1}
        await event_like(vws, 5, event="stage.count", **counted)
        stalled.send_signal(signal.SIGCONT)
        stalled = None
        await asyncio.sleep(HEARTBEAT * 5)
        while not vws.events.empty():  # whatever came: never a count without the presenter
            event = vws.events.get_nowait()
            if event.get("event") == "stage.count":
                assert event["presenters"] == 1, event
        assert await cluster.redis.get(cluster.keys.room(talk.room)) != owner
    finally:
        if stalled is not None:
            stalled.send_signal(signal.SIGCONT)
        for closing in (viewer, pc):
            if closing is not None:
                await closing.close()


async def seed_room(database_url: str) -> tuple[World, dict[int, str]]:
    """An interview whose room is open now (by the wall clock the servers read), and the
    server-side session keys of its recruiter and candidate."""
    clock.set_now(None)
    world = await seed_in(database_url)
    engine = db.create_engine(database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            people = (world.recruiter, world.candidate)
            keys = {u.id: await user_sessions.start(session, u) for u in people}
            await session.commit()
    finally:
        await engine.dispose()
    return world, keys


async def test_an_interview_s_relayed_call_moves_when_its_media_process_dies(
    cluster: Cluster,
    database_url: str,
    loopback_only: None,
) -> None:
    """An interview's call through the relay, its room on one of two media processes, which is
    killed (SIGKILL): a web process pins the room to the other and tells both people on the
    room's channel (`room.relay` `moved`, as `stage.moved` for a talk); each publishes and
    watches again there, as static/room.js does, and both see the other again soon after."""
    world, keys = await seed_room(database_url)
    iid = world.interview.id
    people = {"recruiter": world.recruiter, "candidate": world.candidate}
    sockets = {role: await cluster.socket(u, keys[u.id]) for role, u in people.items()}
    for role, user in people.items():
        token = rooms.entry_token(world.interview, user.id)
        await sockets[role].ok("room.join", {"interview_id": iid, "token": token})
    await sockets["recruiter"].ok("room.admit", {"interview_id": iid})
    pcs: list[RTCPeerConnection] = []
    viewers: dict[str, Viewer] = {}

    async def call() -> None:
        """Both publish, then both watch the other (closing what they had)."""
        for pc in pcs:
            await pc.close()
        for viewer in viewers.values():
            await viewer.close()
        pcs.clear()
        for ws in sockets.values():
            pcs.append(await relay_publisher())
            await relay_publish(ws, iid, pcs[-1])
        for role, ws in sockets.items():
            viewers[role] = Viewer()
            await relay_watch(ws, iid, viewers[role])

    def both_see(frames: int) -> bool:
        return all(v.count("video") >= frames for v in viewers.values())

    try:
        await call()
        await until(lambda: both_see(5), 20)
        room = cluster.keys.room(f"interview:{iid}")
        owner = await cluster.redis.get(room)
        alive = await cluster.alive()
        assert owner in alive and len(alive) == 2
        survivor = next(p for p in alive if p != owner)

        loop = asyncio.get_running_loop()
        killed = loop.time()
        alive[owner].send_signal(signal.SIGKILL)
        moved = {"event": "room.relay", "interview_id": iid, "state": "moved"}
        for ws in sockets.values():
            assert await event_like(ws, ALIVE_TTL + WATCH_DEAD + 2, **moved) == moved
        told = loop.time() - killed
        assert await cluster.redis.get(room) == survivor
        await call()
        await until(lambda: both_see(5), max(15 - (loop.time() - killed), 0))
        back = loop.time() - killed
        print(f"media process killed: interview told after {told:.1f} s, frames at {back:.1f} s")
    finally:
        for viewer in viewers.values():
            await viewer.close()
        for pc in pcs:
            await pc.close()


async def test_leaving_a_call_while_the_media_processes_are_out_of_reach_logs_one_line(
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A socket whose relay connection is to close leaves the interview's call while the media
    processes' Redis is down (a redis-server of this test's own, killed: nothing listens on its
    port). Leaving still works (the other person hears it), and an outage is one warning line
    with the socket's request id, no traceback: it logged "leaving an interview's media relay
    failed" with a traceback too (fair.media_rooms.report)."""
    world, keys = await seed_room(database_url)
    iid = world.interview.id
    port = free_port()
    media_url = f"redis://127.0.0.1:{port}/0"
    caplog.set_level(logging.WARNING)
    caplog.handler.addFilter(logs.RequestId())
    try:
        with redis_server(port) as media_redis:
            await wait_redis(media_url)
            with run_server(
                tmp_path_factory,
                "media-away",
                database_url=database_url,
                media_url=media_url,
                media_namespace=f"fair:test:{uuid.uuid4().hex[:8]}:media",
                db_pool_size=2,
            ) as web:
                people = (world.recruiter, world.candidate)
                live = {}
                for user in people:
                    cookie = session_cookie(web.conf.secret_key, keys[user.id], "csrf")
                    headers = {"Cookie": f"fair_session={cookie}"}
                    ws = websockets.connect(web.ws, additional_headers=headers, origin=web.url)
                    live[user.id] = Client(await ws)
                    token = rooms.entry_token(world.interview, user.id)
                    await live[user.id].ok("room.join", {"interview_id": iid, "token": token})
                leaving, staying = (live[u.id] for u in people)
                await leaving.ok("room.admit", {"interview_id": iid})
                # No media process yet: refused, its relay connection to close with the socket.
                watch = {"interview_id": iid}
                assert await leaving.refused("room.relay_watch", watch) == "stage.unavailable"
                media_redis.kill()
                media_redis.wait()
                await leaving.close()
                async with asyncio.timeout(CALL_TIMEOUT + 5):  # the other hears it left
                    while True:
                        event = await staying.event(CALL_TIMEOUT + 5)
                        if event["event"] == "room.peer" and event["state"] == "left":
                            break
                await staying.close()
                lines = [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records]
    finally:
        caplog.handler.removeFilter(logs.RequestId())
    found = [r for r in caplog.records if f"leave on interview:{iid}" in r.getMessage()]
    assert len(found) == 1, lines
    request_id = found[0].request_id  # type: ignore[attr-defined]
    assert logs.sane(request_id) == request_id != logs.NONE
    mine = [r for r in caplog.records if r.request_id == request_id]  # type: ignore[attr-defined]
    assert [(r.levelname, r.exc_info) for r in mine] == [("WARNING", None)], lines
    assert [line for line in lines if line[2] is not None] == []


async def test_a_talk_spread_over_two_media_processes_survives_its_leg_s_death(
    database_url: str, media_conf: settings.Settings, loopback_only: None
) -> None:
    (talk,) = await seed(database_url, talks=1, viewers=3)
    per_process = {"FAIR_MEDIA_VIEWERS_PER_PROCESS": "2"}
    pc: RTCPeerConnection | None = None
    viewers: list[Viewer] = []
    async with start_cluster(database_url, media_conf, **per_process) as cluster:
        try:
            pws = await cluster.socket(talk.presenter, talk.keys[talk.presenter.id])
            audience = [await cluster.socket(u, talk.keys[u.id]) for u in talk.viewers]
            for ws in [pws, *audience]:
                await ws.ok("subscribe", {"channel": talk.room})
            await pws.ok("stage.start", {"webconference_id": talk.webconference_id})
            pc = await publish(pws, talk)
            for ws in audience:
                viewers.append(await watch(ws, talk))
            await until(lambda: all(v.count("video") >= 10 for v in viewers), 20)
            for viewer in viewers:
                assert {size[1:] for size in viewer.frames["video"]} == {(WIDTH, HEIGHT)}

            # Two on the talk's process, the third on the other one, which takes the talk from
            # the first as one viewer; the count is the talk's.
            alive = await cluster.alive()
            origin = await cluster.redis.get(cluster.keys.room(talk.room))
            (leg,) = [process for process in alive if process != origin]
            assert await cluster.redis.smembers(cluster.keys.legs(talk.room)) == {leg}
            counted = {"webconference_id": talk.webconference_id, "presenters": 1, "viewers": 3}
            await event_like(audience[2], **counted)

            # The leg dies (SIGKILL): its viewer is told, watches again (on the talk's process,
            # past its cap: no other one lives) and sees the presenter within 10 s of the kill.
            loop = asyncio.get_running_loop()
            killed = loop.time()
            alive[leg].send_signal(signal.SIGKILL)
            moved = {"event": "stage.moved", "webconference_id": talk.webconference_id}
            await event_like(audience[2], ALIVE_TTL + WATCH_DEAD + 2, leg=True, **moved)
            told = loop.time() - killed
            await viewers[2].close()
            viewers[2] = await watch(audience[2], talk)
            before = [v.count("video") for v in viewers[:2]]
            await until(lambda: viewers[2].count("video") >= 5, max(10 - (loop.time() - killed), 0))
            back = loop.time() - killed
            print(f"leg killed: its viewer told after {told:.1f} s, frames again at {back:.1f} s")
            assert back < 10
            await until(
                lambda: all(v.count("video") > n for v, n in zip(viewers, before, strict=False)), 5
            )
            assert await cluster.redis.smembers(cluster.keys.legs(talk.room)) == set()
        finally:
            for viewer in viewers:
                await viewer.close()
            if pc is not None:
                await pc.close()


async def test_a_talk_spread_over_two_media_processes_survives_its_origin_s_death(
    database_url: str, media_conf: settings.Settings, loopback_only: None
) -> None:
    """The talk's own process (its origin) dies while a leg serves a viewer: every socket of the
    talk is told the room moved, the presenter publishes again (on the former leg, the only
    live process: it becomes the origin), every viewer watches again, and each sees the
    presenter within 10 s of the kill; the room has no legs any more."""
    (talk,) = await seed(database_url, talks=1, viewers=3)
    per_process = {"FAIR_MEDIA_VIEWERS_PER_PROCESS": "2"}
    pc: RTCPeerConnection | None = None
    viewers: list[Viewer] = []
    async with start_cluster(database_url, media_conf, **per_process) as cluster:
        try:
            pws = await cluster.socket(talk.presenter, talk.keys[talk.presenter.id])
            audience = [await cluster.socket(u, talk.keys[u.id]) for u in talk.viewers]
            for ws in [pws, *audience]:
                await ws.ok("subscribe", {"channel": talk.room})
            await pws.ok("stage.start", {"webconference_id": talk.webconference_id})
            pc = await publish(pws, talk)
            for ws in audience:
                viewers.append(await watch(ws, talk))
            await until(lambda: all(v.count("video") >= 10 for v in viewers), 20)
            alive = await cluster.alive()
            origin = await cluster.redis.get(cluster.keys.room(talk.room))
            (leg,) = [process for process in alive if process != origin]
            assert await cluster.redis.smembers(cluster.keys.legs(talk.room)) == {leg}

            # The origin dies (SIGKILL): the talk's sockets are told (a move, not a leg's).
            loop = asyncio.get_running_loop()
            killed = loop.time()
            alive[origin].send_signal(signal.SIGKILL)
            moved = {"event": "stage.moved", "webconference_id": talk.webconference_id}
            for ws in [pws, *audience]:
                event = await event_like(ws, ALIVE_TTL + WATCH_DEAD + 2, **moved)
                assert "leg" not in event
            told = loop.time() - killed

            # As static/stage.js does on stage.moved: the presenter publishes again, the
            # viewers watch again; all on the former leg, now the talk's process.
            await pc.close()
            pc = await publish(pws, talk)
            assert await cluster.redis.get(cluster.keys.room(talk.room)) == leg
            for n, ws in enumerate(audience):
                await viewers[n].close()
                viewers[n] = await watch(ws, talk)
            remaining = max(10 - (loop.time() - killed), 0)
            await until(lambda: all(v.count("video") >= 5 for v in viewers), remaining)
            back = loop.time() - killed
            print(f"origin killed: told after {told:.1f} s, every viewer back at {back:.1f} s")
            assert back < 10
            for viewer in viewers:
                assert {size[1:] for size in viewer.frames["video"]} == {(WIDTH, HEIGHT)}
            assert await cluster.redis.smembers(cluster.keys.legs(talk.room)) == set()
        finally:
            for viewer in viewers:
                await viewer.close()
            if pc is not None:
                await pc.close()
