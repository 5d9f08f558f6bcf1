"""The organisers' live panel (fair.live_panel): its figures against counts made here, on both
databases; the throttle of its round; the page; who may follow its channel on /live."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    channels,
    clock,
    db,
    employers,
    events,
    live_panel,
    migrations,
    presence,
    queues,
    settings,
    user_sessions,
    webconferences,
    worker,
)
from fair.app_state import Resources
from fair.broadcast import Broadcaster
from fair.enums import Role
from fair.interviews import rooms
from fair.models import Booth, Edition, User, Webconference
from fair.webconferences import audience
from tests import factories as f
from tests.conftest import login
from tests.factories import NOON, talk
from tests.live_server import LoggedIn, Server, run_server
from tests.sockets import Client, socket_of

REDIS = "redis://127.0.0.1:6379/0"


@dataclass
class Fair:
    edition: Edition
    organiser: User
    booths: list[Booth]  # approved, in creation order
    recruiters: list[User]
    talk: Webconference
    now: datetime  # the talk's second minute: the edition is live


async def live_fair(session: AsyncSession, *, booths: int = 3) -> Fair:
    """A live edition with approved booths (and one still requested), its talk started."""
    clock.set_now(NOON)
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    edition = await f.edition(session, by=organiser, closes=time(23, 59))  # live hours end
    made = [await f.booth(session, edition_=edition) for _ in range(booths)]
    await f.booth(session, edition_=edition, approve=False)
    scheduled = await webconferences.schedule(
        session, by=organiser, edition=edition, data=talk([organiser])
    )
    now = scheduled.starts_at + timedelta(minutes=1)
    clock.set_now(now)
    await webconferences.start(session, by=organiser, webconference=scheduled)
    return Fair(edition, organiser, [b for b, _ in made], [r for _, r in made], scheduled, now)


async def join_at(session: AsyncSession, candidate: User, booth: Booth, at: datetime) -> None:
    clock.set_now(at)
    await queues.join(session, candidate=candidate, booth=booth)


async def test_the_snapshot_counts_what_happens(session: AsyncSession) -> None:
    fair = await live_fair(session)
    now = fair.now
    first, second, third = fair.booths
    people = await f.candidate_accounts(session, 9)

    # Staffing: the first booth by two sockets of its recruiter, the third left again.
    await presence.staff(session, recruiter=fair.recruiters[0], booth=first, connection_id="a")
    await presence.staff(session, recruiter=fair.recruiters[0], booth=first, connection_id="b")
    await presence.staff(session, recruiter=fair.recruiters[2], booth=third, connection_id="c")
    await presence.unstaff(session, connection_id="c")

    # Queues: three wait at the first booth (since 7, 3 and 1 minutes), one at the second
    # (another joined and left), one was called at the first (not waiting any more).
    joined = {
        people[0]: (first, 7),
        people[1]: (first, 3),
        people[2]: (first, 1),
        people[3]: (second, 2),
        people[4]: (second, 4),
        people[5]: (first, 9),
    }
    for person_, (booth, minutes) in joined.items():
        await join_at(session, person_, booth, now - timedelta(minutes=minutes, seconds=30))
    clock.set_now(now)
    await queues.leave(session, candidate=people[4], booth=second)
    called = await queues.take_next(session, recruiter=fair.recruiters[0], booth=first)
    assert called is not None and called.candidate_id == people[5].id
    waiting = {first.id: [7, 3, 1], second.id: [2]}  # minutes each waited, whole

    # Online: registered candidates (the six who queued) seen within 10 minutes; not one seen
    # 11 minutes ago, nor a logged-out one, nor one of another edition; two sessions count once.
    clock.set_now(now - timedelta(minutes=11))
    await user_sessions.start(session, people[0])  # seen 11 minutes ago: not online
    clock.set_now(now - timedelta(minutes=4))
    for person_ in (people[1], people[2], people[2], people[3], people[6]):
        await user_sessions.start(session, person_)  # people[6] never took part: not counted
    key = await user_sessions.start(session, people[5])
    await user_sessions.revoke(session, key)  # logged out
    online = {people[1].id, people[2].id, people[3].id}

    # The talk: two people watch (one from two tabs), a third came and left.
    clock.set_now(now)
    for viewer, socket in (
        (people[6], "v1"),
        (people[7], "v2"),
        (people[7], "v3"),
        (people[8], "v4"),
    ):
        await audience.arrive(
            session, user=viewer, webconference_id=fair.talk.id, connection_id=socket
        )
    await audience.depart(session, webconference_id=fair.talk.id, connection_id="v4")

    # Interviews: one running now (admitted into its room), one running not admitted, one
    # later, one over.
    interviews = [
        await f.interview(
            session,
            booth_=booth,
            recruiter=recruiter,
            candidate_=await f.candidate(session, can_log_in=False),
            starts_at=now + timedelta(minutes=m),
        )
        for booth, recruiter, m in (
            (first, fair.recruiters[0], -5),
            (second, fair.recruiters[1], -14),
            (second, fair.recruiters[1], 30),
            (third, fair.recruiters[2], -40),
        )
    ]
    await rooms.admit(session, user=fair.recruiters[0], interview_id=interviews[0].id, now=now)

    panel = await live_panel.snapshot(session, fair.edition.id, now=now)

    assert panel.live is True
    assert panel.candidates_online == len(online)
    shown = {b.booth_id: (b.staffed, b.waiting, b.longest_wait_minutes) for b in panel.booths}
    assert shown == {
        booth.id: (
            booth is first,
            len(waiting.get(booth.id, [])),
            max(waiting.get(booth.id, [0])) if booth.id in waiting else None,
        )
        for booth in fair.booths
    }
    names = [(await employers.get(session, b.employer_id)).name for b in fair.booths]
    assert [b.name for b in panel.booths] == sorted(names)  # the requested booth is not there
    assert (panel.staffed, panel.unstaffed) == (1, 2)
    assert panel.waiting == 4
    assert panel.longest_wait_minutes == 7
    assert [(t.webconference_id, t.title, t.viewers) for t in panel.talks] == [
        (fair.talk.id, fair.talk.title, 2)
    ]
    assert (panel.interviews_in_progress, panel.interviews_admitted) == (2, 1)
    payload = panel.payload()
    assert json.loads(json.dumps(payload)) == payload  # a plain JSON event
    assert {row[0]: row[1:] for row in payload["booths"]} == {k: list(v) for k, v in shown.items()}
    assert (payload["talks"], payload["viewers"]) == ([[fair.talk.id, 2]], 2)


def panel_events(session: AsyncSession) -> list[dict[str, Any]]:
    queued = events.take(session)
    assert {(e.channel, e.event) for e in queued} <= {
        (channels.panel(e.payload["edition_id"]), "panel") for e in queued
    }
    return [e.payload for e in queued]


async def test_the_round_publishes_a_change_once_and_only_when_watched(
    session: AsyncSession,
) -> None:
    fair = await live_fair(session, booths=2)
    other = await f.edition(session, title="Un autre forum")  # live too, nobody watches it
    crowd = await f.candidate_accounts(session, 25)
    panel = channels.panel(fair.edition.id)
    watchers: set[str] = set()
    asked: list[list[str]] = []

    async def followed(names: Collection[str]) -> set[str]:
        asked.append(sorted(names))
        return {n for n in names if n in watchers}

    published = live_panel.Published()

    async def round_() -> list[dict[str, Any]]:
        events.take(session)  # what the set-up queued
        await live_panel.publish_changes(session, published, followed=followed)
        return panel_events(session)

    assert await round_() == []  # live, but nobody watches: nothing computed or sent
    assert asked == [sorted([panel, channels.panel(other.id)])]
    watchers.add(panel)
    first = await round_()
    expected = (await live_panel.snapshot(session, fair.edition.id)).payload()
    assert first == [expected]
    assert await round_() == []  # nothing changed

    # A burst: 25 joins between two rounds make one publication, with all of them.
    for n, candidate in enumerate(crowd):
        await queues.join(session, candidate=candidate, booth=fair.booths[n % 2])
    burst = await round_()
    assert [(p["waiting"], p["longest_wait_minutes"]) for p in burst] == [(25, 0)]
    assert await round_() == []

    # Candidates online are counted again every 30 s (the figure moves by the minute).
    await user_sessions.start(session, crowd[0])
    assert await round_() == []
    clock.set_now(fair.now + timedelta(seconds=29))
    assert await round_() == []
    clock.set_now(fair.now + timedelta(seconds=30))
    assert [(p["candidates_online"], p["longest_wait_minutes"]) for p in await round_()] == [(1, 0)]

    # Time alone changes the longest wait once a minute, not each round.
    clock.set_now(fair.now + timedelta(seconds=59))
    assert await round_() == []
    clock.set_now(fair.now + timedelta(minutes=1))
    assert [p["longest_wait_minutes"] for p in await round_()] == [1]

    # Live hours end (23:59 in Paris): one last panel says so, then nothing.
    clock.set_now(fair.now.replace(hour=23, minute=59, second=30))
    last = await round_()
    assert [(p["edition_id"], p["live"]) for p in last] == [(fair.edition.id, False)]
    assert await round_() == []


async def test_the_worker_round_reaches_subscribers_of_this_process(app: Any) -> None:
    """The worker's round (fair.worker) on the app's own memory broadcaster."""
    state = app.state
    async with state.write_sessions() as session:
        fair = await live_fair(session, booths=1)
        await db.commit(session)
    published = live_panel.Published()
    assert await worker.live_panel_round(state, published) == 0  # nobody follows
    async with state.broadcast.subscribe(channels.panel(fair.edition.id)) as frames:
        assert await worker.live_panel_round(state, published) == 1
        assert await worker.live_panel_round(state, published) == 0
        frame = json.loads(frames.get_nowait())
        assert frame[:2] == ["event", channels.panel(fair.edition.id)]
        assert frame[2]["event"] == "panel" and frame[2]["edition_id"] == fair.edition.id
        assert frames.empty()


async def test_redis_tells_which_panels_another_process_follows() -> None:
    """Scaled out, the worker's broadcaster asks Redis which channels web processes follow."""
    namespace = f"fair-test-panel-{id(object())}"
    web = Broadcaster(REDIS, namespace=namespace)
    worker_side = Broadcaster(REDIS, namespace=namespace)
    await web.connect()
    await worker_side.connect()
    try:
        names = [channels.panel(1), channels.panel(2)]
        assert await worker_side.listened(names) == set()
        async with web.subscribe(channels.panel(2)):
            assert await worker_side.listened(names) == {channels.panel(2)}
        assert await worker_side.listened(names) == set()
    finally:
        await web.disconnect()
        await worker_side.disconnect()


# Who may follow the panel, and see its page: through a real server (SQLite, memory broadcaster).


@pytest.fixture
def _server_settings(server: Server) -> Iterator[None]:
    settings.override(server.conf)
    clock.set_now(None)
    yield
    settings.override(None)


@pytest.mark.usefixtures("_server_settings")
async def test_only_the_editions_organisers_follow_its_panel(
    server: Server, logged_in: LoggedIn
) -> None:
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            organiser = await f.user(session, Role.ORGANISER)
            edition = await f.edition(session, by=organiser)
            _booth, recruiter = await f.booth(session, edition_=edition)
            other = await f.user(session, Role.ORGANISER)
            await f.edition(session, by=other, title="Un autre forum")
            admin = await f.user(session, Role.ADMIN)
            candidate = await f.candidate(session)
            await session.commit()
    finally:
        await engine.dispose()
    channel = channels.panel(edition.id)
    path = f"/organiser/editions/{edition.id}/live"
    seen = {}
    for who in (organiser, admin, recruiter, candidate, other):
        client = await logged_in(who)
        page = await client.get(path)
        async with socket_of(server, client) as live:
            reply = await live.call("subscribe", {"channel": channel})
            unknown = await live.call("subscribe", {"channel": channels.panel(edition.id + 99)})
        seen[who.id] = (page.status_code, reply[0], reply[2].get("code"), unknown[2].get("code"))
    allowed = (200, "success", None, "live.forbidden")
    refused = (403, "error", "live.forbidden", "live.forbidden")
    assert seen == {
        organiser.id: allowed,
        admin.id: allowed,
        recruiter.id: refused,
        candidate.id: refused,
        other.id: refused,
    }
    page = await (await logged_in(organiser)).get(path)
    assert f'data-panel="panel:{edition.id}"' in page.text
    async with websockets.connect(server.ws, origin=server.url) as ws:  # not logged in
        visitor = Client(ws)
        assert await visitor.refused("subscribe", {"channel": channel}) == "auth.required"
        await visitor.close()


async def test_scaled_out_a_worker_publishes_the_panel_to_a_web_process(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A web process on Redis, and a worker process's round (its own engine and broadcaster on
    the same deployment): the worker learns through Redis that the organiser's socket follows
    the panel, and its events reach that socket through the web process."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('panel-redis') / 'fair.db'}"
    await migrations.upgrade_async(url)
    engine = db.create_engine(url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            organiser = await f.user(session, Role.ORGANISER)
            edition = await f.edition(session, by=organiser)
            booth, _recruiter = await f.booth(session, edition_=edition)
            candidate = await f.candidate(session, can_log_in=False)
            await session.commit()
        with run_server(
            tmp_path_factory, "panel-web", database_url=url, broadcast_url=REDIS
        ) as web:
            broadcast = Broadcaster(REDIS, namespace=web.conf.broadcast_channel_namespace)
            await broadcast.connect()
            state = Resources()
            state.set_up(engine, broadcast)
            published = live_panel.Published()
            try:
                assert await worker.live_panel_round(state, published) == 0  # nobody follows
                async with httpx.AsyncClient(base_url=web.url) as client:
                    await login(client, organiser.email, f.PASSWORD)
                    async with socket_of(web, client) as live:
                        await live.ok("subscribe", {"channel": channels.panel(edition.id)})
                        assert await worker.live_panel_round(state, published) == 1
                        first = await live.event()
                        async with db.sessionmaker(engine, write=True)() as session:
                            await queues.join(session, candidate=candidate, booth=booth)
                            await session.commit()
                        assert await worker.live_panel_round(state, published) == 1
                        second = await live.event()
                        assert await worker.live_panel_round(state, published) == 0
                        await live.nothing(0.2)
            finally:
                await broadcast.disconnect()
    finally:
        await engine.dispose()
    assert [(e["event"], e["edition_id"], e["waiting"]) for e in (first, second)] == [
        ("panel", edition.id, 0),
        ("panel", edition.id, 1),
    ]
    assert second["booths"] == [[booth.id, False, 1, 0]]
