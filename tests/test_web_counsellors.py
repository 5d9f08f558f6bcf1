"""Counsellors' pages: one check before every page about a candidate (walked over the routes),
an account made with a person and its printed code, a CV uploaded and an application put
forward that the recruiter reads as such."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from starlette.routing import Route

from fair import clock, counsellors, db, structures, webconferences
from fair.enums import Role, StructureKind
from fair.models import Edition, OutboxMail, User
from tests import factories as f
from tests.conftest import csrf
from tests.pages import person, text
from tests.statements import cold

STRUCTURE = structures.StructureInput(
    name="Mission locale de Montluçon", kind=StructureKind.MISSION_LOCALE.value, departement="03"
)
CANDIDATE_PAGES = "/counsellor/candidates/{candidate_id:int}"


async def _setting(session):  # type: ignore[no-untyped-def]
    """An edition with a booth and an offer, a structure admitted for it, two counsellors."""
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth, title="Cariste (H/F)")
    organiser = await session.get(User, edition.created_by_id)
    structure = await structures.create(
        session, by=organiser, data=STRUCTURE, edition_id=edition.id
    )
    mine, other = [
        await f.user(session, Role.COUNSELLOR, name=name) for name in ("Claire Conseil", "Paul")
    ]
    for counsellor in (mine, other):
        await structures.add_counsellor(
            session, by=organiser, structure=structure, email=counsellor.email, name=counsellor.name
        )
    return offer, recruiter, structure, mine, other


async def test_a_counsellor_never_reaches_a_candidate_who_did_not_agree(app, session, make_client):  # type: ignore[no-untyped-def]
    offer, _recruiter, structure, mine, other = await _setting(session)
    asked, ended, theirs, followed = [await f.candidate(session, can_log_in=False) for _ in "1234"]
    await counsellors.invite(session, by=mine, structure=structure, email=asked.email)
    for candidate, by in ((ended, mine), (theirs, other), (followed, mine)):
        request = await counsellors.invite(
            session, by=by, structure=structure, email=candidate.email
        )
        await counsellors.consent_in_person(session, followed_request=request, by=by, agreed=True)
        if candidate is ended:
            await counsellors.end(session, by=candidate, accompaniment_id=request.id)
    await db.commit(session)
    client = await person(make_client, mine)
    token = await csrf(client, "/counsellor")

    walked = set()
    for route in (r for r in app.routes if isinstance(r, Route)):
        if not route.path.startswith(CANDIDATE_PAGES):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            walked.add((route.path, method))
            for candidate in (asked, ended, theirs):
                path = route.path.replace("{candidate_id:int}", str(candidate.id))
                path = path.replace("{offer_id:int}", str(offer.id))
                data = {"csrf_token": token} if method == "POST" else None
                answer = await client.request(method, path, data=data)
                assert answer.status_code == 404, (method, path, answer.status_code)
    assert walked == {
        (CANDIDATE_PAGES, "GET"),
        (CANDIDATE_PAGES + "/cv", "GET"),
        (CANDIDATE_PAGES + "/cv", "POST"),
        (CANDIDATE_PAGES + "/book", "POST"),
        (CANDIDATE_PAGES + "/profile", "GET"),
        (CANDIDATE_PAGES + "/profile", "POST"),
        (CANDIDATE_PAGES + "/talks", "POST"),
        (CANDIDATE_PAGES + "/offers", "GET"),
        (CANDIDATE_PAGES + "/offers/{offer_id:int}/put-forward", "POST"),
        (CANDIDATE_PAGES + "/code", "POST"),
        (CANDIDATE_PAGES + "/end", "POST"),
    }
    shown = await client.get(f"/counsellor/candidates/{followed.id}")
    assert shown.status_code == 200 and followed.name in shown.text
    home_page = (await client.get("/counsellor")).text
    assert '<li><a href="/counsellor">My candidates</a></li>' in home_page  # the menu
    home = text(home_page)
    assert followed.name in home and asked.name in home  # followed; asked, waiting
    assert theirs.name not in home and ended.name not in home

    # The dashboard reads a fixed number of statements, however many candidates it lists.
    with cold(app, every=True) as one:
        assert (await client.get("/counsellor")).status_code == 200
    for candidate in [await f.candidate(session, can_log_in=False) for _ in "12"]:
        request = await counsellors.invite(
            session, by=mine, structure=structure, email=candidate.email
        )
        await counsellors.consent_in_person(session, followed_request=request, by=mine, agreed=True)
        await f.application(session, offer_=offer, candidate_=candidate)
    await db.commit(session)
    with cold(app, every=True) as three:
        page = await client.get("/counsellor")
    assert page.status_code == 200 and page.text.count("data-candidate-id=") == 3
    assert len(three) == len(one), three


async def test_an_account_for_a_person_without_e_mail_then_put_forward(session, make_client, fetch):  # type: ignore[no-untyped-def]
    offer, recruiter, _structure, mine, _other = await _setting(session)
    await db.commit(session)
    client = await person(make_client, mine)
    token = await csrf(client, "/counsellor/people/new")
    refused = await client.post("/counsellor/people/new", data={"csrf_token": token, "name": ""})
    assert refused.status_code == 422 and "This field is required." in refused.text
    made = await client.post(
        "/counsellor/people/new",
        data={"csrf_token": token, "name": "Jeanne Martin", "email": "", "agree": "on"},
    )
    assert made.status_code == 200
    login = re.search(r"data-login>([^<]+)<", made.text).group(1)  # type: ignore[union-attr]
    code = re.search(r"data-code>([A-Z2-9-]+)<", made.text).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(r"jeanne\.martin\.\d{4}", login) and len(code) == 14
    candidate_id = await fetch.scalar(select(User.id).where(User.name == "Jeanne Martin"))

    # The person chooses a password with the code, and is logged in.
    them = make_client()
    token = await csrf(them, "/code")
    bad = await them.post(
        "/code",
        data={"csrf_token": token, "code": code, "password": "x", "password_again": "y"},
    )
    assert bad.status_code == 422
    assert "Les deux mots de passe sont différents." in text(bad.text)
    done = await them.post(
        "/code",
        data={
            "csrf_token": token,
            "code": code,
            "password": "un mot de passe sûr",
            "password_again": "un mot de passe sûr",
        },
    )
    assert (done.status_code, done.headers["location"]) == (303, "/me/counsellors")
    mine_page = text((await them.get("/me/counsellors")).text)
    assert "Claire Conseil · Mission locale de Montluçon" in mine_page

    # With an address: a welcome link, which asks for their agreement first.
    token = await csrf(client, "/counsellor/people/new")
    mailed = await client.post(
        "/counsellor/people/new",
        data={"csrf_token": token, "name": "Paul Durand", "email": "paul.durand@example.fr"},
    )
    assert (mailed.status_code, mailed.headers["location"]) == (303, "/counsellor")
    body = await fetch.scalar(
        select(OutboxMail.body).where(OutboxMail.to_addr == "paul.durand@example.fr")
    )
    assert "Claire Conseil (Mission locale de Montluçon) created it with you." in body
    link = re.search(r"/reset/[\w-]+", body).group(0)  # type: ignore[union-attr]
    paul = make_client()
    token = await csrf(paul, link)
    chosen = await paul.post(link, data={"csrf_token": token, "password": "un mot de passe sûr"})
    assert (chosen.status_code, chosen.headers["location"]) == (303, "/me/counsellors")
    asking = await paul.get("/me/counsellors")
    accompaniment_id = re.search(r'data-accompaniment-id="(\d+)"', asking.text).group(1)  # type: ignore[union-attr]
    action = f"/me/counsellors/{accompaniment_id}/consent"
    token = await csrf(paul, "/me/counsellors")
    unticked = await paul.post(action, data={"csrf_token": token, "version": "2026-12"})
    assert unticked.status_code == 422
    assert "Cochez la case pour accepter, ou refusez." in text(unticked.text)
    agreed = await paul.post(
        action, data={"csrf_token": token, "version": "2026-12", "agree": "on"}
    )
    assert (agreed.status_code, agreed.headers["location"]) == (303, "/me/counsellors")
    followed_now = (await client.get("/counsellor")).text
    assert re.search(r'href="/counsellor/candidates/\d+">Paul Durand</a>', followed_now)

    # The counsellor adds their CV (checked as any upload) and puts them forward.
    page = f"/counsellor/candidates/{candidate_id}"
    token = await csrf(client, page)
    not_pdf = {"cv": ("cv.pdf", b"not a pdf", "application/pdf")}
    refused = await client.post(page + "/cv", data={"csrf_token": token}, files=not_pdf)
    assert refused.status_code == 422
    assert "This file is not a PDF document. Please choose a PDF file." in text(refused.text)
    pdf = {"cv": ("cv.pdf", f.pdf_bytes(), "application/pdf")}
    saved = await client.post(page + "/cv", data={"csrf_token": token}, files=pdf)
    assert (saved.status_code, saved.headers["location"]) == (303, page)
    filled = await client.post(
        page + "/profile",
        data={
            "csrf_token": token,
            "name": "Jeanne Martin",
            "commune": "Montpellier",
            "target_0": "F1602",
            "max_distance_km": "20",
            "transport": "public_transport",
        },
    )
    assert (filled.status_code, filled.headers["location"]) == (303, page)
    offers_page = await client.get(page + "/offers")
    suggested = text(offers_page.text.split("data-suggestions")[1].split("</ul>")[0])
    assert suggested.endswith(
        "· Montpellier (34000) Match: 75 % + In favour: Same job: Électricien / Électricienne du "
        "bâtiment − Against: Skill to acquire: Habilitation électrique + In favour: 0 km away, "
        "within their 20 km radius by public transport + In favour: Available now"
    )
    assert suggested.startswith("> Cariste (H/F) ")
    put = await client.post(
        f"{page}/offers/{offer.id}/put-forward",
        data={"csrf_token": token, "note": "Motivée, CACES 1 obtenu."},
    )
    assert (put.status_code, put.headers["location"]) == (303, page)
    followed = text((await client.get(page)).text)
    assert "Cariste (H/F)" in followed and "By Mission locale de Montluçon" in followed

    # The recruiter reads who vouched, in the list and the application.
    hiring = await person(make_client, recruiter)
    listing = text((await hiring.get(f"/recruiter/booths/{offer.booth_id}/applications")).text)
    assert "Jeanne Martin Put forward by Mission locale de Montluçon Motivée, CACES 1 obtenu." in (
        listing
    )
    application_id = re.search(
        r'href="/recruiter/applications/(\d+)"',
        (await hiring.get(f"/recruiter/booths/{offer.booth_id}/applications")).text,
    ).group(1)  # type: ignore[union-attr]
    detail = text((await hiring.get(f"/recruiter/applications/{application_id}")).text)
    assert (
        "E-mail address None (the candidate is accompanied without e-mail) Put forward by "
        "Mission locale de Montluçon Counsellor: Claire Conseil Motivée, CACES 1 obtenu."
    ) in detail


async def test_an_organiser_creates_a_structure_and_its_counsellor(session, make_client, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    organiser = await session.get(User, edition.created_by_id)
    outsider = await f.user(session, Role.ORGANISER)
    await db.commit(session)
    client = await person(make_client, organiser)
    token = await csrf(client, "/structures")
    assert '<li><a href="/structures">Structures</a></li>' in (await client.get("/")).text
    form = {"csrf_token": token, "name": "PLIE du Montluçonnais", "kind": "plie"}
    refused = await client.post("/structures", data={**form, "departement": "99"})
    assert refused.status_code == 422
    assert (
        "There is a problem Enter a département code, such as 03 or 2A. This field is required."
    ) in text(refused.text)
    made = await client.post(
        "/structures",
        data={**form, "departement": "03", "epci": "200071082", "edition": str(edition.id)},
    )
    assert made.status_code == 303
    page = made.headers["location"]
    shown = text((await client.get(page)).text)
    assert "PLIE du Montluçonnais" in shown and "Allier (03) · CA Montluçon Communauté" in shown
    added = await client.post(
        page + "/counsellors",
        data={"csrf_token": token, "name": "Léa Conseil", "email": "lea@example.fr"},
    )
    assert (added.status_code, added.headers["location"]) == (303, page)
    counsellor = await fetch.scalar(select(User).where(User.email == "lea@example.fr"))
    assert (counsellor.name, counsellor.role) == ("Léa Conseil", "counsellor")
    withdrawn = await client.post(page + "/approval", data={"csrf_token": token, "approved": "0"})
    assert withdrawn.status_code == 303
    assert "Not approved" in text((await client.get(page)).text)
    # Another organiser does not see it; a counsellor does not reach these pages.
    other = await person(make_client, outsider)
    assert (await other.get(page)).status_code == 404
    assert "PLIE du Montluçonnais" not in (await other.get("/structures")).text


async def test_a_counsellor_books_an_interview_and_a_talk_for_a_candidate(session, make_client):  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    booth, _recruiter, slots, invitation, candidate = await f.interview_setting(session)
    edition = await session.get(Edition, booth.edition_id)
    organiser = await session.get(User, edition.created_by_id)
    structure = await structures.create(
        session, by=organiser, data=STRUCTURE, edition_id=edition.id
    )
    counsellor = await f.user(session, Role.COUNSELLOR, name="Claire Conseil")
    await structures.add_counsellor(
        session, by=organiser, structure=structure, email=counsellor.email, name=""
    )
    request = await counsellors.invite(
        session, by=counsellor, structure=structure, email=candidate.email
    )
    await counsellors.consent_in_person(
        session, followed_request=request, by=counsellor, agreed=True
    )
    talk = await webconferences.schedule(
        session, by=organiser, edition=edition, data=f.talk([organiser], title="Le CV en 1 page")
    )
    await db.commit(session)
    client = await person(make_client, counsellor)
    page = f"/counsellor/candidates/{candidate.id}"
    shown = await client.get(page)
    assert shown.status_code == 200
    assert f'<option value="{slots[0].id}">' in shown.text
    assert f'<option value="{talk.id}">Le CV en 1 page · ' in shown.text
    token = await csrf(client, page)
    booked = await client.post(
        page + "/book",
        data={
            "csrf_token": token,
            "invitation": str(invitation.id),
            "slot": str(slots[0].id),
            "mode": "phone",
        },
    )
    assert (booked.status_code, booked.headers["location"]) == (303, page)
    taken = await client.post(
        page + "/book",
        data={"csrf_token": token, "invitation": str(invitation.id), "slot": "x", "mode": "?"},
    )
    assert taken.status_code == 422
    registered = await client.post(
        page + "/talks", data={"csrf_token": token, "webconference": str(talk.id)}
    )
    assert (registered.status_code, registered.headers["location"]) == (303, page)
    after = text((await client.get(page)).text)
    assert "Interviews" in after and "Booked" in after


async def test_the_printed_code_page_is_rate_limited(app, make_client) -> None:  # type: ignore[no-untyped-def]
    """/code: at most 5 tries a minute on one code and 30 from one address (fair.rate_limits),
    then 429 with Retry-After and a French message; the next minute opens again."""
    clock.set_now(f.NOON)
    browser = make_client()
    token = await csrf(browser, "/code")

    async def try_code(code: str) -> Any:
        data = {"csrf_token": token, "code": code, "password": "a", "password_again": "a"}
        return await browser.post("/code", data=data)

    tries = [(await try_code("ABCD-EFGH-JKLM")).status_code for _ in range(6)]
    assert tries == [422] * 5 + [429]
    refused = await try_code("abcd efgh jklm")  # the same code, typed otherwise
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "60")
    assert "Trop d’essais avec un code. Attendez 60 secondes et réessayez." in text(refused.text)
    others = [(await try_code(f"ABCD-EFGH-{n:04d}")).status_code for n in range(23)]
    assert others == [422] * 23  # 30 tries from this address so far
    assert (await try_code("ZZZZ-ZZZZ-ZZZZ")).status_code == 429
    clock.set_now(f.NOON + timedelta(minutes=1))
    assert (await try_code("ABCD-EFGH-JKLM")).status_code == 422
