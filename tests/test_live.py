"""The /live socket against a real uvicorn server (SQLite, memory broadcaster), no mocks.

The server (tests/live_server.py) runs in its own thread and event loop; the tests talk to it
over TCP with httpx and the `websockets` client, from pytest-asyncio's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from fair import channels, clock, db, editions, settings, webconferences
from fair.enums import Role, WebconferenceAccess
from fair.live import limits, protocol, socket
from fair.models import (
    Application,
    Booth,
    BoothPresence,
    QaMessage,
    User,
    WebconferenceQuestion,
)
from tests import factories as f
from tests.conftest import csrf, login
from tests.live_server import Server


@pytest.fixture(autouse=True)
def _server_settings(server: Server) -> Iterator[None]:
    """Other tests reset the process-wide settings; the server reads its own."""
    settings.override(server.conf)
    clock.set_now(None)
    yield


@dataclass
class World:
    candidate: User
    other: User
    recruiter: User
    application: Application


@pytest_asyncio.fixture
async def world(server: Server) -> AsyncIterator[World]:
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session)
            booth, recruiter = await f.booth(session, edition_=edition)
            offer = await f.offer(session, booth_=booth)
            candidate = await f.candidate(session)
            other = await f.candidate(session)
            application = await f.application(session, offer_=offer, candidate_=candidate)
            await session.commit()
            yield World(candidate, other, recruiter, application)
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def http(server: Server) -> AsyncIterator[Any]:
    opened: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=server.url)
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


async def cookie_of(client: httpx.AsyncClient, user: User) -> str:
    await login(client, user.email, f.PASSWORD)
    return f"fair_session={client.cookies['fair_session']}"


def connect(server: Server, *, cookie: str | None = None, origin: str | None = None) -> Any:
    headers = {"Cookie": cookie} if cookie else {}
    return websockets.connect(
        server.ws, additional_headers=headers, origin=origin or server.url, max_size=None
    )


async def call(ws: Any, action: str, id_: int, payload: dict[str, Any]) -> list[Any]:
    await ws.send(json.dumps([action, id_, payload]))
    return json.loads(await asyncio.wait_for(ws.recv(), 2))


async def test_ping_and_anonymous_subscribe(server: Server, world: World) -> None:
    edition_id, booth_id = world.application.edition_id, world.application.booth_id
    async with connect(server) as ws:
        assert await call(ws, "ping", 1, {}) == ["success", 1, {}]
        reply = await call(ws, "subscribe", 2, {"channel": "user:1"})
        assert reply[:2] == ["error", 2] and reply[2]["code"] == "auth.required"
        # Public channels (hall staffing, booth counts and Q&A ids) are open to visitors.
        for id_, channel in ((4, f"edition:{edition_id}"), (5, f"booth:{booth_id}")):
            assert await call(ws, "subscribe", id_, {"channel": channel}) == [
                "success",
                id_,
                {"channel": channel},
            ]
        reply = await call(ws, "subscribe", 6, {"channel": "room:1"})
        assert reply[:2] == ["error", 6] and reply[2]["code"] == "auth.required"
        reply = await call(ws, "dance", 3, {})
        assert reply[:2] == ["error", 3] and reply[2]["code"] == "live.unknown_action"
        await ws.send("not json")
        reply = json.loads(await asyncio.wait_for(ws.recv(), 2))
        assert reply[:2] == ["error", None] and reply[2]["code"] == "live.bad_message"


async def test_subscribe_own_channel_only(server: Server, world: World, http: Any) -> None:
    cookie = await cookie_of(http(), world.candidate)
    async with connect(server, cookie=cookie) as ws:
        own = channels.user(world.candidate.id)
        assert await call(ws, "subscribe", 1, {"channel": own}) == ["success", 1, {"channel": own}]
        for n, channel in enumerate(
            [channels.user(world.other.id), "booth:x", "nonsense"], start=2
        ):
            reply = await call(ws, "subscribe", n, {"channel": channel})
            assert reply[:2] == ["error", n] and reply[2]["code"] == "live.forbidden", reply
        booth = channels.booth(world.application.booth_id)
        assert await call(ws, "subscribe", 8, {"channel": booth}) == [
            "success",
            8,
            {"channel": booth},
        ]
        edition = channels.edition(world.application.edition_id)
        assert await call(ws, "subscribe", 10, {"channel": edition}) == [
            "success",
            10,
            {"channel": edition},
        ]
        assert await call(ws, "unsubscribe", 9, {"channel": own}) == [
            "success",
            9,
            {"channel": own},
        ]


async def test_bad_origin_is_refused(server: Server) -> None:
    async with connect(server, origin="https://evil.example") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_origin_and_host_are_the_first_of_each_header() -> None:
    """As Starlette's `Headers.get` reads them (the socket's origin check), in one pass."""
    raw = [
        (b"host", b"fair.example:8000"),
        (b"cookie", b"a=b"),
        (b"origin", b"https://fair.example:8000"),
        (b"origin", b"https://evil.example"),
        (b"host", b"evil.example"),
    ]
    assert socket.origin_and_host(raw) == ("https://fair.example:8000", "fair.example:8000")
    assert socket.origin_and_host([(b"host", b"fair.example")]) == (None, "fair.example")
    assert socket.origin_and_host([]) == (None, None)


async def test_oversized_message_closes(server: Server) -> None:
    async with connect(server) as ws:
        await ws.send(json.dumps(["ping", 1, {"x": "a" * 20_000}]))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_status_change_reaches_the_candidate(server: Server, world: World, http: Any) -> None:
    recruiter = http()
    await login(recruiter, world.recruiter.email, f.PASSWORD)
    cookie = await cookie_of(http(), world.candidate)
    own = channels.user(world.candidate.id)
    application_id = world.application.id
    async with connect(server, cookie=cookie) as ws:
        assert (await call(ws, "subscribe", 1, {"channel": own}))[0] == "success"
        page = f"/recruiter/applications/{application_id}"
        token = await csrf(recruiter, page)

        # An invalid transition rolls back: nothing is published.
        response = await recruiter.post(
            f"{page}/status", data={"csrf_token": token, "status": "hired"}
        )
        assert response.status_code == 409
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)

        response = await recruiter.post(
            f"{page}/status", data={"csrf_token": token, "status": "shortlisted"}
        )
        assert response.status_code == 303
        frame = json.loads(await asyncio.wait_for(ws.recv(), 2))
    assert frame == [
        "event",
        own,
        {
            "event": "application.status",
            "application_id": application_id,
            "status": "shortlisted",
            "label": "Shortlisted",
        },
    ]


async def reply(ws: Any, id_: int, sent: list[Any], seen: list[dict[str, Any]]) -> list[Any]:
    """Send `sent` and return its reply; event frames read meanwhile go to `seen`."""
    await ws.send(json.dumps(sent))
    async with asyncio.timeout(3):
        while True:
            frame = json.loads(await ws.recv())
            if frame[0] == "event":
                if frame[2]["event"] != "heartbeat":
                    seen.append(frame[2])
            elif frame[1] == id_:
                return list(frame)


async def event_named(ws: Any, name: str, seen: list[dict[str, Any]]) -> dict[str, Any]:
    """The first event called `name`, among those seen already or the next ones."""
    async with asyncio.timeout(3):
        while True:
            for found in seen:
                if found["event"] == name:
                    seen.remove(found)
                    return found
            frame = json.loads(await ws.recv())
            if frame[0] == "event":
                seen.append(frame[2])


async def test_queue_through_the_socket(server: Server, world: World, http: Any) -> None:
    booth_id = world.application.booth_id
    candidate_cookie = await cookie_of(http(), world.candidate)
    recruiter_cookie = await cookie_of(http(), world.recruiter)
    mine: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    async with (
        connect(server, cookie=candidate_cookie) as cws,
        connect(server, cookie=recruiter_cookie) as rws,
    ):
        own = channels.user(world.candidate.id)
        assert (await reply(cws, 1, ["subscribe", 1, {"channel": own}], mine))[0] == "success"
        for n, channel in enumerate([channels.user(world.recruiter.id), channels.booth(booth_id)]):
            sub = ["subscribe", n, {"channel": channel}]
            assert (await reply(rws, n, sub, theirs))[0] == "success"

        bad = await reply(cws, 2, ["queue.join", 2, {"booth_id": "7"}], mine)
        assert bad[2]["code"] == "live.bad_message"
        joined = await reply(cws, 3, ["queue.join", 3, {"booth_id": booth_id}], mine)
        entry_id = joined[2]["entry_id"]
        assert joined == [
            "success",
            3,
            {
                "booth_id": booth_id,
                "entry_id": entry_id,
                "status": "waiting",
                "position": 1,
                "estimate_seconds": 0,
            },
        ]
        assert await event_named(rws, "queue.changed", theirs) == {
            "event": "queue.changed",
            "booth_id": booth_id,
            "waiting": 1,
            "called": 0,
            "in_conversation": 0,
        }
        # The position survives a reconnect: it is re-read from the database.
        status = await reply(cws, 4, ["queue.status", 4, {"booth_id": booth_id}], mine)
        assert status[2] == joined[2]

        refused = await reply(cws, 5, ["queue.next", 5, {"booth_id": booth_id}], mine)
        assert refused[:2] == ["error", 5] and refused[2]["code"] == "fair.forbidden"
        taken = await reply(rws, 6, ["queue.next", 6, {"booth_id": booth_id}], theirs)
        assert taken == [
            "success",
            6,
            {
                "booth_id": booth_id,
                "entry_id": entry_id,
                "candidate": {"id": world.candidate.id, "name": world.candidate.name},
            },
        ]
        called = await event_named(cws, "queue.called", mine)
        assert called["entry_id"] == entry_id and called["booth_id"] == booth_id

        answered = await reply(cws, 7, ["queue.answer", 7, {"entry_id": entry_id}], mine)
        conversation_id = answered[2]["conversation_id"]
        assert answered == [
            "success",
            7,
            {"conversation_id": conversation_id, "booth_id": booth_id},
        ]
        send = ["conversation.send", 8, {"conversation_id": conversation_id, "body": "Bonjour"}]
        sent = await reply(rws, 8, send, theirs)
        assert sent[0] == "success"
        message = await event_named(cws, "conversation.message", mine)
        assert (message["sender_id"], message["body"]) == (world.recruiter.id, "Bonjour")

        end = {"conversation_id": conversation_id, "next_step": "hired"}
        bad = await reply(rws, 9, ["conversation.end", 9, end], theirs)
        assert bad[2]["code"] == "live.bad_message"
        end["next_step"] = "interview_proposed"
        ended = await reply(rws, 10, ["conversation.end", 10, end], theirs)
        assert ended == [
            "success",
            10,
            {"conversation_id": conversation_id, "next_step": "interview_proposed"},
        ]
        statuses = [(await event_named(cws, "application.status", mine))["status"] for _ in "ab"]
        assert statuses == ["shortlisted", "interview_proposed"]
        assert (await event_named(cws, "conversation.ended", mine))["next_step"] == (
            "interview_proposed"
        )
        again = await reply(rws, 11, ["conversation.end", 11, end], theirs)
        assert again[2]["code"] == "conversation.ended"


async def test_booth_staffing_follows_the_recruiter_socket(
    server: Server, world: World, http: Any
) -> None:
    booth_id = world.application.booth_id
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine)() as session:
            booth = await session.get(Booth, booth_id)
            assert booth is not None
            edition_channel = channels.edition(booth.edition_id)
    finally:
        await engine.dispose()
    candidate_cookie = await cookie_of(http(), world.candidate)
    recruiter_cookie = await cookie_of(http(), world.recruiter)
    mine: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    async with connect(server, cookie=candidate_cookie) as cws:
        sub = ["subscribe", 1, {"channel": edition_channel}]
        assert (await reply(cws, 1, sub, mine))[0] == "success"
        async with connect(server, cookie=recruiter_cookie) as rws:
            refused = await reply(cws, 2, ["booth.staff", 2, {"booth_id": booth_id}], mine)
            assert refused[:2] == ["error", 2] and refused[2]["code"] == "fair.forbidden"
            staffed = await reply(rws, 3, ["booth.staff", 3, {"booth_id": booth_id}], theirs)
            assert staffed == ["success", 3, {"booth_id": booth_id, "staffed": True}]
            assert await event_named(cws, "booth.staffing", mine) == {
                "event": "booth.staffing",
                "booth_id": booth_id,
                "staffed": True,
                "waiting": 0,
            }
        # The recruiter's socket closed: the booth is unstaffed within 2 s.
        async with asyncio.timeout(2):
            assert await event_named(cws, "booth.staffing", mine) == {
                "event": "booth.staffing",
                "booth_id": booth_id,
                "staffed": False,
                "waiting": 0,
            }


def test_heartbeat_setting() -> None:
    assert settings.load({}).live_heartbeat_seconds == 25.0
    assert settings.load({"FAIR_LIVE_HEARTBEAT_SECONDS": "0.2"}).live_heartbeat_seconds == 0.2
    for raw in ["0", "-1", "nan", "inf"]:
        with pytest.raises(settings.SettingsError) as refused:
            settings.load({"FAIR_LIVE_HEARTBEAT_SECONDS": raw})
        assert str(refused.value) == (
            "FAIR_LIVE_HEARTBEAT_SECONDS must be a positive number of seconds"
        )
    with pytest.raises(settings.SettingsError) as refused:
        settings.load({"FAIR_LIVE_HEARTBEAT_SECONDS": "soon"})
    assert str(refused.value) == "FAIR_LIVE_HEARTBEAT_SECONDS must be a number, got 'soon'"


@pytest.fixture
def fast_heartbeat(server: Server) -> Iterator[float]:
    """Sockets opened meanwhile beat every 0.2 s (the server reads the process-wide settings)."""
    settings.override(replace(server.conf, live_heartbeat_seconds=0.2))
    yield 0.2
    settings.override(server.conf)


async def test_heartbeats_arrive_at_the_set_interval(server: Server, fast_heartbeat: float) -> None:
    started = time.monotonic()
    async with connect(server) as ws:
        frames = [await asyncio.wait_for(ws.recv(), 2) for _ in range(3)]
    elapsed = time.monotonic() - started
    assert frames == [protocol.HEARTBEAT] * 3
    assert json.loads(frames[0]) == ["event", "", {"event": "heartbeat"}]
    assert elapsed >= 3 * fast_heartbeat


async def last_seen(server: Server, user: User) -> list[Any]:
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine)() as session:
            found = select(BoothPresence.last_seen).where(BoothPresence.user_id == user.id)
            return list(await session.scalars(found))
    finally:
        await engine.dispose()


async def test_heartbeat_keeps_booth_presence_fresh(
    server: Server, world: World, http: Any, fast_heartbeat: float
) -> None:
    booth_id = world.application.booth_id
    cookie = await cookie_of(http(), world.recruiter)
    seen: list[dict[str, Any]] = []
    async with connect(server, cookie=cookie) as ws:
        staffed = await reply(ws, 1, ["booth.staff", 1, {"booth_id": booth_id}], seen)
        assert staffed == ["success", 1, {"booth_id": booth_id, "staffed": True}]
        [before] = await last_seen(server, world.recruiter)
        # The ping's reply, and so every frame after it, is queued after `before` was read;
        # a heartbeat is queued only once the previous one's touch has committed.
        assert (await reply(ws, 2, ["ping", 2, {}], seen)) == ["success", 2, {}]
        for _ in range(2):
            assert await asyncio.wait_for(ws.recv(), 2) == protocol.HEARTBEAT
        [after] = await last_seen(server, world.recruiter)
    assert after > before


async def count(server: Server, model: Any) -> int:
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine)() as session:
            return len(list(await session.scalars(select(model.id))))
    finally:
        await engine.dispose()


BAD_TEXT_FR = "Ce message contient des caractères qui ne sont pas du texte."
TOO_DEEP_FR = "Ce message est trop imbriqué."
NOT_FINITE = {
    "code": "live.bad_message",
    "message": "Ce message contient un nombre non valide (NaN ou Infinity).",
}
NOT_A_FRAME = {
    "code": "live.bad_message",
    "message": "Ce message n'a pas la forme [action, id, contenu].",
}
BAD_BOOTH_ID = {"code": "live.bad_message", "message": "Ce message n’a pas de « booth_id » valide."}


async def test_bad_text_and_numbers_get_an_error_and_the_socket_stays_open(
    server: Server, world: World, http: Any
) -> None:
    """A lone surrogate (a JSON escape json.loads accepts, which UTF-8 and so the database
    refuse) got "server error" and nothing else; as the id, it closed the socket."""
    cookie = await cookie_of(http(), world.candidate)
    booth_id = world.application.booth_id
    bad_text = ["error", 1, {"code": "live.bad_text", "message": BAD_TEXT_FR}]
    async with connect(server, cookie=cookie) as ws:
        for frame, expected in [
            (f'["qa.ask",1,{{"booth_id":{booth_id},"body":"\\ud800"}}]', bad_text),
            (f'["qa.ask",1,{{"booth_id":{booth_id},"body":"Bonjour\\u0000"}}]', bad_text),
            ('["qa.ask",1,{"\\udfff":1}]', bad_text),
            ('["ping","\\ud800",{}]', ["error", None, NOT_A_FRAME]),
            ('["ping",true,{}]', ["error", None, NOT_A_FRAME]),
            ('["ping",1,{"x":[-Infinity]}]', ["error", 1, NOT_FINITE]),
            ('["ping",NaN,{}]', ["error", None, NOT_A_FRAME]),
            ("[" * 5000 + "]" * 5000, ["error", None, NOT_A_FRAME]),
            (
                '["qa.ask",1,' + '{"a":' * 20 + "1" + "}" * 20 + "]",
                ["error", 1, {"code": "live.bad_message", "message": TOO_DEEP_FR}],
            ),
            (f'["qa.ask",1,{{"booth_id":{2**63},"body":"Bonjour"}}]', ["error", 1, BAD_BOOTH_ID]),
            (f'["qa.ask",1,{{"booth_id":{booth_id}.0,"body":"Hi"}}]', ["error", 1, BAD_BOOTH_ID]),
        ]:
            await ws.send(frame)
            assert json.loads(await asyncio.wait_for(ws.recv(), 2)) == expected, frame
        assert await call(ws, "ping", 2, {}) == ["success", 2, {}]
    assert await count(server, QaMessage) == 0


@pytest.fixture
def command_limit(server: Server) -> Iterator[None]:
    """Bursts of 5 commands, then one a second (the server reads the process-wide settings
    when a socket opens)."""
    settings.override(replace(server.conf, live_command_rate=1.0, live_command_burst=5))
    yield
    settings.override(server.conf)


async def test_commands_over_the_rate_are_refused_not_closed(
    server: Server, command_limit: None
) -> None:
    async with connect(server) as ws:
        for n in range(8):
            await ws.send(json.dumps(["ping", n, {}]))
        replies = [json.loads(await asyncio.wait_for(ws.recv(), 2)) for _ in range(8)]
        limited = {
            "code": "live.rate_limited",
            "message": "Vous envoyez trop de commandes : patientez un instant, puis réessayez.",
        }
        assert replies == [["success", n, {}] for n in range(5)] + [
            ["error", n, limited] for n in range(5, 8)
        ]
        await asyncio.sleep(1.1)  # one more token
        assert await call(ws, "ping", 9, {}) == ["success", 9, {}]


@pytest.fixture
def three_sockets(server: Server) -> Iterator[int]:
    settings.override(replace(server.conf, live_max_sockets=3))
    yield 3
    settings.override(server.conf)


async def test_a_fourth_socket_closes_the_oldest(
    server: Server, world: World, http: Any, three_sockets: int
) -> None:
    candidate = await cookie_of(http(), world.candidate)
    other = await cookie_of(http(), world.other)
    own = channels.user(world.candidate.id)
    async with contextlib.AsyncExitStack() as stack:
        opened = []
        for n in range(3):
            ws = await stack.enter_async_context(connect(server, cookie=candidate))
            assert await call(ws, "subscribe", n, {"channel": own}) == [
                "success",
                n,
                {"channel": own},
            ]
            opened.append(ws)
        # Another person's sockets and visitors' count for nobody.
        elsewhere = await stack.enter_async_context(connect(server, cookie=other))
        visitor = await stack.enter_async_context(connect(server))
        newest = await stack.enter_async_context(connect(server, cookie=candidate))
        assert await call(newest, "ping", 1, {}) == ["success", 1, {}]
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(opened[0].recv(), 2)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
            limits.CLOSE_TOO_MANY,
            "too many connections: this was the oldest",
        )
        for ws in [*opened[1:], elsewhere, visitor, newest]:
            assert await call(ws, "ping", 2, {}) == ["success", 2, {}]
        # A socket that closes frees its place: the next one pushes nobody out.
        await opened[1].close()
        await asyncio.sleep(0.2)
        again = await stack.enter_async_context(connect(server, cookie=candidate))
        for ws in (opened[2], newest, again):
            assert await call(ws, "ping", 3, {}) == ["success", 3, {}]


async def test_what_the_pages_hide_the_socket_refuses(
    server: Server, world: World, http: Any
) -> None:
    """A live talk of a draft edition took questions (`stage.ask` succeeded) and its
    channels were open to visitors; a booth not approved answered `queue.status`."""
    clock.set_now(f.NOON)
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            organiser = await f.user(session, Role.ORGANISER)
            draft = await f.edition(session, by=organiser, publish=False)
            webconference = await webconferences.schedule(
                session,
                by=organiser,
                edition=draft,
                data=f.talk([organiser], access=WebconferenceAccess.OPEN),
            )
            await webconferences.start(session, by=organiser, webconference=webconference)
            edition = await editions.get(session, world.application.edition_id)
            requested, _ = await f.booth(session, edition_=edition, approve=False)
            await session.commit()
    finally:
        await engine.dispose()
        clock.set_now(None)
    talk_id = {"webconference_id": webconference.id}
    no_talk = {"code": "webconference.not_found", "message": "Cette webconférence n'existe pas."}
    no_booth = {"code": "fair.not_found", "message": "Ce stand n'existe pas."}
    forbidden = {"code": "live.forbidden", "message": "Vous ne pouvez pas suivre ce canal."}
    candidate = await cookie_of(http(), world.candidate)
    async with (
        connect(server, cookie=candidate) as ws,
        connect(server) as visitor,
        connect(server, cookie=await cookie_of(http(), organiser)) as organising,
    ):
        assert await call(ws, "stage.ask", 1, {**talk_id, "body": "Une question ?"}) == [
            "error",
            1,
            no_talk,
        ]
        assert await call(ws, "stage.watch", 2, talk_id) == ["error", 2, no_talk]
        assert await call(ws, "queue.status", 3, {"booth_id": requested.id}) == [
            "error",
            3,
            no_booth,
        ]
        hidden = [
            channels.edition(draft.id),
            channels.webconference(webconference.id),
            channels.booth(requested.id),
            channels.booth(10**9),  # no such booth
        ]
        for n, channel in enumerate(hidden, 4):
            for socket_ in (visitor, ws):
                assert await call(socket_, "subscribe", n, {"channel": channel}) == [
                    "error",
                    n,
                    forbidden,
                ]
        # Those who run them follow them before they are public.
        for n, channel in enumerate(hidden[:2], 10):
            assert await call(organising, "subscribe", n, {"channel": channel}) == [
                "success",
                n,
                {"channel": channel},
            ]
    assert await count(server, WebconferenceQuestion) == 0


def test_live_limit_and_namespace_settings() -> None:
    defaults = settings.load({})
    assert (
        defaults.live_max_sockets,
        defaults.live_command_rate,
        defaults.live_command_burst,
    ) == (10, 20.0, 40)
    pg = "postgresql+asyncpg://fair:{}@db.internal/fair"
    one = settings.load({"DATABASE_URL": pg.format("s3cret"), "BROADCAST_URL": "redis://r/0"})
    # The same deployment (another process, a rotated password): the same namespace.
    same = settings.load({"DATABASE_URL": pg.format("other"), "BROADCAST_URL": "redis://r/0"})
    staging = settings.load(
        {"DATABASE_URL": pg.format("s3cret") + "_staging", "BROADCAST_URL": "redis://r/0"}
    )
    other_db = settings.load({"DATABASE_URL": pg.format("s3cret"), "BROADCAST_URL": "redis://r/1"})
    namespace = one.broadcast_channel_namespace
    assert namespace.startswith("fair:") and len(namespace) == len("fair:") + 16
    assert same.broadcast_channel_namespace == namespace
    assert staging.broadcast_channel_namespace != namespace
    assert other_db.broadcast_channel_namespace not in {
        namespace,
        staging.broadcast_channel_namespace,
    }
    chosen = settings.load({"FAIR_BROADCAST_NAMESPACE": "fair-staging"})
    assert chosen.broadcast_channel_namespace == "fair-staging"
    for name, raw, message in [
        ("FAIR_LIVE_MAX_SOCKETS", "0", "FAIR_LIVE_MAX_SOCKETS must be a positive whole number"),
        (
            "FAIR_LIVE_COMMAND_RATE",
            "nan",
            "FAIR_LIVE_COMMAND_RATE must be a positive number of commands a second",
        ),
        ("FAIR_LIVE_COMMAND_BURST", "0", "FAIR_LIVE_COMMAND_BURST must be a positive whole number"),
        (
            "FAIR_BROADCAST_NAMESPACE",
            "fair staging",
            "FAIR_BROADCAST_NAMESPACE must be at most 64 letters, digits, ':', '_', '.' or '-'",
        ),
    ]:
        with pytest.raises(settings.SettingsError) as refused:
            settings.load({name: raw})
        assert str(refused.value) == message


async def test_the_unread_notices_count_reaches_the_socket(
    server: Server, world: World, http: Any
) -> None:
    """The candidate's unread count reaches their socket after a status change, then after they
    read their notices."""
    recruiter = http()
    await login(recruiter, world.recruiter.email, f.PASSWORD)
    candidate = http()
    cookie = await cookie_of(candidate, world.candidate)
    own = channels.user(world.candidate.id)
    page = f"/recruiter/applications/{world.application.id}"
    async with connect(server, cookie=cookie) as ws:
        await ws.send(json.dumps(["subscribe", 1, {"channel": own}]))
        assert json.loads(await asyncio.wait_for(ws.recv(), 2))[0] == "success"
        token = await csrf(recruiter, page)
        moved = await recruiter.post(
            f"{page}/status", data={"csrf_token": token, "status": "in_review"}
        )
        assert moved.status_code == 303
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 2)) for _ in "ab"]
        token = await csrf(candidate, "/me/notices")
        read = await candidate.post("/me/notices", data={"csrf_token": token})
        assert read.status_code == 303
        frames.append(json.loads(await asyncio.wait_for(ws.recv(), 2)))
    assert [frame[2]["event"] for frame in frames] == [
        "application.status",
        "notices.unread",
        "notices.unread",
    ]
    assert [frame[2] for frame in frames[1:]] == [
        {"event": "notices.unread", "unread": 1},
        {"event": "notices.unread", "unread": 0},
    ]
