"""A socket's outgoing frames under load (fair.live.outbox, issue 17 item 4), against a real
uvicorn server: on SQLite with the memory broadcaster, and on PostgreSQL with the real Redis
(scale-out). A client that does not read stands for a slow consumer: a small receive buffer,
frames of 64 KiB, so that the server's sends to it block while the test publishes. No mocks.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from fair import channels, db
from fair.broadcast import QUEUE_SIZE, Broadcaster, resync_frame
from fair.live import outbox, protocol
from fair.live import socket as live_socket
from tests import factories as f
from tests.conftest import BACKENDS, login
from tests.live_server import Server, run_server
from tests.prometheus_text import sample
from tests.server_processes import SHARED_REDIS, migrated_database
from tests.sockets import publish, slow_client

PADDING = "x" * 64 * 1024  # 100 such frames are far more than the kernel's buffers hold


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """SQLite and memory://, or PostgreSQL and the real Redis (scale-out)."""
    broadcast = "memory://" if request.param == "sqlite" else SHARED_REDIS
    with (
        migrated_database(request.param, tmp_path_factory) as url,
        run_server(tmp_path_factory, "outbox", database_url=url, broadcast_url=broadcast) as up,
    ):
        yield up


pytestmark = pytest.mark.usefixtures("server_settings")


@dataclass
class Slow:
    """A logged-in user's socket that has not read yet, following its own channel."""

    ws: Any
    channel: str

    async def frames(self, until: Any, seconds: float = 10) -> list[list[Any]]:
        """Read frames (heartbeats left out) until one satisfies `until`."""
        read: list[list[Any]] = []
        async with asyncio.timeout(seconds):
            while not read or not until(read[-1]):
                frame = json.loads(await self.ws.recv())
                if frame[0] != "event" or frame[2]["event"] != "heartbeat":
                    read.append(frame)
        return read


@pytest_asyncio.fixture
async def slow(server: Server) -> AsyncIterator[Slow]:
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            user = await f.candidate(session)
            await session.commit()
    finally:
        await engine.dispose()
    async with httpx.AsyncClient(base_url=server.url) as client:
        await login(client, user.email, f.PASSWORD)
        cookie = f"fair_session={client.cookies['fair_session']}"
    ws = await slow_client(server, cookie)
    own = channels.user(user.id)
    await ws.send(json.dumps(["subscribe", 1, {"channel": own}]))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == ["success", 1, {"channel": own}]
    try:
        yield Slow(ws, own)
    finally:
        await ws.close()


def event(channel: str, name: str, **fields: Any) -> str:
    return protocol.dumps(["event", channel, {"event": name, **fields, "padding": PADDING}])


async def scrape(server: Server) -> str:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


def counted(text: str, name: str, **labels: str) -> float:
    return sample(text, name, **labels) or 0.0


async def test_a_slow_consumer_gets_the_latest_state_not_a_backlog(
    server: Server, slow: Slow
) -> None:
    before = await scrape(server)
    total = 400
    for n in range(total):
        await publish(server, slow.channel, event(slow.channel, "notices.unread", unread=n))
    read = await slow.frames(lambda frame: frame[2].get("unread") == total - 1)
    counts = [frame[2]["unread"] for frame in read]
    # What was already on its way (kernel buffers, the frame being sent), then the latest.
    assert counts == sorted(counts) and counts[-1] == total - 1
    assert len(counts) < 100
    assert all(frame[2]["event"] == "notices.unread" for frame in read)  # no resync needed
    after = await scrape(server)
    coalesced = counted(after, "fair_live_frames_coalesced_total") - counted(
        before, "fair_live_frames_coalesced_total"
    )
    assert coalesced >= total - len(counts)


async def test_chat_messages_are_never_coalesced(server: Server, slow: Slow) -> None:
    """Messages interleaved with state: every message arrives, in order; the state coalesces."""
    total = 60
    for n in range(total):
        message = event(
            slow.channel, "conversation.message", conversation_id=1, message_id=n, body="hi"
        )
        await publish(server, slow.channel, message)
        await publish(server, slow.channel, event(slow.channel, "notices.unread", unread=n))
    read = await slow.frames(lambda frame: frame[2].get("unread") == total - 1)
    messages = [f[2]["message_id"] for f in read if f[2]["event"] == "conversation.message"]
    unread = [f[2]["unread"] for f in read if f[2]["event"] == "notices.unread"]
    assert messages == list(range(total))
    assert len(unread) < total and unread == sorted(unread)


async def test_a_slow_socket_is_told_to_resync_and_drops_are_counted(
    server: Server, slow: Slow
) -> None:
    """More messages than its outgoing queue holds: the queued events are dropped, counted,
    and the socket gets `resync` on the channel (the client re-reads), and stays open."""
    before = await scrape(server)
    total = 400
    for n in range(total):
        await publish(server, slow.channel, event(slow.channel, "load", n=n))
    resync = ["event", slow.channel, {"event": "resync"}]
    read = await slow.frames(lambda frame: frame == resync)
    loads = [frame[2]["n"] for frame in read[:-1]]
    assert loads == list(range(len(loads))) and len(loads) < total
    after = await scrape(server)
    dropped = counted(after, "fair_live_frames_dropped_total", where="socket") - counted(
        before, "fair_live_frames_dropped_total", where="socket"
    )
    resyncs = counted(after, "fair_live_resyncs_total") - counted(before, "fair_live_resyncs_total")
    assert resyncs >= 1 and dropped >= live_socket.OUTBOX_SIZE
    # Open still: what was published after the last resync, then a command's reply.
    await slow.ws.send(json.dumps(["ping", 2, {}]))
    rest = await slow.frames(lambda frame: frame[0] == "success", seconds=5)
    assert rest[-1] == ["success", 2, {}]
    assert all(frame[0] == "event" for frame in rest[:-1])


async def test_a_command_reply_overtakes_the_queued_backlog(server: Server, slow: Slow) -> None:
    """Events queued for the socket (not read yet), then a command: its reply goes ahead of
    those still queued, not after them."""
    total = 90  # below the outgoing queue's bound: nothing dropped
    for n in range(total):
        await publish(server, slow.channel, event(slow.channel, "load", n=n))
    await slow.ws.send(json.dumps(["ping", 7, {}]))
    await asyncio.sleep(0.5)  # the server has handled it by now
    read = await slow.frames(lambda frame: frame[2].get("n") == total - 1)
    at = read.index(["success", 7, {}])
    assert [frame[2]["n"] for frame in read if frame[0] == "event"] == list(range(total))
    # Before the reply: at most what was on its way already; after it, the backlog.
    assert total - at >= 20, f"the reply came after {at} of {total} events"


async def test_the_pacer_lets_a_bounded_number_go_per_turn() -> None:
    """Fan-out sends wait their turn: at most PACE per turn of the loop, oldest first."""
    pacer = outbox.Pacer(asyncio.get_running_loop(), pace=10)
    turns: list[int] = []
    turn = 0

    async def send(n: int) -> None:
        await pacer.turn()
        turns.append(turn)

    tasks = [asyncio.create_task(send(n)) for n in range(35)]
    while not all(task.done() for task in tasks):
        await asyncio.sleep(0)  # one turn of the loop
        turn += 1
    per_turn = [turns.count(t) for t in sorted(set(turns))]
    assert max(per_turn) <= 10 and sum(per_turn) == 35 and len(per_turn) >= 4


async def test_a_forwarded_subscription_that_overflows_is_told_to_resync_once() -> None:
    """fair.broadcast subscribe (room and call forwarding): past QUEUE_SIZE frames unread, the
    drops are followed by one `resync` frame of the channel, and frames flow again once read."""
    hub = Broadcaster("memory://", namespace="test-overflow")
    await hub.connect()
    channel = channels.room(7)
    frames = [json.dumps(["event", channel, {"n": n}]) for n in range(QUEUE_SIZE + 50)]
    async with hub.subscribe(channel) as queue:
        for frame in frames:
            await hub.publish(channel, frame)
        got = [queue.get_nowait() for _ in range(queue.qsize())]
        assert got == [*frames[:QUEUE_SIZE], resync_frame(channel)]
        await hub.publish(channel, frames[0])
        assert queue.get_nowait() == frames[0]
    await hub.disconnect()
