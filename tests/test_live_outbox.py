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


async def test_a_reply_does_not_wait_for_the_sockets_fan_out_turn() -> None:
    """A socket whose writer already waits for its fan-out turn behind thousands of others
    (overload) sends a command's reply at once, not on that turn, and keeps its place in line
    for its event."""
    loop = asyncio.get_running_loop()
    pacer = outbox.Pacer(loop, pace=1)
    boxes = [outbox.Outbox(10) for _ in range(50)]
    sent: list[tuple[int, int, str]] = []  # (turn, box, frame)
    turn = 0

    async def writer(k: int) -> None:
        while True:
            frame = await boxes[k].get(pacer)
            sent.append((turn, k, frame))

    for k, box in enumerate(boxes):
        box.event(protocol.dumps(["event", "edition:1", {"event": "load", "n": k}]))
    writers = [asyncio.create_task(writer(k)) for k in range(len(boxes))]
    try:
        for _ in range(3):  # every writer waits for its turn now, the last one 49 turns away
            await asyncio.sleep(0)
            turn += 1
        boxes[-1].reply(protocol.success(7, {}))
        while len(sent) < len(boxes) + 1 and turn < 200:
            await asyncio.sleep(0)
            turn += 1
    finally:
        for task in writers:
            task.cancel()
        await asyncio.gather(*writers, return_exceptions=True)
    last = [(at, frame) for at, k, frame in sent if k == len(boxes) - 1]
    assert [frame for _, frame in last] == [
        protocol.success(7, {}),
        protocol.dumps(["event", "edition:1", {"event": "load", "n": 49}]),
    ]
    assert last[0][0] <= 4, f"the reply waited {last[0][0]} turns"
    # Its event still went in its place: after every other socket's, not after a new wait.
    assert [k for _, k, frame in sent if '"load"' in frame] == list(range(len(boxes)))


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


async def test_fan_out_gets_a_smaller_budget_while_a_command_is_handled() -> None:
    """While any command is being handled, at most `beside_commands` fan-out sends go per turn
    (its database round trips are not held up behind a full budget of sends each turn); the
    full `pace` again once it is answered."""
    pacer = outbox.Pacer(asyncio.get_running_loop(), pace=10, beside_commands=2)
    turns: list[tuple[int, bool]] = []  # (turn, a command under way) of each send
    turn = 0
    under_way = False

    async def send() -> None:
        await pacer.turn()
        turns.append((turn, under_way))

    tasks = [asyncio.create_task(send()) for _ in range(60)]
    with pacer.handling():
        under_way = True
        for _ in range(5):
            await asyncio.sleep(0)  # one turn of the loop
            turn += 1
        under_way = False
    while not all(task.done() for task in tasks):
        await asyncio.sleep(0)
        turn += 1
    during = [turns.count((t, True)) for t in range(turn + 1) if (t, True) in turns]
    after = [turns.count((t, False)) for t in range(turn + 1) if (t, False) in turns]
    assert during and max(during) <= 2
    assert len(turns) == 60 and max(after) == 10


async def test_a_full_outbox_still_sends_the_commands_reply_first() -> None:
    """The events queue is full (messages that overflowed into a resync, then more): a reply
    queued last is the next frame sent, before every queued event."""
    pacer = outbox.Pacer(asyncio.get_running_loop())
    box = outbox.Outbox(3)
    channel = channels.user(1)
    for n in range(5):
        box.event(protocol.dumps(["event", channel, {"event": "load", "n": n}]))
    box.event(protocol.dumps(["event", channel, {"event": "notices.unread", "unread": 1}]))
    box.reply(protocol.success(9, {}))
    sent = [await asyncio.wait_for(box.get(pacer), 1) for _ in range(len(box))]
    assert sent == [
        protocol.success(9, {}),
        resync_frame(channel),
        protocol.dumps(["event", channel, {"event": "load", "n": 4}]),
        protocol.dumps(["event", channel, {"event": "notices.unread", "unread": 1}]),
    ]


async def test_coalescing_keeps_the_latest_state_of_each_key_in_order() -> None:
    """Counts of two booths, published alternately: what is queued is the latest count of each,
    in the order of their last change, with the message between kept."""
    pacer = outbox.Pacer(asyncio.get_running_loop())
    box = outbox.Outbox(10)
    edition = channels.edition(1)

    def waiting(booth: int, n: int) -> str:
        return protocol.dumps(["event", edition, {"event": "booth.waiting", "booth_id": booth,
                                                  "waiting": n}])  # fmt: skip

    for n in range(3):
        box.event(waiting(1, n))
        box.event(waiting(2, n))
    message = protocol.dumps(["event", edition, {"event": "booth.called", "booth_id": 1}])
    box.event(message)
    box.event(waiting(1, 3))
    sent = [await asyncio.wait_for(box.get(pacer), 1) for _ in range(len(box))]
    assert sent == [waiting(2, 2), message, waiting(1, 3)]
