"""Candidates for an offer (fair.match_candidates): applicants ranked, then the pool profiles
the recruiter may see, pseudonymous; and the recruiter's page. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from fair import candidates, cv_pool, db, job_search, match_candidates
from fair.enums import Contract, PoolLevel, Role, Transport
from fair.job_search import Target, Wanted
from fair.models import CvText
from tests import factories as f
from tests.conftest import login
from tests.pages import text


async def seeker(session, commune: str, code: str, **kw: object):  # type: ignore[no-untyped-def]
    user = await f.candidate(session, can_log_in=False)
    await candidates.update(session, user, data=candidates.ProfileInput("X", "", commune, ""))
    wanted = Wanted(targets=(Target(code, "Cariste"),), **kw)  # type: ignore[arg-type]
    await job_search.update(session, user, wanted=wanted)
    return user


async def test_candidates_for_an_offer(client, session) -> None:  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth, title="Cariste", rome_code="N1101", skills=[])
    near = await seeker(session, "Lattes", "N1101", max_distance_km=20, transport=Transport.CAR)
    far = await seeker(session, "Nîmes", "N1101", max_distance_km=10)
    await f.application(session, offer_=offer, candidate_=far)
    await f.application(session, offer_=offer, candidate_=near)
    pooled = await seeker(session, "Pérols", "N1112", contracts=frozenset({Contract.CDI}))
    hidden = await seeker(session, "Pérols", "N1101")  # not in the pool
    other_job = await seeker(session, "Lattes", "K1302")
    for user in (pooled, other_job):
        await cv_pool.give(session, user, level=PoolLevel.NETWORK, months=6, edition_id=None)
    found = await match_candidates.candidates_for(session, offer, viewer=recruiter)
    assert [(a.application.candidate_id, a.match.score) for a in found.applicants] == [
        (near.id, 73),
        (far.id, 25),
    ]
    ref = await session.scalar(select(CvText.ref).where(CvText.user_id == pooled.id))
    assert [(p.ref, p.match.score) for p in found.pool] == [(ref, 57)]
    assert hidden.id not in {p.match.candidate_id for p in found.pool}
    await db.commit(session)
    await login(client, recruiter.email, f.PASSWORD)
    page = text((await client.get(f"/recruiter/offers/{offer.id}/candidates")).text)
    assert (
        f"Profil {ref} Correspondance : 57 % + Atout : Un métier de la même famille : Cariste"
        " (métier recherché : Cariste) + Atout : À 6 km de son domicile"
        " + Atout : CDI, un contrat que la personne accepte"
        " + Atout : Disponible tout de suite" in page
    )
    assert "X" not in page.split("Dans la CVthèque")[1].split("fair, la plateforme")[0]
    other = await f.user(session, Role.RECRUITER)
    await db.commit(session)
    await login(client, other.email, f.PASSWORD)
    assert (await client.get(f"/recruiter/offers/{offer.id}/candidates")).status_code == 403
