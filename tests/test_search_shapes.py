"""The search's statements built once per shape (fair.search.shapes): a search of the same shape
reuses them, its own values bound, and finds its own offers."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from fair import db, search
from fair.search import cache as search_cache
from fair.search import facets, shapes
from tests import factories as f


async def _setup(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    other, _ = await f.booth(session, edition_=await f.edition(session))
    trades = {
        "Électricien": ("F1602", "Installation électrique."),
        "Plombier": ("F1603", "Installation sanitaire."),
        "Cariste": ("N1101", "Conduite de chariots."),
    }
    spec = [
        ("Électricien (H/F)", "cdi", "Lattes", "34970"),
        ("Électricien de chantier", "cdd", "Nîmes", "30000"),
        ("Plombier chauffagiste", "cdi", "Montpellier", "34000"),
        ("Plombier", "cdd", "Sète", "34200"),
        ("Cariste", "cdi", "Lunel", "34400"),
    ]
    for title, contract, commune, postcode in spec:
        code, description = trades[title.split()[0]]
        await f.offer(
            session,
            booth_=booth,
            title=title,
            rome_code=code,
            description=description,
            skills=[],
            contract=contract,
            commune=commune,
            postcode=postcode,
        )
    await f.offer(session, booth_=other, title="Électricien ailleurs")  # another edition's
    await db.commit(session)
    return edition


async def _page(session, edition, **kw):  # type: ignore[no-untyped-def]
    search_cache.forget()  # worked out each time: the answers kept are not what is tested
    query = search.Query(**kw)
    # The words as typed (fair.search.terms would widen each its own way: another shape).
    page = await search.search(session, edition_id=edition.id, query=query)
    counts = await facets.count(
        session, edition_id=edition.id, query=query, origin=page.origin, shown=page
    )
    return sorted(h.offer.title for h in page.hits), page.total, counts


async def test_the_same_shape_reuses_its_statements_with_its_own_values(session):  # type: ignore[no-untyped-def]
    edition = await _setup(session)
    assert await _page(session, edition, q="electricien") == (
        ["Électricien (H/F)", "Électricien de chantier"],
        2,
        facets.Facets(
            contract={"cdi": 1, "cdd": 1},
            working_time={"full_time": 2},
            domain={"F": 2},
            any={
                "contract": 2,
                "working_time": 2,
                "domain": 2,
                "radius_km": 2,
                "remote": 2,
                "publics": 2,
            },
        ),
    )
    built = shapes.kept()
    titles, total, counts = await _page(session, edition, q="plombier")  # one word too
    assert (titles, total, counts.contract) == (["Plombier", "Plombier chauffagiste"], 2, {
        "cdi": 1,
        "cdd": 1,
    })  # fmt: skip
    assert shapes.kept() == built  # nothing built: the same statements, other values
    # A filter's value, a place and its radius: bound, not built in.
    titles, total, counts = await _page(session, edition, q="electricien", contract="cdi")
    assert (titles, total, counts.contract) == (["Électricien (H/F)"], 1, {"cdi": 1, "cdd": 1})
    built = shapes.kept()
    titles, total, counts = await _page(session, edition, q="plombier", contract="cdd")
    assert (titles, total, counts.contract) == (["Plombier"], 1, {"cdi": 1, "cdd": 1})
    assert shapes.kept() == built
    titles, *_ = await _page(session, edition, contract="cdi", commune="Montpellier", radius_km=20)
    assert titles == ["Plombier chauffagiste", "Électricien (H/F)"]
    built = shapes.kept()
    titles, *_ = await _page(session, edition, contract="cdi", commune="Lunel", radius_km=20)
    assert titles == ["Cariste"]  # Montpellier is 21 km from Lunel, Lattes 22
    titles, *_ = await _page(session, edition, contract="cdi", commune="Lunel", radius_km=30)
    assert titles == ["Cariste", "Plombier chauffagiste", "Électricien (H/F)"]
    titles, *_ = await _page(session, edition, contract="cdd", commune="Sète", radius_km=5)
    assert titles == ["Plombier"]
    assert shapes.kept() == built
    # Another shape (two words): built once, then reused.
    assert (await _page(session, edition, q="plombier chauffagiste"))[:2] == (
        ["Plombier chauffagiste"],
        1,
    )
    built = shapes.kept()
    assert (await _page(session, edition, q="electricien chantier"))[:2] == (
        ["Électricien de chantier"],
        1,
    )
    assert shapes.kept() == built


def test_a_shape_is_built_once_and_the_least_recently_used_dropped() -> None:
    calls: list[int] = []

    def build() -> object:
        calls.append(1)
        return object()

    shapes.forget()
    first = shapes.built(("test", 0), build)
    assert shapes.built(("test", 0), build) is first
    assert calls == [1]
    for n in range(1, shapes.SIZE + 1):
        shapes.built(("test", n), build)
    assert shapes.kept() == shapes.SIZE
    assert shapes.built(("test", 0), build) is not first  # dropped, built again
    shapes.forget()


@pytest.mark.postgresql_only
async def test_the_title_vector_holds_the_title_stems(session):  # type: ignore[no-untyped-def]
    """Migration 0044: PostgreSQL's title tiers read `title_vector`, whose lexemes must be the
    title's stems themselves (fair.search.match), digits and short words included."""
    booth, _ = await f.booth(session, edition_=await f.edition(session))
    offer = await f.offer(session, booth_=booth, title="Conducteur SPL / CACES 3 (H/F) - Lunel")
    await db.commit(session)
    row = await session.execute(
        text("SELECT title_stems, tsvector_to_array(title_vector) FROM offers WHERE id = :id"),
        {"id": offer.id},
    )
    stems, lexemes = row.one()
    assert (
        sorted(lexemes) == sorted(set(stems.split())) == ["3", "cac", "conducteur", "lunel", "spl"]
    )


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_partners_offer_s_distance_is_computed_once(dialect: str) -> None:
    """Sorted by distance, a match's distance is its sort key, read as the distance one level
    up: the partners' offers' rows as the edition's own (each column's expression is computed
    anew on SQLite, a haversine per column and per match)."""
    from sqlalchemy.dialects import postgresql, sqlite

    from fair.search import pages, ranking
    from fair.search.query import check

    query = search.Query(q="electricien", commune="Montpellier", radius_km=20, sort="distance")
    shape = ranking.shape(dialect, query, check(query))
    compiler = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}[dialect]

    def haversines(network: bool) -> int:
        statement = pages._statement(shape, "distance", True, False, network)
        return str(statement.compile(dialect=compiler)).lower().count("asin(")

    own = haversines(False)
    assert own > 0
    # The partners' part of the union measures each offer as often as the edition's part.
    assert haversines(True) == 2 * own
