"""Matching pages (fair/web/matches.py): a candidate's "offers for you" with the reasons."""

from __future__ import annotations

from fair import candidates, db, job_search
from fair.enums import Transport
from fair.job_search import Target, Wanted
from tests import factories as f
from tests.conftest import login
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
