"""Matching pages (fair/web/matches.py): a candidate's "offers for you" with the reasons."""

from __future__ import annotations

import re

from sqlalchemy import select

from fair import alerts, candidates, counsellors, db, job_search, structures
from fair.enums import Role, StructureKind, Transport
from fair.job_search import Target, Wanted
from fair.models import JobAlert, User
from tests import factories as f
from tests.conftest import csrf, login
from tests.network_offers import held, partner
from tests.pages import person, text

# A structure of the counsellors' kind (as tests/test_web_counsellors.py builds one).
STRUCTURE = structures.StructureInput(
    name="Mission locale de Montluçon", kind=StructureKind.MISSION_LOCALE.value, departement="03"
)


async def test_offers_for_you_page(client, session) -> None:  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth, title="Cariste", rome_code="N1101", skills=[])
    candidate = await f.candidate(session)
    await db.commit(session)
    await login(client, candidate.email, f.PASSWORD)
    empty = await client.get("/me/offers-for-you")
    assert "Indiquez dans votre profil le métier que vous cherchez" in text(empty.text)
    await candidates.update(
        session, candidate, data=candidates.ProfileInput("Nadia", "", "Lattes", "")
    )
    wanted = Wanted(
        targets=(Target("N1101", "Cariste"),), max_distance_km=20, transport=Transport.BIKE
    )
    await job_search.update(session, candidate, wanted=wanted)
    await db.commit(session)
    page = await client.get("/me/offers-for-you")
    assert page.status_code == 200
    shown = text(page.text)
    assert (
        "· Montpellier (34000) Correspondance : 73 % + Atout : Même métier : Cariste"
        " + Atout : À 3 km, dans votre rayon de 20 km à vélo"
        " + Atout : Vous pouvez commencer tout de suite fair," in shown
    )


async def test_alerts_from_the_site_and_the_mails_link(client, make_client, session, fetch) -> None:  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    candidate = await f.candidate(session)
    await candidates.update(
        session, candidate, data=candidates.ProfileInput("Nadia", "", "Lattes", "")
    )
    await job_search.update(
        session, candidate, wanted=Wanted(targets=(Target("N1101", "Cariste"),))
    )
    await db.commit(session)
    await login(client, candidate.email, f.PASSWORD)
    token = await csrf(client, "/me/offers-for-you")
    assert (await client.post("/me/alerts", data={"csrf_token": token})).status_code == 303
    search = {"edition_id": str(edition.id), "slug": edition.slug, "q": "cariste", "radius_km": "0"}
    followed = await client.post("/me/alerts", data={"csrf_token": token} | search)
    assert followed.headers["location"] == f"/e/{edition.slug}/offers?q=cariste"
    kept = await fetch.scalars(select(JobAlert).order_by(JobAlert.id))
    assert [(a.search, a.stopped_at) for a in kept] == [
        ({}, None),
        ({"edition_id": str(edition.id), "q": "cariste"}, None),
    ]
    page = text((await client.get("/me/offers-for-you")).text)
    assert "Vous recevez les nouvelles offres pour vous par e-mail une fois par jour." in page
    assert "Vous suivez une recherche par e-mail : “cariste” Arrêter — cariste" in page
    # The mail's link, in a browser without a session: opening it only asks (mail scanners
    # follow links); the button stops it; then it is switched on again.
    anonymous = make_client()
    link = f"/alerts/stop/{alerts.token(kept[0].id)}"
    asked = await anonymous.get(link)
    assert asked.status_code == 200 and "Arrêter cette alerte ?" in text(asked.text)
    assert (await fetch.get(JobAlert, kept[0].id)).stopped_at is None
    stopped = await anonymous.post(link, data={"csrf_token": await csrf(anonymous, link)})
    assert stopped.status_code == 200 and "Votre alerte est arrêtée" in text(stopped.text)
    assert (await fetch.get(JobAlert, kept[0].id)).stopped_at is not None
    resume = f"/alerts/resume/{alerts.token(kept[0].id)}"
    again = await anonymous.post(resume, data={"csrf_token": await csrf(anonymous, link)})
    assert "Votre alerte est réactivée" in text(again.text)
    assert (await fetch.get(JobAlert, kept[0].id)).stopped_at is None
    assert (await anonymous.get(f"/alerts/stop/{kept[0].id}.forged")).status_code == 404
    # A mail client's one-click POST (RFC 8058): no cookie, no CSRF token, the signed link.
    one_click = {"List-Unsubscribe": "One-Click"}
    forged = await make_client().post(f"/alerts/stop/{kept[0].id}.forged", data=one_click)
    assert forged.status_code == 404
    answered = await make_client().post(link, data=one_click)
    assert (answered.status_code, answered.text) == (200, "Stopped.")
    assert (await fetch.get(JobAlert, kept[0].id)).stopped_at is not None
    await anonymous.post(resume, data={"csrf_token": await csrf(anonymous, link)})
    assert (await fetch.get(JobAlert, kept[0].id)).stopped_at is None
    # Stopped from the site; someone else's alert is not found.
    other = await f.candidate(session)
    await db.commit(session)
    stop = f"/me/alerts/{kept[1].id}/stop"
    assert (await client.post(stop, data={"csrf_token": token})).status_code == 303
    assert (await fetch.get(JobAlert, kept[1].id)).stopped_at is not None
    await login(anonymous, other.email, f.PASSWORD)
    foreign = await anonymous.post(
        f"/me/alerts/{kept[0].id}/stop",
        data={"csrf_token": await csrf(anonymous, "/me/offers-for-you")},
    )
    assert foreign.status_code == 404
    assert (await fetch.get(JobAlert, kept[0].id)).stopped_at is None


async def test_partners_offers_for_the_candidate_and_their_counsellor(session, make_client) -> None:  # type: ignore[no-untyped-def]
    """A partner's offer shows among the offers for you and the counsellor's suggestions,
    marked with its territory and linked to its page here; the counsellor puts forward on this
    instance's offers only (a partner's goes through the candidate's own consent)."""
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    local = await f.offer(session, booth_=booth, title="Cariste à Lattes", rome_code="N1101",
                          commune="Lattes", postcode="34970", skills=[])  # fmt: skip
    montlucon = await partner(session, edition, "Montluçon", "https://montlucon.example")
    lunel = await held(session, montlucon, 7, "Cariste à Lunel (réseau)", "Lunel")
    candidate = await f.candidate(session)
    await candidates.update(
        session, candidate, data=candidates.ProfileInput("Nadia", "", "Lattes", "")
    )
    wanted = Wanted(
        targets=(Target("N1101", "Cariste"),), max_distance_km=30, transport=Transport.CAR
    )
    await job_search.update(session, candidate, wanted=wanted)
    organiser = await session.get(User, edition.created_by_id)
    structure = await structures.create(
        session, by=organiser, data=STRUCTURE, edition_id=edition.id
    )
    counsellor = await f.user(session, Role.COUNSELLOR, name="Claire Conseil")
    await structures.add_counsellor(
        session, by=organiser, structure=structure, email=counsellor.email, name=counsellor.name
    )
    asked = await counsellors.invite(
        session, by=counsellor, structure=structure, email=candidate.email
    )
    await counsellors.consent_in_person(session, followed_request=asked, by=counsellor, agreed=True)
    await db.commit(session)

    mine = await person(make_client, candidate)
    page = (await mine.get("/me/offers-for-you")).text
    assert f'<a href="/network/offers/{lunel.id}">Cariste à Lunel (réseau)</a>' in page
    cards = text(page.split('<ul class="cards">')[1].split("</main>")[0])
    assert cards.startswith(
        "Cariste à Lattes "
        f"{booth.employer.name} · Lattes (34970) Match: 75 % "
        "+ In favour: Same job: Cariste + In favour: 0 km away, within your 30 km radius by car"
        " + In favour: You can start now "
        "Network offer · Montluçon Cariste à Lunel (réseau) Employeur de Lunel · Lunel (34400)"
        " Match: 68 % + In favour: Same job: Cariste + In favour: 22 km away, within your 30 km"
        " radius by car + In favour: You can start now"
    )

    theirs = await person(make_client, counsellor)
    offers = (await theirs.get(f"/counsellor/candidates/{candidate.id}/offers")).text
    suggested = offers.split("data-suggestions")[1].split("<h2>")[0]
    assert f'data-network-offer-id="{lunel.id}"' in suggested
    put_forward = re.findall(
        r'action="/counsellor/candidates/\d+/offers/(\d+)/put-forward"', suggested
    )
    assert put_forward == [str(local.id)]
    assert (
        "Network offer · Montluçon Cariste à Lunel (réseau) Employeur de Lunel · Lunel (34400)"
        " Match: 68 % + In favour: Same job: Cariste + In favour: 22 km away, within their 30 km"
        " radius by car + In favour: Available now The person applies to a partner's offer"
        " themselves, from its page, where their consent is asked."
    ) in text(suggested)
