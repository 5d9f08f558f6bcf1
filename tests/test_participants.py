"""Candidates registered to an edition (fair.participants): by their first step in it, once,
with the first step's time; staff accounts never."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import activity, applications, clock, participants, queues, webconferences
from fair.enums import Role
from fair.models import EditionCandidate
from fair.tally import Taken
from tests import factories as f
from tests.booth_queue import fair_with_booth


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)


async def registered(session: AsyncSession) -> dict[tuple[int, int], datetime]:
    rows = await session.scalars(select(EditionCandidate))
    return {(r.edition_id, r.user_id): r.registered_at for r in rows}


async def test_an_application_registers_the_candidate_once_with_the_first_time(
    session: AsyncSession,
) -> None:
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    first, second = await f.offer(session, booth_=booth), await f.offer(session, booth_=booth)
    person = await f.candidate(session)
    assert await registered(session) == {}
    await applications.apply(session, candidate=person, offer=first, message="")
    clock.set_now(f.NOON + timedelta(hours=2))
    await applications.apply(session, candidate=person, offer=second, message="")
    assert await registered(session) == {(edition.id, person.id): f.NOON}
    assert await participants.is_registered(session, edition_id=edition.id, user=person)
    assert await participants.count(session, edition.id) == 1


async def test_a_queue_and_a_talk_register_the_candidate(session: AsyncSession) -> None:
    booth, _ = await fair_with_booth(session)
    waiting, listening = await f.candidate(session), await f.candidate(session)
    await queues.join(session, candidate=waiting, booth=booth)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser, slug="autre-forum")
    talk = await webconferences.schedule(
        session, by=organiser, edition=edition, data=f.talk([organiser])
    )
    await webconferences.register(session, candidate=listening, webconference=talk)
    assert await registered(session) == {
        (booth.edition_id, waiting.id): f.NOON,
        (edition.id, listening.id): f.NOON,
    }


async def test_an_active_day_registers_the_candidate_and_staff_never_are(
    session: AsyncSession,
) -> None:
    edition = await f.edition(session)
    person = await f.candidate(session)
    recruiter = await f.user(session, Role.RECRUITER)
    await participants.register(session, edition_id=edition.id, user=recruiter)
    day = date(2026, 3, 10)
    await activity.save(session, Taken(views={}, active={(edition.id, person.id, day)}))
    await activity.save(session, Taken(views={}, active={(edition.id, person.id, day)}))
    assert await registered(session) == {(edition.id, person.id): f.NOON}
