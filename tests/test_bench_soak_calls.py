"""bench/soak.py's booth calls against the real app (tests/live_server.py: uvicorn in a thread,
SQLite, the memory broadcaster): the soak's recruiter bot tells how each call ended, and counts
as an error only a call the product left unfinished, with what each side sent and heard.

The soaks at f7efab8 (4 in 60 minutes) and 86715cc (1 in 12) counted "a call neither answered
nor skipped": the recruiter bot counted every call not answered, also the ones that ended as
they should (the candidate's wait ran out as the call came: they left, and the recruiter heard
`queue.left`), and said nothing of which call it was.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import soak  # noqa: E402
from _live import Live  # noqa: E402

from fair import clock, db, queues, settings, unit_of_work  # noqa: E402
from fair.models import User  # noqa: E402
from tests import factories as f  # noqa: E402
from tests.conftest import login  # noqa: E402
from tests.live_server import LoggedIn, Server, run_server  # noqa: E402

DOWN_FR = (
    "Le service est brièvement indisponible. Rien n’a été enregistré : réessayez dans quelques "
    "secondes."
)


@dataclass
class Booth:
    id: int
    recruiter: soak.Person
    candidate: soak.Person


@pytest.fixture(autouse=True)
def _server_settings(server: Server) -> None:
    """Other tests reset the process-wide settings; the server reads its own."""
    settings.override(server.conf)
    clock.set_now(None)


@pytest_asyncio.fixture
async def booth(server: Server, logged_in: LoggedIn) -> AsyncIterator[Booth]:
    """A booth of a fair open now, its recruiter and a candidate, both logged in."""
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session)
            booth_, recruiter = await f.booth(session, edition_=edition)
            candidate = await f.candidate(session)
            await session.commit()
    finally:
        await engine.dispose()

    async def person(user: User) -> soak.Person:
        client = await logged_in(user)
        return soak.Person(user.id, client.cookies["fair_session"])

    yield Booth(booth_.id, await person(recruiter), await person(candidate))


def run_of(queue_wait: float = 120.0) -> soak.Run:
    """A soak run measured from now, its recruiters ending conversations at once."""
    args = argparse.Namespace(conversation=0.0, queue_wait=queue_wait)
    tally = soak.Tally(time.time(), 60.0, 1)
    world = soak.World("", 0, [], [], [], soak.Person(0, ""), 0, [], [], [])
    return soak.Run(world, args, tally, asyncio.Event(), b"")


async def until(done: Callable[[], object], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.02)


async def stopped(run: soak.Run, task: asyncio.Task[None]) -> None:
    """The bot ends (the recruiter after its next `queue.next`, which finds nobody)."""
    run.stopping.set()
    await asyncio.wait_for(task, 10)


def without_times(lines: list[str]) -> list[str]:
    """Journal lines without when (`+1.2 s who: …`) nor how long."""
    return [re.sub(r"\d+\.\d s", "N s", line.split(" s ", 1)[1]) for line in lines]


def errors(run: soak.Run) -> list[str]:
    """The errors counted, without when (`at +1 s: …`)."""
    return [error.split(": ", 1)[1] for error in run.tally.errors]


async def candidate_socket(server: Server, run: soak.Run, person: soak.Person) -> Live:
    live = await Live.open(server.url, person.cookie, run.tally.record)
    assert (await live.call("subscribe", {"channel": f"user:{person.id}"}))[0] == "success"
    return live


async def test_a_candidate_who_leaves_as_the_call_comes_is_no_error(
    server: Server, booth: Booth
) -> None:
    """The race of the soaks' errors: their wait ran out as the call came, they left (the
    product tells the recruiter `queue.left`); the old bot counted it as an error."""
    run = run_of()
    candidate = await candidate_socket(server, run, booth.candidate)
    try:
        called = candidate.watch(event="queue.called")
        await candidate.call("queue.join", {"booth_id": booth.id})
        bot = asyncio.create_task(soak.recruiter(run, booth.id, booth.recruiter, server.url))
        call = await asyncio.wait_for(called, 10)
        left = await candidate.call("queue.leave", {"booth_id": booth.id})
        assert left == ["success", left[1], {"booth_id": booth.id, "left": True}]
        await until(lambda: run.tally.errors or run.tally.actions["call left as it came"])
        await stopped(run, bot)
    finally:
        await candidate.close()
    assert run.tally.errors == []
    assert run.tally.actions["call left as it came"] == 1
    assert call["entry_id"] not in run.tally.calls.journals  # an end as it should be: forgotten


async def test_a_call_skipped_is_an_error_told_with_what_each_side_heard(
    server: Server, booth: Booth
) -> None:
    """The candidate bot answers every call it hears while it waits: a skip means it did not
    hear one (this candidate's socket follows no channel), an error named with its journal."""
    run = run_of(queue_wait=30.0)
    live = await Live.open(server.url, booth.candidate.cookie, run.tally.record)
    waiting = asyncio.create_task(soak.queue(run, live, booth.id, 0, booth.candidate.id))
    bot = None
    try:
        await until(lambda: run.tally.calls.journals)
        [entry] = run.tally.calls.journals
        bot = asyncio.create_task(soak.recruiter(run, booth.id, booth.recruiter, server.url))
        await until(lambda: len(run.tally.calls.journals[entry]) == 2)  # called
        # The worker's expiry, 61 s later by its clock, in the server's loop.
        state = server.app.state
        later = clock.now() + timedelta(seconds=61)
        work = unit_of_work.write(
            state.write_sessions, state.broadcast, partial(queues.expire_calls, now=later)
        )
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, server.loop))
        await until(lambda: run.tally.errors)
        await stopped(run, bot)
    finally:
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await live.close()
    who, channel = f"recruiter of booth {booth.id}", f"user:{booth.recruiter.id}"
    error = f"booth {booth.id}: entry {entry}: a call skipped, not answered within 60 s"
    assert errors(run) == [error]
    assert [(e, without_times(lines)) for e, lines in run.tally.calls.shown] == [
        (
            run.tally.errors[0],
            [
                f"candidate {booth.candidate.id}: queue.join: waiting, position 1",
                f"{who}: queue.next in N s: calls candidate {booth.candidate.id}",
                f"{who}: queue.skipped on {channel} (entry_id {entry}, booth_id {booth.id})",
                f"{who}: queue.skipped after N s: an error",
            ],
        )
    ]
    assert (
        soak.kind_of(run.tally.errors[0])
        == "booth N: entry N: a call skipped, not answered within 60 s"
    )


async def test_an_answered_call_is_no_error_and_leaves_no_journal(
    server: Server, booth: Booth
) -> None:
    """Both bots as the soak runs them: the call answered, two messages, the end."""
    run = run_of()
    live = await candidate_socket(server, run, booth.candidate)
    waiting = asyncio.create_task(soak.queue(run, live, booth.id, 0, booth.candidate.id))
    try:
        await until(lambda: run.tally.calls.journals)
        bot = asyncio.create_task(soak.recruiter(run, booth.id, booth.recruiter, server.url))
        await asyncio.wait_for(waiting, 15)
        await stopped(run, bot)
    finally:
        await live.close()
    assert run.tally.errors == []
    assert run.tally.actions["call answered"] == 1
    assert run.tally.actions["conversation.end"] == 1
    # The candidate noted the conversation's end after the recruiter forgot the call: kept
    # among the last Calls.KEPT, never shown.
    assert run.tally.calls.shown == []


async def test_a_leave_refused_for_a_busy_server_is_sent_again(
    conf: settings.Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The candidate bot clicks again on "try again in a few seconds": a leave refused once
    left it in the queue, called later and skipped (twice in the soak at 5140f18)."""
    engine = db.create_engine(conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            booth_, _ = await f.booth(session, edition_=await f.edition(session))
            user = await f.candidate(session)
            await session.commit()
    finally:
        await engine.dispose()
    with run_server(
        tmp_path_factory,
        "soak-busy",
        database_url=conf.database_url,
        db_pool_size=1,  # one connection, none past it, 0.2 s of wait for it
        db_max_overflow=0,
        db_pool_timeout=0.2,
    ) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            await login(http, user.email, f.PASSWORD)
            run = run_of(queue_wait=0.5)
            live = await Live.open(server.url, http.cookies["fair_session"], run.tally.record)
            try:
                waiting = asyncio.create_task(soak.queue(run, live, booth_.id, 0, user.id))
                await until(lambda: run.tally.calls.journals)
                [entry] = run.tally.calls.journals
                async with held(server):
                    await until(lambda: run.tally.errors)
                await asyncio.wait_for(waiting, 10)
            finally:
                await live.close()
    who = f"candidate {user.id}"
    busy = {"code": "server.busy", "message": DOWN_FR}
    assert without_times(run.tally.calls.journals[entry]) == [
        f"{who}: queue.join: waiting, position 1",
        f"{who}: no call within N s: queue.leave",
        f"{who}: queue.leave: error {busy}",
        f"{who}: queue.leave: success {{'booth_id': {booth_.id}, 'left': True}}",
    ]
    assert errors(run) == ["queue.leave: error server.busy"]


@contextlib.asynccontextmanager
async def held(server: Server) -> AsyncIterator[None]:
    """The server's only database connection, taken on its loop until the block ends."""

    async def on_server(work: Coroutine[Any, Any, Any]) -> Any:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, server.loop))

    async def take() -> Any:
        connection = await server.app.state.engine.connect()
        await connection.exec_driver_sql("SELECT 1")
        return connection

    connection = await on_server(take())
    try:
        yield
    finally:
        await on_server(connection.close())
