"""The booth hall's query (fair.hall) on SQLite and PostgreSQL: each filter with the exact
booths it keeps, their combination, pages, cards, and the filters it refuses."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, geo, hall
from fair.errors import Invalid
from tests import factories as f
from tests.factories import NOON
from tests.hall_setup import Hall, make_hall

ALL = [
    "Alpha Bâtiment",
    "boulangerie Beta",
    "Clinique Gamma",
    "Delta Logistique",
    "Foxtrot Services",
]


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


async def names(session: AsyncSession, made: Hall, **kw: object) -> list[str]:
    page = await hall.find(session, edition_id=made.edition.id, filters=hall.Filters(**kw))  # type: ignore[arg-type]
    return [card.employer.name for card in page.cards]


async def test_each_filter_keeps_exactly_its_booths(session: AsyncSession) -> None:
    made = await make_hall(session)
    assert await names(session, made) == ALL  # by name, case aside; the requested booth never
    assert await names(session, made, q="BET") == ["boulangerie Beta"]
    assert await names(session, made, q="logist") == ["Delta Logistique"]
    assert await names(session, made, q="%") == []  # a wildcard is a character like any other
    assert await names(session, made, sector="43") == ["Alpha Bâtiment", "Foxtrot Services"]
    assert await names(session, made, sector="86") == ["Clinique Gamma"]
    # A commune: employers there, or a published offer there.
    assert await names(session, made, commune="Montpellier") == [
        "Alpha Bâtiment",
        "Delta Logistique",
    ]
    assert await names(session, made, commune="34400") == ["Delta Logistique"]  # its offer in Lunel
    assert await names(session, made, commune="Castelnau-le-Lez") == ["Foxtrot Services"]
    # A distance: employers' communes (Lattes 3.3 km, Castelnau-le-Lez 3.7 km from Montpellier)
    # or offers' coordinates (Lunel 21 km, Sète 27.3 km).
    assert await names(session, made, commune="Montpellier", radius_km=5) == [
        "Alpha Bâtiment",
        "boulangerie Beta",
        "Delta Logistique",
        "Foxtrot Services",
    ]
    assert await names(session, made, commune="Lunel", radius_km=5) == ["Delta Logistique"]
    assert await names(session, made, commune="Sète", radius_km=20) == ["Clinique Gamma"]
    assert await names(session, made, commune="Montpellier", radius_km=30) == ALL
    # Contract types: any of them, in a published offer (Foxtrot's CDI is not).
    assert await names(session, made, contracts=["cdi"]) == ["Alpha Bâtiment", "Clinique Gamma"]
    assert await names(session, made, contracts=["cdd", "apprenticeship"]) == [
        "boulangerie Beta",
        "Clinique Gamma",
        "Delta Logistique",
    ]
    assert await names(session, made, contracts=["internship"]) == []
    assert await names(session, made, no_diploma=True) == ["boulangerie Beta", "Clinique Gamma"]
    # Contract and no diploma hold for the same offer: Clinique Gamma's CDI asks for one.
    assert await names(session, made, contracts=["cdi"], no_diploma=True) == []
    assert await names(session, made, contracts=["apprenticeship"], no_diploma=True) == [
        "Clinique Gamma"
    ]
    assert await names(session, made, present=True) == ["Delta Logistique"]
    assert await names(session, made, slots=True) == ["Delta Logistique"]
    assert await names(session, made, sector="43", commune="Montpellier", radius_km=5) == [
        "Alpha Bâtiment",
        "Foxtrot Services",
    ]


def test_active_filters_counted() -> None:
    assert hall.Filters().active() == 0
    assert hall.Filters(page=3, radius_km=5).active() == 0
    assert (
        hall.Filters(q="a", commune="Lattes", radius_km=5, contracts=["cdi", "cdd"]).active() == 3
    )
    assert hall.Filters(sector="43", no_diploma=True, present=True, slots=True).active() == 4


async def test_free_slots_only(session: AsyncSession) -> None:
    made = await make_hall(session)
    # Tomorrow 09:00-11:00: past them, or before the rules release the booking, none is free.
    clock.set_now(NOON.replace(day=NOON.day + 1, hour=11))
    assert await names(session, made, slots=True) == []


async def test_cards_and_pages(session: AsyncSession) -> None:
    made = await make_hall(session)
    filters = hall.Filters(per_page=2)
    first = await hall.find(session, edition_id=made.edition.id, filters=filters)
    assert (first.total, first.page, first.pages) == (5, 1, 3)
    assert [(c.employer.name, c.sector, c.offers, c.staffed, c.waiting) for c in first.cards] == [
        ("Alpha Bâtiment", "Travaux de construction spécialisés", 1, False, 0),
        ("boulangerie Beta", "Industries alimentaires", 1, False, 0),
    ]
    last = await hall.find(session, edition_id=made.edition.id, filters=replace(filters, page=3))
    assert [(c.employer.name, c.offers, c.staffed, c.waiting) for c in last.cards] == [
        ("Foxtrot Services", 0, False, 2)  # its only offer is not published
    ]
    # Past the last page: the last one.
    past = await hall.find(session, edition_id=made.edition.id, filters=replace(filters, page=9))
    assert (past.page, [c.employer.name for c in past.cards]) == (3, ["Foxtrot Services"])
    middle = await hall.find(session, edition_id=made.edition.id, filters=replace(filters, page=2))
    assert [(c.employer.name, c.offers, c.staffed) for c in middle.cards] == [
        ("Clinique Gamma", 2, False),
        ("Delta Logistique", 1, True),
    ]
    nothing = await hall.find(
        session, edition_id=made.edition.id, filters=hall.Filters(q="zzz", page=4)
    )
    assert (nothing.total, nothing.page, nothing.cards) == (0, 1, [])
    assert await hall.sectors(session, made.edition.id) == [
        ("86", "Activités pour la santé humaine"),
        ("52", "Entreposage et services auxiliaires des transports"),
        ("10", "Industries alimentaires"),
        ("43", "Travaux de construction spécialisés"),
    ]


@pytest.mark.parametrize(
    ("filters", "fields"),
    [
        (hall.Filters(q="x" * 101), {"q": "Keep the name under 100 characters."}),
        (hall.Filters(sector="4"), {"sector": "Choose a sector from the list."}),
        (hall.Filters(sector="00"), {"sector": "Choose a sector from the list."}),
        (
            hall.Filters(commune="Nulle-Part-sur-Mer"),
            {"commune": geo.NO_NAME},
        ),
        (
            hall.Filters(commune="Montpellier", radius_km=7),
            {"radius_km": "Choose a distance from the list."},
        ),
        (
            hall.Filters(radius_km=10),
            {"commune": "Choose the commune the distance is measured from."},
        ),
        (
            hall.Filters(contracts=["cdi", "job"]),
            {"contracts": "Choose contract types from the list."},
        ),
    ],
)
async def test_filters_refused(
    session: AsyncSession, filters: hall.Filters, fields: dict[str, str]
) -> None:
    edition = await f.edition(session)
    with pytest.raises(Invalid) as raised:
        await hall.find(session, edition_id=edition.id, filters=filters)
    assert (raised.value.code, raised.value.fields) == ("hall.invalid", fields)
