"""French full-text search with filters, on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from fair import db, geo, search
from fair.errors import Invalid
from fair.models import Booth
from fair.search import best
from tests import factories as f
from tests.statements import cold, listening


async def _setup(session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    hidden_booth, _ = await f.booth(session, edition_=edition, approve=False)
    offers = {
        "elec": await f.offer(
            session, booth_=booth, title="Électricien (H/F)", commune="Lattes", postcode="34970"
        ),
        "aide": await f.offer(
            session,
            booth_=booth,
            title="Aide-soignante de nuit",
            rome_code="J1501",
            description="Soins aux résidents en EHPAD.",
            contract="cdd",
            commune="Nîmes",
            postcode="30000",
            open_seniors=True,
            skills=[],
        ),
        "cariste": await f.offer(
            session,
            booth_=booth,
            title="Cariste",
            rome_code="N1101",
            description="Conduite de chariots élévateurs.",
            contract="temporary",
            commune="Sète",
            postcode="34200",
            remote=False,
            no_diploma=True,
            skills=["CACES 3"],
        ),
        "dev": await f.offer(
            session,
            booth_=booth,
            title="Développeuse web",
            rome_code="M1805",
            description="Applications pour les services publics.",
            remote=True,
            commune="Montpellier",
            postcode="34000",
            skills=["Python"],
        ),
    }
    await f.offer(session, booth_=hidden_booth, title="Électricien caché")
    await db.commit(session)
    return edition, offers


async def _titles(session, edition, **kw) -> list[str]:  # type: ignore[no-untyped-def]
    page = await search.search(session, edition_id=edition.id, query=search.Query(**kw))
    return [h.offer.title for h in page.hits]


async def test_accents_and_plurals(session):  # type: ignore[no-untyped-def]
    edition, _ = await _setup(session)
    assert await _titles(session, edition, q="electriciens") == ["Électricien (H/F)"]
    assert await _titles(session, edition, q="ÉLECTRICIEN") == ["Électricien (H/F)"]
    assert await _titles(session, edition, q="aides soignantes") == ["Aide-soignante de nuit"]
    assert await _titles(session, edition, q="chariot elevateur") == ["Cariste"]
    assert await _titles(session, edition, q="python") == ["Développeuse web"]
    assert await _titles(session, edition, q="plombier") == []
    assert await _titles(session, edition, q="!!! --") == []


async def test_a_title_match_comes_before_the_words_in_a_text(session):  # type: ignore[no-untyped-def]
    """Without a widening too, the title's matches rank first (fair.search.match's tiers): the
    title starting with the word, then the title holding it, then the text repeating it,
    whatever the text's score; through every path a page takes (the index's best matches,
    a filter, the next pages) and with each tier's newest match alone scored."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    repeated = "Électricien, électricien : nous cherchons un électricien. " * 4
    text = await f.offer(session, booth_=booth, title="Chef de chantier", description=repeated)
    inside = await f.offer(session, booth_=booth, title="Technicien électricien de maintenance")
    head = await f.offer(session, booth_=booth, title="Électricien de maintenance")
    await db.commit(session)
    expected = [head.id, inside.id, text.id]

    async def ids(**kw: object) -> list[int]:
        query = search.Query(q="electricien", **kw)  # type: ignore[arg-type]
        page = await search.search(session, edition_id=edition.id, query=query)
        return [h.offer.id for h in page.hits]

    for kw in ({}, {"contract": "cdi"}, {"rank_bound": 1}, {"rank_bound": 1, "contract": "cdi"}):
        assert await ids(**kw) == expected, kw
        assert [i for n in (1, 2, 3) for i in await ids(per_page=1, page=n, **kw)] == expected


async def test_filters_radius_and_sort(session):  # type: ignore[no-untyped-def]
    edition, _ = await _setup(session)
    assert await _titles(session, edition, contract="cdd") == ["Aide-soignante de nuit"]
    assert await _titles(session, edition, domain="N") == ["Cariste"]
    assert await _titles(session, edition, remote=True) == ["Développeuse web"]
    assert sorted(await _titles(session, edition, publics={"seniors", "no_diploma"})) == [
        "Aide-soignante de nuit",
        "Cariste",
    ]
    # From Montpellier's town hall (the coordinates of fair/data/communes.json.gz): Lattes's is
    # ~3 km away, Sète's ~27 km, Nîmes's ~46 km.
    near = await _titles(session, edition, commune="Montpellier", radius_km=10, sort="distance")
    assert near == ["Développeuse web", "Électricien (H/F)"]
    wider = await _titles(session, edition, commune="montpellier", radius_km=30, sort="distance")
    assert wider == ["Développeuse web", "Électricien (H/F)", "Cariste"]
    page = await search.search(
        session,
        edition_id=edition.id,
        query=search.Query(commune="Montpellier", radius_km=50, sort="distance"),
    )
    here = geo.find("Montpellier")
    expected = [
        round(
            geo.distance_km(here.latitude, here.longitude, h.offer.latitude, h.offer.longitude), 3
        )
        for h in page.hits
    ]
    assert [round(h.distance_km or 0, 3) for h in page.hits] == expected
    assert [round(d) for d in expected] == [0, 3, 27, 46]


async def test_pagination(session):  # type: ignore[no-untyped-def]
    edition, _ = await _setup(session)
    first = await search.search(session, edition_id=edition.id, query=search.Query(per_page=3))
    second = await search.search(
        session, edition_id=edition.id, query=search.Query(per_page=3, page=2)
    )
    assert (first.total, first.pages, len(first.hits), len(second.hits)) == (4, 2, 3, 1)
    assert not {h.offer.id for h in first.hits} & {h.offer.id for h in second.hits}


@pytest.mark.parametrize(
    "kw",
    [
        {},  # the newest-first listing: the page from the date index, a separate count
        {"q": "el"},  # words, ranked by relevance: matches gathered, counted beside the page
        {"contract": "cdi"},  # a filter: matches gathered, counted beside the page
        {"sort": "recent", "remote": True},
    ],
)
async def test_the_count_stops_past_the_cap(session, kw):  # type: ignore[no-untyped-def]
    """Past `count_cap` matches after the page, the count stops and says "more than"."""
    edition, offers = await _setup(session)
    booth = await session.get(Booth, offers["elec"].booth_id)
    for _ in range(2):  # more electricians: "el" finds four offers
        await f.offer(session, booth_=booth)
    await db.commit(session)

    async def page(number: int, cap: int) -> tuple[int, bool, int, int]:
        query = search.Query(per_page=1, page=number, count_cap=cap, **kw)
        found = await search.search(session, edition_id=edition.id, query=query)
        return found.total, found.capped, found.pages, len(found.hits)

    every = await search.search(session, edition_id=edition.id, query=search.Query(**kw))
    n = every.total
    assert (await page(1, 100)) == (n, False, n, min(n, 1))
    if n >= 3:
        # One offer per page, two more counted at most: "more than 2", then "more than 3".
        assert (await page(1, 2)) == (2, True, 2, 1)
        assert (await page(2, 2)) == (3, n > 3, 3, 1)
        # Counted from the page's first match: the cap reaching the last one, the count is exact.
        assert (await page(2, n - 1)) == (n, False, n, 1)
        assert (await page(2, n - 2)) == (n - 1, True, n - 1, 1)


@pytest.mark.parametrize("kw", [{"q": "plombier"}, {"q": "plombier", "contract": "cdi"}])
async def test_a_first_page_of_nothing_is_not_counted_again(app, session, kw):  # type: ignore[no-untyped-def]
    """Words that find nothing (a typo, before fair.search.terms respells it): the matches
    gathered for the first page are counted with it, so its empty answer is the count, not a
    second statement; a later page past the last match is still counted apart."""
    edition, offers = await _setup(session)

    async def page(number: int, **more: object) -> tuple[int, bool, list[int], int]:
        query = search.Query(page=number, **{**kw, **more})  # type: ignore[arg-type]
        with cold(app, every=True) as seen:
            found = await search.search(session, edition_id=edition.id, query=query)
        # The offers read, not the planner's settings turned before (fair.search.pages).
        read = [
            s
            for s in seen
            if "offers" in s
            and "offers_versions" not in s
            and not s.startswith("SELECT current_setting")
        ]
        return found.total, found.capped, [h.offer.id for h in found.hits], len(read)

    # SQLite's best-first page (words alone) counts first, then reads a page only if any.
    best_first = session.bind.dialect.name == "sqlite" and "contract" not in kw
    assert await page(1) == (0, False, [], 1)
    assert await page(2) == (0, False, [], 1 if best_first else 2)  # the page, then the count
    words = {"q": "electricien"} if "contract" not in kw else {"q": "aide", "contract": "cdd"}
    expected = [offers["elec"].id] if "contract" not in kw else [offers["aide"].id]
    assert await page(1, **words) == (1, False, expected, 2 if best_first else 1)
    assert await page(2, **words) == (1, False, [], 1 if best_first else 2)


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"contract": "cdx"}, "contract"),
        ({"commune": "Atlantis"}, "commune"),
        ({"radius_km": 7, "commune": "Sète"}, "radius_km"),
        ({"radius_km": 10}, "commune"),
        ({"sort": "distance"}, "commune"),
        ({"domain": "Z"}, "domain"),
    ],
)
async def test_bad_filters_are_named(session, kw, field):  # type: ignore[no-untyped-def]
    edition, _ = await _setup(session)
    with pytest.raises(Invalid) as caught:
        await search.search(session, edition_id=edition.id, query=search.Query(**kw))
    assert field in caught.value.fields


async def test_search_page_queries_do_not_grow_with_results(app, client, session):  # type: ignore[no-untyped-def]
    edition, _ = await _setup(session)
    with cold(app) as few:
        await client.get(f"/e/{edition.slug}/offers", params={"remote": "on"})
    with cold(app) as many:
        await client.get(f"/e/{edition.slug}/offers")
    assert len(few) == len(many), many


def test_stems_fold_accents_and_plurals():
    assert search.stems("Électriciens") == search.stems("electricien")
    assert search.stems("les aides-soignantes") == search.stems("aide soignante")


async def test_newest_first_with_and_without_filters(session):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from fair import clock

    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    start = clock.now()
    for n in range(3):
        clock.set_now(start + timedelta(hours=n))
        await f.offer(session, booth_=booth, title=f"Offre {n}", commune="Lattes", postcode="34970")
    await db.commit(session)
    expected = ["Offre 2", "Offre 1", "Offre 0"]
    assert await _titles(session, edition) == expected
    assert await _titles(session, edition, contract="cdi") == expected
    assert await _titles(session, edition, commune="Montpellier", radius_km=10) == expected


async def test_words_within_a_radius_find_their_offers(app, session):  # type: ignore[no-untyped-def]
    await _words_within_a_radius(app, session)


@pytest.mark.sqlite_only
async def test_words_within_a_radius_walk_the_matches(app, session):  # type: ignore[no-untyped-def]
    """Words with a radius: on SQLite the words' matches drive the query, not the position
    index (around a local fair nearly every offer lies in the radius's box: bench/api.py's
    "agent" within 20 km of Montpellier took 84 ms at p95 that way)."""
    seen = await _words_within_a_radius(app, session)
    plans = []
    connection = await session.connection()
    for statement, parameters in seen:
        if "offers_fts" in statement:
            plan = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plans.append(" | ".join(row[3] for row in plan.all()))
    assert plans and all("ix_offers_edition_latlon" not in plan for plan in plans), plans


async def _words_within_a_radius(app, session) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """Words with a radius find the same offers as without; the statements they ran."""
    edition, offers = await _setup(session)
    query = search.Query(q="electricien developpeuse", commune="Montpellier", radius_km=10)
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_args):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    engine = app.state.engine.sync_engine
    with listening(engine, "before_cursor_execute", record):
        hits = await search.listing(
            session, edition_id=edition.id, query=query, after=None, limit=5
        )
        q = search.Query(q="electricien", commune="Montpellier", radius_km=10)
        page = await search.search(session, edition_id=edition.id, query=q)
    assert [h.offer.id for h in hits] == []  # both words must match one offer
    assert [h.offer.id for h in page.hits] == [offers["elec"].id]
    assert page.total == 1
    return seen


async def test_the_search_page_says_where_its_time_went(client, session):  # type: ignore[no-untyped-def]
    """The Server-Timing header (fair.timing) splits the page: the query, the count when it is
    apart, the facets' counts, the offers read, the rendering, and the whole."""
    from fair import timing

    edition, _ = await _setup(session)
    response = await client.get(f"/e/{edition.slug}/offers", params={"q": "electricien"})
    spans = timing.parse(response.headers["server-timing"])
    assert {"query", "facets", "hits", "widen", "render", "app"} <= set(spans)
    assert spans["app"] >= spans["render"] + spans["query"]
    listing = await client.get(f"/e/{edition.slug}/offers")  # newest first: counted apart
    assert {"query", "count", "render"} <= set(timing.parse(listing.headers["server-timing"]))
    suggested = await client.get(
        f"/e/{edition.slug}/offers/suggest", params={"field": "job", "q": "elec"}
    )
    assert "suggest" in timing.parse(suggested.headers["server-timing"])


def test_spans_outside_a_request_record_nothing():
    from fair import timing

    with timing.span("query"):
        pass
    assert timing.header(1.0) == b"app;dur=1.00"
    assert timing.parse("query;dur=1.5, bad name;dur=2, count;desc=x, query;dur=0.5") == {
        "query": 2.0
    }


async def test_the_commune_is_searchable_text_on_both_databases(session):  # type: ignore[no-untyped-def]
    """A commune typed among the words finds its offers, on PostgreSQL as on SQLite (its
    vector holds the commune since migration 0042; SQLite's stems always did)."""
    edition, _ = await _setup(session)
    assert await _titles(session, edition, q="cariste sete") == ["Cariste"]
    assert await _titles(session, edition, q="lattes") == ["Électricien (H/F)"]
    assert await _titles(session, edition, q="cariste lattes") == []


@pytest.mark.postgresql_only
async def test_postgresql_plans_for_data_in_memory(session):  # type: ignore[no-untyped-def]
    """The app's PostgreSQL connections price a random read as SSD and memory do (fair.db):
    with the default (4) the planner read every offer for a widened word rather than its
    full-text index. The same offers come back in the same order either way."""
    from sqlalchemy import text

    from fair.search import terms as search_terms

    edition, _ = await _setup(session)
    assert await session.scalar(text("SHOW random_page_cost")) == "1.1"
    query = search.Query(q="aide soignante")  # widened: the synonyms' groups, ranked

    async def found() -> list[int]:
        page = await search_terms.find(session, edition_id=edition.id, query=query)
        return [hit.offer.id for hit in page.hits]

    fast = await found()
    assert fast
    await session.execute(text("SET LOCAL random_page_cost = 4"))
    assert await found() == fast


async def test_a_page_of_words_ranks_the_edition_s_own_offers(session, monkeypatch):  # type: ignore[no-untyped-def]
    """On SQLite a page of words is taken from the full-text index's best matches, of every
    edition (fair.search.best.best_page); when too few of them are the edition's, every match is
    ranked (with a rank bound, the index's newest matches that are the edition's). Either way
    the page is the one ranked among the edition's offers alone, as with a filter every offer
    passes (the filtered search ranks every match)."""
    monkeypatch.setattr(best, "BEST_FACTOR", 1)  # the index's best `per_page` read, no more
    monkeypatch.setattr(best, "BEST_MORE", 0)
    edition, offers = await _setup(session)
    booth, _ = await f.booth(session, edition_=edition)
    own = [offers["elec"]]
    for title in ("Chef électricien", "Électricien électricien bâtiment"):
        own.append(await f.offer(session, booth_=booth, title=title))
    other = await f.edition(session)
    other_booth, _ = await f.booth(session, edition_=other)
    for _ in range(3):  # better matches than the edition's own: first in the index's ranking
        await f.offer(
            session,
            booth_=other_booth,
            title="Électricien électricien électricien",
            description="Électricien électricien.",
        )
    await db.commit(session)

    for bound in (0, 200):  # every match ranked; each tier's newest 200 (Query.rank_bound)

        async def ids(bound: int = bound, **kw: object) -> tuple[list[int], int]:
            query = search.Query(q="electricien", per_page=2, rank_bound=bound, **kw)  # type: ignore[arg-type]
            page = await search.search(session, edition_id=edition.id, query=query)
            return [h.offer.id for h in page.hits], page.total

        first, second = await ids(), await ids(page=2)
        assert first == (await ids(contract="cdi")) and second == (
            await ids(page=2, contract="cdi")
        )
        assert sorted(first[0] + second[0]) == sorted(o.id for o in own)
        assert (first[1], second[1]) == (3, 3)


async def test_a_page_is_kept_until_the_offers_change(app, session):  # type: ignore[no-untyped-def]
    """fair.search.cache: the same search again reads only its page's offers (one statement,
    by id); an offer committed since is found at once."""
    edition, offers = await _setup(session)
    query = search.Query(q="electricien", per_page=1)
    first = await search.search(session, edition_id=edition.id, query=query)
    statements: list[str] = []

    def seen(*args):  # type: ignore[no-untyped-def]
        if "outbox" not in args[2]:  # not the mail sender's
            statements.append(args[2])

    engine = app.state.engine.sync_engine
    with listening(engine, "before_cursor_execute", seen):
        again = await search.search(session, edition_id=edition.id, query=query)
    assert len(statements) == 1 and "offers.id IN" in statements[0], statements
    assert ([h.offer.id for h in again.hits], again.total, again.capped) == (
        [offers["elec"].id],
        1,
        False,
    )
    assert [h.offer.id for h in first.hits] == [offers["elec"].id]
    booth, _ = await f.booth(session, edition_=edition)
    newer = await f.offer(session, booth_=booth, title="Électricien électricien de nuit")
    await db.commit(session)
    after = await search.search(session, edition_id=edition.id, query=query)
    assert ([h.offer.id for h in after.hits], after.total) == ([newer.id], 2)


async def test_a_radius_keeps_exactly_the_offers_within_it(session):  # type: ignore[no-untyped-def]
    """On SQLite the haversine decides only near the circle's edge (the flat-Earth distance
    proves the offers well inside it, fair.search.places.surely_within): the same offers either
    way, with words and a job domain too. From Montpellier: Gigean ~18.5 km (flat-Earth
    inside), Montbazin ~19.5 km (within 5 % of the edge: haversine), Frontignan ~20.5 km and
    Lunel ~21 km (outside, in the box)."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    places = {"Gigean": "34770", "Montbazin": "34560", "Frontignan": "34110", "Lunel": "34400"}
    for commune, postcode in places.items():
        await f.offer(
            session, booth_=booth, title=f"Cariste {commune}", rome_code="N1101",
            commune=commune, postcode=postcode,
        )  # fmt: skip
    await db.commit(session)
    within = ["Cariste Gigean", "Cariste Montbazin"]
    around = {"commune": "Montpellier", "radius_km": 20, "sort": "distance"}
    assert await _titles(session, edition, **around) == within
    assert await _titles(session, edition, q="cariste", domain="N", **around) == within
    assert await _titles(session, edition, q="cariste", contract="cdi", **around) == within


BENCH_STATISTICS = {
    "ix_offers_matching": "92925 1001 1001 1001 182 7 7 7 4 3 1",
    "ix_offers_search_contract": "89199 1001 1001 1001 56 4 4 1 1",
    "ix_offers_search_domain_contract": "91000 1001 1001 501 501 46 4 4 1 1",
    "ix_offers_edition_published": "107670 1001 1001 4",
    "ix_offers_edition_latlon": "89010 1001 1001 1001",
    "ix_offers_edition_id": "111824 1001",
    "ix_offers_edition_domain_contract": "50908 1001 1001 501",
    "ix_offers_edition_contract": "46332 1001 1001",
    "ix_offers_booth_id": "109408 334",
}


async def test_words_with_a_job_domain_find_their_offers(app, session):  # type: ignore[no-untyped-def]
    edition, offers = await _setup(session)
    await _words_with_a_job_domain(app, session, edition, offers["elec"])


@pytest.mark.sqlite_only
async def test_words_with_a_job_domain_walk_the_domain(app, session):  # type: ignore[no-untyped-def]
    """Words and a job domain: on SQLite the domain's index drives and each of its offers is
    looked up among the words' matches, where the planner read the offer row of every match
    (a broad word: "agent cdi K within 20 km of Lattes" 19 ms of CPU at 100,000 offers, 9 ms
    so). Same offers."""
    edition, offers = await _setup(session)
    # The planner's statistics of the 100,000-offer bench database (fair.db's bounded
    # ANALYZE), where it chose to read every match's offer row.
    await session.execute(text("ANALYZE"))
    await session.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'offers'"))
    for index, stat in BENCH_STATISTICS.items():
        await session.execute(
            text("INSERT INTO sqlite_stat1 VALUES ('offers', :index, :stat)"),
            {"index": index, "stat": stat},
        )
    await session.execute(text("ANALYZE sqlite_schema"))
    await db.commit(session)
    seen = await _words_with_a_job_domain(app, session, edition, offers["elec"])
    plans = []
    connection = await session.connection()
    for statement, parameters in seen:
        if "offers_fts" in statement and "rome_domain" in statement:
            plan = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plans.append(" | ".join(row[3] for row in plan.all()))
    assert len(plans) == 2 and all("domain_contract" in plan for plan in plans), plans


async def _words_with_a_job_domain(app, session, edition, elec) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """Words, a job domain and a radius find the offer, sorted either way; the statements."""
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_args):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    with listening(app.state.engine, "before_cursor_execute", record):
        for sort in ("distance", "recent"):
            query = search.Query(
                q="electricien", domain="F", commune="Montpellier", radius_km=10, sort=sort
            )
            page = await search.search(session, edition_id=edition.id, query=query)
            assert [h.offer.id for h in page.hits] == [elec.id]
    return seen
