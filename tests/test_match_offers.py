"""Offers for a candidate (fair.match_offers): only open offers of the jobs wanted and their
families, near first, scored by fair.matching; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from fair import (
    candidates,
    clock,
    db,
    job_search,
    match_offers,
    network,
    offers,
    search,
    settings,
)
from fair.enums import Contract, Transport, WorkingTime
from fair.job_search import JobSearch, Target, Wanted
from fair.matching import Reason
from fair.models import Offer, RomeCode, RomeSkill
from tests import factories as f
from tests.network_offers import held, network_application, partner
from tests.statements import listening


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


async def test_the_day_a_position_is_to_be_filled_meets_the_candidates_availability(
    session,
) -> None:  # type: ignore[no-untyped-def]
    """An offer's start day (this instance's or a partner's) is read with the offer and weighed
    against the day the candidate can start: in time +5, up to 30 days late 0, later -5."""
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    today = match_offers.today(clock.now())
    later = today + timedelta(days=60)
    await f.offer(session, booth_=booth, title="Cariste tout de suite", rome_code="N1101",
                  commune="Lattes", postcode="34970")  # fmt: skip
    await f.offer(session, booth_=booth, title="Cariste plus tard", rome_code="N1101",
                  commune="Lattes", postcode="34970", starts_on=later)  # fmt: skip
    montlucon = await partner(session, edition, "Montluçon", "https://montlucon.example")
    soon = today + timedelta(days=10)
    await held(session, montlucon, 1, "Cariste bientôt (réseau)", "Lattes", starts_on=soon)
    candidate = await f.candidate(session, can_log_in=False)
    await candidates.update(
        session, candidate, data=candidates.ProfileInput("Nadia", "", "Lattes", "")
    )
    ready = today + timedelta(days=40)
    wanted = Wanted(targets=(Target("N1101", "Cariste"),), available_from=ready)
    await job_search.update(session, candidate, wanted=wanted)
    found = await match_offers.offers_for(session, candidate.id)
    assert [(m.offer.title, m.match.reasons[-1]) for m in found] == [
        ("Cariste plus tard", Reason("availability", 5, {"from": ready, "start": later})),
        ("Cariste bientôt (réseau)", Reason("availability", 0, {"from": ready, "start": soon})),
        ("Cariste tout de suite", Reason("availability", -5, {"from": ready, "start": None})),
    ]


# Partners' offers ---------------------------------------------------------------------------


async def test_partners_offers_are_matched_by_the_same_points(session) -> None:  # type: ignore[no-untyped-def]
    """A partner's offer is among the offers for you, with its territory, scored as any: the
    near ones first, a far one after the near ones of this instance, none beyond twice the
    candidate's radius; never one the candidate
    applied to, one held for a closed edition or from a disabled partner; each once when two
    editions hold it."""
    edition = await f.edition(session)
    other = await f.edition(session, title="Forum de Sète")
    past = await f.edition(
        session,
        applications_open_at=clock.now() - timedelta(days=30),
        applications_close_at=clock.now() - timedelta(days=1),
    )
    booth, _recruiter = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth, title="Cariste à Lattes", rome_code="N1101",
                  commune="Lattes", postcode="34970")  # fmt: skip
    await f.offer(session, booth_=booth, title="Cariste à Nîmes", rome_code="N1101",
                  commune="Nîmes", postcode="30000")  # fmt: skip
    montlucon = await partner(session, edition, "Montluçon", "https://montlucon.example")
    lunel = await held(session, montlucon, 1, "Cariste à Lunel (réseau)", "Lunel")
    again = await partner(session, other, "Montluçon", "https://montlucon.example")
    await held(session, again, 1, "Cariste à Lunel (réseau)", "Lunel")  # a copy
    await held(session, montlucon, 2, "Cariste à Montluçon", "Montluçon")
    applied = await held(session, montlucon, 3, "Cariste à Pérols (réseau)", "Pérols")
    await held(session, montlucon, 4, "Cariste d'hier", "Lattes", edition_id=past.id)
    await held(session, montlucon, 5, "Magasinier à Mauguio", "Mauguio", rome_code="N1103")
    closed = await partner(session, edition, "Aurillac", "https://aurillac.example")
    await held(session, closed, 1, "Cariste d'un partenaire arrêté", "Lattes")
    closed.active = False
    candidate = await f.candidate(session, can_log_in=False)
    await candidates.update(
        session, candidate, data=candidates.ProfileInput("Nadia", "", "Lattes", "")
    )
    wanted = Wanted(
        targets=(Target("N1101", "Cariste"),), max_distance_km=30, transport=Transport.CAR
    )
    await job_search.update(session, candidate, wanted=wanted)
    session.add(network_application(candidate.id, applied))
    await session.flush()

    found = await match_offers.offers_for(session, candidate.id)
    assert [(m.offer.title, m.territory, m.network, m.match.score) for m in found] == [
        ("Cariste à Lattes", "", False, 75),
        ("Cariste à Lunel (réseau)", "Montluçon", True, 68),
        ("Magasinier à Mauguio", "Montluçon", True, 47),
        ("Cariste à Nîmes", "", False, 42),
    ]  # Montluçon, 300 km away, is beyond twice the radius: not worth showing
    assert (found[1].offer.id, found[1].employer) == (lunel.id, "Employeur de Lunel")
    assert found[1].match.reasons[0].facts == {
        "level": "same",
        "job": "Cariste",  # the shipped ROME label: a partner's offer has none of its own
        "wanted": "Cariste",
    }

    # Where an edition's organisers turned the partners' offers off (as its search does,
    # fair.network.shows_network), the offers held for it are not shown: the copy held for the
    # other edition still is.
    assert await network.set_offers_shown(session, edition, shown=False)
    assert await network.shows_network(session, edition.id) is False
    found = await match_offers.offers_for(session, candidate.id)
    assert [(m.offer.title, m.offer.edition_id) for m in found] == [
        ("Cariste à Lattes", edition.id),
        ("Cariste à Lunel (réseau)", other.id),
        ("Cariste à Nîmes", edition.id),
    ]
    assert await network.set_offers_shown(session, other, shown=False)
    alone = await match_offers.offers_for(session, candidate.id)
    assert [m.offer.title for m in alone] == ["Cariste à Lattes", "Cariste à Nîmes"]
    await network.set_offers_shown(session, edition, shown=True)
    await network.set_offers_shown(session, other, shown=True)
    assert len(await match_offers.offers_for(session, candidate.id)) == 4

    settings.override(replace(settings.get(), network_offers=False))
    alone = await match_offers.offers_for(session, candidate.id)
    assert [m.offer.title for m in alone] == ["Cariste à Lattes", "Cariste à Nîmes"]


# The referential held in memory -----------------------------------------------------------


async def test_a_new_referential_is_read_again(session, app) -> None:  # type: ignore[no-untyped-def]
    """The referential is held by the process and read again once it changed, whoever changed
    it: here another connection, as `fair rome import` in another process would."""
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth, title="Chef cariste", rome_code="N1112",
                  commune="Lattes", postcode="34970", skills=["Gestes et postures"])  # fmt: skip
    candidate = await f.candidate(session, can_log_in=False)
    await candidates.update(
        session, candidate, data=candidates.ProfileInput("Nadia", "", "Lattes", "")
    )
    await job_search.update(
        session, candidate, wanted=Wanted(targets=(Target("N1101", "Cariste"),))
    )
    await db.commit(session)

    def job_and_link(found: list[match_offers.OfferMatch]) -> list[tuple[str, float, str]]:
        return [(r.kind, r.points, r.link) for m in found for r in m.match.reasons][:2]

    async with app.state.read_sessions() as reading:
        before = await match_offers.offers_for(reading, candidate.id)
    assert job_and_link(before) == [("job", 25, ""), ("skill_missing", 0, "")]
    async with db.unit_of_work(app.state.write_sessions) as other:
        other.add_all(
            [
                RomeCode(code="N1101", label="Cariste", parent="N1101"),
                RomeCode(code="N1112", label="Chef cariste", parent="N1101"),
                RomeSkill(
                    code_ogr="1",
                    kind="competence",
                    label="Gestes et postures",
                    training_url="https://formation.example/gp",
                ),  # fmt: skip
            ]
        )
    async with app.state.read_sessions() as reading:
        after = await match_offers.offers_for(reading, candidate.id)
        statements = await _statements(app, match_offers.offers_for(reading, candidate.id))
    assert job_and_link(after) == [
        ("job", 35, ""),
        ("skill_missing", 0, "https://formation.example/gp"),
    ]
    # The candidate's job search, the ranked offers with the referential's token, the kept
    # offers with their booths and employers: nothing read again while nothing changed.
    assert statements == 3
    async with db.unit_of_work(app.state.write_sessions) as other:
        skill = await other.scalar(select(RomeSkill))
        skill.training_url = "https://formation.example/autre"
    async with app.state.read_sessions() as reading:
        changed = await match_offers.offers_for(reading, candidate.id)
    assert job_and_link(changed)[1][2] == "https://formation.example/autre"


async def _statements(app, call) -> int:  # type: ignore[no-untyped-def]
    """The statements `call` runs (awaited here)."""
    count = 0

    def counted(*_args: object) -> None:
        nonlocal count
        count += 1

    engine = app.state.engine.sync_engine
    with listening(engine, "before_cursor_execute", counted):
        await call
    return count


async def test_the_distance_with_parameters_is_the_search_s(session) -> None:  # type: ignore[no-untyped-def]
    """The ranking query's distance (the home as parameters, so that it is built once) gives
    fair.search.km_from's kilometres, on both databases."""
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    for commune, postcode in (("Lattes", "34970"), ("Nîmes", "30000"), ("Paris", "75001")):
        await f.offer(session, booth_=booth, commune=commune, postcode=postcode)
    home = JobSearch(user_id=0, latitude=43.6119, longitude=3.8772)
    values = match_offers.parameters(home, clock.now(), frozenset())
    rows = await session.execute(
        select(search.km_from(43.6119, 3.8772), match_offers.km_from_home(Offer)).order_by(
            Offer.id
        ),
        {key: values[key] for key in ("lat1", "lon1", "cos_lat1")},
    )
    pairs = [(round(a, 6), round(b, 6)) for a, b in rows]
    assert [a for a, _b in pairs] == [b for _a, b in pairs]
    assert [round(a) for a, _b in pairs] == [5, 46, 595]
