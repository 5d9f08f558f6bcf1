"""Every /live action, from the dispatch table, against a corpus of bad payloads, as every role.

The actions come from `fair.live.socket.ACTIONS`, so a new action is covered without writing
anything here; the payload keys each action reads are found in its source (the literal keys it
hands to `fair.live.payloads` or reads with `payload.get`, following the helpers it passes its
payload to). Each key gets every bad value in turn, the other keys holding valid values (ids of
real objects: a live booth, a queue conversation, a Q&A question, an open interview room, a live
webconference), so that the bad value is what the command meets. Sent as a visitor, a candidate,
a recruiter and an organiser (who presents the talk), over a real uvicorn server, on each
database backend.

A failure is an internal error: an error reply `fair.server_error`, a socket closed by the server
other than by a documented limit (1009 for an oversized frame), or an exception logged by the
server. The run prints how many (action, role, payload) commands were tried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets

from fair import (
    chat,
    clock,
    conversations,
    db,
    queues,
    settings,
    webconferences,
)
from fair.enums import Role, WebconferenceAccess
from fair.interviews import rooms
from fair.live.socket import ACTIONS
from tests import factories as f
from tests.conftest import BACKENDS, login
from tests.factories import talk
from tests.live_server import Server, run_server
from tests.payload_keys import payload_keys
from tests.server_processes import migrated_database as _database

ROLES = ("anonymous", "candidate", "recruiter", "organiser")
BATCH = 30  # commands in flight per socket (the outbox holds 100 frames)
REPLY_SECONDS = 10.0


def _nested_lists(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _nested_objects(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


# Bad values: wrong types, ids out of range or not ids at all, numbers JSON should not carry,
# text that is not text, too long or too deep. (100,000-character strings exceed the 16 KiB
# frame limit: they are sent apart, and must close the socket with 1009.)
BAD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    -(2**63) - 1,
    2**31,  # over PostgreSQL's INTEGER ids
    2**63 - 1,
    2**63,
    2**64,
    10**30,
    1.5,
    1e300,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    " ",
    "1",
    "²",
    "booth:²",  # a channel name whose id is a digit int() refuses
    "booth:2147483648",  # or over the database's ids
    "١٢",
    "\ud800",
    "a\udfffb",
    "\x00",
    "é" * 2000,  # 12 KB as JSON escapes: within the frame limit
    [],
    [1, 2],
    {},
    {"\ud800": 1},
    {"type": "offer", "sdp": "v=0\ud800"},
    _nested_lists(40),
    _nested_objects(40),
]
# Valid values, so that the bad one is what the command meets (ids are filled in by `seed`).
VALID: dict[str, Any] = {
    "body": "Bonjour",
    "mode": "video",
    "next_step": "none",
    "kind": "qa",
    "status": "open",
    "source": "camera",
    "up": True,
    "type": "offer",
    "sdp": "v=0\r\n",
    "data": {"type": "bye"},
    "reason": "",
    "phone": "0601020304",
    "token": "x",
    "session": "s",
}
# Frames that are not [action, id, payload], or whose id is bad.
BAD_FRAMES = [
    "",
    "[",
    "null",
    "[]",
    "{}",
    '"ping"',
    "[1, 2, 3]",
    '["ping", 1]',
    '["ping", 1, {}, 4]',
    '["ping", 1.5, {}]',
    '["ping", [], {}]',
    '["ping", "\\ud800", {}]',
    '["\\ud800", 1, {}]',
    '["ping", NaN, {}]',
    '["ping", 1, NaN]',
    '["ping", 1, {"a": NaN}]',
    '["ping", 1, {"a": Infinity}]',
    '["ping", 1, {"a": 1' + "0" * 5000 + "}]",
    "[" * 5000 + "]" * 5000,
    '["ping", 1, ' + '{"a":' * 2500 + "1" + "}" * 2500 + "]",
]


def corpus(keys: set[str], valid: dict[str, Any]) -> list[dict[str, Any]]:
    """Missing keys, then each key with each bad value, then extra keys."""
    base = {k: valid.get(k, "x") for k in sorted(keys)}
    found: list[dict[str, Any]] = [{}]
    for key in sorted(keys):
        found.extend({**base, key: value} for value in BAD_VALUES)
        found.append({k: v for k, v in base.items() if k != key})
    found.append({**base, "extra": "x", "\ud800": "\ud800"})
    found.append({**base, **{f"k{n}": n for n in range(200)}})
    return found


# The server and its world ---------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with (
        _database(request.param, tmp_path_factory) as url,
        run_server(tmp_path_factory, "fuzz", database_url=url) as running,
    ):
        yield running


@pytest.fixture(autouse=True)
def _server_settings(server: Server) -> Iterator[None]:
    settings.override(server.conf)
    # Today 14:00 in Paris, for the seed and the server alike (it runs in a thread of this
    # process): the seed's live talk, from ten minutes on for an hour, must fit in one live day,
    # which it did not when the suite ran after 22:50 in Paris.
    today = datetime.now(f.PARIS)
    clock.set_now(datetime(today.year, today.month, today.day, 14, tzinfo=f.PARIS))
    yield
    clock.set_now(None)
    settings.override(server.conf)


@dataclass
class World:
    users: dict[str, Any]
    valid: dict[str, dict[str, Any]]  # by role: the interview's two people have room tokens


async def seed(server: Server) -> World:
    """A live edition and its booth, a queue conversation, a Q&A question, an open interview
    room and a live webconference (open to anyone) presented by the organiser."""
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            organiser = await f.user(session, Role.ORGANISER)
            edition = await f.edition(session, by=organiser)
            booth, recruiter = await f.booth(session, edition_=edition)
            candidate = await f.candidate(session)
            entry = await queues.join(session, candidate=candidate, booth=booth)
            await queues.take_next(session, recruiter=recruiter, booth=booth)
            conversation = await conversations.answer(session, candidate=candidate, entry=entry)
            question = await chat.ask(
                session, candidate=candidate, booth=booth, body="Des postes ?"
            )
            interview = await f.interview(
                session, booth_=booth, recruiter=recruiter, candidate_=candidate
            )
            now = clock.now()
            webconference = await webconferences.schedule(
                session,
                by=organiser,
                edition=edition,
                data=talk(
                    [organiser],
                    access=WebconferenceAccess.OPEN,
                    starts_at=now + timedelta(minutes=10),  # its green room is open
                    ends_at=now + timedelta(minutes=70),
                ),
            )
            await webconferences.start(session, by=organiser, webconference=webconference)
            await session.commit()
    finally:
        await engine.dispose()
    ids = {
        "booth_id": booth.id,
        "entry_id": entry.id,
        "conversation_id": conversation.id,
        "question_id": question.id,
        "message_id": question.id,
        "interview_id": interview.id,
        "webconference_id": webconference.id,
        "channel": f"booth:{booth.id}",
    }
    users = {"candidate": candidate, "recruiter": recruiter, "organiser": organiser}
    valid = {role: {**VALID, **ids} for role in ROLES}
    for role in ("candidate", "recruiter"):  # they enter the room, and go on from there
        valid[role]["token"] = rooms.entry_token(interview, users[role].id)
    return World(users, valid)


class Errors(logging.Handler):
    """Error records logged anywhere in this process (the server runs in a thread of it)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def logged_errors() -> Iterator[Errors]:
    handler = Errors()
    loggers = [
        logging.getLogger(),
        logging.getLogger("uvicorn"),
        logging.getLogger("uvicorn.error"),
    ]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


class Socket:
    """One /live socket sending commands in batches; replies by id, events ignored."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.replies: dict[int, asyncio.Future[list[Any]]] = {}
        self.unmatched: list[list[Any]] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame[0] == "event":
                    continue
                waiting = self.replies.pop(frame[1], None) if isinstance(frame[1], int) else None
                if waiting is None:
                    self.unmatched.append(frame)
                else:
                    waiting.set_result(frame)
        for waiting in self.replies.values():
            if not waiting.done():
                waiting.set_exception(ConnectionError("closed"))

    async def batch(self, commands: list[tuple[str, dict[str, Any]]]) -> list[list[Any] | None]:
        """The reply to each command (None: none within REPLY_SECONDS; ConnectionError: closed)."""
        futures = []
        for action, payload in commands:
            self.next_id += 1
            waiting: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
            self.replies[self.next_id] = waiting
            futures.append(waiting)
            try:
                await self.ws.send(json.dumps([action, self.next_id, payload]))
            except websockets.ConnectionClosed:
                raise ConnectionError("closed") from None
        await asyncio.wait(futures, timeout=REPLY_SECONDS)
        if any(f.done() and f.exception() for f in futures):
            for future in futures:  # retrieved: no "exception never retrieved" noise
                if future.done():
                    future.exception()
            raise ConnectionError("closed")
        return [f.result() if f.done() else None for f in futures]

    async def raw(self, frame: str) -> list[Any] | None:
        """The reply to a frame sent as is (None if the socket closed instead)."""
        before = len(self.unmatched)
        try:
            await self.ws.send(frame)
        except websockets.ConnectionClosed:
            return None
        async with asyncio.timeout(10):
            while len(self.unmatched) == before:
                if self.reader.done():
                    return None
                await asyncio.sleep(0.005)
        return self.unmatched[-1]

    async def close(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.ws.close()
        await self.reader


@contextlib.asynccontextmanager
async def cookies_of(server: Server, world: World) -> AsyncIterator[dict[str, Any]]:
    """A cookie per role (none for the visitor)."""
    cookies: dict[str, Any] = {"anonymous": None}
    async with httpx.AsyncClient(base_url=server.url) as client:
        for role, user in world.users.items():
            client.cookies.clear()
            await login(client, user.email, f.PASSWORD)
            cookies[role] = f"fair_session={client.cookies['fair_session']}"
    yield cookies


async def open_socket(server: Server, cookie: str | None) -> Socket:
    headers = {"Cookie": cookie} if cookie else {}
    ws = await websockets.connect(
        server.ws, additional_headers=headers, origin=server.url, max_size=None
    )
    return Socket(ws)


async def reopen(server: Server, ws: Socket, cookie: str | None, valid: dict[str, Any]) -> Socket:
    """A new socket for the same person, back in the interview room when they may be."""
    await ws.close()
    ws = await open_socket(server, cookie)
    join = {"interview_id": valid["interview_id"], "token": valid["token"]}
    await ws.batch([("room.join", join)])
    return ws


def _closed_code(ws: Any) -> int | None:
    rcvd = ws.protocol.close_rcvd
    return rcvd.code if rcvd is not None else None


async def test_every_action_survives_bad_payloads(server: Server) -> None:
    # Thousands of commands a second: above the per-socket rate limit, which is not the subject.
    settings.override(replace(server.conf, live_command_rate=1e6, live_command_burst=10**6))
    world = await seed(server)
    keys = {action: payload_keys(handler) for action, handler in ACTIONS.items()}
    plans = {
        role: {action: corpus(keys[action], world.valid[role]) for action in ACTIONS}
        for role in ROLES
    }
    plan = plans["anonymous"]
    failures: list[str] = []
    timings: dict[str, float] = {}
    tried = 0
    started = time.monotonic()
    with logged_errors() as errors:
        async with cookies_of(server, world) as cookies:
            for role in ROLES:
                ws = await open_socket(server, cookies[role])
                for action, bodies in plans[role].items():
                    began = time.monotonic()
                    for start in range(0, len(bodies), BATCH):
                        chunk = bodies[start : start + BATCH]
                        try:
                            replies = await ws.batch([(action, body) for body in chunk])
                        except ConnectionError:
                            code = _closed_code(ws.ws)
                            failures.append(f"{role} {action}: socket closed ({code})")
                            ws = await reopen(server, ws, cookies[role], world.valid[role])
                            continue
                        tried += len(chunk)
                        for body, frame in zip(chunk, replies, strict=True):
                            if frame is None:
                                failures.append(f"{role} {action} {body!r:.200}: no reply")
                            elif frame[0] == "error" and frame[2]["code"] == "fair.server_error":
                                failures.append(f"{role} {action} {body!r:.200}")
                    timings[f"{role} {action}"] = time.monotonic() - began
                    # Oversized: the documented limit closes the socket with 1009, nothing else.
                    long = {k: "a" * 100_000 for k in keys[action] or {"body"}}
                    try:
                        await ws.batch([(action, long)])
                    except ConnectionError:
                        pass
                    tried += 1
                    if _closed_code(ws.ws) != 1009:
                        failures.append(f"{role} {action} 100k: closed with {_closed_code(ws.ws)}")
                    ws = await reopen(server, ws, cookies[role], world.valid[role])
                for frame in BAD_FRAMES:
                    reply = await ws.raw(frame)
                    tried += 1
                    if reply is None:
                        failures.append(
                            f"{role} frame {frame[:60]!r}: closed {_closed_code(ws.ws)}"
                        )
                        ws = await reopen(server, ws, cookies[role], world.valid[role])
                    elif reply[0] != "error" or reply[2]["code"] == "fair.server_error":
                        failures.append(f"{role} frame {frame[:60]!r}: {reply!r:.200}")
                await ws.close()
        await asyncio.sleep(0.5)  # exceptions of closing sockets are logged after they close
    elapsed = time.monotonic() - started
    logged = [
        f"{r.name}: {r.getMessage()} {r.exc_info[1] if r.exc_info else ''}" for r in errors.records
    ]
    print(
        f"\nsocket fuzz: {len(plan)} actions x {len(ROLES)} roles, {tried} commands in "
        f"{elapsed:.1f} s; {len(failures)} failures, {len(logged)} logged errors"
    )
    slowest = sorted(timings.items(), key=lambda item: -item[1])[:5]
    print("  slowest:", ", ".join(f"{name} {seconds:.1f} s" for name, seconds in slowest))
    for line in failures + logged:
        print(f"  {line:.300}")
    assert failures == []
    assert logged == []
    assert len(plan) == len(ACTIONS) >= 37
