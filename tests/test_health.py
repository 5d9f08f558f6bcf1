"""Health checks of an edition (fair.health): each check against an edition built to trigger it
and one that does not, a number of queries that does not grow with the booths, and the
reminder mailed to the recruiters concerned, refused a second time within 24 hours."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    accounts,
    clock,
    editions,
    health,
    interviews,
    user_sessions,
    webconferences,
)
from fair.enums import Role
from fair.errors import Conflict, Forbidden, Invalid, NotYours
from fair.models import Booth, Edition, HealthReminder, OutboxMail, User
from tests import factories as f
from tests.quick import booth_of, colleague_of, edition_of
from tests.statements import cold

# The factories' edition at NOON (Tuesday 10 March 2026): live days 9 to 13 March, all day.
COMING = [date(2026, 3, d) for d in (10, 11, 12, 13)]


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)


async def slots_on(session: AsyncSession, booth: Booth, person: User, days: list[date]) -> None:
    for day in days:
        data = f.availability(person, day=day, start=time(15), end=time(17))
        await interviews.publish_availability(session, by=person, booth=booth, data=data)


async def ready_booth(session: AsyncSession, edition: Edition) -> tuple[Booth, User]:
    """A booth with nothing to fix: an offer, slots on every live day to come, a log-in."""
    booth, person = await booth_of(session, edition)
    await f.offer(session, booth_=booth)
    await slots_on(session, booth, person, COMING)
    await user_sessions.start(session, person)
    return booth, person


async def healthy(session: AsyncSession) -> Edition:
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    edition = await f.edition(session, by=organiser)
    booth, person = await ready_booth(session, edition)
    await webconferences.schedule(
        session, by=person, edition=edition, booth=booth, data=f.talk([person])
    )
    await webconferences.schedule(session, by=organiser, edition=edition, data=f.talk([organiser]))
    # A booth request of two days: not late yet.
    clock.set_now(f.NOON - timedelta(days=2))
    await booth_of(session, edition, approve=False)
    clock.set_now(f.NOON)
    return edition


class Sick:
    """An edition with something to fix in every check."""

    edition: Edition
    bare: Booth  # no offer, no slot, nobody logged in
    bare_recruiter: User
    patchy: Booth  # slots on 11 March only, an offer without ROME code, a talk out of hours
    patchy_recruiter: User
    offer_title: str
    late: Booth  # requested four days ago
    orphan_talk: int  # the organisers' talk whose presenter was deactivated
    late_talk: int  # the patchy booth's talk, out of the live hours changed since


async def sick(session: AsyncSession) -> Sick:
    found = Sick()
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    edition = await f.edition(session, by=organiser)
    await ready_booth(session, edition)
    found.bare, found.bare_recruiter = await booth_of(session, edition)
    found.patchy, found.patchy_recruiter = await booth_of(session, edition)
    patchy_offer = await f.offer(session, booth_=found.patchy, title="Maçon (H/F)")
    patchy_offer.rome_code = ""  # an offer from before the form required it
    found.offer_title = patchy_offer.title
    hidden = await f.offer(session, booth_=found.patchy, title="Brouillon")
    hidden.rome_code, hidden.published = "", False  # unpublished: not listed
    await slots_on(session, found.patchy, found.patchy_recruiter, [date(2026, 3, 11)])
    await user_sessions.start(session, found.patchy_recruiter)
    talk = await webconferences.schedule(
        session,
        by=found.patchy_recruiter,
        edition=edition,
        booth=found.patchy,
        data=f.talk([found.patchy_recruiter]),
    )
    found.late_talk = talk.id
    early = f.talk([organiser], starts_at=f.day_at(f.TOMORROW, 8), ends_at=f.day_at(f.TOMORROW, 9))
    orphan = await webconferences.schedule(session, by=organiser, edition=edition, data=early)
    found.orphan_talk = orphan.id
    admin = await f.user(session, Role.ADMIN, can_log_in=False)
    await accounts.deactivate(session, organiser, by=admin)
    # The live hours now close at 09:00: the 10:00 talk is out, the 08:00 one still in.
    await editions.update(session, edition, data=f.edition_input(closes=time(9, 0)))
    clock.set_now(f.NOON - timedelta(days=4))
    found.late, _ = await booth_of(session, edition, approve=False)
    clock.set_now(f.NOON)
    found.edition = await editions.get(session, edition.id)
    return found


def ids(items: list[health.Item]) -> list[int]:
    return [item.id for item in items]


async def test_every_check_is_empty_for_an_edition_with_nothing_to_fix(
    session: AsyncSession,
) -> None:
    edition = await healthy(session)
    assert await health.run(session, edition) == {key: [] for key in health.CHECKS}


async def test_each_check_names_what_needs_fixing(session: AsyncSession) -> None:
    s = await sick(session)
    found = await health.run(session, s.edition)
    assert ids(found["no_offer"]) == [s.bare.id]
    assert ids(found["no_slots"]) == [s.bare.id]
    assert ids(found["no_login"]) == [s.bare.id]
    assert [(i.id, i.days) for i in found["no_staffing"]] == [
        (s.patchy.id, (date(2026, 3, 10), date(2026, 3, 12), date(2026, 3, 13)))
    ]
    assert [(i.label, i.booth_id) for i in found["offer_place"]] == [(s.offer_title, s.patchy.id)]
    assert [(i.id, i.booth_id) for i in found["talk_presenter"]] == [(s.orphan_talk, None)]
    assert [(i.id, i.booth_id) for i in found["talk_hours"]] == [(s.late_talk, s.patchy.id)]
    assert [(i.id, i.since) for i in found["pending_booths"]] == [
        (s.late.id, f.NOON - timedelta(days=4))
    ]


async def test_the_past_live_days_need_no_staffing(session: AsyncSession) -> None:
    s = await sick(session)
    clock.set_now(f.day_at(date(2026, 3, 12), 10))
    found = await health.no_staffing(session, s.edition)
    assert [(i.id, i.days) for i in found] == [
        (s.patchy.id, (date(2026, 3, 12), date(2026, 3, 13)))
    ]
    clock.set_now(f.day_at(date(2026, 3, 14), 10))
    assert await health.no_staffing(session, s.edition) == []


async def test_the_checks_read_as_many_rows_for_two_booths_as_for_eight(
    session: AsyncSession, app
) -> None:  # type: ignore[no-untyped-def]
    edition = await edition_of(session)
    for _ in range(2):
        await booth_of(session, edition)

    async def queries() -> int:
        with cold(app, every=True) as seen:
            await health.run(session, edition)
        return len(seen)

    few = await queries()
    for _ in range(6):
        await booth_of(session, edition)
    assert await queries() == few <= 10


async def test_a_reminder_mails_the_recruiters_concerned_once_a_day(
    session: AsyncSession,
) -> None:
    s = await sick(session)
    colleague = await colleague_of(session, s.bare, s.bare_recruiter)
    organiser = await f.user(session, Role.ADMIN, can_log_in=False)
    earlier = await session.scalar(select(func.max(OutboxMail.id))) or 0
    reminder = await health.remind(session, edition=s.edition, check="no_offer", by=organiser)
    assert (reminder.check, reminder.recipients, reminder.sent_by_id, reminder.sent_at) == (
        "no_offer",
        2,
        organiser.id,
        f.NOON,
    )
    mails = list(
        await session.scalars(
            select(OutboxMail).where(OutboxMail.id > earlier).order_by(OutboxMail.id)
        )
    )
    assert sorted(m.to_addr for m in mails) == sorted([s.bare_recruiter.email, colleague.email])
    assert all(f"/recruiter/booths/{s.bare.id}" in m.body for m in mails)

    clock.set_now(f.NOON + timedelta(hours=23, minutes=59))
    with pytest.raises(Conflict) as again:
        await health.remind(session, edition=s.edition, check="no_offer", by=organiser)
    assert again.value.code == "health.reminded_recently"
    # Another check is not held back by it; the same one is, 24 hours later, allowed again.
    await health.remind(session, edition=s.edition, check="no_staffing", by=organiser)
    clock.set_now(f.NOON + timedelta(hours=24))
    await health.remind(session, edition=s.edition, check="no_offer", by=organiser)
    last = await health.last_reminders(session, s.edition.id)
    assert {k: r.sent_at for k, r in last.items()} == {
        "no_offer": f.NOON + timedelta(hours=24),
        "no_staffing": f.NOON + timedelta(hours=23, minutes=59),
    }
    assert await session.scalar(select(func.count()).select_from(HealthReminder)) == 3


async def test_reminders_refused_without_recruiters_to_mail_or_by_another_organiser(
    session: AsyncSession,
) -> None:
    s = await sick(session)
    admin = await f.user(session, Role.ADMIN, can_log_in=False)
    with pytest.raises(Invalid) as no_reminder:
        await health.remind(session, edition=s.edition, check="pending_booths", by=admin)
    assert no_reminder.value.code == "health.no_reminder"
    with pytest.raises(Conflict) as nobody:  # only the organisers' own talk
        await health.remind(session, edition=s.edition, check="talk_presenter", by=admin)
    assert nobody.value.code == "health.nobody"
    stranger = await f.user(session, Role.ORGANISER, can_log_in=False)
    with pytest.raises((Forbidden, NotYours)):
        await health.remind(session, edition=s.edition, check="no_offer", by=stranger)
    assert await session.scalar(select(func.count()).select_from(HealthReminder)) == 0
