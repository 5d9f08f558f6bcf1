"""Booth conversations that do not mislead: the next step never moves an application backwards
and has a neutral default (item 13); the queue's estimate only while someone staffs the booth,
kept current live (item 20)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import applications, clock, conversations, db, interviews, presence, queues
from fair.enums import ApplicationStatus, InterviewMode, NextStep
from fair.models import Application, ApplicationEvent, Booth, InterviewInvitation, Notice, User
from tests import factories as f
from tests.conftest import login
from tests.factories import NOON


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


async def conversation_with(session: AsyncSession, booth: Booth, recruiter: User, person: User):  # type: ignore[no-untyped-def]
    await queues.join(session, candidate=person, booth=booth)
    entry = await queues.take_next(session, recruiter=recruiter, booth=booth)
    assert entry is not None
    return await conversations.answer(session, candidate=person, entry=entry)


async def test_ending_a_conversation_never_moves_an_application_backwards(
    session: AsyncSession,
) -> None:
    """Item 13: an application with a booked interview stays 'interview scheduled' (no notice,
    the booking stays); a submitted one gets a real invitation it can book."""
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    person = await f.candidate(session)
    booked_offer = await f.offer(session, booth_=booth, title="Électricien (H/F)")
    new_offer = await f.offer(session, booth_=booth, title="Plombier (H/F)")
    booked = await f.application(session, offer_=booked_offer, candidate_=person)
    fresh = await f.application(session, offer_=new_offer, candidate_=person)
    await applications.set_status(session, booked, ApplicationStatus.SHORTLISTED, by=recruiter)
    invitation = await interviews.invite(session, by=recruiter, application=booked)
    slots = await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=f.availability(recruiter)
    )
    interview = await interviews.book(
        session, by=person, invitation=invitation, slot=slots[0], mode=InterviewMode.PHONE
    )
    await db.commit(session)
    notices_before = len(list(await session.scalars(select(Notice.id))))
    events_before = len(list(await session.scalars(select(ApplicationEvent.id))))

    conversation = await conversation_with(session, booth, recruiter, person)
    await conversations.end(
        session,
        recruiter=recruiter,
        conversation=conversation,
        next_step=NextStep.INTERVIEW_PROPOSED,
    )
    assert (booked.status, interview.status) == (ApplicationStatus.INTERVIEW_SCHEDULED, "booked")
    moves = await session.execute(
        select(ApplicationEvent.application_id, ApplicationEvent.to_status)
        .where(ApplicationEvent.id > events_before)
        .order_by(ApplicationEvent.id)
    )
    assert moves.all() == [(fresh.id, "shortlisted"), (fresh.id, "interview_proposed")]
    invitations = await session.scalars(
        select(InterviewInvitation.application_id).where(InterviewInvitation.active_key == 1)
    )
    assert sorted(invitations) == sorted([booked.id, fresh.id])  # the fresh one can be booked
    told = await session.scalars(
        select(Notice.params).where(Notice.id > notices_before).order_by(Notice.id)
    )
    assert [p["status"] for p in told if "status" in p] == ["shortlisted", "interview_proposed"]


async def test_the_next_step_defaults_to_no_change(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    """Item 13: the desk's next step is 'No next step' until the recruiter picks another; the
    form sent as shown changes no application."""
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    person = await f.candidate(session)
    application = await f.application(
        session, offer_=await f.offer(session, booth_=booth, title="Peintre"), candidate_=person
    )
    conversation = await conversation_with(session, booth, recruiter, person)
    await db.commit(session)
    client = make_client()
    client.cookies.set("lang", "en")
    await login(client, recruiter.email, f.PASSWORD)
    html = (await client.get(f"/recruiter/booths/{booth.id}/desk")).text
    select_html = html.split('name="next_step"')[1].split("</select>")[0]
    options = re.findall(r'<option value="(\w+)"( selected)?>', select_html)
    assert options[0] == ("none", " selected")
    assert [value for value, chosen in options if chosen] == ["none"]
    form = html.split(f'action="/conversations/{conversation.id}/end"')[1].split("</form>")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    response = await client.post(
        f"/conversations/{conversation.id}/end",
        data={"csrf_token": token, "next_step": options[0][0]},
    )
    assert response.status_code == 303
    assert (await fetch.get(Application, application.id)).status == ApplicationStatus.SUBMITTED


async def test_no_estimate_while_nobody_staffs_the_booth(
    session: AsyncSession, make_client
) -> None:  # type: ignore[no-untyped-def]
    """Item 20: waiting at an unstaffed booth says so instead of a wait estimate; once a
    recruiter staffs it, the estimate is back (the panel live.js re-reads on booth.staffing)."""
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    person = await f.candidate(session)
    await queues.join(session, candidate=person, booth=booth)
    await db.commit(session)
    client = make_client()
    client.cookies.set("lang", "en")
    await login(client, person.email, f.PASSWORD)
    booth_url = f"/e/{edition.slug}/booths/{booth.id}"

    def panel(html: str) -> str:
        return html.split('id="desk-panel"')[1].split("</section>")[0]

    page = panel((await client.get(booth_url)).text)
    assert "data-estimate" not in page and "about 1 min" not in page
    assert (
        "Your place in line 1 Estimated wait No recruiter is at the booth right now: the wait "
        "starts when one arrives."
    ) in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    await presence.staff(session, recruiter=recruiter, booth=booth, connection_id="desk-1")
    await db.commit(session)
    page = panel((await client.get(booth_url)).text)
    assert "No recruiter is at the booth right now" not in page
    assert re.search(r"<dd data-estimate [^>]*>about 1 min</dd>", page)
