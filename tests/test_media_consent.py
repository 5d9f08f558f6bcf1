"""ICE consent (fair.media.consent): our aiortc peers keep it as browsers do (RFC 7675).

For real on loopback: a `python -m fair media` process holds a talk (its origin), and a media
server in this process takes it as a leg for a second viewer. The origin stopped (SIGSTOP) for
2 s costs nothing. Then it lags: each consent check the leg sends it finds it stopped for 1 s,
and the presenter answers the origin's checks 1 s late (a congested uplink). aioice's own
consent closes both connections after six such checks (about 30 s); both stay up now.

Each end counts its checks both ways, and the line that says consent is lost gives them (two
aioice connections on loopback, one falling silent).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from aioice import ice, stun
from aiortc import RTCPeerConnection, RTCSessionDescription

from fair import settings
from fair.media import consent
from fair.media.broker import Keys
from fair.media.remote import RemoteStages
from fair.media.stage import Stages
from tests.media_setup import (
    ROOM,
    Viewer,
    camera_and_microphone,
    media_servers,
    peer,
    until,
    web_processes,
)
from tests.server_processes import NEEDS_POSTGRESQL_AND_REDIS, ROOT, stop

pytestmark = NEEDS_POSTGRESQL_AND_REDIS

STARTUP = 60  # seconds the media process gets to start (imports are slow on a loaded machine)
LAG = 1.0  # seconds each late answer takes: over aioice's 0.5 s, within our 3.5 s


def test_it_replaces_what_it_was_written_for() -> None:
    """The aioice version and every name fair.media.consent uses: a new aioice fails here."""
    assert metadata.version("aioice") == consent.AIOICE
    connection = ice.Connection(ice_controlling=True)
    assert connection._nominated == {}
    assert connection.remote_password is None
    assert connection._query_consent_task is None
    assert connection._closing is False
    for name in ("query_consent", "build_request", "close", "request_received"):
        assert inspect.iscoroutinefunction(getattr(ice.Connection, name)) == (
            name in ("query_consent", "close")
        )
    received = inspect.signature(consent._aioice_request_received).parameters
    assert list(received) == ["self", "message", "addr", "protocol"]
    assert list(inspect.signature(ice.Connection.build_request).parameters) == [
        "self",
        "pair",
        "nominate",
    ]
    request = inspect.signature(ice.StunProtocol.request).parameters
    assert list(request) == ["self", "request", "addr", "integrity_key", "retransmissions"]
    assert list(inspect.signature(ice.CandidatePair).parameters) == [
        "protocol",
        "remote_candidate",
    ]
    assert issubclass(stun.TransactionTimeout, stun.TransactionError)


def test_a_process_holding_rooms_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """fair.media.stage.Stages installs it: the web process's own rooms (the embedded default)
    and a `fair media` process (its Host's) both hold a Stages."""
    monkeypatch.setattr(ice.Connection, "query_consent", ice.Connection.close)  # not ours
    Stages(ice_servers=[])
    assert ice.Connection.query_consent is consent.query_consent


async def connected_pair() -> tuple[ice.Connection, ice.Connection]:
    """Two aioice connections to each other on loopback, connected."""
    pair = (ice.Connection(ice_controlling=True), ice.Connection(ice_controlling=False))
    for connection in pair:
        await connection.gather_candidates()
    for here, there in (pair, pair[::-1]):
        here.remote_username, here.remote_password = there.local_username, there.local_password
        for candidate in there.local_candidates:
            await here.add_remote_candidate(candidate)
        await here.add_remote_candidate(None)
    await asyncio.gather(*(connection.connect() for connection in pair))
    return pair


async def test_it_counts_the_checks_both_ways_and_says_them_when_consent_is_lost(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, loopback_only: None
) -> None:
    """Each end counts its checks and their answers, and the other end's binding requests;
    when the other end stops answering, the line that says consent is lost gives them."""
    consent.install()
    monkeypatch.setattr(consent, "INTERVAL", 0.1)
    monkeypatch.setattr(consent, "EXPIRY", 1.0)
    caplog.set_level(logging.INFO, logger="fair.media")
    checking, answering = await connected_pair()
    try:
        ours, theirs = consent.checks(checking), consent.checks(answering)
        await until(lambda: min(ours.sent, theirs.sent) >= 3, 10)
        assert (ours.answered, theirs.answered) == (ours.sent, theirs.sent)
        # The ICE checks of connect() (at least one) and then every consent check.
        assert theirs.asked > ours.sent and ours.asked > theirs.sent

        answering.request_received = lambda *args: None  # silent, but still checking
        await until(lambda: checking._closed, 10)
        assert answering._closed is False
        port = answering.local_candidates[0].port
        message = (
            f"ICE consent lost with 127.0.0.1:{port}: no answer for \\d s "
            f"\\({ours.answered} of {ours.sent} checks answered; {ours.asked} binding requests "
            r"from the other end, the last \d s ago\)"
        )
        lines = [r.getMessage() for r in caplog.records if "ICE consent lost" in r.getMessage()]
        assert len(lines) == 1 and re.fullmatch(message, lines[0]), lines
        assert ours.sent > ours.answered
    finally:
        for connection in (checking, answering):
            await connection.close()


def spawn_media(conf: settings.Settings, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FAIR_ENV": "test",
        "FAIR_DATA_DIR": str(data_dir),
        "BROADCAST_URL": conf.broadcast_url,
        "FAIR_MEDIA_URL": conf.media_url,
        "FAIR_MEDIA_NAMESPACE": conf.media_namespace,
        "FAIR_MEDIA_HOST_ADDRESSES": "127.0.0.1",
    }
    return subprocess.Popen([sys.executable, "-m", "fair", "media"], env=env, cwd=ROOT)


@pytest_asyncio.fixture
async def origin(
    media_conf: settings.Settings, tmp_path: Path
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """A `python -m fair media` process, alive on the broker."""
    process = spawn_media(media_conf, tmp_path)
    redis = aioredis.from_url(media_conf.media_url, decode_responses=True)
    try:
        async with asyncio.timeout(STARTUP):
            while not await redis.keys(Keys(media_conf.media_namespace).alive("*")):
                assert process.poll() is None, "the media process exited"
                await asyncio.sleep(0.1)
        yield process
    finally:
        process.send_signal(signal.SIGCONT)
        stop(process)
        await redis.aclose()


def ice_of(pc: RTCPeerConnection) -> Any:
    """The aioice connection under `pc` (bundled: one for all its media)."""
    return pc.getTransceivers()[0].receiver.transport.transport.iceGatherer._connection


async def watch(stages: RemoteStages, key: str, viewer: Viewer) -> None:
    offer, _ = await stages.watch(ROOM, key)
    await viewer.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    await viewer.pc.setLocalDescription(await viewer.pc.createAnswer())
    await stages.answer(ROOM, key, viewer.pc.localDescription.sdp)


async def flowing(viewers: list[Viewer], frames: int = 10, seconds: float = 10) -> None:
    """Every viewer decodes `frames` more video frames within `seconds`."""
    wanted = [v.count("video") + frames for v in viewers]
    await until(
        lambda: all(v.count("video") >= n for v, n in zip(viewers, wanted, strict=True)), seconds
    )


def stall_at_each_check(connection: Any, process: subprocess.Popen[bytes]) -> list[float]:
    """Stop `process` for LAG seconds whenever `connection` starts a consent check (aioice's
    and ours both build one request per check): it answers each one LAG seconds late."""
    loop = asyncio.get_running_loop()
    stalls: list[float] = []
    build = connection.build_request

    def stalled(pair: Any, nominate: bool) -> Any:
        process.send_signal(signal.SIGSTOP)
        loop.call_later(LAG, process.send_signal, signal.SIGCONT)
        stalls.append(loop.time())
        return build(pair, nominate=nominate)

    connection.build_request = stalled
    return stalls


def answer_late(connection: Any) -> set[bytes]:
    """`connection` answers the checks it receives LAG seconds late (a congested uplink); the
    checks' transaction ids (a check sent again keeps its id)."""
    loop = asyncio.get_running_loop()
    checks: set[bytes] = set()
    received: Callable[..., None] = connection.request_received

    def late(message: Any, *args: Any) -> None:
        checks.add(message.transaction_id)
        loop.call_later(LAG, received, message, *args)

    connection.request_received = late
    return checks


async def test_legs_and_presenters_keep_a_lagging_media_process(
    media_conf: settings.Settings, origin: subprocess.Popen[bytes], loopback_only: None
) -> None:
    """A talk on a lagging origin: neither its leg nor its presenter is cut."""
    conf = replace(media_conf, media_viewers_per_process=1)
    presenter, viewers = peer(), [Viewer(), Viewer()]
    for track in camera_and_microphone():
        presenter.addTrack(track)
    async with web_processes(conf, 1) as (stages,):
        await presenter.setLocalDescription(await presenter.createOffer())
        answer = await stages.publish(ROOM, "p1", presenter.localDescription.sdp, info={})
        await presenter.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        async with media_servers(conf, 1) as (leg,):
            try:
                # v1 at the origin; v2 past its cap, on this process's leg, which takes the
                # talk from the origin as one viewer.
                for key, viewer in zip(("v1", "v2"), viewers, strict=True):
                    await watch(stages, key, viewer)
                await flowing(viewers, seconds=30)
                assert leg.legs() == {ROOM}
                upstream = leg.host.stages.stages[ROOM].upstream
                assert upstream is not None

                # The origin stops for 2 s (a long GC pause): nothing is lost.
                loop = asyncio.get_running_loop()
                origin.send_signal(signal.SIGSTOP)
                loop.call_later(2, origin.send_signal, signal.SIGCONT)
                await asyncio.sleep(2)
                await flowing(viewers)

                # It lags: the leg's checks find it stopped, the presenter answers its checks
                # late. aioice's six checks in a row, 4-6 s apart, would each miss 0.5 s.
                stalls = stall_at_each_check(ice_of(upstream.pc), origin)
                late = answer_late(ice_of(presenter))
                with contextlib.suppress(TimeoutError):  # aioice's own stops checking at 6
                    await until(lambda: min(len(stalls), len(late)) >= 7, 50)
                await asyncio.sleep(LAG + 1)
                took = loop.time() - stalls[0]
                print(f"{len(stalls)} and {len(late)} checks answered late over {took:.0f} s")
                assert min(len(stalls), len(late)) >= 6  # as many as aioice's own consent allows
                # The leg still takes the talk from the origin, and the origin the presenter's
                # media (v1 watches there): video reaches both viewers.
                before = [v.count("video") for v in viewers]
                await asyncio.sleep(3)
                gained = [v.count("video") - n >= 20 for v, n in zip(viewers, before, strict=True)]
                assert (upstream.pc.connectionState, gained) == ("connected", [True, True])
            finally:
                origin.send_signal(signal.SIGCONT)
                for viewer in viewers:
                    await viewer.close()
                await presenter.close()
