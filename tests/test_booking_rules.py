"""A booking form is shown only when it can succeed (interviews.booking_refusal, one answer for
the pages and for `book`), the minimum notice, and no late "in one hour" reminders."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import applications, clock, db, interviews, webconferences
from fair.enums import ApplicationStatus, InterviewMode, Role
from fair.models import Interview, InterviewRules, OutboxMail, User
from tests import factories as f
from tests.conftest import csrf
from tests.factories import NOON, availability, invited, live_booth, shortlisted
from tests.pages import person, radios, text_of

CAP = "You have as many interviews planned with this employer as the fair allows."


async def set_rules(session: AsyncSession, edition_id: int, **kw: object) -> None:
    values = {
        "max_per_booth": 1,
        "max_total": 5,
        "release_at": None,
        "cancel_cutoff_minutes": 120,
        "offer_minutes": 60,
        "min_notice_minutes": 120,
    }
    session.add(InterviewRules(edition_id=edition_id, **{**values, **kw}))
    await session.flush()


async def test_a_candidate_at_the_cap_is_told_why_instead_of_a_form(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    """Item 15: the per-employer cap shows its reason, not a form that would answer 409."""
    clock.set_now(NOON)
    edition, booth, recruiter = await live_booth(session)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    first, candidate = await invited(session, booth, recruiter)
    other_offer = await f.offer(session, booth_=booth, title="Plombier (H/F)")
    application = await f.application(session, offer_=other_offer, candidate_=candidate)
    await applications.set_status(session, application, ApplicationStatus.SHORTLISTED, by=recruiter)
    second = await interviews.invite(session, by=recruiter, application=application)
    await interviews.book(
        session, by=candidate, invitation=first, slot=slots[0], mode=InterviewMode.VIDEO
    )
    await db.commit(session)
    assert await interviews.booking_refusal(session, second) == interviews.Refusal(
        CAP, "interview.limit_booth", {}
    )

    client = await person(make_client, candidate)
    html = (await client.get("/me/interviews")).text
    card = html.split(f'id="invitation-{second.id}"')[1].split("</article>")[0]
    assert text_of(card).count(CAP) == 1
    assert radios(card, "slot") == [] and "Book this interview" not in card
    # The booking itself gives the same answer, under its locks.
    token = await csrf(client, "/me/interviews")
    response = await client.post(
        f"/me/invitations/{second.id}/book",
        data={"csrf_token": token, "slot": str(slots[1].id), "mode": "video"},
    )
    assert response.status_code == 409 and CAP in text_of(response.text)
    assert len(await fetch.scalars(select(Interview))) == 1

    # The recruiter reads the same rule, in their words, instead of a booking form.
    staff = await person(make_client, recruiter)
    page = text_of((await staff.get(f"/recruiter/applications/{application.id}")).text)
    assert "This candidate has as many interviews planned with you as the fair allows." in page
    assert "Book this slot for the candidate" not in page


async def test_the_rules_before_proposing_and_the_release_time(
    session: AsyncSession, make_client
) -> None:  # type: ignore[no-untyped-def]
    """Item 15: the recruiter sees the rules before proposing; before the release time the
    candidate reads when booking opens (and `book` refuses with the same code)."""
    clock.set_now(NOON)
    edition, booth, recruiter = await live_booth(session)
    await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    release = NOON + timedelta(hours=3)
    await set_rules(session, edition.id, max_per_booth=2, max_total=4, release_at=release)
    application = await shortlisted(session, booth, recruiter)
    await db.commit(session)
    staff = await person(make_client, recruiter)
    page = text_of((await staff.get(f"/recruiter/applications/{application.id}")).text)
    assert (
        "The fair's rules: each candidate may have 2 interview(s) planned with one employer "
        "and 4 in all; interviews are booked at least 120 minutes ahead."
    ) in page
    assert "Booking opens on 3/10/26, 3:00 PM." in page

    invitation = await interviews.invite(session, by=recruiter, application=application)
    candidate = await session.get(User, application.candidate_id)
    await db.commit(session)
    refusal = await interviews.booking_refusal(session, invitation)
    assert refusal is not None and (refusal.code, refusal.at) == ("interview.not_released", release)
    client = await person(make_client, candidate)
    card = (await client.get("/me/interviews")).text.split(f'id="invitation-{invitation.id}"')[1]
    card = card.split("</article>")[0]
    assert "Booking opens on 3/10/26, 3:00 PM." in text_of(card)
    assert "Book this interview" not in card and "waiting list" not in card


async def test_a_booking_from_a_stale_tab_says_why(session: AsyncSession, make_client) -> None:  # type: ignore[no-untyped-def]
    """Item 30: the invitation already has an interview: the 409 page says so."""
    clock.set_now(NOON)
    _edition, booth, recruiter = await live_booth(session)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    invitation, candidate = await invited(session, booth, recruiter)
    await db.commit(session)
    client = await person(make_client, candidate)
    token = await csrf(client, "/me/interviews")  # two tabs show the same form
    for slot, status in ((slots[0], 303), (slots[1], 409)):
        response = await client.post(
            f"/me/invitations/{invitation.id}/book",
            data={"csrf_token": token, "slot": str(slot.id), "mode": "video"},
        )
        assert response.status_code == status
    page = text_of(response.text)
    assert page.count("You already have an interview for this invitation: change it instead.") == 1
    assert "You have an interview for this proposal: see below." in page


async def test_bookings_and_moves_respect_the_minimum_notice(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    """Item 19: slots sooner than the notice are neither offered nor bookable nor a move's
    target; the refusal offers the next ones."""
    clock.set_now(NOON)
    _edition, booth, recruiter = await live_booth(session)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )  # 9:00, 9:30, 10:00, 10:30 tomorrow
    invitation, candidate = await invited(session, booth, recruiter)
    other, someone = await invited(session, booth, recruiter)
    booked = await interviews.book(
        session, by=someone, invitation=other, slot=slots[3], mode=InterviewMode.VIDEO
    )
    await db.commit(session)
    clock.set_now(slots[0].starts_at - timedelta(minutes=80))  # 7:40: 9:00 and 9:30 too soon
    assert [s.id for s in await interviews.free_slots(session, booth.id)] == [slots[2].id]

    client = await person(make_client, candidate)
    assert radios((await client.get("/me/interviews")).text, "slot") == [str(slots[2].id)]
    token = await csrf(client, "/me/interviews")
    response = await client.post(
        f"/me/invitations/{invitation.id}/book",
        data={"csrf_token": token, "slot": str(slots[1].id), "mode": "video"},
    )
    assert response.status_code == 409
    assert (
        "This slot starts too soon: interviews are booked or moved at least 120 minutes ahead. "
        "Choose a later one."
    ) in text_of(response.text)
    assert radios(response.text, "slot") == [str(slots[2].id)]
    assert len(await fetch.scalars(select(Interview))) == 1

    mover = await person(make_client, someone)
    page = f"/interviews/{booked.id}"
    response = await mover.post(
        f"{page}/move",
        data={
            "csrf_token": await csrf(mover, page),
            "slot": str(slots[1].id),
            "mode": "video",
            "reason": "Earlier",
        },
    )
    assert response.status_code == 409 and "This slot starts too soon" in response.text
    assert (await fetch.get(Interview, booked.id)).slot_id == slots[3].id


async def hour_reminders(app, moment: datetime) -> list[str]:  # type: ignore[no-untyped-def]
    """The subjects of the 'in one hour' reminders (interviews and talks) of a worker round."""
    async with app.state.write_sessions() as writer:
        before = set(await writer.scalars(select(OutboxMail.id)))
        await interviews.send_reminders(writer, now=moment)
        await webconferences.send_reminders(writer, now=moment)
        await db.commit(writer)
        mails = await writer.scalars(
            select(OutboxMail).where(OutboxMail.id.not_in(before)).order_by(OutboxMail.id)
        )
        hour = ("une heure", "one hour")
        return sorted(m.subject for m in mails if any(w in m.subject for w in hour))


async def test_no_in_one_hour_reminder_for_a_booking_made_within_the_hour(
    app, session: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    """Item 19: an interview booked 40 minutes ahead (notice set to 30) gets no 'in one hour'
    reminder; one booked 3 hours ahead does. Talks likewise."""
    clock.set_now(NOON)
    edition, booth, recruiter = await live_booth(session)
    await set_rules(session, edition.id, max_per_booth=3, min_notice_minutes=30)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    early, early_candidate = await invited(session, booth, recruiter)
    late, late_candidate = await invited(session, booth, recruiter)
    clock.set_now(slots[3].starts_at - timedelta(hours=3))
    ahead = await interviews.book(
        session, by=early_candidate, invitation=early, slot=slots[3], mode=InterviewMode.PHONE
    )
    clock.set_now(slots[1].starts_at - timedelta(minutes=40))
    close = await interviews.book(
        session, by=late_candidate, invitation=late, slot=slots[1], mode=InterviewMode.PHONE
    )
    await db.commit(session)
    assert (close.reminded_hour_at, ahead.reminded_hour_at) == (clock.now(), None)
    sent = await hour_reminders(app, slots[1].starts_at - timedelta(minutes=39))
    assert sent == []
    sent = await hour_reminders(app, slots[3].starts_at - timedelta(minutes=59))
    assert len(sent) == 2 and all("one hour" in s or "une heure" in s for s in sent)


async def test_no_in_one_hour_reminder_for_a_seat_taken_within_the_hour(
    app, session: AsyncSession
) -> None:  # type: ignore[no-untyped-def]
    """Item 19, talks: a candidate registered 30 minutes before gets no 'in one hour'
    reminder; one registered 3 hours before does."""
    clock.set_now(NOON)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    talk = await webconferences.schedule(
        session, by=organiser, edition=edition, data=f.talk([organiser])
    )
    early = await f.user(session, can_log_in=False)
    late = await f.user(session, can_log_in=False)
    clock.set_now(talk.starts_at - timedelta(hours=3))
    await webconferences.register(session, candidate=early, webconference=talk)
    clock.set_now(talk.starts_at - timedelta(minutes=30))
    await webconferences.register(session, candidate=late, webconference=talk)
    await db.commit(session)
    sent = await hour_reminders(app, talk.starts_at - timedelta(minutes=29))
    assert len(sent) == 1
