"""Interview booking pages (fair.web.interviews), through HTTP with real logins and no JavaScript.

The recruiter publishes availability and proposes an interview from an application, the
candidate books (or joins the waiting list), both change it, the organiser sets the rules;
permissions and the "slot just taken" answer are checked on the pages themselves.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, interviews, settings
from fair.enums import InterviewMode, Role
from fair.models import (
    Application,
    CalendarFeed,
    Interview,
    InterviewInvitation,
    InterviewRules,
    InterviewSlot,
    User,
)
from tests import factories as f
from tests.conftest import csrf
from tests.factories import NOON, availability, invited, live_booth, shortlisted
from tests.pages import person, post, radios, text_of
from tests.statements import cold


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


def paris(slot_time: datetime) -> str:
    return slot_time.astimezone(f.PARIS).strftime("%H:%M")


# Recruiters ------------------------------------------------------------------------------------


async def test_recruiter_publishes_availability_and_withdraws_a_slot(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    _edition, booth, recruiter = await live_booth(session)
    colleague = await f.colleague(session, booth_=booth, owner=recruiter)
    await db.commit(session)
    rec = await person(make_client, recruiter)
    url = f"/recruiter/booths/{booth.id}/interviews"

    booth_page = (await rec.get(f"/recruiter/booths/{booth.id}")).text
    assert f'href="{url}"' in booth_page
    page = (await rec.get(url)).text
    assert "Publish availability" in page and "No slot yet" in page
    # The live days to choose from, the team to choose among (me by default), every mode.
    days = re.findall(r'<option value="(\d{4}-\d\d-\d\d)"', page)
    assert days == ["2026-03-09", "2026-03-10", "2026-03-11", "2026-03-12", "2026-03-13"]
    assert f'<option value="{recruiter.id}" selected>' in page
    assert f'<option value="{colleague.id}">{colleague.name}</option>' in page
    assert re.findall(r'name="modes" value="(\w+)" checked', page) == ["video", "phone", "chat"]

    # Bad input: every error at once, linked to its field, the input kept, nothing stored.
    form = {
        "day": "2026-04-01",
        "start": "11:00",
        "end": "09:00",
        "length_minutes": "5",
        "buffer_minutes": "10",
        "staff_id": str(recruiter.id),
    }
    response = await post(rec, url, url, **form)
    assert response.status_code == 422
    page = text_of(response.text)
    for message in (
        "Choose one of the fair's live days.",
        "The end must come after the start.",
        "An interview lasts between 10 and 120 minutes.",
        "Offer at least one way to hold the interview.",
    ):
        assert message in page
    assert 'id="f-length_minutes" name="length_minutes" type="number" value="5"' in response.text
    assert 'aria-describedby="e-length_minutes" aria-invalid="true"' in response.text
    assert 'id="f-modes" aria-describedby="e-modes"' in response.text
    assert 'href="#f-modes"' in response.text
    response = await post(rec, url, url, **{**form, "length_minutes": "half an hour"})
    assert response.status_code == 422 and "Enter a whole number." in response.text
    assert await fetch.scalars(select(InterviewSlot)) == []

    # Good input: cut into slots for the chosen person, with the chosen modes.
    form.update(day="2026-03-11", start="09:00", end="11:00", length_minutes="20")
    token = await csrf(rec, url)
    response = await rec.post(url, data={"csrf_token": token, **form, "modes": ["video", "phone"]})
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}#agenda"
    slots = await fetch.scalars(select(InterviewSlot).order_by(InterviewSlot.starts_at))
    assert [paris(s.starts_at) for s in slots] == ["09:00", "09:30", "10:00", "10:30"]
    assert {(s.staff_id, s.modes) for s in slots} == {(recruiter.id, "video phone")}
    page = text_of((await rec.get(response.headers["location"])).text)
    assert "4 slots published." in page and "Wednesday, March 11, 2026" in page
    assert (
        page.count("Free") == 4
        and f"9:00 AM–9:20 AM · {recruiter.name} (Video, Phone) Free Withdraw" in page
    )

    # Publishing the same stretch again: nothing fits, said plainly.
    response = await rec.post(url, data={"csrf_token": token, **form, "modes": ["chat"]})
    assert response.status_code == 409 and "No new slot fits" in response.text

    # A free slot is withdrawn; the agenda no longer lists it.
    response = await post(rec, url, f"/recruiter/interview-slots/{slots[0].id}/withdraw")
    assert response.status_code == 303 and response.headers["location"] == f"{url}#agenda"
    assert (await fetch.get(InterviewSlot, slots[0].id)).withdrawn_at is not None
    page = text_of((await rec.get(response.headers["location"])).text)
    assert "The slot was withdrawn." in page and page.count("Free") == 3
    assert "9:00 AM–9:20 AM" not in page


async def test_propose_then_the_candidate_books_with_a_mode_and_a_need(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    _edition, booth, recruiter = await live_booth(session)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    application = await shortlisted(session, booth, recruiter)
    candidate = await session.get(User, application.candidate_id)
    await db.commit(session)
    rec, cand = await person(make_client, recruiter), await person(make_client, candidate)
    app_url = f"/recruiter/applications/{application.id}"

    # Nothing to book before the recruiter proposes.
    page = text_of((await cand.get("/me/interviews")).text)
    assert "No recruiter has proposed an interview to you yet." in page
    assert "Propose an interview" in (await rec.get(app_url)).text
    response = await post(rec, app_url, f"{app_url}/interview/invite")
    assert response.status_code == 303
    assert response.headers["location"] == f"{app_url}#interview"
    assert (await fetch.get(Application, application.id)).status == "interview_proposed"
    page = text_of((await rec.get(response.headers["location"])).text)
    assert "The interview is proposed" in page and "Book a slot for the candidate" in page
    assert "Propose an interview" not in page

    # The candidate sees the proposal: employer, offer, the free slots by day, the modes.
    html = (await cand.get("/me/interviews")).text
    page = text_of(html)
    assert f"{booth.employer.name} — Électricien du bâtiment (H/F)" in page
    assert "Wednesday, March 11, 2026" in page
    assert "9:00 AM–9:20 AM (Video, Phone)" in page
    assert radios(html, "slot") == [str(s.id) for s in slots]
    assert radios(html, "mode") == ["video", "phone"]  # only the modes offered
    assert '<label for="f-accommodation-' in html and "sign language" in page
    assert 'href="/me/interviews"' in html  # the candidate menu

    # A mode the slot does not offer is refused, on the form, with nothing booked.
    invitation_id = int(re.search(r'action="/me/invitations/(\d+)/book"', html).group(1))
    book_url = f"/me/invitations/{invitation_id}/book"
    response = await post(cand, "/me/interviews", book_url, slot=str(slots[1].id), mode="chat")
    assert response.status_code == 422
    assert "This slot is not offered in that mode." in response.text
    n = invitation_id
    assert f'id="f-mode-{n}" aria-describedby="h-mode-{n} e-mode-{n}"' in response.text
    response = await post(cand, "/me/interviews", book_url, mode="phone")
    assert response.status_code == 422 and "Choose a time slot." in response.text
    assert await fetch.scalars(select(Interview)) == []

    response = await post(
        cand,
        "/me/interviews",
        book_url,
        slot=str(slots[1].id),
        mode="phone",
        accommodation="Interprète LSF, s'il vous plaît",
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/me/interviews#interviews"
    booked = await fetch.scalar(select(Interview))
    assert (booked.slot_id, booked.status, booked.mode, booked.accommodation) == (
        slots[1].id,
        "booked",
        "phone",
        "Interprète LSF, s'il vous plaît",
    )
    assert (await fetch.get(Application, application.id)).status == "interview_scheduled"

    # The candidate's page, the recruiter's agenda and application page all show it.
    page = text_of((await cand.get(response.headers["location"])).text)
    assert "Your interview is booked." in page
    assert "Booked Wednesday, March 11, 2026, 9:30 AM–9:50 AM Phone" in page
    assert "Your accommodation need: Interprète LSF, s'il vous plaît" in page
    assert "You have an interview for this proposal" in page
    page = text_of((await rec.get(f"/recruiter/booths/{booth.id}/interviews")).text)
    assert f"Booked by {candidate.name} · Phone" in page
    assert "Accommodation asked: Interprète LSF, s'il vous plaît" in page
    assert page.count("Free") == 3
    page = text_of((await rec.get(app_url)).text)
    assert "Booked" in page and "See the interview" in page

    # The interview page, for each of the two.
    html = (await rec.get(f"/interviews/{booked.id}")).text
    page = text_of(html)
    assert f"Interview with {candidate.name}" in page
    assert "Accommodation asked Interprète LSF, s'il vous plaît" in page
    assert f'href="/interviews/{booked.id}/room"' in html and "Enter the interview room" in page
    html = (await cand.get(f"/interviews/{booked.id}")).text
    page = text_of(html)
    assert f"Interview with {booth.employer.name}" in page
    assert f"With {recruiter.name} ({booth.employer.name})" in page
    assert "When Wednesday, March 11, 2026, 9:30 AM–9:50 AM How Phone" in page
    assert "Accommodation asked" not in page
    assert f'href="/interviews/{booked.id}/room"' in html


async def test_a_slot_taken_meanwhile_answers_409_with_the_next_free_slots(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    _edition, booth, recruiter = await live_booth(session)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter, end=time(12, 0))
    )
    first_invitation, first = await invited(session, booth, recruiter)
    second_invitation, second = await invited(session, booth, recruiter)
    await db.commit(session)
    one, two = await person(make_client, first), await person(make_client, second)
    # Both open the page while the 9:00 slot is free.
    token_one = await csrf(one, "/me/interviews")
    token_two = await csrf(two, "/me/interviews")

    response = await one.post(
        f"/me/invitations/{first_invitation.id}/book",
        data={"csrf_token": token_one, "slot": str(slots[0].id), "mode": "video"},
    )
    assert response.status_code == 303
    response = await two.post(
        f"/me/invitations/{second_invitation.id}/book",
        data={"csrf_token": token_two, "slot": str(slots[0].id), "mode": "video"},
    )
    assert response.status_code == 409
    html = response.text
    page = text_of(html)
    assert "This slot has just been taken. Choose another one." in page
    assert "The next free slots" in page
    # The next three free slots, as the choices of the form, ready to book again.
    assert radios(html, "slot") == [str(s.id) for s in slots[1:4]]
    assert "9:30 AM–9:50 AM" in page and "10:30 AM–10:50 AM" in page
    assert "11:00 AM" not in page
    booked = await fetch.scalars(select(Interview))
    assert [(i.candidate_id, i.slot_id) for i in booked] == [(first.id, slots[0].id)]

    response = await two.post(
        f"/me/invitations/{second_invitation.id}/book",
        data={"csrf_token": token_two, "slot": str(slots[1].id), "mode": "video"},
    )
    assert response.status_code == 303
    assert len(await fetch.scalars(select(Interview))) == 2


async def test_the_candidate_moves_then_cancels_with_a_reason(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    _edition, booth, recruiter = await live_booth(session)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    invitation, candidate = await invited(session, booth, recruiter)
    slot = await session.get(InterviewSlot, slots[0].id)
    booked = await interviews.book(
        session, by=candidate, invitation=invitation, slot=slot, mode=InterviewMode.VIDEO
    )
    await db.commit(session)
    cand = await person(make_client, candidate)
    url = f"/interviews/{booked.id}"

    html = (await cand.get("/me/interviews")).text
    assert f'href="{url}#move"' in html
    html = (await cand.get(url)).text
    assert radios(html, "slot") == [str(s.id) for s in slots[1:]]

    # Moving needs a reason too; then the interview keeps its identity at the new time.
    response = await post(cand, url, f"{url}/move", slot=str(slots[2].id), mode="phone")
    assert response.status_code == 422
    assert 'id="f-reason-move"' in response.text and "Give a reason" in response.text
    response = await post(
        cand, url, f"{url}/move", slot=str(slots[2].id), mode="phone", reason="Un rendez-vous"
    )
    assert response.status_code == 303 and response.headers["location"] == url
    moved = await fetch.get(Interview, booked.id)
    assert (moved.slot_id, moved.mode, moved.sequence, moved.uid) == (
        slots[2].id,
        "phone",
        1,
        booked.uid,
    )
    assert "The interview has moved" in (await cand.get(url)).text

    # Cancelling without a reason is refused on the form; nothing changes.
    response = await post(cand, url, f"{url}/cancel", reason="  ")
    assert response.status_code == 422
    assert "Give a reason (500 characters at most)." in text_of(response.text)
    assert 'aria-describedby="h-reason e-reason" aria-invalid="true"' in response.text
    assert (await fetch.get(Interview, booked.id)).status == "booked"

    response = await post(cand, url, f"{url}/cancel", reason="J'ai trouvé un emploi")
    assert response.status_code == 303
    assert response.headers["location"] == "/me/interviews#interviews"
    cancelled = await fetch.get(Interview, booked.id)
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "J'ai trouvé un emploi")
    application = await fetch.get(Application, invitation.application_id)
    assert application.status == "interview_proposed"
    html = (await cand.get(response.headers["location"])).text
    page = text_of(html)
    assert "Your interview is cancelled" in page and "Reason: J'ai trouvé un emploi" in page
    assert radios(html, "slot") == [str(s.id) for s in slots]  # free to book again
    assert f'href="{url}#move"' not in html


async def test_changes_stop_at_the_cutoff(session: AsyncSession, make_client) -> None:  # type: ignore[no-untyped-def]
    _edition, booth, recruiter = await live_booth(session)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    invitation, candidate = await invited(session, booth, recruiter)
    slot = await session.get(InterviewSlot, slots[0].id)
    booked = await interviews.book(
        session, by=candidate, invitation=invitation, slot=slot, mode=InterviewMode.VIDEO
    )
    await db.commit(session)
    cand = await person(make_client, candidate)
    url = f"/interviews/{booked.id}"
    token = await csrf(cand, url)
    clock.set_now(datetime(2026, 3, 11, 8, 0, tzinfo=f.PARIS))  # an hour before; cut-off is 2 h
    page = text_of((await cand.get(url)).text)
    assert "too late to move or cancel" in page and "Cancel the interview" not in page
    response = await cand.post(f"{url}/cancel", data={"csrf_token": token, "reason": "Malade"})
    assert response.status_code == 409 and "Too late to change this interview" in response.text


async def test_the_recruiter_books_for_the_candidate_who_confirms(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    _edition, booth, recruiter = await live_booth(session)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    invitation, candidate = await invited(session, booth, recruiter)
    await db.commit(session)
    rec, cand = await person(make_client, recruiter), await person(make_client, candidate)
    app_url = f"/recruiter/applications/{invitation.application_id}"

    html = (await rec.get(app_url)).text
    assert re.findall(r'<option value="(\d+)">[^<]*\(Video, Phone\)', html) == [
        str(s.id) for s in slots
    ]
    response = await post(
        rec, app_url, f"{app_url}/interview/book", slot=str(slots[3].id), mode="phone"
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{app_url}#interview"
    pending = await fetch.scalar(select(Interview))
    assert (pending.status, pending.slot_id, pending.booked_by_id) == (
        "pending",
        slots[3].id,
        recruiter.id,
    )
    page = text_of((await rec.get(response.headers["location"])).text)
    assert "who is asked to confirm it" in page and "To confirm" in page
    page = text_of((await rec.get(f"/recruiter/booths/{booth.id}/interviews")).text)
    assert f"To confirm by {candidate.name} · Phone" in page

    html = (await cand.get("/me/interviews")).text
    page = text_of(html)
    assert "The recruiter booked this time for you: confirm it or decline it." in page
    assert f'action="/interviews/{pending.id}/confirm"' in html
    response = await post(cand, "/me/interviews", f"/interviews/{pending.id}/confirm")
    assert response.status_code == 303
    assert response.headers["location"] == "/me/interviews#interviews"
    confirmed = await fetch.get(Interview, pending.id)
    assert confirmed.status == "booked"
    assert (await fetch.get(Application, invitation.application_id)).status == (
        "interview_scheduled"
    )
    page = text_of((await cand.get(response.headers["location"])).text)
    assert "Your interview is confirmed." in page and "Booked" in page
    # Only the candidate confirms.
    response = await post(rec, app_url, f"/interviews/{pending.id}/confirm")
    assert response.status_code == 403


async def test_the_waiting_list_and_a_freed_slot_offered(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    _edition, booth, recruiter = await live_booth(session)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter, end=time(9, 20))
    )
    first_invitation, first = await invited(session, booth, recruiter)
    slot = await session.get(InterviewSlot, slots[0].id)
    taken = await interviews.book(
        session, by=first, invitation=first_invitation, slot=slot, mode=InterviewMode.VIDEO
    )
    invitation, candidate = await invited(session, booth, recruiter)
    await db.commit(session)
    cand = await person(make_client, candidate)

    page = text_of((await cand.get("/me/interviews")).text)
    assert "No slot is free right now." in page and "Put me on the waiting list" in page
    response = await post(cand, "/me/interviews", f"/me/invitations/{invitation.id}/waitlist/join")
    assert response.status_code == 303
    assert (await fetch.get(InterviewInvitation, invitation.id)).waitlisted_at == NOON
    page = text_of((await cand.get(response.headers["location"])).text)
    assert "You are on the waiting list since" in page and "Leave the waiting list" in page
    response = await post(cand, "/me/interviews", f"/me/invitations/{invitation.id}/waitlist/leave")
    assert response.status_code == 303
    assert (await fetch.get(InterviewInvitation, invitation.id)).waitlisted_at is None
    await post(cand, "/me/interviews", f"/me/invitations/{invitation.id}/waitlist/join")

    # The other candidate cancels: the slot is offered to the waiting candidate, who accepts.
    other = await person(make_client, first)
    url = f"/interviews/{taken.id}"
    response = await post(other, url, f"{url}/cancel", reason="Empêchement")
    assert response.status_code == 303
    offered = await fetch.scalar(select(Interview).where(Interview.candidate_id == candidate.id))
    assert (offered.status, offered.slot_id) == ("offered", slots[0].id)
    html = (await cand.get("/me/interviews")).text
    page = text_of(html)
    assert "A slot was freed for you: accept it before 3/10/26, 1:00 PM." in page
    response = await post(cand, "/me/interviews", f"/interviews/{offered.id}/confirm")
    assert response.status_code == 303
    assert (await fetch.get(Interview, offered.id)).status == "booked"


async def test_the_recruiter_records_the_outcome_after_the_start(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    _edition, booth, recruiter = await live_booth(session)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    pairs = [await invited(session, booth, recruiter) for _ in range(2)]
    held, missed = [
        await interviews.book(
            session,
            by=candidate,
            invitation=invitation,
            slot=await session.get(InterviewSlot, slots[n].id),
            mode=InterviewMode.PHONE,
        )
        for n, (invitation, candidate) in enumerate(pairs)
    ]
    await db.commit(session)
    rec = await person(make_client, recruiter)
    url = f"/recruiter/booths/{booth.id}/interviews"
    assert f'action="/interviews/{held.id}/record"' not in (await rec.get(url)).text

    clock.set_now(datetime(2026, 3, 11, 10, 0, tzinfo=f.PARIS))
    html = (await rec.get(url)).text
    assert f'<label for="f-outcome-{held.id}">' in html
    response = await post(
        rec, url, f"/interviews/{held.id}/record", attended="yes", outcome="hired"
    )
    assert (response.status_code, response.headers["location"]) == (303, f"{url}#agenda")
    assert "The interview was recorded." in text_of((await rec.get(url)).text)
    response = await post(rec, url, f"/interviews/{missed.id}/record", attended="no")
    assert response.status_code == 303
    recorded = [await fetch.get(Interview, i.id) for i in (held, missed)]
    assert [(i.status, i.outcome) for i in recorded] == [("held", "hired"), ("no_show", None)]
    statuses = [(await fetch.get(Application, inv.application_id)).status for inv, _c in pairs]
    assert statuses == ["hired", "no_show"]
    page = text_of((await rec.get(url)).text)
    assert f"Held with {pairs[0][1].name} · Hired" in page
    assert f"{pairs[1][1].name} did not attend" in page
    assert "Not booked" in page  # the two past slots nobody took


async def test_the_agenda_queries_do_not_grow_with_bookings(app, session, make_client) -> None:  # type: ignore[no-untyped-def]

    _edition, booth, recruiter = await live_booth(session)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter, end=time(12, 0))
    )
    invitation, candidate = await invited(session, booth, recruiter)
    await interviews.book(
        session,
        by=candidate,
        invitation=invitation,
        slot=await session.get(InterviewSlot, slots[0].id),
        mode=InterviewMode.VIDEO,
    )
    await db.commit(session)
    rec = await person(make_client, recruiter)
    with cold(app) as few:
        await rec.get(f"/recruiter/booths/{booth.id}/interviews")
    for n in range(1, 4):
        invitation, candidate = await invited(session, booth, recruiter)
        await interviews.book(
            session,
            by=candidate,
            invitation=invitation,
            slot=await session.get(InterviewSlot, slots[n].id),
            mode=InterviewMode.VIDEO,
        )
    await db.commit(session)
    with cold(app) as many:
        page = await rec.get(f"/recruiter/booths/{booth.id}/interviews")
    assert text_of(page.text).count("Booked by") == 4
    assert len(many) == len(few), many


# Calendar ---------------------------------------------------------------------------------------


async def test_the_private_calendar_link(session: AsyncSession, make_client, fetch) -> None:  # type: ignore[no-untyped-def]
    candidate = await f.candidate(session)
    await db.commit(session)
    cand = await person(make_client, candidate)
    page = text_of((await cand.get("/me/interviews")).text)
    assert "Get my calendar link" in page and "/calendar/" not in page
    response = await post(cand, "/me/interviews", "/me/interviews/calendar")
    assert response.status_code == 303
    feed = await fetch.get(CalendarFeed, candidate.id)
    html = (await cand.get(response.headers["location"])).text
    address = f"{settings.get().base_url}/calendar/{feed.token}.ics"
    assert f'value="{address}" readonly' in html and f'href="{address}"' in html
    assert "Get my calendar link" not in html
    # Asking again keeps the same address.
    await post(cand, "/me/interviews", "/me/interviews/calendar")
    assert (await fetch.get(CalendarFeed, candidate.id)).token == feed.token


# Organisers -------------------------------------------------------------------------------------


async def test_the_organiser_sets_the_rules_and_sees_the_figures(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth, recruiter = await f.booth(session, edition_=edition)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    invitation, candidate = await invited(session, booth, recruiter)
    await interviews.book(
        session,
        by=candidate,
        invitation=invitation,
        slot=await session.get(InterviewSlot, slots[0].id),
        mode=InterviewMode.VIDEO,
    )
    _quiet_booth, _other = await f.booth(session, edition_=edition)
    await db.commit(session)
    org = await person(make_client, organiser)
    url = f"/organiser/editions/{edition.id}/interviews"

    assert f'href="{url}"' in (await org.get(f"/organiser/editions/{edition.id}")).text
    html = (await org.get(url)).text
    assert 'name="max_per_booth" type="number" value="1"' in html
    assert 'name="release_at" type="datetime-local" value=""' in html
    assert 'name="min_notice_minutes" type="number" value="120"' in html
    rows = re.findall(
        r'<tr data-booth-id="(\d+)"><th scope="row">[^<]*</th>((?:<td>\d+</td>)+)', html
    )
    figures = {int(b): re.findall(r"\d+", cells) for b, cells in rows}
    assert figures[booth.id] == ["4", "1", "0", "0", "0"]
    assert figures[_quiet_booth.id] == ["0", "0", "0", "0", "0"]

    form = {
        "max_per_booth": "0",
        "max_total": "3",
        "release_at": "2026-03-10T14:00",
        "cancel_cutoff_minutes": "60",
        "offer_minutes": "30",
        "min_notice_minutes": "45",
    }
    response = await post(org, url, url, **form)
    assert response.status_code == 422
    assert "Enter a number between 1 and 20." in response.text
    assert 'value="2026-03-10T14:00"' in response.text  # kept
    assert await fetch.get(InterviewRules, edition.id) is None
    response = await post(org, url, url, **{**form, "release_at": "tomorrow"})
    assert response.status_code == 422 and "Enter a date and time." in response.text

    response = await post(org, url, url, **{**form, "max_per_booth": "2"})
    assert response.status_code == 303 and response.headers["location"] == url
    rules = await fetch.get(InterviewRules, edition.id)
    assert (
        rules.max_per_booth,
        rules.max_total,
        rules.release_at,
        rules.cancel_cutoff_minutes,
        rules.offer_minutes,
        rules.min_notice_minutes,
    ) == (2, 3, datetime(2026, 3, 10, 13, 0, tzinfo=UTC), 60, 30, 45)
    html = (await org.get(response.headers["location"])).text
    assert "The booking rules were saved." in html and 'value="2026-03-10T14:00"' in html

    # Until the release, candidates see when booking opens instead of slots.
    _application = await shortlisted(session, booth, recruiter)
    await interviews.invite(session, by=recruiter, application=_application)
    waiting = await session.get(User, _application.candidate_id)
    await db.commit(session)
    page = text_of((await (await person(make_client, waiting)).get("/me/interviews")).text)
    assert "Booking opens on 3/10/26, 2:00 PM." in page and "Book this interview" not in page

    # An empty release date clears it.
    response = await post(org, url, url, **{**form, "max_per_booth": "2", "release_at": ""})
    assert response.status_code == 303
    assert (await fetch.get(InterviewRules, edition.id)).release_at is None


# Permissions ------------------------------------------------------------------------------------


async def test_only_the_booth_team_and_the_candidate_see_an_interview(
    session: AsyncSession, make_client
) -> None:  # type: ignore[no-untyped-def]
    edition, booth, recruiter = await live_booth(session)
    _other_booth, stranger = await f.booth(session, edition_=edition)
    colleague = await f.colleague(session, booth_=booth, owner=recruiter)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    invitation, candidate = await invited(session, booth, recruiter)
    booked = await interviews.book(
        session,
        by=candidate,
        invitation=invitation,
        slot=await session.get(InterviewSlot, slots[0].id),
        mode=InterviewMode.VIDEO,
    )
    other_candidate = await f.candidate(session)
    await db.commit(session)
    url = f"/interviews/{booked.id}"
    agenda = f"/recruiter/booths/{booth.id}/interviews"

    anonymous = make_client()
    response = await anonymous.get(url)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next={url}"
    assert (await anonymous.get("/me/interviews")).status_code == 303

    outsider = await person(make_client, stranger)
    assert (await outsider.get(agenda)).status_code == 403
    assert (await outsider.get(url)).status_code == 404
    token = await csrf(outsider, "/recruiter")
    for action, data in (
        (agenda, {"day": "2026-03-11", "start": "14:00", "end": "15:00"}),
        (f"/recruiter/interview-slots/{slots[1].id}/withdraw", {}),
        (f"{url}/cancel", {"reason": "Test"}),
        (f"/recruiter/applications/{invitation.application_id}/interview/invite", {}),
    ):
        response = await outsider.post(action, data={"csrf_token": token, **data})
        assert response.status_code in (403, 404), action
    response = await outsider.get(f"/recruiter/applications/{invitation.application_id}")
    assert response.status_code == 404

    someone = await person(make_client, other_candidate)
    assert (await someone.get(url)).status_code == 404
    assert (await someone.get(agenda)).status_code == 403
    token = await csrf(someone, "/me/interviews")
    response = await someone.post(
        f"/me/invitations/{invitation.id}/book",
        data={"csrf_token": token, "slot": str(slots[1].id), "mode": "video"},
    )
    assert response.status_code == 404
    response = await someone.post(f"{url}/cancel", data={"csrf_token": token, "reason": "x"})
    assert response.status_code == 404

    # A colleague sees it, but the room belongs to the recruiter holding it.
    mate = await person(make_client, colleague)
    html = (await mate.get(url)).text
    assert f"Interview with {candidate.name}" in text_of(html)
    assert f'href="{url}/room"' not in html
    assert f"{recruiter.name} holds this interview" in text_of(html)


async def test_the_recruiter_cancels_from_the_agenda(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    _edition, booth, recruiter = await live_booth(session)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    invitation, candidate = await invited(session, booth, recruiter)
    booked = await interviews.book(
        session,
        by=candidate,
        invitation=invitation,
        slot=await session.get(InterviewSlot, slots[0].id),
        mode=InterviewMode.VIDEO,
    )
    await db.commit(session)
    rec, cand = await person(make_client, recruiter), await person(make_client, candidate)
    agenda = f"/recruiter/booths/{booth.id}/interviews"
    cancel = f"/interviews/{booked.id}/cancel"

    html = (await rec.get(agenda)).text
    assert f'action="{cancel}"' in html and f'<label for="f-reason-{booked.id}">' in html
    assert f'href="/interviews/{booked.id}#move"' in html
    response = await post(rec, agenda, cancel, reason="")
    assert response.status_code == 422  # shown on the interview page, with its form
    assert 'aria-describedby="h-reason e-reason" aria-invalid="true"' in response.text
    response = await post(rec, agenda, cancel, reason="Le poste est pourvu")
    assert response.status_code == 303
    assert response.headers["location"] == f"{agenda}#agenda"
    page = text_of((await rec.get(response.headers["location"])).text)
    assert "The interview was cancelled: the candidate is told." in page
    assert "Booked by" not in page and page.count("Free") == 4
    assert (await fetch.get(Interview, booked.id)).cancelled_by_id == recruiter.id
    page = text_of((await cand.get("/me/interviews")).text)
    assert "Cancelled" in page and "Reason: Le poste est pourvu" in page


async def test_the_status_form_proposes_an_interview_through_an_invitation(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    """'Interview proposed' chosen in the status list is a real invitation, never a bare status
    whose mail tells the candidate to choose a time with nothing to choose."""
    _edition, booth, recruiter = await live_booth(session)
    await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    application = await shortlisted(session, booth, recruiter)
    candidate = await session.get(User, application.candidate_id)
    await db.commit(session)
    rec, cand = await person(make_client, recruiter), await person(make_client, candidate)
    app_url = f"/recruiter/applications/{application.id}"

    response = await post(rec, app_url, f"{app_url}/status", status="interview_proposed")

    assert response.status_code == 303
    assert response.headers["location"] == f"{app_url}#interview"
    assert (await fetch.get(Application, application.id)).status == "interview_proposed"
    [invitation] = await fetch.scalars(select(InterviewInvitation))
    assert invitation.application_id == application.id
    assert "Wednesday, March 11, 2026" in text_of((await cand.get("/me/interviews")).text)
