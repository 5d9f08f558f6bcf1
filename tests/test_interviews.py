"""Interview booking (fair.interviews) on SQLite and PostgreSQL: slots, rules, changes, mails."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import applications, channels, clock, db, events, interviews
from fair.enums import (
    ApplicationStatus,
    InterviewMode,
    InterviewOutcome,
    InterviewStatus,
)
from fair.errors import FairError
from fair.models import (
    Application,
    Booth,
    Interview,
    InterviewInvitation,
    InterviewSlot,
    OutboxMail,
    User,
)
from tests import factories as f
from tests.factories import NOON, TOMORROW
from tests.refusals import code_of

ALL_MODES = frozenset(InterviewMode)


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


def availability(recruiter: User, **kw: object) -> interviews.AvailabilityInput:
    data = interviews.AvailabilityInput(
        day=TOMORROW,
        start=time(9, 0),
        end=time(12, 0),
        length_minutes=20,
        buffer_minutes=10,
        modes=ALL_MODES,
        staff_id=recruiter.id,
    )
    for key, value in kw.items():
        setattr(data, key, value)
    return data


async def shortlisted(
    session: AsyncSession, booth: Booth, recruiter: User, *, can_log_in: bool = True
) -> Application:
    offer = await f.offer(session, booth_=booth)
    application = await f.application(session, offer_=offer, can_log_in=can_log_in)
    await applications.set_status(session, application, ApplicationStatus.SHORTLISTED, by=recruiter)
    return application


async def invited(session: AsyncSession, booth: Booth, recruiter: User, *, can_log_in: bool = True):  # type: ignore[no-untyped-def]
    application = await shortlisted(session, booth, recruiter, can_log_in=can_log_in)
    invitation = await interviews.invite(session, by=recruiter, application=application)
    candidate = await session.get(User, application.candidate_id)
    return invitation, candidate


def calendars(mails: list[OutboxMail]) -> list[Calendar]:
    return [Calendar.from_ical(m.calendar) for m in mails if m.calendar]


def vevent(cal: Calendar):  # type: ignore[no-untyped-def]
    return next(c for c in cal.walk("VEVENT"))


async def outbox(session: AsyncSession, to: str) -> list[OutboxMail]:
    rows = await session.scalars(
        select(OutboxMail).where(OutboxMail.to_addr == to).order_by(OutboxMail.id)
    )
    return list(rows)


# Slots -----------------------------------------------------------------------------------------


async def test_availability_is_cut_into_slots(session: AsyncSession) -> None:
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter, end=time(10, 45))
    )
    paris = [s.starts_at.astimezone(f.PARIS).time() for s in slots]
    assert paris == [time(9, 0), time(9, 30), time(10, 0)]  # 10:30 + 20 min would pass 10:45
    assert all(s.ends_at - s.starts_at == timedelta(minutes=20) for s in slots)
    assert slots[0].starts_at.utcoffset() == timedelta(0)  # stored in UTC: 08:00Z
    assert slots[0].starts_at.hour == 8

    # Publishing again skips what overlaps; a colleague's slots are their own.
    again = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter, end=time(11, 30))
    )
    assert [s.starts_at.astimezone(f.PARIS).time() for s in again] == [time(10, 30), time(11, 0)]
    colleague = await f.colleague(session, booth_=booth, owner=recruiter)
    theirs = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(colleague, end=time(10, 0))
    )
    assert len(theirs) == 2 and {s.staff_id for s in theirs} == {colleague.id}

    with pytest.raises(FairError) as raised:
        await interviews.publish_availability(
            session,
            by=recruiter,
            booth=booth,
            data=availability(
                recruiter, day=date(2026, 4, 1), end=time(8, 0), length_minutes=5, modes=frozenset()
            ),
        )
    assert set(raised.value.fields) == {"day", "end", "length_minutes", "modes"}
    _, stranger = await f.booth(session, edition_=edition)
    assert (
        await code_of(
            interviews.publish_availability(
                session, by=stranger, booth=booth, data=availability(stranger)
            )
        )
        == "fair.forbidden"
    )


# Booking ---------------------------------------------------------------------------------------


async def test_invite_book_and_the_mails_carry_an_invitation(session: AsyncSession) -> None:
    booth, recruiter, slots, invitation, candidate = await f.interview_setting(session)
    application = await session.get(Application, invitation.application_id)
    assert application is not None and application.status == ApplicationStatus.INTERVIEW_PROPOSED
    events.take(session)

    interview = await interviews.book(
        session,
        by=candidate,
        invitation=invitation,
        slot=slots[1],
        mode=InterviewMode.PHONE,
        accommodation="Malentendant : parler lentement",
    )
    assert interview.status == InterviewStatus.BOOKED and interview.mode == "phone"
    assert application.status == ApplicationStatus.INTERVIEW_SCHEDULED
    queued = {(e.channel, e.event) for e in events.take(session)}
    assert (channels.user(candidate.id), "interview.changed") in queued
    assert (channels.user(recruiter.id), "interview.changed") in queued

    for person in (candidate, recruiter):
        mails = await outbox(session, person.email)
        cal = calendars(mails)[-1]
        assert str(cal["method"]) == "REQUEST"
        event = vevent(cal)
        assert str(event["uid"]) == interview.uid and int(event["sequence"]) == 0
        assert event["dtstart"].dt == datetime(2026, 3, 11, 9, 30, tzinfo=f.PARIS)
        assert event["dtstart"].params["TZID"] == "Europe/Paris"
        assert f"/interviews/{interview.id}" in str(event["description"])
        attendees = {str(a).removeprefix("mailto:") for a in event["attendee"]}
        assert attendees == {candidate.email, recruiter.email}
    assert "Malentendant" in (await outbox(session, recruiter.email))[-1].body
    assert "Malentendant" not in (await outbox(session, candidate.email))[-1].body

    # Booking twice for one invitation is refused; so is someone else's slot.
    assert (
        await code_of(
            interviews.book(
                session,
                by=candidate,
                invitation=invitation,
                slot=slots[2],
                mode=InterviewMode.VIDEO,
            )
        )
        == "interview.already_booked"
    )
    other_invitation, other = await invited(session, booth, recruiter)
    with pytest.raises(interviews.SlotTaken) as taken:
        await interviews.book(
            session, by=other, invitation=other_invitation, slot=slots[1], mode=InterviewMode.VIDEO
        )
    assert [s.id for s in taken.value.alternatives] == [slots[0].id, slots[2].id, slots[3].id]
    assert (
        await code_of(
            interviews.book(
                session, by=other, invitation=invitation, slot=slots[3], mode=InterviewMode.VIDEO
            )
        )
        == "fair.forbidden"
    )


async def test_rules_limits_overlap_release_and_modes(session: AsyncSession) -> None:
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    other_booth, other_recruiter = await f.booth(session, edition_=edition)
    slots = await interviews.publish_availability(
        session,
        by=recruiter,
        booth=booth,
        data=availability(recruiter, modes=frozenset({InterviewMode.PHONE})),
    )
    other_slots = await interviews.publish_availability(
        session, by=other_recruiter, booth=other_booth, data=availability(other_recruiter)
    )
    candidate = await f.candidate(session)
    invitations = []
    for b, r in ((booth, recruiter), (booth, recruiter), (other_booth, other_recruiter)):
        offer = await f.offer(session, booth_=b)
        application = await f.application(session, offer_=offer, candidate_=candidate)
        await applications.set_status(session, application, ApplicationStatus.SHORTLISTED, by=r)
        invitations.append(await interviews.invite(session, by=r, application=application))
    first, second, elsewhere = invitations

    assert (
        await code_of(
            interviews.book(
                session, by=candidate, invitation=first, slot=slots[0], mode=InterviewMode.VIDEO
            )
        )
        == "interview.bad_mode"
    )
    await interviews.book(
        session, by=candidate, invitation=first, slot=slots[0], mode=InterviewMode.PHONE
    )
    # One interview per booth by default.
    assert (
        await code_of(
            interviews.book(
                session, by=candidate, invitation=second, slot=slots[3], mode=InterviewMode.PHONE
            )
        )
        == "interview.limit_booth"
    )
    # Another booth, same time: overlap.
    assert (
        await code_of(
            interviews.book(
                session,
                by=candidate,
                invitation=elsewhere,
                slot=other_slots[0],
                mode=InterviewMode.CHAT,
            )
        )
        == "interview.overlap"
    )
    # The organiser allows one interview in all: the other booth is refused too.
    organiser = await session.get(User, edition.created_by_id)
    assert organiser is not None
    data = interviews.RulesInput(
        max_per_booth=2, max_total=1, release_at=None, cancel_cutoff_minutes=60, offer_minutes=30
    )
    await interviews.set_rules(session, by=organiser, edition=edition, data=data)
    assert (
        await code_of(
            interviews.book(
                session,
                by=candidate,
                invitation=elsewhere,
                slot=other_slots[2],
                mode=InterviewMode.CHAT,
            )
        )
        == "interview.limit_total"
    )
    # A release time in the future: nothing can be booked yet, and no slot is listed.
    data.max_total, data.release_at = 5, NOON + timedelta(hours=2)
    await interviews.set_rules(session, by=organiser, edition=edition, data=data)
    assert await interviews.free_slots(session, other_booth.id) == []
    assert (
        await code_of(
            interviews.book(
                session,
                by=candidate,
                invitation=elsewhere,
                slot=other_slots[2],
                mode=InterviewMode.CHAT,
            )
        )
        == "interview.not_released"
    )
    clock.set_now(NOON + timedelta(hours=2, seconds=1))
    await interviews.book(
        session, by=candidate, invitation=elsewhere, slot=other_slots[2], mode=InterviewMode.CHAT
    )
    bad = interviews.RulesInput(
        max_per_booth=0, max_total=99, release_at=None, cancel_cutoff_minutes=-1, offer_minutes=1
    )
    with pytest.raises(FairError) as raised:
        await interviews.set_rules(session, by=organiser, edition=edition, data=bad)
    assert set(raised.value.fields) == {
        "max_per_booth",
        "max_total",
        "cancel_cutoff_minutes",
        "offer_minutes",
    }
    assert (
        await code_of(interviews.set_rules(session, by=recruiter, edition=edition, data=data))
        == "fair.forbidden"
    )


async def test_recruiter_books_for_the_candidate_who_confirms(session: AsyncSession) -> None:
    booth, recruiter, slots, invitation, candidate = await f.interview_setting(session)
    interview = await interviews.book(
        session, by=recruiter, invitation=invitation, slot=slots[0], mode=InterviewMode.VIDEO
    )
    assert interview.status == InterviewStatus.PENDING
    application = await session.get(Application, invitation.application_id)
    assert application is not None and application.status == ApplicationStatus.INTERVIEW_PROPOSED
    stranger = await f.candidate(session)
    assert (
        await code_of(interviews.confirm(session, candidate=stranger, interview=interview))
        == "interview.not_found"
    )
    await interviews.confirm(session, candidate=candidate, interview=interview)
    assert interview.status == InterviewStatus.BOOKED
    assert application.status == ApplicationStatus.INTERVIEW_SCHEDULED
    assert (
        await code_of(interviews.confirm(session, candidate=candidate, interview=interview))
        == "interview.not_pending"
    )


# Changes ---------------------------------------------------------------------------------------


async def test_cancel_offers_the_slot_to_the_waiting_list(session: AsyncSession) -> None:
    booth, recruiter, slots, invitation, candidate = await f.interview_setting(session)
    interview = await interviews.book(
        session, by=candidate, invitation=invitation, slot=slots[0], mode=InterviewMode.VIDEO
    )
    # Two others wait for a slot (none suits them); first come, first offered.
    waiting = []
    for _ in range(2):
        inv, person = await invited(session, booth, recruiter)
        await interviews.join_waitlist(session, candidate=person, invitation=inv)
        clock.set_now(clock.now() + timedelta(seconds=1))
        waiting.append((inv, person))

    assert (
        await code_of(interviews.cancel(session, by=candidate, interview=interview, reason="  "))
        == "interview.reason"
    )
    await interviews.cancel(session, by=candidate, interview=interview, reason="Un imprévu")
    assert interview.status == InterviewStatus.CANCELLED and interview.sequence == 1
    application = await session.get(Application, invitation.application_id)
    assert application is not None and application.status == ApplicationStatus.INTERVIEW_PROPOSED
    cal = calendars(await outbox(session, recruiter.email))[-1]
    assert str(cal["method"]) == "CANCEL"
    assert str(vevent(cal)["uid"]) == interview.uid and int(vevent(cal)["sequence"]) == 1
    assert "Un imprévu" in (await outbox(session, recruiter.email))[-1].body

    (first_inv, first), (second_inv, second) = waiting
    offered = await session.scalar(
        select(Interview).where(Interview.slot_id == slots[0].id, Interview.active_key == 1)
    )
    assert offered is not None and offered.candidate_id == first.id
    assert offered.status == InterviewStatus.OFFERED
    assert offered.offer_expires_at == NOON + timedelta(seconds=2) + timedelta(minutes=60)
    assert "acceptez-le avant" in (await outbox(session, first.email))[-1].body

    # The first lets it expire: it goes to the second, who accepts.
    clock.set_now(offered.offer_expires_at + timedelta(seconds=1))
    assert await interviews.expire_offers(session) == 1
    assert offered.status == InterviewStatus.DECLINED
    assert first_inv.waitlisted_at is None
    passed_on = await session.scalar(
        select(Interview).where(Interview.slot_id == slots[0].id, Interview.active_key == 1)
    )
    assert passed_on is not None and passed_on.candidate_id == second.id
    assert passed_on.mode == InterviewMode.VIDEO  # the slot's first mode, until they choose
    await interviews.confirm(
        session, candidate=second, interview=passed_on, mode=InterviewMode.PHONE
    )
    assert passed_on.status == InterviewStatus.BOOKED and second_inv.waitlisted_at is None
    assert passed_on.mode == InterviewMode.PHONE  # chosen, not imposed


async def test_reschedule_keeps_the_uid_and_raises_the_sequence(session: AsyncSession) -> None:
    booth, recruiter, slots, invitation, candidate = await f.interview_setting(session)
    interview = await interviews.book(
        session, by=candidate, invitation=invitation, slot=slots[0], mode=InterviewMode.VIDEO
    )
    uid = interview.uid
    moved = await interviews.reschedule(
        session, by=recruiter, interview=interview, slot=slots[4], reason="Réunion imprévue"
    )
    assert moved.uid == uid and moved.sequence == 1 and moved.slot_id == slots[4].id
    event = vevent(calendars(await outbox(session, candidate.email))[-1])
    assert str(event["uid"]) == uid and int(event["sequence"]) == 1
    assert event["dtstart"].dt == datetime(2026, 3, 11, 11, 0, tzinfo=f.PARIS)
    assert slots[0].id in {s.id for s in await interviews.free_slots(session, booth.id)}

    # Too late: within the cut-off (2 hours by default) nothing changes any more.
    clock.set_now(moved.starts_at - timedelta(minutes=119))
    assert (
        await code_of(interviews.cancel(session, by=candidate, interview=moved, reason="Retard"))
        == "interview.too_late"
    )
    # A colleague may act for the booth; another employer may not.
    _, stranger = await f.booth(
        session, edition_=await session.get(type(booth.edition), booth.edition_id)
    )
    clock.set_now(NOON)
    assert (
        await code_of(interviews.cancel(session, by=stranger, interview=moved, reason="x"))
        == "interview.not_found"
    )


async def test_outcomes_reach_the_application(session: AsyncSession) -> None:
    booth, recruiter, slots, invitation, candidate = await f.interview_setting(session)
    interview = await interviews.book(
        session, by=candidate, invitation=invitation, slot=slots[0], mode=InterviewMode.CHAT
    )
    assert (
        await code_of(interviews.record(session, by=recruiter, interview=interview, attended=True))
        == "interview.too_early"
    )
    clock.set_now(interview.starts_at + timedelta(minutes=5))
    await interviews.record(
        session,
        by=recruiter,
        interview=interview,
        attended=True,
        outcome=InterviewOutcome.SECOND_INTERVIEW,
    )
    application = await session.get(Application, invitation.application_id)
    assert application is not None
    assert application.status == ApplicationStatus.INTERVIEW_PROPOSED  # via interviewed
    assert interview.status == InterviewStatus.HELD and interview.active_key is None
    again = await interviews.open_invitation(session, application.id)
    assert again is not None and again.id != invitation.id

    clock.set_now(NOON)  # the second one is booked the day before: the minimum notice holds
    second = await interviews.book(
        session, by=candidate, invitation=again, slot=slots[3], mode=InterviewMode.VIDEO
    )
    clock.set_now(second.starts_at + timedelta(minutes=1))
    await interviews.record(
        session, by=recruiter, interview=second, attended=True, outcome=InterviewOutcome.HIRED
    )
    assert application.status == ApplicationStatus.HIRED

    inv, person = await invited(session, booth, recruiter)
    clock.set_now(NOON)
    third = await interviews.book(
        session, by=person, invitation=inv, slot=slots[5], mode=InterviewMode.PHONE
    )
    clock.set_now(third.starts_at + timedelta(minutes=30))
    await interviews.record(session, by=recruiter, interview=third, attended=False)
    their = await session.get(Application, inv.application_id)
    assert their is not None and their.status == ApplicationStatus.NO_SHOW
    assert third.status == InterviewStatus.NO_SHOW


# Reminders -------------------------------------------------------------------------------------


async def test_reminders_are_sent_once_even_across_restarts(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    booth, recruiter, slots, invitation, candidate = await f.interview_setting(session)
    interview = await interviews.book(
        session, by=candidate, invitation=invitation, slot=slots[0], mode=InterviewMode.VIDEO
    )
    await db.commit(session)
    before = len(await fetch.scalars(select(OutboxMail.id)))

    async def round_at(moment: datetime) -> int:
        """One worker round in its own transaction, as after a restart."""
        async with app.state.write_sessions() as writer:
            sent = await interviews.send_reminders(writer, now=moment)
            await db.commit(writer)
            return sent

    starts = interview.starts_at
    assert await round_at(starts - timedelta(hours=25)) == 0
    assert await round_at(starts - timedelta(hours=23)) == 1
    assert await round_at(starts - timedelta(hours=22)) == 0  # already sent
    assert await round_at(starts - timedelta(minutes=59)) == 1
    assert await round_at(starts - timedelta(minutes=30)) == 0
    mails = await fetch.scalars(
        select(OutboxMail).where(OutboxMail.id > before).order_by(OutboxMail.id)
    )
    subjects = sorted(m.subject for m in mails)
    assert len(subjects) == 4  # two reminders, to both participants
    assert sum("une heure" in s or "one hour" in s for s in subjects) == 2


# Race safety -----------------------------------------------------------------------------------


@pytest.mark.pool_timeout(30)
async def test_two_hundred_attempts_give_one_booking(app, session, fetch) -> None:  # type: ignore[no-untyped-def]
    booth, recruiter, slots, _invitation, _candidate = await f.interview_setting(session)
    people = []
    for _ in range(200):
        people.append(await invited(session, booth, recruiter, can_log_in=False))
    await db.commit(session)
    target = slots[2].id

    async def attempt(invitation_id: int, candidate_id: int) -> str:
        async with app.state.write_sessions() as writer:
            candidate = await writer.get(User, candidate_id)
            invitation = await writer.get(InterviewInvitation, invitation_id)
            slot = await writer.get(InterviewSlot, target)
            assert candidate is not None and invitation is not None and slot is not None
            try:
                await interviews.book(
                    writer, by=candidate, invitation=invitation, slot=slot, mode=InterviewMode.VIDEO
                )
            except interviews.SlotTaken as taken:
                await writer.rollback()
                assert target not in [s.id for s in taken.alternatives]
                assert len(taken.alternatives) == 3
                return "taken"
            await db.commit(writer)
            return "booked"

    results = await asyncio.gather(*(attempt(inv.id, person.id) for inv, person in people))
    assert results.count("booked") == 1 and results.count("taken") == 199
    rows = await fetch.scalars(
        select(Interview.id).where(Interview.slot_id == target, Interview.active_key == 1)
    )
    assert len(rows) == 1


# The calendar feed -----------------------------------------------------------------------------


async def test_private_calendar_feed(session: AsyncSession) -> None:
    booth, recruiter, slots, invitation, candidate = await f.interview_setting(session)
    interview = await interviews.book(
        session, by=candidate, invitation=invitation, slot=slots[0], mode=InterviewMode.VIDEO
    )
    token = await interviews.feed_token(session, candidate)
    assert token == await interviews.feed_token(session, candidate) and len(token) >= 24
    cal = Calendar.from_ical(await interviews.feed(session, token))
    assert "method" not in cal
    assert [str(e["uid"]) for e in cal.walk("VEVENT")] == [interview.uid]
    await interviews.cancel(session, by=candidate, interview=interview, reason="Empêchement")
    cal = Calendar.from_ical(await interviews.feed(session, token))
    assert list(cal.walk("VEVENT")) == []
    assert await code_of(interviews.feed(session, "x" * 32)) == "interview.not_found"
