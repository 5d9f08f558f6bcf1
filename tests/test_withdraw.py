"""Withdrawing an application asks first, says it was done, and the offer page then says so,
with a way to apply again while applications are open (item 14)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import applications, clock, db, interviews
from fair.enums import ApplicationStatus, InterviewMode
from fair.errors import FairError
from fair.models import (
    Application,
    ApplicationEvent,
    Interview,
    InterviewInvitation,
    OutboxMail,
)
from tests import factories as f
from tests.conftest import csrf, login
from tests.factories import NOON
from tests.pages import text_of


async def test_withdraw_asks_says_and_the_offer_lets_apply_again(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth, title="Soudeur (H/F)")
    candidate = await f.candidate(session)
    application = await f.application(session, offer_=offer, candidate_=candidate)
    await db.commit(session)
    client = make_client()
    client.cookies.set("lang", "en")
    await login(client, candidate.email, f.PASSWORD)

    # The list links to a confirmation page: nothing is withdrawn by one click.
    listing = (await client.get("/me/applications")).text
    ask = f"/me/applications/{application.id}/withdraw"
    assert f'href="{ask}"' in listing and f'action="{ask}"' not in listing
    page = await client.get(ask)
    assert page.status_code == 200
    assert (
        "Do you want to withdraw your application to “Soudeur (H/F)”? The employer will see "
        "that you withdrew it."
    ) in text_of(page.text)
    assert "An interview proposed or booked for it is cancelled" in text_of(page.text)
    assert (await fetch.get(Application, application.id)).status == ApplicationStatus.SUBMITTED

    response = await client.post(ask, data={"csrf_token": await csrf(client, ask)})
    assert (response.status_code, response.headers["location"]) == (303, "/me/applications")
    listing = text_of((await client.get("/me/applications")).text)
    assert "Your application to “Soudeur (H/F)” was withdrawn." in listing
    assert "Status: Withdrawn" in listing

    # The offer page says so and offers to apply again.
    page = text_of((await client.get(f"/offers/{offer.id}")).text)
    assert "You withdrew your application to this offer on" in page
    assert "You can apply again while applications are open." in page
    assert "You have applied to this offer." not in page and "Apply again" in page
    token = await csrf(client, f"/offers/{offer.id}")
    response = await client.post(
        f"/offers/{offer.id}/apply", data={"csrf_token": token, "message": "Toujours motivé"}
    )
    assert response.status_code == 303
    again = await fetch.get(Application, application.id)
    assert (again.status, again.message) == (ApplicationStatus.SUBMITTED, "Toujours motivé")
    assert len(await fetch.scalars(select(Application))) == 1  # the same application
    history = await fetch.scalars(
        select(ApplicationEvent).where(ApplicationEvent.application_id == application.id)
    )
    assert [(e.from_status, e.to_status, e.by_user_id) for e in history] == [
        ("submitted", "withdrawn", candidate.id),
        ("withdrawn", "submitted", candidate.id),
    ]
    page = text_of((await client.get(f"/offers/{offer.id}")).text)
    assert "You have applied to this offer." in page and "You withdrew" not in page


async def test_no_applying_again_once_the_window_closed(session: AsyncSession) -> None:
    clock.set_now(NOON)
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    candidate = await f.candidate(session)
    application = await f.application(session, offer_=offer, candidate_=candidate)
    await applications.set_status(session, application, ApplicationStatus.WITHDRAWN, by=candidate)
    # A recruiter cannot bring it back, nor can another candidate.
    with pytest.raises(FairError) as refused:
        await applications.set_status(
            session, application, ApplicationStatus.SUBMITTED, by=recruiter
        )
    assert refused.value.code == "fair.forbidden"
    clock.set_now(edition.applications_close_at + timedelta(minutes=1))
    with pytest.raises(FairError) as closed:
        await applications.apply(session, candidate=candidate, offer=offer, message="")
    assert closed.value.code == "application.window_closed"
    assert application.status == ApplicationStatus.WITHDRAWN


async def test_withdrawing_ends_the_interview_proposal_and_its_booking(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    """A withdrawn application leaves no open invitation nor booked interview behind (both
    are told), so applying again starts afresh."""
    clock.set_now(NOON)
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    candidate = await f.candidate(session)
    application = await f.application(session, offer_=offer, candidate_=candidate)
    await applications.set_status(session, application, ApplicationStatus.SHORTLISTED, by=recruiter)
    invitation = await interviews.invite(session, by=recruiter, application=application)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=f.availability(recruiter)
    )
    booked = await interviews.book(
        session, by=candidate, invitation=invitation, slot=slots[0], mode=InterviewMode.PHONE
    )
    await db.commit(session)
    client = make_client()
    client.cookies.set("lang", "en")
    await login(client, candidate.email, f.PASSWORD)
    ask = f"/me/applications/{application.id}/withdraw"
    response = await client.post(ask, data={"csrf_token": await csrf(client, ask)})
    assert response.status_code == 303

    interview = await fetch.get(Interview, booked.id)
    assert (interview.status, interview.active_key) == ("cancelled", None)
    assert interview.cancel_reason == "Le candidat a retiré sa candidature."  # recruiter: fr
    closed = await fetch.get(InterviewInvitation, invitation.id)
    assert (closed.status, closed.active_key) == ("closed", None)
    assert (await fetch.get(Application, application.id)).status == ApplicationStatus.WITHDRAWN
    subjects = await fetch.scalars(
        select(OutboxMail.subject).where(OutboxMail.to_addr == recruiter.email)
    )
    assert sum(s.startswith("Entretien annulé") for s in subjects) == 1
