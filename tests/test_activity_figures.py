"""The activity figures beside their concepts, on SQLite and PostgreSQL, each against what the
test did: fair/queue_figures.py, fair/webconferences/figures.py, interviews.by_mode."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    activity,
    clock,
    conversations,
    employers,
    interviews,
    queue_figures,
    queues,
    webconferences,
)
from fair.enums import (
    BoothStatus,
    InterviewMode,
    InterviewStatus,
    NextStep,
    Role,
    WebconferenceAccess,
)
from fair.models import Booth, Edition, User
from fair.tally import Taken
from fair.web import activity as web_activity
from fair.webconferences import audience
from fair.webconferences import figures as talk_figures
from tests import factories as f
from tests.factories import NOON, talk


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


def at(start: datetime, seconds: float) -> None:
    clock.set_now(start + timedelta(seconds=seconds))


async def an_edition(session: AsyncSession) -> Edition:
    """An edition live now, by an organiser who never logs in (no password to hash)."""
    return await f.edition(session, by=await f.user(session, Role.ORGANISER, can_log_in=False))


async def a_booth(session: AsyncSession, edition: Edition) -> tuple[Booth, User]:
    """An approved booth of the edition and its recruiter, neither password hashed."""
    recruiter = await f.user(session, Role.RECRUITER, can_log_in=False)
    admin = await f.user(session, Role.ADMIN, can_log_in=False)
    employer = await f.employer(session, by=recruiter)
    booth = await employers.request_booth(session, by=recruiter, employer=employer, edition=edition)
    await employers.set_status(session, booth, BoothStatus.APPROVED, by=admin)
    return await employers.get_booth(session, booth.id), recruiter


# Queues ----------------------------------------------------------------------------------------


async def call(session: AsyncSession, booth: Booth, recruiter: User) -> User:
    entry = await queues.take_next(session, recruiter=recruiter, booth=booth)
    assert entry is not None
    found = await session.get(User, entry.candidate_id)
    assert found is not None
    return found


async def test_queue_figures_per_booth(session: AsyncSession) -> None:
    edition = await an_edition(session)
    booth, recruiter = await a_booth(session, edition)
    other_booth, _ = await a_booth(session, edition)
    elsewhere, _ = await a_booth(session, await an_edition(session))
    people = await f.candidate_accounts(session, 8)
    start = clock.now()
    joined = {}
    for i, person in enumerate(people[:6]):  # six join the booth, 10 s apart
        at(start, 10 * i)
        joined[person.id] = 10 * i
        await queues.join(session, candidate=person, booth=booth)
    called: dict[int, float] = {}

    at(start, 100)  # the first is called, answers, talks a minute
    first = await call(session, booth, recruiter)
    called[first.id] = 100
    entry = await queues.entry_of(session, candidate=first, booth_id=booth.id)
    assert entry is not None
    held = await conversations.answer(session, candidate=first, entry=entry)
    at(start, 160)
    await conversations.end(
        session, recruiter=recruiter, conversation=held, next_step=NextStep.NONE
    )
    at(start, 200)  # the second lets the call expire
    second = await call(session, booth, recruiter)
    called[second.id] = 200
    at(start, 270)
    assert len(await queues.expire_calls(session)) == 1
    at(start, 280)  # the third leaves while waiting
    await queues.leave(session, candidate=people[2], booth=booth)
    at(start, 300)  # the fourth is called and is still talking
    fourth = await call(session, booth, recruiter)
    called[fourth.id] = 300
    entry = await queues.entry_of(session, candidate=fourth, booth_id=booth.id)
    assert entry is not None
    await conversations.answer(session, candidate=fourth, entry=entry)
    # The fifth and sixth still wait. At the other booth one joins and leaves; the eighth
    # candidate joins a booth of another edition.
    await queues.join(session, candidate=people[6], booth=other_booth)
    await queues.leave(session, candidate=people[6], booth=other_booth)
    await queues.join(session, candidate=people[7], booth=elsewhere)

    found = await queue_figures.per_booth(session, edition.id)

    waits = sorted(called[p] - joined[p] for p in called)
    assert waits == [100, 190, 270]
    assert set(found) == {booth.id, other_booth.id}
    mine = found[booth.id]
    assert (mine.conversations, mine.abandoned, mine.in_queue, mine.joins) == (2, 2, 2, 6)
    assert sorted(mine.waits) == waits
    assert queue_figures.median(mine.waits) == 190
    theirs = found[other_booth.id]
    assert (theirs.conversations, theirs.abandoned, theirs.in_queue, theirs.waits) == (0, 1, 0, [])
    assert queue_figures.rate(2, 6) == pytest.approx(100 / 3)
    assert queue_figures.rate(0, 0) is None and queue_figures.median([]) is None


# Webconferences --------------------------------------------------------------------------------


async def test_talk_figures(session: AsyncSession) -> None:
    presenter = await f.user(session, Role.ORGANISER, can_log_in=False)
    edition = await f.edition(session, by=presenter)
    open_talk = await webconferences.schedule(
        session,
        by=presenter,
        edition=edition,
        data=talk([presenter], access=WebconferenceAccess.OPEN, capacity=10, title="Ouvert"),
    )
    cancelled = await webconferences.schedule(
        session, by=presenter, edition=edition, data=talk([presenter], title="Annulé")
    )
    await webconferences.cancel(session, by=presenter, webconference=cancelled)
    people = await f.candidate_accounts(session, 6)
    recruiter = await f.user(session, Role.RECRUITER, can_log_in=False)
    seated = people[:4]
    for person in seated:
        await webconferences.register(session, candidate=person, webconference=open_talk)
    await webconferences.unregister(session, candidate=seated[3], webconference=open_talk)
    # Seats kept: 0, 1, 2. Watching: 0 (10 + 5 min), 1 (20 min), 4 without a seat (3 min);
    # a recruiter looking in is not the audience.
    start = open_talk.starts_at + timedelta(minutes=1)
    clock.set_now(start)
    await webconferences.start(session, by=presenter, webconference=open_talk)
    wid = open_talk.id

    async def watch(person: User, socket: str, begin: int, end: int | None) -> None:
        at(start, begin * 60)
        await audience.arrive(session, user=person, webconference_id=wid, connection_id=socket)
        if end is not None:
            at(start, end * 60)
            await audience.depart(session, webconference_id=wid, connection_id=socket)

    await watch(people[0], "a", 0, 10)
    await watch(people[0], "b", 12, 17)
    await watch(people[4], "c", 20, 23)
    await watch(recruiter, "r", 0, 30)
    await watch(people[1], "d", 30, None)  # still watching when the talk ends
    at(start, 30 * 60)
    for person, body in ((people[0], "Salaire ?"), (people[4], "Télétravail ?")):
        await audience.ask(session, user=person, webconference_id=wid, body=body)
    await audience.ask(session, user=people[0], webconference_id=wid, body="Horaires ?")
    at(start, 50 * 60)
    await webconferences.end(session, by=presenter, webconference=open_talk)
    at(start, 3 * 3600)  # later readings do not grow

    found = await talk_figures.per_talk(session, edition.id)

    assert [t.webconference_id for t in found] == [open_talk.id]
    (figures,) = found
    assert (figures.seated_watched, figures.seated_absent, figures.unseated_watched) == (2, 1, 1)
    assert (figures.seats, figures.audience, figures.questions) == (3, 3, 3)
    assert figures.watch_seconds == [3 * 60, 15 * 60, 20 * 60]


# Interviews ------------------------------------------------------------------------------------


async def test_interviews_by_mode(session: AsyncSession) -> None:
    edition = await an_edition(session)
    booth, recruiter = await a_booth(session, edition)
    other, other_recruiter = await a_booth(session, await an_edition(session))
    made = [
        ("video", InterviewStatus.HELD),
        ("video", InterviewStatus.HELD),
        ("video", InterviewStatus.NO_SHOW),
        ("phone", InterviewStatus.HELD),
        ("phone", InterviewStatus.BOOKED),
        ("chat", InterviewStatus.NO_SHOW),
        ("chat", InterviewStatus.CANCELLED),  # not counted
        ("video", InterviewStatus.PENDING),  # not counted
    ]
    for n, (mode, status) in enumerate(made):
        starts = NOON + timedelta(hours=n)
        person = await f.candidate(session, can_log_in=False)
        await f.interview(
            session,
            booth_=booth,
            recruiter=recruiter,
            candidate_=person,
            mode=mode,
            status=status,
            starts_at=starts,
        )
    person = await f.candidate(session, can_log_in=False)
    await f.interview(
        session,
        booth_=other,
        recruiter=other_recruiter,
        candidate_=person,
        status=InterviewStatus.HELD,
    )

    found = await interviews.by_mode(session, edition.id)

    def expected(mode: InterviewMode) -> tuple[int, int, int]:
        def n(status: InterviewStatus) -> int:
            return sum(1 for m, s in made if m == mode.value and s == status)

        return n(InterviewStatus.HELD), n(InterviewStatus.NO_SHOW), n(InterviewStatus.BOOKED)

    assert [m.mode for m in found] == list(InterviewMode)
    assert [(m.held, m.no_shows, m.booked) for m in found] == [expected(m) for m in InterviewMode]
    assert [(m.held, m.no_shows, m.booked) for m in found] == [(2, 1, 0), (1, 0, 1), (0, 1, 0)]


# Page views ------------------------------------------------------------------------------------


async def test_views_per_page_add_up_to_the_booths_and_offers_figures(
    session: AsyncSession,
) -> None:
    edition = await an_edition(session)
    first, _ = await a_booth(session, edition)
    second, _ = await a_booth(session, edition)
    offer = await f.offer(session, booth_=first)
    other = await f.offer(session, booth_=second)
    elsewhere, _ = await a_booth(session, await an_edition(session))
    day = activity.local_day(edition)
    counts = {
        (edition.id, first.id, None, day): 7,
        (edition.id, first.id, None, day - timedelta(days=1)): 3,
        (edition.id, first.id, offer.id, day): 4,
        (edition.id, second.id, other.id, day - timedelta(days=2)): 9,
        (elsewhere.edition_id, elsewhere.id, None, day): 100,
    }
    await activity.save(session, Taken(views=counts))

    per_page = await activity.views_per_page(session, edition.id)

    expected: dict[tuple[int, int | None], int] = {}
    for (edition_id, booth_id, offer_id, _), n in counts.items():
        if edition_id == edition.id:
            expected[(booth_id, offer_id)] = expected.get((booth_id, offer_id), 0) + n
    assert (
        per_page
        == expected
        == {(first.id, None): 10, (first.id, offer.id): 4, (second.id, other.id): 9}
    )
    # The activity page derives the per-booth figures from it: the same as views_per_booth's.
    assert web_activity.per_booth_views(per_page) == await activity.views_per_booth(
        session, edition.id
    )
