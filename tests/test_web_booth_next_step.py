"""The booth page's call to action (fair.booth_actions) in each state, and the recruiters on duty
with or without the photo they gave (fair.recruiter_profiles), read as a visitor reads them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, employers, interviews, presence, queues, recruiter_profiles
from fair.enums import NextStep, Role
from fair.models import Booth, Edition, User
from tests import factories as f
from tests.booth_queue import talk
from tests.factories import NOON, availability
from tests.pages import person, text


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


def next_step(page: str) -> str:
    """The visible text of the call-to-action section."""
    [section] = re.findall(r'<section id="next-step".*?</section>', page, re.S)
    return text(section)


def on_duty(page: str) -> str:
    [section] = re.findall(r'<section id="on-duty".*?</section>', page, re.S)
    return section


def path(edition: Edition, booth: Booth) -> str:
    return f"/e/{edition.slug}/booths/{booth.id}"


async def _english(make_client):  # type: ignore[no-untyped-def]
    client = make_client()
    client.cookies.set("lang", "en")
    return client


async def _join(session: AsyncSession, booth: Booth, n: int) -> list[User]:
    found = []
    for _ in range(n):
        candidate = await f.candidate(session, can_log_in=False)
        await queues.join(session, candidate=candidate, booth=booth)
        found.append(candidate)
    return found


# The queue ---------------------------------------------------------------------------------------


async def test_an_unstaffed_booth_during_live_hours_gives_no_estimate(session, make_client):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    await _join(session, booth, 1)
    await db.commit(session)
    visitor = await _english(make_client)

    page = (await visitor.get(path(edition, booth))).text

    assert next_step(page) == (
        "What happens next Join the queue: a recruiter calls you on this page and you talk by "
        "text. No camera needed. 1 person is waiting. No recruiter is at the booth right now: "
        "no estimate, the wait starts when one arrives. Log in to join the queue"
    )
    assert text(on_duty(page)) == "Recruiters on duty now Nobody is at the booth right now."


async def test_a_staffed_booth_says_the_wait_and_what_it_rests_on(session, make_client):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    await _join(session, booth, 3)
    for seconds in (240, 360, 300):  # median 300 s
        await talk(session, booth, recruiter, seconds, NextStep.NONE)
    await presence.staff(session, recruiter=recruiter, booth=booth, connection_id="socket-1")
    first, second = await _join(session, booth, 2)
    candidate = await f.candidate(session)
    await db.commit(session)
    visitor = await _english(make_client)

    page = (await visitor.get(path(edition, booth))).text

    assert next_step(page) == (
        "What happens next Join the queue: a recruiter calls you on this page and you talk by "
        "text. No camera needed. 2 people are waiting. Estimated wait: about 10 min — from the "
        "median length of the last 3 conversations at this booth. Log in to join the queue"
    )
    # The candidate who waits second: their place, one person ahead (5 minutes).
    await queues.join(session, candidate=candidate, booth=booth)
    await queues.leave(session, candidate=first, booth=booth)
    await db.commit(session)
    mine = await person(make_client, candidate)
    assert next_step((await mine.get(path(edition, booth))).text) == (
        "What happens next You are number 2 in line. A recruiter will call you on this page; "
        "you then talk by text. Estimated wait: about 5 min — from the median length of the "
        "last 3 conversations at this booth. Go to the queue"
    )
    assert second.id != candidate.id


async def test_no_conversation_yet_the_estimate_says_its_assumption(session, make_client):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    await presence.staff(session, recruiter=recruiter, booth=booth, connection_id="socket-1")
    candidate = await f.candidate(session)
    await db.commit(session)
    mine = await person(make_client, candidate)

    page = (await mine.get(path(edition, booth))).text

    assert next_step(page) == (
        "What happens next Join the queue: a recruiter calls you on this page and you talk by "
        "text. No camera needed. 0 people are waiting. Estimated wait: you are next — no "
        "conversation here yet: we count 5 minutes each. Go to the queue"
    )
    assert 'data-command="queue.join"' in page  # the desk's button, the only one


# Booking, applying, nothing possible -------------------------------------------------------------


async def test_an_invited_candidate_is_asked_to_book(session, make_client):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    await interviews.publish_availability(
        session, by=recruiter, booth=booth, data=availability(recruiter)
    )
    _invitation, candidate = await f.invited(session, booth, recruiter)
    await db.commit(session)
    mine = await person(make_client, candidate)

    page = (await mine.get(path(edition, booth))).text

    name = (await employers.get(session, booth.employer_id)).name
    assert next_step(page) == (
        f"What happens next {name} invites you to an interview: 4 slots are free, the first on "
        "Mar 11, 2026, 9:00 AM. Book my interview"
    )
    assert '<a class="button" href="/me/interviews">' in page


async def test_outside_live_hours_with_offers_the_visitor_applies(session, make_client):  # type: ignore[no-untyped-def]
    edition = await f.edition(
        session,
        live_first_day=(NOON + timedelta(days=2)).date(),
        live_last_day=(NOON + timedelta(days=3)).date(),
    )
    booth, _ = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    await db.commit(session)
    visitor = await _english(make_client)

    page = (await visitor.get(path(edition, booth))).text

    assert next_step(page) == (
        "What happens next Applications are open until Mar 17, 2026, 12:00 PM: apply to its offer, "
        "the recruiters answer in your applications page. See the offer and apply"
    )
    assert f'<a class="button" href="/offers/{offer.id}">' in page
    assert 'id="on-duty"' not in page  # nobody on duty outside live hours

    await f.offer(session, booth_=booth)
    await db.commit(session)
    page = (await visitor.get(path(edition, booth))).text
    assert next_step(page) == (
        "What happens next Applications are open until Mar 17, 2026, 12:00 PM: apply to one of its "
        "2 offers, the recruiters answer in your applications page. See the offers and apply"
    )


async def test_nothing_possible_says_why_and_when(session, make_client):  # type: ignore[no-untyped-def]
    # Applications closed, the live days still to come: the next opening.
    edition = await f.edition(
        session,
        applications_open_at=NOON - timedelta(days=7),
        applications_close_at=NOON - timedelta(days=1),
        response_deadline=NOON + timedelta(days=10),
        live_first_day=(NOON + timedelta(days=2)).date(),
        live_last_day=(NOON + timedelta(days=3)).date(),
    )
    booth, _ = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth)
    await db.commit(session)
    visitor = await _english(make_client)

    page = (await visitor.get(path(edition, booth))).text
    assert next_step(page) == (
        "What happens next Nothing to do at this booth right now: its recruiters are here "
        "during the fair's live hours, next from Mar 12, 2026, 12:00 AM."
    )

    clock.set_now(NOON + timedelta(days=5))  # past the last live day and the applications
    page = (await visitor.get(path(edition, booth))).text
    assert next_step(page) == (
        "What happens next This fair is over: nothing more can be done at this booth."
    )


# Recruiters on duty ----------------------------------------------------------------------------


async def test_recruiters_on_duty_with_the_photo_they_gave_and_without(
    session, make_client, client
):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    owner = await f.user(session, Role.RECRUITER, name="Zoé Martin")
    booth, _ = await f.booth(session, edition_=edition, recruiter=owner)
    colleague = await f.colleague(session, booth_=booth, owner=owner)
    colleague.name = "Alain Petit"
    saved = await recruiter_profiles.update(
        session,
        owner,
        job_title="Chargée de recrutement",
        photo=recruiter_profiles.Photo("moi.png", f.png_bytes(), agreed=True),
    )
    await presence.staff(session, recruiter=owner, booth=booth, connection_id="a")
    await presence.staff(session, recruiter=colleague, booth=booth, connection_id="b")
    await db.commit(session)
    visitor = await _english(make_client)

    page = (await visitor.get(path(edition, booth))).text

    photo = saved.photo_file_id
    items = [" ".join(li.split()) for li in re.findall(r"<li>.*?</li>", on_duty(page), re.S)]
    assert items == [
        '<li> <span class="avatar initials" aria-hidden="true">A</span> <span><span '
        'class="on-duty-name">Alain Petit</span></span> </li>',
        f'<li> <img class="avatar" src="/files/images/{photo}/64" '
        f'srcset="/files/images/{photo}/128 2x" alt="" width="56" height="56" '
        'loading="lazy"> <span><span class="on-duty-name">Zoé Martin</span><br><span '
        'class="meta">Chargée de recrutement</span></span> </li>',
    ]
    # Resized: a 64 px WebP for browsers that take it, the PNG fallback for the others.
    webp = await client.get(f"/files/images/{photo}/64", headers={"accept": "image/webp"})
    assert (webp.status_code, webp.headers["content-type"]) == (200, "image/webp")
    png = await client.get(f"/files/images/{photo}/128", headers={"accept": "image/png"})
    assert (png.status_code, png.headers["content-type"]) == (200, "image/png")

    # Removed: no longer shown, no longer served.
    await recruiter_profiles.update(
        session, owner, job_title="Chargée de recrutement", remove_photo=True
    )
    await db.commit(session)
    page = (await visitor.get(path(edition, booth))).text
    assert "/files/images/" not in page
    assert (await client.get(f"/files/images/{photo}/64")).status_code == 404
