"""A bounded ranking (fair.search.Query.rank_bound): only each tier's newest matches are scored,
the others come after their tier's scored ones, newest first; on SQLite and PostgreSQL, through
every path a page takes (SQLite's best-first page, the filtered search, the deeper pages)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import sqlite as sqlite_dialect

from fair import db, offers, search
from fair.search import best, pages, ranking
from fair.search import filters as search_filters
from fair.search import match as search_match
from fair.search import terms as search_terms
from fair.search.query import rank_bound
from tests import factories as f
from tests.statements import listening


async def _ids(session, edition, find=search.search, **kw) -> list[int]:  # type: ignore[no-untyped-def]
    page = await find(session, edition_id=edition.id, query=search.Query(**kw))
    return [h.offer.id for h in page.hits]


async def _pages(session, edition, per_page, pages, find=search.search, **kw) -> list[int]:  # type: ignore[no-untyped-def]
    """The ids of the first `pages` pages, one after the other."""
    found: list[int] = []
    for n in range(1, pages + 1):
        found += await _ids(session, edition, find, per_page=per_page, page=n, **kw)
    return found


def _bounded(exact: list[int], tiers: list[list[int]], k: int) -> list[int]:
    """What a ranking bounded to `k` gives, from the exact one: per tier (ids oldest first),
    its newest `k` in the exact order, then its others newest first."""
    expected: list[int] = []
    for tier in tiers:
        kept = set(tier[-k:])
        expected += [i for i in exact if i in kept] + sorted(set(tier) - kept, reverse=True)
    return expected


async def test_a_bounded_ranking_scores_the_newest_matches_only(session):  # type: ignore[no-untyped-def]
    """The best matches are the oldest: the exact ranking puts them first, the bounded one
    scores the two newest and lists the others after them, newest first. Every page agrees
    (SQLite takes the first from the index's best matches, the next by ranking the matches:
    fair.search.best), with or without a filter every offer passes, and counts every match."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    other_edition = await f.edition(session)
    other_booth, _ = await f.booth(session, edition_=other_edition)
    titles = (
        "Électricien électricien électricien",
        "Électricien électricien du bâtiment",
        "Chef d'équipe électricien",
        "Électricien de nuit",
        "Électricien électricien",
        "Aide électricien de chantier",
    )
    head, inside = [], []  # the titles starting with the word, the others (two tiers)
    for n, title in enumerate(titles):
        offer = await f.offer(session, booth_=booth, title=title)
        (head if title.startswith("Électricien") else inside).append(offer.id)
        if n == 3:  # the newest match of the index is another edition's: never one of these
            await f.offer(session, booth_=other_booth, title="Électricien électricien")
    await db.commit(session)
    exact = await _ids(session, edition, q="electricien", per_page=10, rank_bound=0)
    assert set(exact[:4]) == set(head) and set(exact[4:]) == set(inside)
    assert exact[:4] != sorted(head, reverse=True)
    expected = _bounded(exact, [head, inside], 2)
    assert expected != exact
    for filters in ({}, {"contract": "cdi"}):
        bounded = await _pages(session, edition, 2, 3, q="electricien", rank_bound=2, **filters)
        assert bounded == expected, filters
    page = await search.search(
        session, edition_id=edition.id, query=search.Query(q="electricien", rank_bound=2)
    )
    assert (page.total, page.capped) == (6, False)
    # Bounded past the tier's matches: the exact ranking.
    assert await _pages(session, edition, 2, 3, q="electricien", rank_bound=6) == exact
    assert await _ids(session, edition, q="electricien", per_page=10, rank_bound=6) == exact


async def test_each_tier_is_bounded_on_its_own(session):  # type: ignore[no-untyped-def]
    """A widened search (fair.search.terms: "chauffeur" also finds the "conducteur de poids
    lourd" offers, below the chauffeurs): each tier's newest matches scored, the chauffeurs
    still all before the conductors."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    chauffeurs, conductors = [], []
    for title in (
        "Chauffeur chauffeur livreur",
        "Conducteur de poids lourd, conducteur poids lourd",
        "Chauffeur livreur de colis",
        "Conducteur de poids lourd de nuit",
        "Chauffeur de direction",
        "Conducteur de poids lourd",
        "Chauffeur chauffeur",
        "Conducteur poids lourd régional",
    ):
        offer = await f.offer(session, booth_=booth, title=title, rome_code="N1101")
        (chauffeurs if title.startswith("Chauffeur") else conductors).append(offer.id)
    await db.commit(session)
    find = search_terms.find
    exact = await _ids(session, edition, find, q="chauffeur", per_page=10, rank_bound=0)
    assert set(exact[:4]) == set(chauffeurs) and set(exact[4:]) == set(conductors)
    expected = _bounded(exact, [chauffeurs, conductors], 2)
    assert expected != exact
    assert await _ids(session, edition, find, q="chauffeur", per_page=10, rank_bound=2) == expected
    for filters in ({}, {"contract": "cdi"}):
        bounded = await _pages(session, edition, 2, 4, find, q="chauffeur", rank_bound=2, **filters)
        assert bounded == expected, filters


async def test_a_bounded_best_first_page_reads_the_tiers_it_needs_and_scores_once(
    session, monkeypatch
):  # type: ignore[no-untyped-def]
    """On SQLite the bounded best-first page (fair.search.best) reads a tier's newest only
    when the better tiers' hold fewer than the page (fair.search.match.sqlite_candidates),
    and scores them all in one pass of the scored query (bm25 works out its phrases'
    document counts anew in each pass): two "Chauffeur" titles fill a page of one, whose
    statement runs the same SQLite steps whether 4 or 12 of the conductors' tier are
    published (not read); a page of three reads it. The same pages as the filtered search (a
    contract every offer has), which reads every tier's newest."""
    monkeypatch.setattr(best, "BEST_FACTOR", 1)  # the index's best `per_page` read, no more
    monkeypatch.setattr(best, "BEST_MORE", 0)
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    conductors = [
        await f.offer(session, booth_=booth, title="Conducteur poids lourd", rome_code="N4101")
        for _ in range(12)
    ]
    for conductor in conductors[4:]:
        await offers.set_published(session, conductor, False)
    for title in ("Chauffeur livreur", "Chauffeur chauffeur"):  # the newest
        await f.offer(session, booth_=booth, title=title, rome_code="N1101")
    await db.commit(session)
    sqlite = session.bind.dialect.name == "sqlite"
    engine = session.bind.sync_engine
    steps = [0]
    scored: list[tuple[str, int]] = []

    def step() -> int:
        steps[0] += 1
        return 0  # go on

    def before(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if "bm25(" in statement:
            scored.append((statement, -steps[0]))

    def after(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if "bm25(" in statement:
            scored[-1] = (statement, scored[-1][1] + steps[0])

    async def page(per_page: int) -> tuple[list[int], str, int]:
        """The page's ids, its scored statement and the SQLite steps it ran."""
        query = search.Query(q="chauffeur", per_page=per_page, rank_bound=20)
        scored.clear()
        connection = await session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        if sqlite:
            await raw.set_progress_handler(step, 1)
        try:
            with (
                listening(engine, "before_cursor_execute", before),
                listening(engine, "after_cursor_execute", after),
            ):
                found = await search_terms.find(session, edition_id=edition.id, query=query)
        finally:
            if sqlite:
                await raw.set_progress_handler(None, 1)
        every = replace(query, contract="cdi")  # every tier's newest ranked (not best-first)
        again = await search_terms.find(session, edition_id=edition.id, query=every)
        ids = [h.offer.id for h in found.hits]
        assert ids == [h.offer.id for h in again.hits] and len(ids) == per_page
        (statement, ran), *_ = scored or [("", 0)]
        return ids, statement, ran

    ran: dict[int, list[int]] = {1: [], 3: []}
    for published in (4, 12):
        for conductor in conductors[4:published]:
            await offers.set_published(session, conductor, True)
        await db.commit(session)
        for per_page in ran:
            _, statement, steps_run = await page(per_page)
            ran[per_page].append(steps_run)
            if sqlite:
                assert statement.count("bm25(") == 1
    if sqlite:
        (first, again), (reaching, more) = ran[1], ran[3]
        assert first == again and reaching < more


def test_a_filtered_bounded_ranking_reads_a_tier_only_for_the_page() -> None:
    """SQLite's bounded ranking of the search that is not best-first (a filter, a deeper
    page, the partners' offers: fair.search.match.sqlite) reads a tier's newest only when
    the better tiers' hold fewer than the page (`p_depth`, bound by the page's search): each
    worse tier's FTS5 match is given a query no row matches otherwise. The pages are those
    of every tier read (test_a_bounded_ranking_scores_the_newest_matches_only and the
    others here, filtered)."""
    words = search_match.Words(((0, "head"), (1, "title"), (2, "any")), coded=True)
    query = search.Query(q="chauffeur", contract="cdi")
    filtered = search_filters.Shape.of(query, None, "sqlite", words=True)
    shape = ranking.Shape(filtered, words, bound=True)
    compiled = pages._statement(shape, "relevance", True, False, False).compile(
        dialect=sqlite_dialect.dialect()
    )
    guarded = str(compiled).count("MATCH CASE WHEN")
    assert (guarded, (compiled.positiontup or []).count("p_depth")) == (3, 4)


def test_the_bound_is_the_same_on_both_databases_unless_set() -> None:
    """Both databases score each tier's newest RANK_BOUND matches (SQLite scored every match
    until its bounded page was the faster); a query's own bound wins on both."""
    assert rank_bound(search.Query(), "postgresql") == search.RANK_BOUND > 0
    assert rank_bound(search.Query(), "sqlite") == search.RANK_BOUND
    assert rank_bound(search.Query(rank_bound=0), "postgresql") == 0
    assert rank_bound(search.Query(rank_bound=7), "sqlite") == 7


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """A plan's node and every node below it (EXPLAIN's JSON)."""
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


@pytest.mark.postgresql_only
async def test_the_tiers_past_the_page_are_not_read(session):  # type: ignore[no-untyped-def]
    """On PostgreSQL, a tier whose better tiers fill the page is not read, nor its newest
    scored: three titles starting with the word fill a page of two, the two titles holding
    it elsewhere are not scored (five were: each tier's newest); a page of four reaches
    them."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    for title in ("Électricien", "Électricien de nuit", "Électricien du bâtiment"):
        await f.offer(session, booth_=booth, title=title)
    for title in ("Aide électricien", "Chef électricien"):
        await f.offer(session, booth_=booth, title=title)
    await db.commit(session)
    engine = session.bind.sync_engine
    seen: list[tuple[str, Any]] = []

    def kept(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "ts_rank" in statement:
            seen.append((statement, parameters))

    for per_page, scored in ((2, 3), (4, 5)):
        with listening(engine, "before_cursor_execute", kept):
            query = search.Query(q="electricien", per_page=per_page)
            page = await search.search(session, edition_id=edition.id, query=query)
        assert page.total == 5 and len(page.hits) == per_page
        statement, parameters = seen[-1]
        raw = (await (await session.connection()).get_raw_connection()).driver_connection
        explained = await raw.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, *parameters)
        # JSON decoded by the connection's codec (fair.db), or as text.
        plan = json.loads(explained) if isinstance(explained, str) else explained
        nodes = _nodes(plan[0]["Plan"])
        # Each tier's scoring reads the offers as "scored" (EXPLAIN numbers the others).
        reads = [n["Actual Loops"] for n in nodes if n.get("Alias", "").startswith("scored")]
        assert sum(reads) == scored, (per_page, reads)


async def _explained(
    session, edition, query: search.Query, find=search.search
) -> tuple[Any, list[dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """The page of `query` (by `find`), and the nodes of its ranked statement's plan
    (EXPLAIN ANALYZE of the last statement that scores: ts_rank)."""
    engine = session.bind.sync_engine
    seen: list[tuple[str, Any]] = []

    def kept(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "ts_rank" in statement:
            seen.append((statement, parameters))

    with listening(engine, "before_cursor_execute", kept):
        page = await find(session, edition_id=edition.id, query=query)
    statement, parameters = seen[-1]
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    explained = await raw.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, *parameters)
    plan = json.loads(explained) if isinstance(explained, str) else explained
    return page, _nodes(plan[0]["Plan"])


def _runs(nodes: list[dict[str, Any]], cte: str) -> int:
    """How many times the plan of the CTE `cte` ran (0: none of its rows read)."""
    return sum(n["Actual Loops"] for n in nodes if n.get("Subplan Name") == f"CTE {cte}")


@pytest.mark.postgresql_only
async def test_the_text_s_tier_is_told_apart_only_for_the_page(session):  # type: ignore[no-untyped-def]
    """On PostgreSQL, a widened search's matches outside the title's tiers are told apart
    (the query's own words in the text, before a synonym's there: each match's tsvector
    read, mostly out of line) only when the title's tiers hold fewer than the page needs:
    a page of two, which three "Chauffeur" titles fill, tells none ("told" never runs); a
    page of ten tells them, in the exact ranking's order."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    for title in ("Chauffeur livreur", "Chauffeur de direction", "Chauffeur chauffeur"):
        await f.offer(session, booth_=booth, title=title)
    for title, described in (
        ("Agent de quai", "Le chauffeur du camion vous attend."),
        ("Magasinier", "Un conducteur de poids lourd vous livre."),
        ("Préparateur de commandes", "Travail avec le chauffeur."),
        ("Manutentionnaire", "Avec un conducteur de poids lourd."),
    ):
        await f.offer(session, booth_=booth, title=title, description=described)
    await db.commit(session)
    find = search_terms.find
    exact = await _ids(session, edition, find, q="chauffeur", per_page=10, rank_bound=0)
    assert len(exact) == 7
    for per_page, told in ((2, 0), (10, 1)):
        query = search.Query(q="chauffeur", per_page=per_page)
        page, nodes = await _explained(session, edition, query, find)
        assert [h.offer.id for h in page.hits] == exact[:per_page]
        assert _runs(nodes, "told") == told, per_page


@pytest.mark.postgresql_only
async def test_a_tier_s_newest_are_taken_by_a_top_k_sort(session):  # type: ignore[no-untyped-def]
    """On PostgreSQL, a tier's newest `rank_bound` + page depth matches are taken by a top-k
    sort of its matches (a bounded heap), then numbered: numbered first (a window function's
    input), all of them were sorted, thousands for a broad word's tier. The same page."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    for n in range(7):
        await f.offer(session, booth_=booth, title=f"Électricien {n}")
    await db.commit(session)
    exact = await _ids(session, edition, q="electricien", per_page=7, rank_bound=0)
    query = search.Query(q="electricien", per_page=1, rank_bound=1)
    page, nodes = await _explained(session, edition, query)
    assert [h.offer.id for h in page.hits] == exact[:1]
    # The first tier's sort by id: its seven matches in, the newest two (bound and page) kept.
    sorts = [n for n in nodes if n["Node Type"] == "Sort" and n["Sort Key"] == ["matches.id DESC"]]
    assert [(s["Sort Method"], s["Plans"][0]["Actual Rows"]) for s in sorts] == [
        ("top-N heapsort", 7)
    ]


async def _paged_statements(session, edition, query: search.Query) -> tuple[Any, list[str]]:  # type: ignore[no-untyped-def]
    """The page of `query` and the page statements it ran (reading the matches)."""
    page, seen = await _paged_with(session, edition, query)
    return page, [statement for statement, _ in seen]


async def _paged_with(session, edition, query: search.Query) -> tuple[Any, list[tuple[str, Any]]]:  # type: ignore[no-untyped-def]
    """The page of `query` and the page statements it ran, with their parameters."""
    engine = session.bind.sync_engine
    seen: list[tuple[str, Any]] = []

    def kept(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "matches AS MATERIALIZED" in statement:
            seen.append((statement, parameters))

    with listening(engine, "before_cursor_execute", kept):
        page = await search.search(session, edition_id=edition.id, query=query)
    return page, seen


async def _older_read(session, statement: str, parameters: Any) -> bool:  # type: ignore[no-untyped-def]
    """Whether a windowed page statement read the matches older than its window (the
    `search_offers.id <= $n` part of its CTE `matches`: fair.search.pages._window), by
    EXPLAIN ANALYZE of the statement again (its settings put back as the page had them)."""
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    await raw.execute("SET LOCAL enable_seqscan = off")
    await raw.execute("SET LOCAL enable_indexscan = off")
    explained = await raw.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, *parameters)
    plan = json.loads(explained) if isinstance(explained, str) else explained
    matches = [n for n in _nodes(plan[0]["Plan"]) if n.get("Subplan Name") == "CTE matches"]
    conditions = ("Recheck Cond", "Filter", "Index Cond")
    older = [
        n
        for n in _nodes(matches[0])
        if "search_offers" in (n.get("Relation Name"), n.get("Index Name", "")[3:])
        and any("id <= " in str(n.get(c, "")) for c in conditions)
    ]
    assert older, "no read of the older matches in the plan"
    return any(n["Actual Loops"] for n in older)


def _seen(page: search.Page) -> tuple[Any, ...]:
    return ([h.offer.id for h in page.hits], page.total, page.capped, page.matched)


# Words every offer's text has: PostgreSQL estimates a prefix's matches (a tsquery's "word:*")
# from its statistics' most common words only when it has 100 of them (else a default guess).
VOCABULARY = " ".join(f"vocab{a}{b}" for a in "abcdefghij" for b in "abcdefghijkl")


@pytest.mark.postgresql_only
@pytest.mark.parametrize("titles_first", [True, False])
async def test_a_broad_word_s_page_is_read_from_its_newest_matches_when_they_settle_it(
    session, titles_first
):  # type: ignore[no-untyped-def]
    """On PostgreSQL, a word estimated to find many more offers than the page counts is first
    read among the newest offers alone (ids past a floor): 90 offers with the word, counted up
    to 6 to 10 (pages 1 to 3: at least fair.search.pages.WINDOW_FROM times that). The titles
    starting with it the newest: those settle the page, the older matches not read. The titles
    the oldest: none in the window, 10 among all (the title's index counts them), so the
    window does not settle the page, and the older matches are read in the same statement
    (it ran twice: the window's, then every match's). Either way the same pages as without a
    window (a filter every offer passes: no window)."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    titled = [("Électricien confirmé", "Chantiers.")] * 10
    texts = [("Agent de maintenance", "Travaux avec un électricien.")] * 80
    for title, described in titled + texts if not titles_first else texts + titled:
        await f.offer(session, booth_=booth, title=title, description=f"{described} {VOCABULARY}")
    await db.commit(session)
    await session.execute(text("ANALYZE search_offers"))
    for page_n in (1, 2, 3):
        asked = {"q": "electricien", "per_page": 2, "rank_bound": 2, "count_cap": 5}
        query = search.Query(page=page_n, **asked)
        page, statements = await _paged_with(session, edition, query)
        assert len(statements) == 1, page_n
        assert "search_offers.id > $" in statements[0][0], page_n
        assert await _older_read(session, *statements[0]) is not titles_first, page_n
        unwindowed, _ = await _paged_statements(
            session, edition, search.Query(page=page_n, contract="cdi", **asked)
        )
        assert _seen(page) == _seen(unwindowed), page_n


@pytest.mark.postgresql_only
async def test_a_window_settling_the_tiers_counts_every_match_when_it_holds_too_few(session):  # type: ignore[no-untyped-def]
    """On PostgreSQL, a window whose matches settle the page's tiers but fall short of the
    count (the words' matches older than the window's offers: 4 of 60 in it, 6 counted) counts
    every match in the same statement: one statement, the same page as without a window."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    offers = [("Agent de maintenance", "Travaux avec un soudeur.")] * 56
    offers += [("Agent de maintenance", "Travaux de peinture.")] * 40
    offers += [("Soudeur confirmé", "Chantiers.")] * 4
    for title, described in offers:
        await f.offer(session, booth_=booth, title=title, description=f"{described} {VOCABULARY}")
    await db.commit(session)
    await session.execute(text("ANALYZE search_offers"))
    asked = {"q": "soudeur", "per_page": 2, "rank_bound": 2, "count_cap": 5}
    page, statements = await _paged_statements(session, edition, search.Query(**asked))
    assert [s for s in statements if "search_offers.id > $" in s] == statements
    assert len(statements) == 1
    unwindowed, _ = await _paged_statements(session, edition, search.Query(contract="cdi", **asked))
    assert _seen(page) == _seen(unwindowed)
    assert (page.total, page.capped) == (5, True)
