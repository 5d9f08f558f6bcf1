"""The CV pool's pages (fair/web/pool.py): a candidate opens their profile, a recruiter finds it
pseudonymously, asks for contact, and sees the name and the CV once the candidate accepts;
every opening is in the candidate's log; withdrawing hides everything at once."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import select

from fair import clock, cv_pool, db, employers, pool_mail, settings
from fair.enums import AccessKind, BoothStatus, PoolLevel, Role, StructureKind
from fair.models import CvText, Employer, OutboxMail, PersonalDataAccess, PoolConsent
from tests import factories as f
from tests.conftest import csrf
from tests.pages import person, post, text
from tests.pool_setup import agency, pool_candidate, recruiter_at


async def test_pool_journey(session, make_client, fetch) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    recruiter = await recruiter_at(session, edition, can_log_in=True)
    other = await f.user(session, Role.RECRUITER)  # no booth
    lines = ("Jeanne Dupré", "jeanne@example.fr", "Cariste CACES 3, préparatrice de commandes")
    jeanne = await pool_candidate(
        session,
        lines=lines,
        name="Jeanne Dupré",
        jobs="Cariste",
        editions_=(edition,),
        can_log_in=True,
    )
    await db.commit(session)
    ref = await fetch.scalar(select(CvText.ref).where(CvText.user_id == jeanne.id))
    candidate = await person(make_client, jeanne)
    recruiting = await person(make_client, recruiter)

    refused = await post(candidate, "/me/pool", "/me/pool/consent", months="3")
    assert refused.status_code == 422
    assert "Choose who may find your profile." in text(refused.text)
    refused = await post(candidate, "/me/pool", "/me/pool/consent", level="2", months="13")
    assert refused.status_code == 422
    assert "Choose a period of 12 months at most." in text(refused.text)
    assert "Choose the edition whose recruiters may find you." in text(refused.text)
    given = await post(
        candidate, "/me/pool", "/me/pool/consent", level="1", edition_id=str(edition.id), months="3"
    )
    assert given.status_code == 303
    page = await candidate.get("/me/pool")
    assert "Your profile is in the CV pool until Wednesday, June 10, 2026." in text(page.text)

    found = await recruiting.get("/pool", params={"q": "caristes", "commune": "Montpellier"})
    shown = text(found.text)
    assert found.status_code == 200 and "1 profile found" in shown
    assert f"Profile {ref}" in shown and "Jeanne" not in shown and "jeanne@" not in shown
    nobody = await recruiting.get("/pool", params={"q": "soudeur", "contract": "cdi"})
    assert "0 profiles found" in text(nobody.text)
    unknown = await recruiting.get("/pool", params={"job": "Astronaute", "available_by": "x"})
    assert unknown.status_code == 422
    assert "Choose the jobs in the list of job names." in text(unknown.text)
    profile = await recruiting.get(f"/pool/profiles/{ref}")
    assert profile.status_code == 200 and "Jeanne" not in profile.text
    assert "[…] […]" in text(profile.text)
    assert (await recruiting.get(f"/pool/profiles/{ref}/cv")).status_code == 403
    asked = await post(
        recruiting,
        f"/pool/profiles/{ref}",
        f"/pool/profiles/{ref}/contact",
        message="Bonjour, un poste de cariste à Lattes.",
    )
    assert asked.status_code == 303
    mails = await fetch.scalars(
        select(OutboxMail).where(OutboxMail.to_addr == jeanne.email).order_by(OutboxMail.id)
    )
    organisation = recruiter_org(await recruiting.get("/pool/requests"))
    assert [m.subject for m in mails] == [
        f"{organisation} would like to contact you"
    ]  # her language

    page = await candidate.get("/me/pool")
    assert "Bonjour, un poste de cariste à Lattes." in text(page.text)
    request_id = re.search(r"/me/pool/requests/(\d+)", page.text).group(1)  # type: ignore[union-attr]
    accepted = await post(candidate, "/me/pool", f"/me/pool/requests/{request_id}", answer="accept")
    assert accepted.status_code == 303
    profile = await recruiting.get(f"/pool/profiles/{ref}")
    assert "Jeanne Dupré" in text(profile.text) and jeanne.email in profile.text
    cv = await recruiting.get(f"/pool/profiles/{ref}/cv")
    assert cv.status_code == 200 and cv.headers["content-type"] == "application/pdf"
    accesses = await fetch.scalars(
        select(PersonalDataAccess.what)
        .where(PersonalDataAccess.subject_id == jeanne.id)
        .order_by(PersonalDataAccess.id)
    )
    profile_, contact, cv_ = AccessKind.POOL_PROFILE, AccessKind.CONTACT_DETAILS, AccessKind.POOL_CV
    # One entry per viewer, candidate, kind and day, whatever the reloads (fair.access_log).
    assert accesses == [profile_, contact, cv_]
    seen = text((await candidate.get("/me/pool")).text)
    assert f"{recruiter.name} (" in seen and "Your CV, from the CV pool" in seen
    clock.set_now(clock.now() + timedelta(days=1))
    for _ in range(2):
        assert (await recruiting.get(f"/pool/profiles/{ref}")).status_code == 200
    accesses = await fetch.scalars(
        select(PersonalDataAccess.what)
        .where(PersonalDataAccess.subject_id == jeanne.id)
        .order_by(PersonalDataAccess.id)
    )
    assert accesses == [profile_, contact, cv_, profile_, contact]

    withdrawn = await post(candidate, "/me/pool", "/me/pool/withdraw")
    assert withdrawn.status_code == 303
    assert (await recruiting.get(f"/pool/profiles/{ref}")).status_code == 404
    assert (await recruiting.get(f"/pool/profiles/{ref}/cv")).status_code == 404
    assert "0 profiles found" in text((await recruiting.get("/pool")).text)
    assert (await candidate.get("/pool")).status_code == 403
    outsider = await person(make_client, other)
    assert (await outsider.get("/pool")).status_code == 403
    assert (await outsider.get(f"/pool/profiles/{ref}")).status_code == 403
    assert (await recruiting.get("/pool/profiles/nothing")).status_code == 404


def recruiter_org(page) -> str:  # type: ignore[no-untyped-def]
    return re.search(r"The requests of (.+?) to candidates", text(page.text)).group(1)  # type: ignore[union-attr]


async def test_reminders_before_the_end(session, fetch) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    jeanne = await pool_candidate(session, editions_=(edition,))
    consent = await cv_pool.give(
        session, jeanne, level=PoolLevel.EDITION, months=1, edition_id=edition.id
    )
    counts = []
    for days_before in (20, 14, 13, 2, 1):
        clock.set_now(consent.ends_at - timedelta(days=days_before) + timedelta(minutes=1))
        counts.append(await pool_mail.send_reminders(session))
    assert counts == [0, 1, 0, 1, 0]
    clock.set_now(consent.ends_at)
    assert await pool_mail.send_reminders(session) == 0
    mails = list(
        await session.scalars(
            select(OutboxMail).where(OutboxMail.to_addr == jeanne.email).order_by(OutboxMail.id)
        )
    )
    assert [m.subject for m in mails] == ["Votre profil quitte la CVthèque le 10 avril 2026"] * 2
    assert "/me/pool" in mails[0].body
    assert (await session.get(PoolConsent, consent.id)).reminded_days == 2
    stop = f"{settings.get().base_url}/pool/reminders/stop/{cv_pool.reminders_stop_token(consent)}"
    assert f"Arrêter ces rappels en un clic, sans vous connecter : {stop}" in mails[0].body
    assert json.loads(mails[0].headers) == {
        "List-Unsubscribe": f"<{stop}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


async def test_reminders_stop_with_a_confirmed_link_or_a_mail_clients_one_click(
    app, session, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    """GET only asks (mail scanners follow links); the page's button stops them (CSRF
    checked); a mail client's RFC 8058 POST stops them without cookie nor CSRF token, but only
    with a signed link; no reminder is mailed after either."""
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    people = [await pool_candidate(session, editions_=(edition,)) for _ in range(3)]
    consents = [
        await cv_pool.give(session, p, level=PoolLevel.EDITION, months=1, edition_id=edition.id)
        for p in people
    ]
    await db.commit(session)
    links = [f"/pool/reminders/stop/{cv_pool.reminders_stop_token(c)}" for c in consents]
    browser = make_client()
    asked = await browser.get(links[0])
    assert asked.status_code == 200
    assert "Arrêter les rappels ?" in text(asked.text)
    assert (await fetch.get(PoolConsent, consents[0].id)).reminded_days is None
    token = await csrf(browser, links[0])
    done = await browser.post(links[0], data={"csrf_token": token})
    assert "Rappels arrêtés" in text(done.text)
    one_click = {"List-Unsubscribe": "One-Click"}
    mail_client = make_client()
    answered = await mail_client.post(links[1], data=one_click)
    assert (answered.status_code, answered.text) == (200, "Stopped.")
    forged = await make_client().post(
        f"/pool/reminders/stop/{consents[2].id}.forged", data=one_click
    )
    assert forged.status_code == 404
    no_token = await make_client().post(links[2], data={"List-Unsubscribe": "One-Click", "x": "1"})
    assert no_token.status_code == 403
    kept = await fetch.scalars(select(PoolConsent.reminded_days).order_by(PoolConsent.id))
    assert kept == [0, 0, None]
    clock.set_now(consents[0].ends_at - timedelta(days=13))
    async with app.state.write_sessions() as s:
        assert await pool_mail.send_reminders(s) == 1  # the third one only
        await db.commit(s)
    mailed = await fetch.scalars(select(OutboxMail.to_addr))
    assert mailed == [people[2].email]


async def test_an_application_cv_opened_is_in_the_candidates_log(
    session, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    applied = await f.application(session, offer_=await f.offer(session, booth_=booth))
    await db.commit(session)
    recruiting = await person(make_client, recruiter)
    cv = await recruiting.get(f"/recruiter/applications/{applied.id}/cv")
    assert cv.status_code == 200
    rows = await fetch.scalars(select(PersonalDataAccess))
    employer = await fetch.get(Employer, booth.employer_id)
    assert [(a.subject_id, a.viewer_id, a.viewer, a.what, a.consent_id) for a in rows] == [
        (
            applied.candidate_id,
            recruiter.id,
            f"{recruiter.name} ({employer.name})",
            AccessKind.APPLICATION_CV.value,
            None,
        )
    ]


async def test_the_menu_shows_the_cv_pool_to_the_counsellors_who_may_search_it(
    session, make_client
) -> None:  # type: ignore[no-untyped-def]
    """An approved temporary-work agency's counsellor has "CV pool" in the menu; a mission
    locale's or a not yet approved agency's has not, and may not search it."""
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    temp = await agency(session, admitted=(edition,), can_log_in=True)
    local = await agency(
        session, admitted=(edition,), kind=StructureKind.MISSION_LOCALE, can_log_in=True
    )
    pending = await agency(session, approved=False, can_log_in=True)
    await db.commit(session)
    for who, searches in ((temp, True), (local, False), (pending, False)):
        client = await person(make_client, who)
        assert await _pool_in_menu(client, "/counsellor") == (searches, 200 if searches else 403)


async def _pool_in_menu(client, home: str) -> tuple[bool, int]:  # type: ignore[no-untyped-def]
    """Whether the menu of `home` links to the CV pool, and the pool's status for `client`."""
    page = await client.get(home)
    assert page.status_code == 200
    menu = page.text.split('<nav aria-label="Main menu">')[1].split("</nav>")[0]
    return '<a href="/pool">CV pool</a>' in menu, (await client.get("/pool")).status_code


async def test_the_menu_shows_the_cv_pool_to_the_recruiters_who_may_search_it(
    session, make_client
) -> None:  # type: ignore[no-untyped-def]
    """A recruiter has "CV pool" in the menu once a booth of theirs is approved in an edition
    not archived, the rule the pool's pages apply (cv_pool.viewer_of); before, neither the
    link nor the page."""
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    _approved, admitted = await f.booth(session, edition_=edition)
    pending, waiting = await f.booth(session, edition_=edition, approve=False)
    await db.commit(session)
    for who, searches in ((admitted, True), (waiting, False)):
        client = await person(make_client, who)
        assert await _pool_in_menu(client, "/recruiter") == (searches, 200 if searches else 403)
        assert await cv_pool.may_search(session, who) is searches
        assert (await cv_pool.viewer_of(session, who) is not None) is searches
        await db.commit(session)  # its read ends: the next page may write
    admin = await f.user(session, Role.ADMIN)
    await employers.set_status(session, pending, BoothStatus.APPROVED, by=admin)
    await db.commit(session)
    client = await person(make_client, waiting)
    assert await _pool_in_menu(client, "/recruiter") == (True, 200)
