"""Explainable matching (fair.matching): the points and reasons for one offer and one job
search, and the sentences a reader sees (fair/web/match_view.py), exactly."""

from __future__ import annotations

from datetime import date

from fair import geo, matching
from fair.enums import Contract, Transport, WorkingTime
from fair.job_search import JobSearch, Target
from fair.matching import Match, OfferFacts, Reason, Referential, Term
from fair.web import match_view

TODAY = date(2030, 1, 10)
LATTES = geo.find("Lattes")
LUNEL = geo.find("Lunel")
NIMES = geo.find("Nîmes")
assert LATTES and LUNEL and NIMES


def wanted(**kw: object) -> JobSearch:
    data: dict[str, object] = {
        "user_id": 7,
        "targets": (Target("N1101", "Cariste"), Target("F1602", "Électricien du bâtiment")),
        "commune_code": LATTES.code,
        "latitude": LATTES.latitude,
        "longitude": LATTES.longitude,
        "max_distance_km": 30,
        "transport": Transport.CAR,
        "contracts": frozenset({Contract.CDI}),
        "working_time": WorkingTime.FULL_TIME,
        "available_from": None,
        "skills": ("CACES R489 catégorie 3", "Permis B"),
    }
    data.update(kw)
    return JobSearch(**data)  # type: ignore[arg-type]


def offer(**kw: object) -> OfferFacts:
    place = kw.pop("place", LUNEL)
    assert isinstance(place, geo.Commune)
    data: dict[str, object] = {
        "id": 3,
        "rome_code": "N1101",
        "rome_label": "Cariste",
        "contract": "cdi",
        "working_time": "full_time",
        "latitude": place.latitude,
        "longitude": place.longitude,
        "skills": ("Permis B - Véhicule léger", "Gestes et postures", "CACES R489 catégorie 3"),
    }
    data.update(kw)
    return OfferFacts(**data)  # type: ignore[arg-type]


def test_a_near_offer_for_the_same_job_and_its_reasons() -> None:
    found = matching.score(offer(), wanted(), today=TODAY)
    km = geo.distance_km(LATTES.latitude, LATTES.longitude, LUNEL.latitude, LUNEL.longitude)
    assert found == Match(
        offer_id=3,
        candidate_id=7,
        score=round(50 + 20 / 3 + (20 - 10 * km / 30) + 10 + 5 + 5),
        reasons=(
            Reason("job", 50, {"level": "same", "job": "Cariste", "wanted": "Cariste"}),
            Reason(
                "skills_common",
                20 / 3,
                {"skills": "Permis B - Véhicule léger, CACES R489 catégorie 3"},
            ),
            Reason("skill_missing", 0, {"skill": "Gestes et postures"}),
            Reason(
                "distance",
                20 - 10 * km / 30,
                {"where": "within", "km": 22, "radius": 30, "declared": True, "means": "by car"},
            ),
            Reason("contract", 10, {"contract": "Permanent contract (CDI)"}),
            Reason("working_time", 5, {"time": "Full time"}),
            Reason("availability", 5, {"from": None, "start": None}),
        ),
        distance_km=km,
    )
    assert found.score == 89
    assert [(s.tone, s.text, s.link) for s in match_view.reasons(found)] == [
        ("plus", "Même métier : Cariste", ""),
        (
            "plus",
            "Compétences que vous avez : Permis B - Véhicule léger, CACES R489 catégorie 3",
            "",
        ),
        ("minus", "Compétence à acquérir : Gestes et postures", ""),
        ("plus", "À 22 km, dans votre rayon de 30 km en voiture", ""),
        ("plus", "CDI, un contrat que vous acceptez", ""),
        ("plus", "Temps plein, comme vous le souhaitez", ""),
        ("plus", "Vous pouvez commencer tout de suite", ""),
    ]
    assert [s.text for s in match_view.reasons(found, matching.THEM)] == [
        "Même métier : Cariste",
        "Compétences en commun : Permis B - Véhicule léger, CACES R489 catégorie 3",
        "Compétence à acquérir : Gestes et postures",
        "À 22 km, dans son rayon de 30 km en voiture",
        "CDI, un contrat que la personne accepte",
        "Temps plein, comme la personne le souhaite",
        "Disponible tout de suite",
    ]


def test_a_far_close_job_with_other_wishes() -> None:
    far = offer(
        rome_code="N1103",
        rome_label="Préparateur / Préparatrice de commandes",
        contract="temporary",
        working_time="part_time",
        place=NIMES,
        skills=("Gestes et postures",),
    )
    search = wanted(
        contracts=frozenset({Contract.CDI, Contract.CDD}),
        max_distance_km=None,
        transport=Transport.PUBLIC_TRANSPORT,
        available_from=date(2030, 6, 1),
    )
    referential = Referential(trainings={"gestes et postures": "https://formation.example/gp"})
    found = matching.score(far, search, today=TODAY, referential=referential)
    assert found.score == 0  # 25 + 0 - 30 - 10 - 5 - 5, never below 0
    assert [(r.kind, r.points) for r in found.reasons] == [
        ("job", 25),
        ("skill_missing", 0),
        ("distance", -30),
        ("contract", -10),
        ("working_time", -5),
        ("availability", -5),
    ]
    assert [(s.tone, s.text, s.link) for s in match_view.reasons(found)] == [
        (
            "plus",
            "Un métier de la même famille : Préparateur / Préparatrice de commandes"
            " (métier recherché : Cariste)",
            "",
        ),
        ("minus", "Compétence à acquérir : Gestes et postures", "https://formation.example/gp"),
        ("minus", "À 47 km de chez vous, loin en transports en commun", ""),
        ("minus", "Intérim, alors que vous cherchez : CDI, CDD", ""),
        ("minus", "Temps partiel, alors que vous cherchez : Temps plein", ""),
        (
            "minus",
            "Vous pouvez commencer le 1 juin 2030, alors que le poste est à pourvoir dès que"
            " possible",
            "",
        ),
    ]


def test_availability_against_the_day_the_position_is_to_be_filled() -> None:
    """In time +5 (the offer's day or sooner; a past day means as soon as possible), up to 30
    days late 0, later −5; the sentence names both days."""

    def seen(starts_on: date | None, available_from: date | None) -> tuple[object, ...]:
        found = matching.score(
            offer(starts_on=starts_on), wanted(available_from=available_from), today=TODAY
        )
        reason = found.reasons[-1]
        assert reason.kind == "availability"
        shown = match_view.reasons(found)[-1]
        them = match_view.reasons(found, matching.THEM)[-1]
        return reason.points, dict(reason.facts), shown.tone, shown.text, them.text

    february = date(2030, 2, 5)
    assert seen(february, None) == (
        5,
        {"from": None, "start": february},
        "plus",
        "Vous êtes disponible à temps : poste à pourvoir le 5 février 2030",
        "Disponible à temps : poste à pourvoir le 5 février 2030",
    )
    assert seen(february, date(2030, 2, 5))[:3] == (
        5,
        {"from": february, "start": february},
        "plus",
    )
    assert seen(february, date(2030, 3, 1)) == (
        0,
        {"from": date(2030, 3, 1), "start": february},
        "info",
        "Vous pouvez commencer le 1 mars 2030, alors que le poste est à pourvoir le 5 février 2030",
        "Disponible à partir du 1 mars 2030, alors que le poste est à pourvoir le 5 février 2030",
    )
    assert seen(february, date(2030, 3, 8))[0] == -5  # 31 days late
    # No day, or a day past: as soon as possible.
    for start in (None, date(2030, 1, 2)):
        assert seen(start, date(2030, 1, 5))[:4] == (
            5,
            {"from": None, "start": None},
            "plus",
            "Vous pouvez commencer tout de suite",
        )
        assert seen(start, date(2030, 1, 30)) == (
            0,
            {"from": date(2030, 1, 30), "start": None},
            "info",
            "Vous pouvez commencer le 30 janvier 2030, alors que le poste est à pourvoir dès"
            " que possible",
            "Disponible à partir du 30 janvier 2030, alors que le poste est à pourvoir dès que"
            " possible",
        )


def test_distance_points_fall_with_the_distance() -> None:
    assert [matching.distance_points(km, 20) for km in (0, 10, 20, 30, 40, 80)] == [
        20,
        15,
        10,
        -10,
        -30,
        -30,
    ]
    near = matching.score(offer(place=LATTES), wanted(), today=TODAY)
    far = matching.score(offer(place=LUNEL, id=4), wanted(), today=TODAY)
    assert matching.best([far, near], 2) == [near, far]


def test_remote_other_domains_and_an_unknown_home() -> None:
    search = wanted(latitude=None, longitude=None, commune_code="", contracts=frozenset())
    search = JobSearch(**{**search.__dict__, "working_time": None})
    other = offer(
        rome_code="K1302", rome_label="Assistant / Assistante de vie dépendance", skills=()
    )
    same_field = offer(
        rome_code="N4101", rome_label="Conducteur / Conductrice de poids lourd", remote=True
    )
    assert [s.text for s in match_view.reasons(matching.score(other, search, today=TODAY))] == [
        "Un autre métier : Assistant / Assistante de vie dépendance",
        "Indiquez votre commune dans votre profil pour voir la distance",
        "Vous pouvez commencer tout de suite",
    ]
    home = wanted()
    found = matching.score(same_field, home, today=TODAY)
    assert found.reasons[0] == Reason(
        "job",
        10,
        {
            "level": "domain",
            "job": "Conducteur / Conductrice de poids lourd",
            "wanted": "Cariste",
            "domain": Term("Transport and logistics"),
        },
    )
    assert [s.text for s in match_view.reasons(found)][0:4:3] == [
        "Même domaine (Transport et logistique) : Conducteur / Conductrice de poids lourd",
        "Télétravail possible",
    ]
    parents = Referential(parents={"N1101": "N1101", "N1112": "N1101"})
    chief = offer(rome_code="N1112", rome_label="Chef cariste / Cheffe cariste")
    assert matching.score(chief, home, today=TODAY, referential=parents).reasons[0].points == 35


def test_points_rank_as_the_full_score() -> None:
    """`points` (used to rank hundreds) gives each pair the score and distance `score` gives."""
    searches = [
        wanted(),
        wanted(contracts=frozenset(), working_time=None, skills=()),
        wanted(latitude=None, longitude=None, available_from=date(2030, 6, 1)),
        wanted(max_distance_km=0, transport=Transport.ON_FOOT),
    ]
    offers = [
        offer(),
        offer(place=NIMES, contract="cdd", working_time="part_time", skills=()),
        offer(place=LATTES, rome_code="N1112", rome_label="Chef cariste", remote=True),
        offer(rome_code="K1302", rome_label="Assistant de vie"),
        offer(starts_on=date(2030, 5, 1)),
        offer(starts_on=date(2030, 1, 20), skills=()),
    ]
    parents = Referential(parents={"N1101": "N1101", "N1112": "N1101"})
    for search in searches:
        for found in offers:
            full = matching.score(found, search, today=TODAY, referential=parents)
            assert matching.points(found, search, today=TODAY, referential=parents) == (
                full.score,
                full.distance_km,
            )
    pairs = [(o, searches[0]) for o in offers]
    assert matching.top(pairs, 2, today=TODAY) == matching.best(
        [matching.score(o, searches[0], today=TODAY) for o in offers], 2
    )
