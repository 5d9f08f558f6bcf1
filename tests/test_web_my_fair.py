"""The candidate's "My fair" page (fair.my_fair, fair.web.my_fair): today's interviews with
their room, queue places, talks starting today, applications that moved; only their own, in a
fixed number of statements."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from fair import applications, clock, conversations, db, employers, queues, webconferences
from fair.enums import ApplicationStatus, Role
from tests import factories as f
from tests.factories import NOON
from tests.pages import person, text
from tests.statements import cold


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


def panel(page: str) -> str:
    [found] = re.findall(r'<div id="my-fair".*?</div>\s*</div>', page, re.S) or [
        re.findall(r'<div id="my-fair".*', page, re.S)[0]
    ]
    return text(found.split("</main>")[0])


async def _fair(session):  # type: ignore[no-untyped-def]
    """A live edition, two booths (Atelier Nord, Boulangerie Sud), a candidate with a day."""
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    north_recruiter = await f.user(session, Role.RECRUITER)
    north, _ = await f.booth(session, edition_=edition, recruiter=north_recruiter)
    south, south_recruiter = await f.booth(session, edition_=edition)
    for booth, name in ((north, "Atelier Nord"), (south, "Boulangerie Sud")):
        (await employers.get(session, booth.employer_id)).name = name
    candidate = await f.candidate(session, name="Inès Durand")
    return organiser, edition, north, north_recruiter, south, south_recruiter, candidate


async def test_the_candidates_day_on_one_page(session, make_client):  # type: ignore[no-untyped-def]
    organiser, edition, north, north_rec, south, south_rec, candidate = await _fair(session)
    # Interviews: one whose room is open now (12:05), one this afternoon, one tomorrow (not shown).
    await f.interview(session, booth_=north, recruiter=north_rec, candidate_=candidate)
    await f.interview(
        session,
        booth_=south,
        recruiter=south_rec,
        candidate_=candidate,
        starts_at=NOON + timedelta(hours=3),
        mode="phone",
    )
    await f.interview(
        session,
        booth_=south,
        recruiter=south_rec,
        candidate_=candidate,
        starts_at=NOON + timedelta(days=1),
    )
    # Queues: second in line at the south booth, called at the north booth.
    ahead = await f.candidate(session, can_log_in=False)
    await queues.join(session, candidate=ahead, booth=south)
    await queues.join(session, candidate=candidate, booth=south)
    # A talk at 12:20 (starting soon) and one tomorrow (not shown).
    soon = f.talk([organiser], starts_at=NOON + timedelta(minutes=20))
    soon.ends_at = NOON + timedelta(minutes=80)
    soon.title = "Réussir son entretien"
    talk = await webconferences.schedule(session, by=organiser, edition=edition, data=soon)
    await webconferences.register(session, candidate=candidate, webconference=talk)
    later = await webconferences.schedule(
        session, by=organiser, edition=edition, data=f.talk([organiser], title="Demain")
    )
    await webconferences.register(session, candidate=candidate, webconference=later)
    # An application that moved an hour ago, one that did not.
    offer = await f.offer(session, booth_=north, title="Électricien (H/F)")
    clock.set_now(NOON - timedelta(hours=2))
    moved = await applications.apply(session, candidate=candidate, offer=offer, message="")
    clock.set_now(NOON - timedelta(hours=1))
    await applications.set_status(session, moved, ApplicationStatus.SHORTLISTED, by=north_rec)
    clock.set_now(NOON)
    still = await f.offer(session, booth_=south, title="Boulanger (H/F)")
    await applications.apply(session, candidate=candidate, offer=still, message="")
    await db.commit(session)
    mine = await person(make_client, candidate)

    page = await mine.get(f"/e/{edition.slug}/my-fair")

    assert page.status_code == 200
    [north_interview, south_interview] = re.findall(r'data-interview-id="(\d+)"', page.text)
    assert f'<a class="button" href="/interviews/{north_interview}/room">' in page.text
    assert panel(page.text) == (
        "Rencontres pour l'emploi · The fair is live now. "
        "Today's interviews "
        "Atelier Nord 12:05 PM – 12:20 PM · Video Join the interview — Atelier Nord "
        "Boulangerie Sud 3:00 PM – 3:15 PM · Phone The room opens at 2:50 PM, 10 minutes before "
        "the start. See the interview — Boulangerie Sud "
        "My places in the queues "
        "Boulangerie Sud You are number 2 in line. Estimated wait: about 5 min "
        "My talks today "
        "Réussir son entretien 12:20 PM – 1:20 PM · Starting soon "
        "Applications that moved "
        "Électricien (H/F) Atelier Nord · Status: Shortlisted · Mar 10, 2026, 11:00 AM "
        "All my applications"
    )
    assert 'data-at="' in page.text  # the afternoon room's opening, for static/my_fair.js


async def test_only_the_candidate_sees_their_fair(session, make_client, client):  # type: ignore[no-untyped-def]
    _organiser, edition, north, north_rec, _south, _south_rec, candidate = await _fair(session)
    await f.interview(session, booth_=north, recruiter=north_rec, candidate_=candidate)
    await queues.join(session, candidate=candidate, booth=north)
    other = await f.candidate(session)
    await db.commit(session)
    url = f"/e/{edition.slug}/my-fair"

    theirs = await (await person(make_client, other)).get(url)
    assert theirs.status_code == 200
    assert "Atelier Nord" not in theirs.text
    assert panel(theirs.text) == (
        "Rencontres pour l'emploi · The fair is live now. "
        "Today's interviews No interview today. All my interviews "
        "My places in the queues You are in no queue. Visit the booths "
        "My talks today No talk you registered for is left today. See the programme "
        "Applications that moved None of your applications changed in the last 7 days. "
        "All my applications"
    )
    recruiter = await (await person(make_client, north_rec)).get(url)
    assert recruiter.status_code == 403
    anonymous = await client.get(url)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")


async def test_the_menu_link_opens_the_live_edition(session, make_client):  # type: ignore[no-untyped-def]
    _organiser, edition, north, _rec, _south, _south_rec, candidate = await _fair(session)
    nobody = await f.candidate(session)
    await queues.join(session, candidate=candidate, booth=north)  # registers to the edition
    await db.commit(session)

    page = await (await person(make_client, candidate)).get("/me/fair")
    assert (page.status_code, page.headers["location"]) == (303, f"/e/{edition.slug}/my-fair")
    empty = await (await person(make_client, nobody)).get("/me/fair")
    assert empty.status_code == 200
    assert "You do not take part in a fair yet." in empty.text


async def test_the_page_reads_a_fixed_number_of_statements(app, session, make_client):  # type: ignore[no-untyped-def]
    _organiser, edition, north, north_rec, south, south_rec, candidate = await _fair(session)
    await f.interview(session, booth_=north, recruiter=north_rec, candidate_=candidate)
    await queues.join(session, candidate=candidate, booth=north)
    await db.commit(session)
    mine = await person(make_client, candidate)
    url = f"/e/{edition.slug}/my-fair"
    with cold(app) as few:
        await mine.get(url)
    # More of everything: interviews, queues (one called), conversations behind estimates.
    for hours in (2, 3, 4):
        await f.interview(
            session,
            booth_=south,
            recruiter=south_rec,
            candidate_=candidate,
            starts_at=NOON + timedelta(hours=hours),
        )
    for _n in range(3):
        extra, _ = await f.booth(session, edition_=edition)
        await queues.join(
            session, candidate=await f.candidate(session, can_log_in=False), booth=extra
        )
        await queues.join(session, candidate=candidate, booth=extra)
    await queues.join(session, candidate=candidate, booth=south)
    entry = await queues.take_next(session, recruiter=south_rec, booth=south)
    assert entry is not None and entry.candidate_id == candidate.id
    await conversations.answer(session, candidate=candidate, entry=entry)
    await db.commit(session)
    with cold(app) as many:
        page = await mine.get(url)
    assert page.text.count("data-interview-id") == 4
    assert page.text.count("data-queue-booth") == 5
    assert len(many) == len(few), many
