"""Two web processes on PostgreSQL and a redis-server of the test's own, and a fault in the middle
of a live fair, for real (issue 17 item 3; tests/fault_processes.py):

- Redis killed (SIGKILL) and started again: what was done meanwhile is stored, every socket of
  both processes is told to `resync` (and re-fetches), events cross the processes again;
- one web process killed (SIGKILL) under a few hundred open sockets: its clients connect to
  the other (a client-side list of the two addresses, `LiveClient`: a browser's socket.js
  knows one address, so a deployment puts a load balancer in front of the processes) within
  30 s, and find their queue places, their conversation and their booking as they were.

Serial (tests/conftest.py SERIAL); about 15 s and 60 s (the second's sockets came back
in 4 to 5 s, on a loaded machine)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from fair import channels, clock, db, interviews, settings, user_sessions
from fair.enums import InterviewMode
from fair.models import ConversationMessage, Interview, QueueEntry, User
from tests import factories as f
from tests.fault_processes import NEEDS_PG_BINARIES, LiveClient, PrivatePostgres, kill9
from tests.server_processes import (
    free_port,
    redis_server,
    servers,
    session_cookie,
    wait_redis,
)

pytestmark = NEEDS_PG_BINARIES

CANDIDATES = 60  # in the booth's queue, each with a socket
VISITORS = 200  # sockets of people browsing, following the edition
FAIL_OVER = 30.0  # seconds the issue gives a killed process's clients to be back


@dataclass
class Fair:
    edition_id: int
    booth_id: int
    recruiter: User
    candidates: list[User]
    cookies: dict[int, str]  # user id: a logged-in session's cookie
    interview: tuple[int, int, str]  # id, slot id, status of a booked interview


async def seed(url: str, count: int, tmp_path: Path) -> Fair:
    """A live booth, its recruiter, `count` candidates, each logged in, and an interview another
    candidate booked there for tomorrow."""
    settings.override(settings.load({"FAIR_ENV": "test", "FAIR_DATA_DIR": str(tmp_path)}))
    secret = settings.get().secret_key
    engine = db.create_engine(url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition, booth, recruiter = await f.live_booth(session)
            candidates = [await f.candidate(session) for _ in range(count)]
            cookies = {
                u.id: session_cookie(secret, await user_sessions.start(session, u), "csrf")
                for u in [recruiter, *candidates]
            }
            tomorrow = (clock.now().astimezone(f.PARIS) + timedelta(days=1)).date()
            slots = await interviews.publish_availability(
                session, by=recruiter, booth=booth, data=f.availability(recruiter, day=tomorrow)
            )
            invitation, booker = await f.invited(session, booth, recruiter)
            booked = await interviews.book(
                session, by=booker, invitation=invitation, slot=slots[0], mode=InterviewMode.VIDEO
            )
            await session.commit()
            interview = (booked.id, booked.slot_id, booked.status)
    finally:
        await engine.dispose()
        settings.override(None)
    return Fair(edition.id, booth.id, recruiter, candidates, cookies, interview)


async def stored(url: str) -> tuple[list[tuple[int, int, str]], list[str], tuple[int, int, str]]:
    """The queue's entries (user, id, status), the conversations' messages, the interview."""
    engine = db.create_engine(url)
    try:
        async with db.sessionmaker(engine)() as session:
            entries = await session.execute(
                select(QueueEntry.candidate_id, QueueEntry.id, QueueEntry.status).order_by(
                    QueueEntry.id
                )
            )
            bodies = await session.scalars(
                select(ConversationMessage.body).order_by(ConversationMessage.id)
            )
            interview = (await session.scalars(select(Interview))).one()
            return (
                [tuple(e) for e in entries],  # type: ignore[misc]
                list(bodies),
                (interview.id, interview.slot_id, interview.status),
            )
    finally:
        await engine.dispose()


def cookie_of(crowd: Fair, user: User) -> str:
    return f"fair_session={crowd.cookies[user.id]}"


async def status(client: LiveClient, booth_id: int) -> dict[str, Any]:
    answer = await client.command("queue.status", {"booth_id": booth_id})
    assert answer[0] == "success", answer
    return dict(answer[2])


async def test_redis_killed_and_back_under_two_web_processes(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    """The recruiter follows the booth from one process, candidates join from the other."""
    url = private_postgres.url
    crowd = await seed(url, 3, tmp_path)
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    booth = crowd.booth_id
    first, second, third = crowd.candidates
    with redis_server(port) as redis_process:
        await wait_redis(redis_url)
        async with servers(url, redis_url, 2, within=60) as (one, two):
            recruiter = LiveClient(
                [one.ws], cookie_of(crowd, crowd.recruiter), [channels.booth(booth)]
            )
            people = [
                LiveClient([two.ws], cookie_of(crowd, c), [channels.user(c.id)])
                for c in crowd.candidates
            ]
            try:
                for client in [recruiter, *people]:
                    await client.connect()
                assert (await people[0].command("queue.join", {"booth_id": booth}))[0] == "success"
                await recruiter.event("queue.changed", 5, waiting=1)  # crossed the processes

                kill9(redis_process)
                async with httpx.AsyncClient() as browser:
                    pages = [(await browser.get(s.url + "/")).status_code for s in (one, two)]
                joined = await people[1].command("queue.join", {"booth_id": booth})

                with redis_server(port):
                    await wait_redis(redis_url)
                    started = time.monotonic()
                    for client in [recruiter, *people]:  # every socket of both processes
                        await client.event("resync", 15)
                    resynced = time.monotonic() - started
                    refetched = await status(recruiter, booth)  # what a page re-reads
                    assert (await people[2].command("queue.join", {"booth_id": booth}))[0] == (
                        "success"
                    )
                    after = await recruiter.event("queue.changed", 5, waiting=3)
            finally:
                for client in [recruiter, *people]:
                    await client.close()
    assert pages == [200, 200]
    assert joined[0] == "success"  # stored while Redis was down; its event lost
    assert resynced < 15
    assert (refetched["waiting"], after["waiting"]) == (2, 3)
    entries, _, _ = await stored(url)
    assert [(user, state) for user, _, state in entries] == [
        (first.id, "waiting"),
        (second.id, "waiting"),
        (third.id, "waiting"),
    ]


async def test_a_web_process_killed_under_many_sockets(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    """CANDIDATES queued and VISITORS browsing, half on each process, a conversation going on;
    one process killed: its clients are back on the other within FAIL_OVER seconds, with the
    same queue places; the conversation goes on; the booking is untouched."""
    url = private_postgres.url
    crowd = await seed(url, CANDIDATES, tmp_path)
    booth = crowd.booth_id
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    with redis_server(port):
        await wait_redis(redis_url)
        async with servers(url, redis_url, 2, within=60) as (one, two):
            both = [one.ws, two.ws]
            recruiter = LiveClient(
                [two.ws], cookie_of(crowd, crowd.recruiter), [channels.user(crowd.recruiter.id)]
            )
            people = [
                LiveClient(
                    both[i % 2 :] + both[: i % 2], cookie_of(crowd, c), [channels.user(c.id)]
                )
                for i, c in enumerate(crowd.candidates)
            ]
            visitors = [
                LiveClient(both[i % 2 :] + both[: i % 2], "", [channels.edition(crowd.edition_id)])
                for i in range(VISITORS)
            ]
            everyone = [recruiter, *people, *visitors]
            try:
                for start in range(0, len(everyone), 20):
                    await asyncio.gather(*(c.connect() for c in everyone[start : start + 20]))
                for client in people:  # one after the other: places 1, 2, 3…
                    joined = await client.command("queue.join", {"booth_id": booth})
                    assert joined[0] == "success", joined
                # The first one (on the process about to die) talks with the recruiter.
                called = await recruiter.command("queue.next", {"booth_id": booth})
                await people[0].event("queue.called", 5)
                answered = await people[0].command(
                    "queue.answer", {"entry_id": called[2]["entry_id"]}
                )
                conversation = answered[2]["conversation_id"]
                said = {"conversation_id": conversation, "body": "Bonjour, me voici."}
                assert (await people[0].command("conversation.send", said))[0] == "success"
                before = [await status(c, booth) for c in people]
                stored_before = await stored(url)

                kill9(one.process)
                killed = time.monotonic()
                on_one = [c for c in everyone if c.urls[0] == one.ws]
                await asyncio.gather(*(c.fail_over(FAIL_OVER) for c in on_one))
                back = time.monotonic() - killed

                after = [await status(c, booth) for c in people]
                again = {"conversation_id": conversation, "body": "Toujours là ?"}
                sent = await people[0].command("conversation.send", again)
                heard = await recruiter.event(
                    "conversation.message", 5, message_id=sent[2]["message_id"]
                )
            finally:
                await asyncio.gather(*(c.close() for c in everyone))
    assert len(on_one) == (CANDIDATES + VISITORS) // 2
    assert back < FAIL_OVER
    assert after == before
    assert [b["position"] for b in before[1:]] == list(range(1, CANDIDATES))
    assert heard["body"] == "Toujours là ?"
    entries, bodies, interview = await stored(url)
    assert entries == stored_before[0]
    assert bodies == ["Bonjour, me voici.", "Toujours là ?"]
    assert interview == stored_before[2] == crowd.interview
