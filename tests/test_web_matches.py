"""Matching pages (fair/web/matches.py): a candidate's "offers for you" with the reasons."""

from __future__ import annotations

from sqlalchemy import select

from fair import alerts, candidates, db, job_search
from fair.enums import Transport
from fair.job_search import Target, Wanted
from fair.models import JobAlert
from tests import factories as f
from tests.conftest import csrf, login
from tests.pages import text


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
