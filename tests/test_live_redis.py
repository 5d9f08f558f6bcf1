"""The Redis broadcaster across real processes: uvicorn servers, redis-server, PostgreSQL.

Servers run as subprocesses (`python -m uvicorn fair.app:create_app --factory`) on a database
of their own (tests/server_processes.py); the tests seed it from pytest-asyncio's loop, then talk
to the servers over TCP with httpx and the `websockets` client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets
from sqlalchemy import select

from fair import channels, db, migrations, queues, settings
from fair.app import create_app
from fair.broadcast import BroadcastError
from fair.enums import ApplicationStatus
from fair.models import Application, ApplicationEvent, ConversationMessage, User
from tests import factories as f
from tests.conftest import csrf, login
from tests.live_server import run_server
from tests.server_processes import (
    NEEDS_POSTGRESQL_AND_REDIS,
    SHARED_REDIS,
    Server,
    free_port,
    redis_server,
    servers,
    wait_redis,
)

pytestmark = NEEDS_POSTGRESQL_AND_REDIS

Events = list[dict[str, Any]]


@dataclass
class World:
    candidate: User
    recruiter: User
    applications: list[int]
    booth_id: int


@pytest_asyncio.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """A candidate with two applications to one recruiter's booth, committed."""
    settings.override(settings.load({"FAIR_ENV": "test", "FAIR_DATA_DIR": str(tmp_path)}))
    engine = db.create_engine(database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session)
            booth, recruiter = await f.booth(session, edition_=edition)
            candidate = await f.candidate(session)
            ids = []
            for _ in range(2):
                offer = await f.offer(session, booth_=booth)
                ids.append((await f.application(session, offer_=offer, candidate_=candidate)).id)
            await session.commit()
        yield World(candidate, recruiter, ids, booth.id)
    finally:
        await engine.dispose()
        settings.override(None)


@contextlib.asynccontextmanager
async def logged_in(server: Server, user: User) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        await login(client, user.email, f.PASSWORD)
        yield client


async def subscribed_socket(server: Server, user: User) -> Any:
    """A socket of `user` on `server`, following their own channel."""
    async with logged_in(server, user) as client:
        cookie = f"fair_session={client.cookies['fair_session']}"
    ws = await websockets.connect(
        server.ws, additional_headers={"Cookie": cookie}, origin=server.url
    )
    channel = channels.user(user.id)
    await ws.send(json.dumps(["subscribe", 1, {"channel": channel}]))
    assert json.loads(await asyncio.wait_for(ws.recv(), 2)) == [
        "success",
        1,
        {"channel": channel},
    ]
    return ws


async def next_event(ws: Any, seconds: float) -> dict[str, Any]:
    """The payload of the next event frame other than a heartbeat or an unread notices count
    (which follows each status change)."""
    async with asyncio.timeout(seconds):
        while True:
            frame = json.loads(await ws.recv())
            if frame[0] == "event" and frame[2]["event"] not in ("heartbeat", "notices.unread"):
                return dict(frame[2])


async def set_status(recruiter: httpx.AsyncClient, application_id: int, status: str) -> int:
    page = f"/recruiter/applications/{application_id}"
    token = await csrf(recruiter, page)
    response = await recruiter.post(f"{page}/status", data={"csrf_token": token, "status": status})
    return response.status_code


def status_event(application_id: int, status: str) -> dict[str, Any]:
    label = ApplicationStatus(status).label
    return {
        "event": "application.status",
        "application_id": application_id,
        "status": status,
        "label": label,
    }


async def test_event_crosses_processes(database_url: str, world: World) -> None:
    try:
        await wait_redis(SHARED_REDIS, seconds=1)
    except TimeoutError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    async with servers(database_url, SHARED_REDIS, 2) as (one, two):
        ws = await subscribed_socket(two, world.candidate)
        try:
            async with logged_in(one, world.recruiter) as recruiter:
                assert await set_status(recruiter, world.applications[0], "shortlisted") == 303
            assert await next_event(ws, 2) == status_event(world.applications[0], "shortlisted")
        finally:
            await ws.close()


async def command(ws: Any, id_: int, action: str, payload: dict[str, Any], seen: Events) -> Any:
    """Send a command and return its reply; events read meanwhile are kept in `seen`."""
    await ws.send(json.dumps([action, id_, payload]))
    async with asyncio.timeout(5):
        while True:
            frame = json.loads(await ws.recv())
            if frame[0] != "event":
                assert frame[1] == id_, frame
                return frame
            if frame[2]["event"] != "heartbeat":
                seen.append(frame[2])


async def event_named(ws: Any, name: str, seen: Events, **fields: Any) -> dict[str, Any]:
    """The first event called `name` (with these `fields`), among those kept in `seen` or the
    next ones."""
    wanted = {"event": name, **fields}
    async with asyncio.timeout(5):
        while True:
            for found in seen:
                if wanted.items() <= found.items():
                    seen.remove(found)
                    return found
            frame = json.loads(await ws.recv())
            if frame[0] == "event":
                seen.append(frame[2])


async def test_conversation_across_servers(database_url: str, world: World) -> None:
    """The candidate's socket is on one server, the recruiter's on the other."""
    try:
        await wait_redis(SHARED_REDIS, seconds=1)
    except TimeoutError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    booth_id, candidate, recruiter = world.booth_id, world.candidate, world.recruiter
    mine: Events = []
    theirs: Events = []
    async with servers(database_url, SHARED_REDIS, 2) as (one, two):
        cws = await subscribed_socket(one, candidate)
        rws = await subscribed_socket(two, recruiter)
        try:
            joined = await command(cws, 2, "queue.join", {"booth_id": booth_id}, mine)
            assert joined[0] == "success", joined
            entry_id = joined[2]["entry_id"]
            taken = await command(rws, 2, "queue.next", {"booth_id": booth_id}, theirs)
            assert taken == [
                "success",
                2,
                {
                    "booth_id": booth_id,
                    "entry_id": entry_id,
                    "candidate": {"id": candidate.id, "name": candidate.name},
                },
            ]
            called = await event_named(cws, "queue.called", mine)
            assert (called["booth_id"], called["entry_id"]) == (booth_id, entry_id)
            answered = await command(cws, 3, "queue.answer", {"entry_id": entry_id}, mine)
            conversation_id = answered[2]["conversation_id"]
            assert answered == [
                "success",
                3,
                {"conversation_id": conversation_id, "booth_id": booth_id},
            ]
            assert await event_named(rws, "conversation.started", theirs) == {
                "event": "conversation.started",
                "conversation_id": conversation_id,
                "booth_id": booth_id,
            }

            events = {}
            for id_, ws, seen, other, other_seen, body in [
                (4, cws, mine, rws, theirs, "Bonjour, je suis électricienne."),
                (5, rws, theirs, cws, mine, "Bienvenue ! Parlez-moi de vous."),
            ]:
                payload = {"conversation_id": conversation_id, "body": body}
                sent = await command(ws, id_, "conversation.send", payload, seen)
                message_id = sent[2]["message_id"]
                assert sent == [
                    "success",
                    id_,
                    {"conversation_id": conversation_id, "message_id": message_id},
                ]
                events[message_id] = await event_named(
                    other, "conversation.message", other_seen, message_id=message_id
                )
        finally:
            await cws.close()
            await rws.close()

    engine = db.create_engine(database_url)
    try:
        async with db.sessionmaker(engine)() as session:
            stored = (
                await session.scalars(
                    select(ConversationMessage)
                    .where(ConversationMessage.conversation_id == conversation_id)
                    .order_by(ConversationMessage.id)
                )
            ).all()
    finally:
        await engine.dispose()
    assert [(m.sender_id, m.body) for m in stored] == [
        (candidate.id, "Bonjour, je suis électricienne."),
        (recruiter.id, "Bienvenue ! Parlez-moi de vous."),
    ]
    assert events == {
        m.id: {
            "event": "conversation.message",
            "conversation_id": conversation_id,
            "message_id": m.id,
            "sender_id": m.sender_id,
            "body": m.body,
            "created_at": m.created_at.isoformat(),
        }
        for m in stored
    }


async def test_redis_restart_resyncs_sockets(database_url: str, world: World) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    first, second = world.applications
    with redis_server(port) as redis_process:
        await wait_redis(url)
        async with servers(database_url, url, 1) as (server,):
            ws = await subscribed_socket(server, world.candidate)
            try:
                async with logged_in(server, world.recruiter) as recruiter:
                    assert await set_status(recruiter, first, "in_review") == 303
                    assert await next_event(ws, 2) == status_event(first, "in_review")

                    redis_process.kill()  # SIGKILL: no goodbye to the clients
                    redis_process.wait()
                    async with httpx.AsyncClient(base_url=server.url) as anonymous:
                        assert (await anonymous.get("/")).status_code == 200
                    # Stored; its event heard by this process's sockets (fair.broadcast: a
                    # process hears its own at once) and, for the other processes, dropped
                    # (logged) rather than failing the request.
                    assert await set_status(recruiter, first, "shortlisted") == 303
                    assert await next_event(ws, 2) == status_event(first, "shortlisted")

                    with redis_server(port):
                        await wait_redis(url)
                        assert await next_event(ws, 10) == {"event": "resync"}
                        assert await set_status(recruiter, second, "shortlisted") == 303
                        assert await next_event(ws, 2) == status_event(second, "shortlisted")
            finally:
                await ws.close()

    engine = db.create_engine(database_url)
    try:
        async with db.sessionmaker(engine)() as session:
            rows = await session.execute(select(Application.id, Application.status))
            statuses = {id_: status for id_, status in rows}
            moves = (
                await session.execute(
                    select(ApplicationEvent.application_id, ApplicationEvent.to_status)
                    .where(ApplicationEvent.application_id.in_([first, second]))
                    .order_by(ApplicationEvent.id)
                )
            ).all()
    finally:
        await engine.dispose()
    assert statuses[first] == "shortlisted" and statuses[second] == "shortlisted"
    assert [tuple(m) for m in moves if m[1] != "submitted"] == [
        (first, "in_review"),
        (first, "shortlisted"),
        (second, "shortlisted"),
    ]


async def test_lifespan_refuses_to_start_without_redis(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    base = settings.load({"FAIR_ENV": "test", "FAIR_DATA_DIR": str(tmp_path)})
    app = create_app(replace(base, broadcast_url=f"redis://127.0.0.1:{port}/0"))
    try:
        with pytest.raises(BroadcastError) as refused:
            async with app.router.lifespan_context(app):
                pass
    finally:
        settings.override(None)
    assert str(refused.value).startswith(
        f"Cannot reach Redis at redis://127.0.0.1:{port}/0 (BROADCAST_URL):"
    )


async def recruiter_socket(server: Server, recruiter: User) -> Any:
    async with logged_in(server, recruiter) as client:
        cookie = f"fair_session={client.cookies['fair_session']}"
    return await websockets.connect(
        server.ws, additional_headers={"Cookie": cookie}, origin=server.url
    )


async def press_next(ws: Any, booth_id: int) -> Any:
    await ws.send(json.dumps(["queue.next", 1, {"booth_id": booth_id}]))
    async with asyncio.timeout(5):
        while True:
            frame = json.loads(await ws.recv())
            if frame[0] != "event":
                assert frame[0] == "success", frame
                return frame[2]["entry_id"] and frame[2]["candidate"]["id"]


async def test_next_on_two_servers_never_takes_a_candidate_twice(
    database_url: str, tmp_path: Path
) -> None:
    """Four recruiters, two per server, press "next" at once for a booth with two waiting."""
    try:
        await wait_redis(SHARED_REDIS, seconds=1)
    except TimeoutError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.override(settings.load({"FAIR_ENV": "test", "FAIR_DATA_DIR": str(tmp_path)}))
    engine = db.create_engine(database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session)
            booth, owner = await f.booth(session, edition_=edition)
            recruiters = [owner] + [
                await f.colleague(session, booth_=booth, owner=owner) for _ in range(3)
            ]
            waiting = [await f.candidate(session) for _ in range(2)]
            for person in waiting:
                await queues.join(session, candidate=person, booth=booth)
            await session.commit()
    finally:
        await engine.dispose()
        settings.override(None)

    async with servers(database_url, SHARED_REDIS, 2) as (one, two):
        sockets = [
            await recruiter_socket(server, recruiter)
            for server, recruiter in zip([one, two, one, two], recruiters, strict=True)
        ]
        try:
            taken = await asyncio.gather(*(press_next(ws, booth.id) for ws in sockets))
        finally:
            for ws in sockets:
                await ws.close()
    called = [c for c in taken if c]
    assert sorted(called) == sorted(p.id for p in waiting)


async def login_cookie(server: Server, user: User) -> str:
    async with logged_in(server, user) as client:
        return f"fair_session={client.cookies['fair_session']}"


async def test_a_socket_over_the_limit_closes_the_oldest_in_another_process(
    database_url: str, world: World
) -> None:
    """FAIR_LIVE_MAX_SOCKETS=2: the candidate's first socket is on one server, the next two on
    the other: the first closes (4429), counted in Redis."""
    try:
        await wait_redis(SHARED_REDIS, seconds=1)
    except TimeoutError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    async with servers(database_url, SHARED_REDIS, 2, FAIR_LIVE_MAX_SOCKETS="2") as (one, two):
        cookie = await login_cookie(one, world.candidate)
        headers = {"Cookie": cookie}
        oldest = await websockets.connect(one.ws, additional_headers=headers, origin=one.url)
        others = []
        try:
            await oldest.send(json.dumps(["ping", 1, {}]))
            assert json.loads(await asyncio.wait_for(oldest.recv(), 2)) == ["success", 1, {}]
            for _ in range(2):
                ws = await websockets.connect(two.ws, additional_headers=headers, origin=two.url)
                others.append(ws)
                await ws.send(json.dumps(["ping", 1, {}]))
                assert json.loads(await asyncio.wait_for(ws.recv(), 2)) == ["success", 1, {}]
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(5):
                    while True:
                        await oldest.recv()
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
                4429,
                "too many connections: this was the oldest",
            )
            for ws in others:
                await ws.send(json.dumps(["ping", 2, {}]))
                assert json.loads(await asyncio.wait_for(ws.recv(), 2)) == ["success", 2, {}]
        finally:
            for ws in [oldest, *others]:
                await ws.close()


async def events_within(ws: Any, seconds: float) -> list[dict[str, Any]]:
    """The payloads of the event frames (heartbeats aside) received within `seconds`."""
    found = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                frame = json.loads(await ws.recv())
                if frame[0] == "event" and frame[2]["event"] != "heartbeat":
                    found.append(dict(frame[2]))
    return found


async def seed_deployment(url: str) -> tuple[User, User, int]:
    """A candidate, a recruiter and an application between them: the same ids in every
    database seeded by this function alone."""
    engine = db.create_engine(url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session)
            booth, recruiter = await f.booth(session, edition_=edition)
            candidate = await f.candidate(session)
            offer = await f.offer(session, booth_=booth)
            application = await f.application(session, offer_=offer, candidate_=candidate)
            await session.commit()
            return candidate, recruiter, application.id
    finally:
        await engine.dispose()


async def test_two_deployments_on_one_redis_never_hear_each_other(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """Staging and production on one Redis, each with its own database (the same ids in
    both): a candidate's events in one never reach the other's sockets, even with another
    Redis database number (pub/sub ignores it); a second process of the same deployment still
    hears them."""
    try:
        await wait_redis(SHARED_REDIS, seconds=1)
    except TimeoutError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.override(settings.load({"FAIR_ENV": "test", "FAIR_DATA_DIR": str(tmp_path)}))
    urls = [f"sqlite+aiosqlite:///{tmp_path_factory.mktemp(n) / 'fair.db'}" for n in "ab"]
    people = []
    for url in urls:
        await migrations.upgrade_async(url)
        people.append(await seed_deployment(url))
    (candidate, recruiter, application_id), (other_candidate, other_recruiter, other_id) = people
    assert (candidate.id, application_id) == (other_candidate.id, other_id)
    with (
        run_server(tmp_path_factory, "a", database_url=urls[0], broadcast_url=SHARED_REDIS) as a,
        run_server(tmp_path_factory, "a2", database_url=urls[0], broadcast_url=SHARED_REDIS) as a2,
        run_server(
            tmp_path_factory, "b", database_url=urls[1], broadcast_url="redis://127.0.0.1:6379/1"
        ) as b,
    ):
        sockets = []
        try:
            for server, person in ((a, candidate), (a2, candidate), (b, other_candidate)):
                sockets.append(await subscribed_socket(server, person))  # type: ignore[arg-type]
            async with logged_in(a, recruiter) as client:  # type: ignore[arg-type]
                assert await set_status(client, application_id, "shortlisted") == 303
            heard = [await events_within(ws, 1.5) for ws in sockets]
            async with logged_in(b, other_recruiter) as client:  # type: ignore[arg-type]
                assert await set_status(client, application_id, "in_review") == 303
            later = [await events_within(ws, 1.5) for ws in sockets]
            for seen, more in zip(heard, later, strict=True):
                seen.extend(more)
            statuses = [
                [e["status"] for e in seen if e["event"] == "application.status"] for seen in heard
            ]
            assert statuses == [["shortlisted"], ["shortlisted"], ["in_review"]]
            namespaces = [s.conf.broadcast_channel_namespace for s in (a, a2, b)]
            assert namespaces[0] == namespaces[1] != namespaces[2]
        finally:
            for ws in sockets:
                await ws.close()
            settings.override(None)
