"""Offers for a candidate (fair.match_offers): only open offers of the jobs wanted and their
families, near first, scored by fair.matching; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from fair import candidates, clock, job_search, match_offers, offers
from fair.enums import Contract, Transport, WorkingTime
from fair.job_search import Target, Wanted
from fair.models import RomeCode, RomeSkill
from tests import factories as f


async def test_offers_for_a_candidate(session) -> None:  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    past = await f.edition(
        session,
        applications_open_at=clock.now() - timedelta(days=30),
        applications_close_at=clock.now() - timedelta(days=1),
    )
    closed_booth, _ = await f.booth(session, edition_=past)

    async def offer(title: str, code: str, commune: str, postcode: str, **kw: object):  # type: ignore[no-untyped-def]
        at = kw.pop("booth_", booth)
        return await f.offer(
            session,
            booth_=at,
            title=title,
            rome_code=code,
            commune=commune,
            postcode=postcode,
            **kw,
        )

    await offer("Cariste à Lattes", "N1101", "Lattes", "34970")
    await offer("Cariste à Lunel en CDD", "N1101", "Lunel", "34400", contract="cdd")
    await offer("Préparateur à Montpellier", "N1103", "Montpellier", "34000")
    await offer("Aide à domicile à Lattes", "K1302", "Lattes", "34970")
    await offer("Cariste à Nîmes", "N1101", "Nîmes", "30000")
    await offer("Cariste à Paris", "N1101", "Paris", "75001")
    await offer("Cariste à distance", "N1101", "Paris", "75001", remote=True)
    applied = await offer("Cariste à Pérols", "N1101", "Pérols", "34470")
    hidden = await offer("Cariste à Castelnau", "N1101", "Castelnau-le-Lez", "34170")
    await offers.set_published(session, hidden, False)
    await offer("Cariste d'hier", "N1101", "Lattes", "34970", booth_=closed_booth)
    candidate = await f.candidate(session, can_log_in=False)
    await f.application(session, offer_=applied, candidate_=candidate)
    await candidates.update(
        session, candidate, data=candidates.ProfileInput("Nadia", "", "Lattes", "")
    )
    assert await match_offers.offers_for(session, candidate.id) == []  # no job wanted yet
    wanted = Wanted(
        targets=(Target("N1101", "Cariste"),),
        max_distance_km=30,
        transport=Transport.CAR,
        contracts=frozenset({Contract.CDI}),
        working_time=WorkingTime.FULL_TIME,
        skills=("Habilitation électrique",),
    )
    await job_search.update(session, candidate, wanted=wanted)
    found = await match_offers.offers_for(session, candidate.id)
    assert [(m.offer.title, m.match.score, m.offer.booth.employer.name != "") for m in found] == [
        ("Cariste à Lattes", 100, True),
        ("Cariste à distance", 100, True),
        ("Préparateur à Montpellier", 74, True),
        ("Cariste à Lunel en CDD", 73, True),
        ("Cariste à Nîmes", 67, True),
    ]


async def test_the_imported_referential_brings_close_jobs_and_trainings(session) -> None:  # type: ignore[no-untyped-def]
    session.add_all(
        [
            RomeCode(code="N1101", label="Cariste", parent="N1101"),
            RomeCode(code="N1112", label="Chef cariste", parent="N1101"),
            RomeSkill(
                code_ogr="1",
                kind="competence",
                label="Gestes et postures",
                training_url="https://formation.example/gp",
            ),
        ]
    )
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    chief = await f.offer(
        session,
        booth_=booth,
        title="Chef cariste",
        rome_code="N1112",
        commune="Lattes",
        postcode="34970",
        skills=["Gestes et postures"],
    )
    candidate = await f.user(session, can_log_in=False)
    await candidates.update(
        session, candidate, data=candidates.ProfileInput("Nadia", "", "Lattes", "")
    )
    await job_search.update(
        session, candidate, wanted=Wanted(targets=(Target("N1101", "Cariste"),))
    )
    [found] = await match_offers.offers_for(session, candidate.id)
    assert found.offer.id == chief.id
    assert [(r.kind, r.points, r.link) for r in found.match.reasons] == [
        ("job", 35, ""),
        ("skill_missing", 0, "https://formation.example/gp"),
        ("distance", 20, ""),
        ("availability", 5, ""),
    ]
