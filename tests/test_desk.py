"""The live booth desk without JavaScript (fair.web.desk): forms that post and come back.

A candidate joins a booth's queue from its public page, a recruiter calls them from the desk,
they talk, the recruiter ends with a next step; every page shows the state from the database.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db
from fair.enums import ApplicationStatus, QueueStatus
from fair.models import Application, ConversationMessage, QueueEntry
from tests import factories as f
from tests.conftest import csrf, login
from tests.factories import NOON


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


def text_of(html: str) -> str:
    """The page's visible text, tags removed, spaces collapsed (to read sentences)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_queue_call_talk_and_end_without_javascript(
    session: AsyncSession, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    first, second = await f.candidate(session), await f.candidate(session)
    application = await f.application(session, offer_=offer, candidate_=first)
    await db.commit(session)
    booth_url = f"/e/{edition.slug}/booths/{booth.id}"
    desk_url = f"/recruiter/booths/{booth.id}/desk"

    people = {}
    for user in (first, second, recruiter):
        client = make_client()
        client.cookies.set("lang", "en")
        await login(client, user.email, f.PASSWORD)
        people[user.id] = client
    one, two, rec = people[first.id], people[second.id], people[recruiter.id]

    page = text_of((await one.get(booth_url)).text)
    assert "Talk to a recruiter now" in page and "Nobody is at the booth right now" in page
    for client in (one, two):
        token = await csrf(client, booth_url)
        response = await client.post(f"/booths/{booth.id}/queue/join", data={"csrf_token": token})
        assert response.status_code == 303 and response.headers["location"] == f"{booth_url}#desk"
    page = text_of((await two.get(booth_url)).text)
    assert "Your place in line 2" in page and "about 5 min" not in page  # nobody staffs it
    assert "No recruiter is at the booth right now: the wait starts when one arrives." in page

    # The recruiter's desk: counts, then the call.
    page = text_of((await rec.get(desk_url)).text)
    assert "Waiting 2" in page
    # What to do now comes first: the next in line and the one button to call them.
    assert (
        f"What to do now Next in line: {first.name}, waiting since 12:00 PM. "
        "Call the next candidate"
    ) in page
    assert f"In the queue {first.name} since 12:00 PM {second.name} since 12:00 PM" in page
    token = await csrf(rec, desk_url)
    response = await rec.post(f"/recruiter/booths/{booth.id}/desk/next", data={"csrf_token": token})
    assert response.status_code == 303
    page = text_of((await rec.get(desk_url)).text)
    assert f"What to do now Calling {first.name}" in page
    assert "Call the next candidate" not in page
    assert "Your place in line 1" in text_of((await two.get(booth_url)).text)

    # The first candidate answers; both write.
    entry = await fetch.scalar(select(QueueEntry).where(QueueEntry.candidate_id == first.id))
    page = text_of((await one.get(booth_url)).text)
    assert "A recruiter is calling you! Answer before 12:01" in page  # called at noon, Paris
    token = await csrf(one, booth_url)
    response = await one.post(f"/queue/{entry.id}/answer", data={"csrf_token": token})
    assert response.status_code == 303
    page = (await one.get(booth_url)).text
    match = re.search(r'action="/conversations/(\d+)/messages"', page)
    assert match is not None
    conversation_id = int(match.group(1))
    token = await csrf(one, booth_url)
    response = await one.post(
        f"/conversations/{conversation_id}/messages",
        data={"csrf_token": token, "body": "<b>Bonjour</b>, je suis électricien."},
    )
    assert response.status_code == 303 and response.headers["location"] == f"{booth_url}#desk"
    page = (await rec.get(desk_url)).text
    assert "&lt;b&gt;Bonjour&lt;/b&gt;, je suis électricien." in page
    assert "<b>Bonjour</b>" not in page
    assert offer.title in page  # the recruiter sees the candidate's application to their offer
    token = await csrf(rec, desk_url)
    response = await rec.post(
        f"/conversations/{conversation_id}/messages",
        data={"csrf_token": token, "body": "Merci, parlons de votre expérience."},
    )
    assert response.headers["location"] == f"{desk_url}#desk"
    # Someone outside the conversation cannot write in it, nor read it.
    token = await csrf(two, booth_url)
    response = await two.post(
        f"/conversations/{conversation_id}/messages", data={"csrf_token": token, "body": "Hi"}
    )
    assert response.status_code == 404  # someone else's conversation reads as a missing one
    assert "parlons de votre" not in (await two.get(booth_url)).text
    assert len(await fetch.scalars(select(ConversationMessage))) == 2

    # An empty message is refused with a clear error, nothing stored.
    token = await csrf(one, booth_url)
    response = await one.post(
        f"/conversations/{conversation_id}/messages", data={"csrf_token": token, "body": "  "}
    )
    assert response.status_code == 422 and "2,000 characters at most" in response.text

    # The recruiter ends it with an interview proposal: it reaches the pipeline.
    token = await csrf(rec, desk_url)
    response = await rec.post(
        f"/conversations/{conversation_id}/end",
        data={"csrf_token": token, "next_step": "bogus"},
    )
    assert response.status_code == 422
    response = await rec.post(
        f"/conversations/{conversation_id}/end",
        data={"csrf_token": token, "next_step": "interview_proposed"},
    )
    assert response.status_code == 303
    moved = await fetch.get(Application, application.id)
    assert moved.status == ApplicationStatus.INTERVIEW_PROPOSED
    assert (await fetch.get(QueueEntry, entry.id)).status == QueueStatus.DONE
    page = text_of((await one.get(booth_url)).text)
    assert "has ended" in page and "proposes an interview" in page and "Join the queue" in page
    assert "Call the next candidate" in text_of((await rec.get(desk_url)).text)


async def test_desk_permissions_and_closed_hours(session: AsyncSession, make_client) -> None:  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    _other_booth, stranger = await f.booth(session, edition_=edition)
    candidate = await f.candidate(session)
    await db.commit(session)
    booth_url = f"/e/{edition.slug}/booths/{booth.id}"

    anonymous = make_client()
    page = text_of((await anonymous.get(booth_url)).text)
    assert "Connectez-vous pour parler à un recruteur" in page
    response = await anonymous.get(f"/recruiter/booths/{booth.id}/desk")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")

    outsider = make_client()
    await login(outsider, stranger.email, f.PASSWORD)
    assert (await outsider.get(f"/recruiter/booths/{booth.id}/desk")).status_code == 403
    token = await csrf(outsider, booth_url)
    response = await outsider.post(
        f"/recruiter/booths/{booth.id}/desk/next", data={"csrf_token": token}
    )
    assert response.status_code == 403
    # A recruiter cannot queue as a candidate.
    response = await outsider.post(f"/booths/{booth.id}/queue/join", data={"csrf_token": token})
    assert response.status_code == 403

    # Nobody waiting: the desk says so.
    own = make_client()
    own.cookies.set("lang", "en")
    await login(own, recruiter.email, f.PASSWORD)
    token = await csrf(own, f"/recruiter/booths/{booth.id}/desk")
    response = await own.post(f"/recruiter/booths/{booth.id}/desk/next", data={"csrf_token": token})
    assert response.headers["location"].endswith("?nobody=1#desk")
    page = text_of((await own.get(response.headers["location"])).text)
    assert "Nobody is waiting right now." in page

    # After the live days the desk is closed and joining is refused with a clear message.
    clock.set_now(NOON + timedelta(days=10))
    person = make_client()
    person.cookies.set("lang", "en")
    await login(person, candidate.email, f.PASSWORD)
    assert "Talk to a recruiter now" not in (await person.get(booth_url)).text
    token = await csrf(person, "/login")
    response = await person.post(f"/booths/{booth.id}/queue/join", data={"csrf_token": token})
    assert response.status_code == 409
    assert "live hours only" in response.text


async def test_booth_link_goes_to_the_public_desk(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    await db.commit(session)
    response = await client.get(f"/booths/{booth.id}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/e/{edition.slug}/booths/{booth.id}#desk"
    assert (await client.get("/booths/999999")).status_code == 404
