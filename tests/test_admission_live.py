"""Admission control against the served app (tests/live_server.py: uvicorn in a thread): the
/live socket gate with a real websocket client, and Redis down (a redis-server of this test's
own, killed: its port then has nothing listening; the shared Redis is never touched).

Serial (tests/conftest.py SERIAL): it starts a redis-server process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import json
import secrets
import subprocess
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import pytest
import redis
import redis.asyncio as aioredis
import websockets
from websockets.exceptions import ConnectionClosed

from fair import admission, admission_gate, channels, clock, db, editions, participants, settings
from fair.live import hub
from fair.live.socket import CLOSE_OVERFLOW
from fair.models import User
from tests import factories as f
from tests import redis_relay
from tests.conftest import login
from tests.live_server import Server, run_server, statements
from tests.server_processes import free_port, redis_server, wait_redis

T = TypeVar("T")
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    admission_gate.LOCAL.editions.clear()
    admission_gate.forget()
    clock.set_now(f.NOON)
    yield
    clock.set_now(None)
    admission_gate.forget()


@dataclass
class Fair:
    slug: str
    candidates: list[User]
    edition_id: int


async def _gated_fair(server: Server, people: int) -> Fair:
    """An edition open at f.NOON with room for one active candidate, and `people` registered
    candidates."""
    settings.override(server.conf)
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session, admission_active_cap=1)
            found = [await f.candidate(session) for _ in range(people)]
            for candidate in found:
                await participants.register(session, edition_id=edition.id, user=candidate)
            await session.commit()
            return Fair(edition.slug, found, edition.id)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def _clients(server: Server, users: list[User]) -> AsyncIterator[list[httpx.AsyncClient]]:
    opened = [httpx.AsyncClient(base_url=server.url) for _ in users]
    try:
        for client, user in zip(opened, users, strict=True):
            await login(client, user.email, f.PASSWORD)
        yield opened
    finally:
        for client in opened:
            await client.aclose()


def _cookies(client: httpx.AsyncClient) -> str:
    """Every cookie the browser holds (the session's and the admission's)."""
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


async def _closed_with(ws: Any) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(5):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_an_admitted_candidate_s_socket_reads_nothing_to_pass_the_gate(
    server: Server,
) -> None:
    """The admission cookie names a gated edition: the connect needs no read of the
    candidate's registrations nor interviews (issue 17: no read per connect but the cached
    session's), only the held ones do."""
    fair = await _gated_fair(server, 1)
    async with _clients(server, fair.candidates) as (first,):
        assert (await first.get(f"/e/{fair.slug}/my-fair")).status_code == 200
        assert await _second_connect_reads(server, first, fair.candidates[0]) == []


async def _second_connect_reads(server: Server, client: httpx.AsyncClient, user: User) -> list[str]:
    """The statements run by the second of two sockets of `client` subscribing to `user`'s
    channel (the first warms the session's and the gate's caches)."""
    own = channels.user(user.id)
    connect = {"origin": server.url, "open_timeout": 5}
    headers = {"Cookie": _cookies(client)}
    for attempt in range(2):
        with statements(server) as seen:
            async with websockets.connect(server.ws, additional_headers=headers, **connect) as ws:
                await ws.send(json.dumps(["subscribe", 1, {"channel": own}]))
                reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert reply == ["success", 1, {"channel": own}], attempt
    return seen


@dataclass
class WithRedis:
    server: Server
    redis: subprocess.Popen[bytes]


@pytest.fixture
def with_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WithRedis]:
    """The app on a redis-server of this test's own (the test may kill it)."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with redis_server(port) as redis:
        asyncio.run(wait_redis(url))
        with run_server(tmp_path_factory, "admission-redis", broadcast_url=url) as server:
            yield WithRedis(server, redis)


async def test_the_socket_of_a_held_candidate_is_closed_and_an_admitted_one_subscribes(
    server: Server,
) -> None:
    fair = await _gated_fair(server, 2)
    async with _clients(server, fair.candidates) as (first, second):
        mine = f"/e/{fair.slug}/my-fair"
        assert (await first.get(mine)).status_code == 200
        assert (await second.get(mine)).status_code == 303  # held: the waiting page
        connect = {"origin": server.url, "open_timeout": 5}
        headers = {"Cookie": _cookies(second)}
        async with websockets.connect(server.ws, additional_headers=headers, **connect) as ws:
            assert await _closed_with(ws) == (CLOSE_OVERFLOW, "waiting for admission")
        own = channels.user(fair.candidates[0].id)
        headers = {"Cookie": _cookies(first)}
        async with websockets.connect(server.ws, additional_headers=headers, **connect) as ws:
            await ws.send(json.dumps(["subscribe", 1, {"channel": own}]))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert reply == ["success", 1, {"channel": own}]
        # Without the admission cookie, the one let in is still let in (the line knows them),
        # the one waiting still held.
        for client, held in ((first, False), (second, True)):
            session_only = {"Cookie": f"fair_session={client.cookies['fair_session']}"}
            async with websockets.connect(
                server.ws, additional_headers=session_only, **connect
            ) as ws:
                if held:
                    assert await _closed_with(ws) == (CLOSE_OVERFLOW, "waiting for admission")
                else:
                    await ws.send(json.dumps(["subscribe", 1, {"channel": own}]))
                    reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    assert reply == ["success", 1, {"channel": own}]


async def test_a_candidate_who_only_browsed_the_open_pages_gets_a_socket_while_there_is_room(
    server: Server,
) -> None:
    # The edition's page and the hall never hold anyone, so they give no admission cookie:
    # the hall's socket is let in while the gate is not engaged (nothing read on connect but
    # the caches), counted in by the hub's round, which engages the gate once the cap is used.
    fair = await _gated_fair(server, 2)
    the_hub = hub.of(server.app.state.broadcast)
    async with _clients(server, fair.candidates) as (first, second):
        for client in (first, second):
            for page in (f"/e/{fair.slug}", f"/e/{fair.slug}/booths"):
                assert (await client.get(page)).status_code == 200, page
            assert admission_gate.COOKIE not in client.cookies
        connect = {"origin": server.url, "open_timeout": 5}
        own = channels.user(fair.candidates[0].id)
        headers = {"Cookie": _cookies(first)}
        async with websockets.connect(server.ws, additional_headers=headers, **connect) as ws:
            await ws.send(json.dumps(["subscribe", 1, {"channel": own}]))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == [
                "success",
                1,
                {"channel": own},
            ]
            await _on_server(server, the_hub.keep_admitted())  # counted in: the cap (one) used
            # The second is held now, and has a place in the line; the first stays.
            headers = {"Cookie": _cookies(second)}
            async with websockets.connect(server.ws, additional_headers=headers, **connect) as held:
                assert await _closed_with(held) == (CLOSE_OVERFLOW, "waiting for admission")
            await ws.send(json.dumps(["subscribe", 2, {"channel": own}]))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))[:2] == ["success", 2]
        status = await second.get(f"/e/{fair.slug}/waiting/status")
        assert (status.json()["admitted"], status.json()["position"]) == (False, 1)


async def test_while_the_gate_is_not_engaged_a_socket_without_the_cookie_reads_nothing(
    server: Server,
) -> None:
    """An armed gate (a cap, the fair open) with room to spare: a candidate's socket without
    the admission cookie is let in on the caches alone (which editions are armed, and that
    their gate is not engaged), no read of their registrations, interviews nor of the line."""
    fair = await _gated_fair(server, 1)
    async with _clients(server, fair.candidates) as (first,):
        assert await _second_connect_reads(server, first, fair.candidates[0]) == []


async def test_with_redis_down_those_let_in_stay_and_new_arrivals_get_a_503(
    with_redis: WithRedis,
) -> None:
    server, redis = with_redis.server, with_redis.redis
    fair = await _gated_fair(server, 3)
    async with _clients(server, fair.candidates) as (first, second, third):
        mine = f"/e/{fair.slug}/my-fair"
        assert (await first.get(mine)).status_code == 200
        assert (await second.get(mine)).status_code == 303  # in the line, in Redis
        redis.kill()
        redis.wait()  # nothing listens on the port now
        # Let in before: still in, even when the cookie is due for renewal (the line
        # cannot be told: fail open) ...
        assert (await first.get(mine)).status_code == 200
        clock.set_now(f.NOON + timedelta(seconds=admission_gate.RENEW + 1))
        before = first.cookies[admission_gate.COOKIE]
        assert (await first.get(mine)).status_code == 200
        assert first.cookies[admission_gate.COOKIE] != before  # renewed all the same
        # ... while a new arrival, and the one waiting, are told to come back.
        for held in (third, second):
            refused = await held.get(mine)
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "10"
            assert "La file d'attente est momentanément inaccessible." in html.unescape(
                refused.text
            )
        status = await third.get(
            f"/e/{fair.slug}/waiting/status", headers={"accept": "application/json"}
        )
        assert (status.status_code, status.headers["retry-after"]) == (503, "10")
        assert status.json()["error"]["code"] == "admission.unavailable"


async def _on_server(server: Server, work: Coroutine[Any, Any, T]) -> T:
    """Run `work` in the server's loop (its hub lives there)."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, server.loop))


async def test_an_open_socket_keeps_its_place_and_one_whose_place_went_is_closed(
    server: Server,
) -> None:
    """A candidate let in who only keeps the live page open (no page request for longer than
    `idle`) stays active through the hub's rounds; a socket whose place lapsed anyway (rounds
    missed) and went to the next in line is closed with 1013, and its reconnect is held."""
    fair = await _gated_fair(server, 2)
    idle = server.conf.admission_idle_minutes * 60
    the_hub = hub.of(server.app.state.broadcast)
    connect = {"origin": server.url, "open_timeout": 5}
    async with _clients(server, fair.candidates) as (first, second):
        mine = f"/e/{fair.slug}/my-fair"
        assert (await first.get(mine)).status_code == 200
        headers = {"Cookie": _cookies(first)}
        own = channels.user(fair.candidates[0].id)
        async with websockets.connect(server.ws, additional_headers=headers, **connect) as ws:
            await ws.send(json.dumps(["subscribe", 1, {"channel": own}]))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))[0] == "success"
            for moment in range(30, idle + 60, 30):  # the hub's rounds, every 30 s
                clock.set_now(f.NOON + timedelta(seconds=moment))
                await _on_server(server, the_hub.keep_admitted())
            clock.set_now(f.NOON + timedelta(seconds=idle + 60))
            # The socket open is the first candidate active: the cap (one) still taken.
            assert (await second.get(mine)).status_code == 303
            # No round for longer than idle: the place lapses and goes to the second.
            clock.set_now(f.NOON + timedelta(seconds=3 * idle))
            assert (await second.get(mine)).status_code == 200
            await _on_server(server, the_hub.keep_admitted())
            assert (await _closed_with(ws))[0] == CLOSE_OVERFLOW
        async with websockets.connect(server.ws, additional_headers=headers, **connect) as ws:
            assert await _closed_with(ws) == (CLOSE_OVERFLOW, "waiting for admission")


async def _pinged(ws: Any) -> bool:
    """Whether the socket is still served (its ping answered)."""
    try:
        await ws.send(json.dumps(["ping", 7, {}]))
        async with asyncio.timeout(5):
            while (frame := json.loads(await ws.recv()))[0] == "event":
                pass
    except ConnectionClosed:
        return False
    return bool(frame == ["success", 7, {}])


async def test_a_place_the_line_lost_is_taken_again_and_never_loops(server: Server) -> None:
    """The line forgets a candidate let in (Redis restarted): their socket, let in by their
    admission cookie, used to be closed at each round and let in again by the cookie, until it
    expired. Now the round takes their place again: kept open while there is room; else they
    wait in line like anyone, their cookie no longer letting their socket in."""
    fair = await _gated_fair(server, 2)
    the_hub = hub.of(server.app.state.broadcast)
    connect = {"origin": server.url, "open_timeout": 5}
    async with _clients(server, fair.candidates) as (first, second):
        mine = f"/e/{fair.slug}/my-fair"
        assert (await first.get(mine)).status_code == 200
        headers = {"Cookie": _cookies(first)}
        async with websockets.connect(server.ws, additional_headers=headers, **connect) as ws:
            assert await _pinged(ws)  # served: the hub knows it
            admission_gate.LOCAL.editions.clear()  # the line lost everything
            await _on_server(server, the_hub.keep_admitted())
            assert await _pinged(ws)  # room for them (the cap: one): in again, not closed
            assert (await second.get(mine)).status_code == 303  # the place is theirs
            admission_gate.LOCAL.editions.clear()  # lost again, and the second takes it first
            assert (await second.get(mine)).status_code == 200
            await _on_server(server, the_hub.keep_admitted())
            assert (await _closed_with(ws))[0] == CLOSE_OVERFLOW
        # The cookie is still valid, but their place went: the reconnect waits in line.
        for _attempt in range(2):
            async with websockets.connect(server.ws, additional_headers=headers, **connect) as ws:
                assert await _closed_with(ws) == (CLOSE_OVERFLOW, "waiting for admission")
        line = admission_gate.LOCAL.editions[fair.edition_id]  # the socket took its place in it
        first_id, second_id = (c.id for c in fair.candidates)
        assert (list(line.active), list(line.tickets)) == ([second_id], [first_id])


async def test_sockets_let_through_without_a_place_are_counted_or_left_alone(
    server: Server,
) -> None:
    """What the gate does with sockets it let through without a place (decided, issue 17's
    review): one open before its edition was gated is counted as active from the hub's next
    round, and never closed for it (it is active: the line waits for room); one of a candidate
    exempt (an interview within 30 minutes) is neither counted nor closed."""
    fair = await _gated_fair(server, 3)
    early, late, interviewed = fair.candidates
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await editions.by_slug(session, fair.slug)
            booth, recruiter = await f.booth(session, edition_=edition)
            soon = f.NOON + timedelta(minutes=10)
            await f.interview(
                session, booth_=booth, recruiter=recruiter, candidate_=interviewed, starts_at=soon
            )
            await session.commit()
    finally:
        await engine.dispose()
    the_hub = hub.of(server.app.state.broadcast)
    connect = {"origin": server.url, "open_timeout": 5}
    clock.set_now(f.NOON - timedelta(days=2))  # the day before the first live day: not gated
    async with (
        _clients(server, fair.candidates) as (first, second, third),
        websockets.connect(
            server.ws, additional_headers={"Cookie": _cookies(first)}, **connect
        ) as before,
    ):
        assert await _pinged(before)
        clock.set_now(f.NOON)  # gated now, with room for one active candidate
        async with websockets.connect(
            server.ws, additional_headers={"Cookie": _cookies(third)}, **connect
        ) as exempt:
            assert await _pinged(exempt)
            for _round in range(2):
                await _on_server(server, the_hub.keep_admitted())
                assert (await _pinged(before), await _pinged(exempt)) == (True, True)
            line = admission_gate.LOCAL.editions[fair.edition_id]
            assert list(line.active) == [early.id]  # the exempt one not counted
            held = await second.get(f"/e/{fair.slug}/my-fair")
            assert held.status_code == 303  # the place is the first's
    assert late.id in line.tickets


async def test_before_opening_sockets_are_let_in_until_enough_to_press_and_drawn_at_opening(
    server: Server,
) -> None:
    """Caps on, the 15 minutes before opening: a socket is not held while the early arrivals
    are too few to press the cap (a small fair); the hub's round puts it in line at its draw
    (not active: it would jump the draw). Enough of them (85 % of the cap: 2 of 2) engage the
    gate: the next socket is held. At opening the places go in the order drawn, whoever's
    socket was open (those let in early and not drawn stay open, waiting)."""
    opens = f.NOON.replace(hour=0)  # its first live day opens at midnight
    clock.set_now(opens - timedelta(minutes=1))
    settings.override(server.conf)
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session, admission_active_cap=2, live_first_day=opens.date())
            people = [await f.candidate(session) for _ in range(3)]
            for candidate in people:
                await participants.register(session, edition_id=edition.id, user=candidate)
            await session.commit()
            edition_id = edition.id
    finally:
        await engine.dispose()
    the_hub = hub.of(server.app.state.broadcast)
    connect = {"origin": server.url, "open_timeout": 5}
    ids = [p.id for p in people]
    async with _clients(server, people) as clients, contextlib.AsyncExitStack() as stack:
        sockets = []
        for client in clients[:2]:
            headers = {"Cookie": _cookies(client)}
            ws = await stack.enter_async_context(
                websockets.connect(server.ws, additional_headers=headers, **connect)
            )
            assert await _pinged(ws)  # not held
            sockets.append(ws)
            await _on_server(server, the_hub.keep_admitted())
        line = admission_gate.LOCAL.editions[edition_id]
        assert (list(line.active), sorted(line.tickets)) == ([], ids[:2])  # in line, drawn
        headers = {"Cookie": _cookies(clients[2])}
        async with websockets.connect(server.ws, additional_headers=headers, **connect) as held:
            assert await _closed_with(held) == (CLOSE_OVERFLOW, "waiting for admission")
        draws = {i: admission_gate.draw(edition_id, i, opens) for i in ids}
        assert line.tickets == draws  # the held one's too
        by_draw = sorted(ids, key=draws.__getitem__)
        clock.set_now(opens + timedelta(seconds=1))
        await _on_server(server, the_hub.keep_admitted())
        assert (set(line.active), list(line.tickets)) == (set(by_draw[:2]), by_draw[2:])
        assert [await _pinged(ws) for ws in sockets] == [True, True]


async def _reply(ws: Any, id_: int, sent: list[Any]) -> list[Any]:
    """Send `sent` and return its reply (events read meanwhile are skipped)."""
    await ws.send(json.dumps(sent))
    async with asyncio.timeout(5):
        while True:
            frame = json.loads(await ws.recv())
            if frame[0] != "event" and frame[1] == id_:
                return list(frame)


async def test_a_socket_joins_a_full_fair_s_queue_only_once_let_in(server: Server) -> None:
    """Joining a booth's queue registers the candidate to its edition. A candidate registered
    to none is let through on the socket (no gate of theirs), and joined the queue of a full
    fair past its line; the command now passes that fair's gate: refused while they wait (their
    place in line taken), done once there is room."""
    fair = await _gated_fair(server, 1)
    settings.override(server.conf)
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await editions.get(session, fair.edition_id)
            booth, _recruiter = await f.booth(session, edition_=edition)
            outsider = await f.candidate(session)
            await session.commit()
    finally:
        await engine.dispose()
    async with _clients(server, [*fair.candidates, outsider]) as (first, second):
        assert (await first.get(f"/e/{fair.slug}/my-fair")).status_code == 200  # the one place
        connect = {"origin": server.url, "open_timeout": 5}
        headers = {"Cookie": _cookies(second)}
        async with websockets.connect(server.ws, additional_headers=headers, **connect) as ws:
            refused = await _reply(ws, 1, ["queue.join", 1, {"booth_id": booth.id}])
            assert (refused[0], refused[2]["code"]) == ("error", "admission.waiting")
            status = (await second.get(f"/e/{fair.slug}/waiting/status")).json()
            assert (status["admitted"], status["position"]) == (False, 1)
            clock.set_now(f.NOON + timedelta(minutes=11))  # the first went quiet
            with statements(server) as seen:
                joined = await _reply(ws, 2, ["queue.join", 2, {"booth_id": booth.id}])
            assert (joined[0], joined[2]["status"]) == ("success", "waiting")
    # The booth read once: its edition, read by the gate on the first try, is remembered
    # (fair.edition_keys); it was read again for the gate, then by the join, each time.
    booth_reads = [s for s in seen if "FROM booths \nWHERE booths.id = " in s]
    assert len(booth_reads) == 1, booth_reads


async def test_a_socket_let_in_to_one_fair_acts_in_a_full_one_only_once_let_in_there(
    server: Server,
) -> None:
    """A socket is let in through the edition the cookie names. Commands acting in another
    edition pass that edition's gate (fair.live.socket EDITION_OF): asking a full fair's booth
    a question (qa.ask) was not gated, and a candidate let in to a calm fair acted in the full
    one past its line."""
    fair = await _gated_fair(server, 1)
    settings.override(server.conf)
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            calm = await f.edition(session)  # armed (the default caps), far from full
            edition = await editions.get(session, fair.edition_id)
            booth, _recruiter = await f.booth(session, edition_=edition)
            outsider = await f.candidate(session)
            await participants.register(session, edition_id=calm.id, user=outsider)
            await session.commit()
    finally:
        await engine.dispose()
    admission_gate.forget()  # the editions armed, read afresh (the clock stands still)
    async with _clients(server, [*fair.candidates, outsider]) as (first, second):
        assert (await first.get(f"/e/{fair.slug}/my-fair")).status_code == 200  # the one place
        assert (await second.get(f"/e/{calm.slug}/my-fair")).status_code == 200
        connect = {"origin": server.url, "open_timeout": 5}
        headers = {"Cookie": _cookies(second)}
        question = {"booth_id": booth.id, "body": "Des postes à temps partiel ?"}
        async with websockets.connect(server.ws, additional_headers=headers, **connect) as ws:
            refused = await _reply(ws, 1, ["qa.ask", 1, question])
            assert (refused[0], refused[2]["code"]) == ("error", "admission.waiting")
            status = (await second.get(f"/e/{fair.slug}/waiting/status")).json()
            assert (status["admitted"], status["position"]) == (False, 1)
            clock.set_now(f.NOON + timedelta(minutes=11))  # the first went quiet
            asked = await _reply(ws, 2, ["qa.ask", 2, question])
            assert (asked[0], asked[2]["booth_id"]) == ("success", booth.id)


@pytest.fixture(params=["memory", "redis"])
def lined(
    request: pytest.FixtureRequest, server: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str | None]]:
    """The served app and the namespace of its line: this process's line (the module's server,
    None), or the line in the real Redis (a server of this test's own, BROADCAST_URL redis://,
    a namespace of its own)."""
    if request.param == "memory":
        yield server, None
        return
    namespace = f"test-admission-live-{secrets.token_hex(4)}"
    try:
        with run_server(
            tmp_path_factory, "admission-line", broadcast_url=REDIS, broadcast_namespace=namespace
        ) as running:
            yield running, namespace
    finally:
        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(f"{namespace}:*"))
        if keys:
            client.delete(*keys)
        client.close()


async def test_a_socket_let_in_to_one_fair_is_judged_there_not_by_the_first_full_one(
    lined: tuple[Server, str | None],
) -> None:
    """Candidates registered to two fairs, the full one first (the lower id), let in to the
    calm one (its page), open a socket without the admission cookie (another device). One
    opened before the full fair held anyone: the hub's round counted it in the full fair, the
    first they are registered to, as active past its cap (one place, two active). One opened
    while it held people: judged by the full fair's gate, closed, and put in its line. Both
    are now let in through the calm fair, kept there by the round; their commands acting in
    the full fair wait for its line, those in the calm one go through."""
    server, namespace = lined
    found_in = aioredis.from_url(REDIS) if namespace is not None else None
    line = admission_gate.line_of(found_in, namespace or "")
    fair = await _gated_fair(server, 1)  # the full fair: one place
    settings.override(server.conf)
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            calm = await f.edition(session)  # armed (the default caps), far from full
            full = await editions.get(session, fair.edition_id)
            full_booth, _ = await f.booth(session, edition_=full)
            calm_booth, _ = await f.booth(session, edition_=calm)
            both = [await f.candidate(session) for _ in range(2)]
            for candidate in both:
                for edition_id in (fair.edition_id, calm.id):
                    await participants.register(session, edition_id=edition_id, user=candidate)
            await session.commit()
    finally:
        await engine.dispose()
    assert fair.edition_id < calm.id
    admission_gate.forget()  # the editions armed, read afresh (the clock stands still)
    the_hub = hub.of(server.app.state.broadcast)
    connect = {"origin": server.url, "open_timeout": 5}
    idle = server.conf.admission_idle_minutes * 60

    async def full_line() -> tuple[int, int]:
        found = await line.figures(fair.edition_id, now=f.NOON.timestamp(), idle=idle)
        return found.active, found.waiting

    try:
        async with _clients(server, [*fair.candidates, *both]) as (first, early, late):
            for client in (early, late):
                assert (await client.get(f"/e/{calm.slug}/my-fair")).status_code == 200
            session_only = [
                {"Cookie": f"fair_session={c.cookies['fair_session']}"} for c in (early, late)
            ]
            early_only, late_only = session_only
            async with websockets.connect(
                server.ws, additional_headers=early_only, **connect
            ) as ws:
                assert await _pinged(ws)  # the full fair not engaged yet: nothing read
                assert (await first.get(f"/e/{fair.slug}/my-fair")).status_code == 200  # its place
                await _on_server(server, the_hub.keep_admitted())
                assert await _pinged(ws)
                assert await full_line() == (1, 0)  # the early one not counted in the full fair
                late_socket = websockets.connect(server.ws, additional_headers=late_only, **connect)
                async with late_socket as late_ws:
                    assert await _pinged(late_ws)  # not held
                    assert await full_line() == (1, 0)  # nor put in the full fair's line
                    await _on_server(server, the_hub.keep_admitted())
                    for socket in (ws, late_ws):
                        assert await _pinged(socket)
                        held = await _reply(
                            socket, 8, ["queue.join", 8, {"booth_id": full_booth.id}]
                        )
                        assert (held[0], held[2]["code"]) == ("error", "admission.waiting")
                        joined = await _reply(
                            socket, 9, ["queue.join", 9, {"booth_id": calm_booth.id}]
                        )
                        assert (joined[0], joined[2]["status"]) == ("success", "waiting")
                    assert await full_line() == (1, 2)  # in its line now: they asked to act there
    finally:
        if found_in is not None:
            await found_in.aclose()


@pytest.fixture
def relayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, redis_relay.Relay]]:
    """The app on the shared Redis through a relay (tests/redis_relay.py), a namespace of its
    own."""
    namespace = f"test-admission-judge-{secrets.token_hex(4)}"
    try:
        with (
            redis_relay.relay() as relay,
            run_server(
                tmp_path_factory,
                "admission-judge",
                broadcast_url=relay.url,
                broadcast_namespace=namespace,
            ) as server,
        ):
            yield server, relay
    finally:
        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(f"{namespace}:*"))
        if keys:
            client.delete(*keys)
        client.close()


async def test_a_socket_judged_by_the_line_holds_no_database_connection_meanwhile(
    relayed: tuple[Server, redis_relay.Relay],
) -> None:
    """A candidate registered to two gated fairs, the full one first, let in to the calm one
    (its page), opens a socket without the admission cookie: their registrations are read,
    then the line is asked whether the calm fair lets them in already (Redis). That call used
    to run inside the read's session, its pool connection held across the round trip (at an
    opening, thousands of them emptied the pool). Seen on its way to the real Redis (the
    relay), while the socket awaits its reply: no connection of the server's is checked out."""
    server, relay = relayed
    fair = await _gated_fair(server, 1)  # the full fair: one place
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            calm = await f.edition(session)  # armed (the default caps), far from full
            late = await f.candidate(session)
            for edition_id in (fair.edition_id, calm.id):
                await participants.register(session, edition_id=edition_id, user=late)
            await session.commit()
    finally:
        await engine.dispose()
    admission_gate.forget()  # the editions armed, read afresh (the clock stands still)
    pool = server.app.state.engine.sync_engine.pool  # a QueuePool (file SQLite, PostgreSQL)
    connect = {"origin": server.url, "open_timeout": 5}
    async with _clients(server, [*fair.candidates, late]) as (first, both):
        assert (await first.get(f"/e/{fair.slug}/my-fair")).status_code == 200  # its place
        assert (await both.get(f"/e/{calm.slug}/my-fair")).status_code == 200
        # The line's call about the calm fair (fair.admission.RedisLine.keep: its script), on
        # its way.
        keep = hashlib.sha1(admission.KEEP.encode()).hexdigest().encode()
        relay.watch((keep, f":admission:{calm.id}:active".encode()), pool.checkedout)
        session_only = {"Cookie": f"fair_session={both.cookies['fair_session']}"}
        async with websockets.connect(server.ws, additional_headers=session_only, **connect) as ws:
            assert await _pinged(ws)  # let in through the calm fair, not held by the full one
    assert relay.caught.is_set()
    assert relay.seen == 0
