"""The offer search: one page of an edition's published offers matching a query, ranked and
counted (`search`), and the public API's list of the same offers by id (`listing`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from fair import geo, timing
from fair.models import Booth, Employer, Offer
from fair.search import cache as search_cache
from fair.search import filters as search_filters
from fair.search import match as search_match
from fair.search import ranking, shapes
from fair.search.best import best_first, best_page
from fair.search.filters import dialect as dialect_of
from fair.search.filters import sort as sort_of
from fair.search.hits import capped_page, read_hits
from fair.search.places import distance_from
from fair.search.query import Hit, Page, Query, check, rank_bound
from fair.search.shapes import bind, integer, number


async def search(
    session: AsyncSession, *, edition_id: int, query: Query, network: bool = False
) -> Page:
    """One page of an edition's published offers in approved booths matching `query`; with
    `network`, the partners' offers held for the edition too (fair.network_sync), ranked and
    sorted among them (their ids negated in the page's query).

    One query: the ids of the page (narrow rows to sort) with the number of matches, counted
    up to COUNT_CAP past the page (`Page.capped` then says "more than"), then those few offers
    joined with their employers (the partners' offers of the page are read after it). The
    page's ids and count are kept until the edition's offers change (fair.search.cache): the
    same search again (the next visitor's, the back button's) reads only those offers.
    """
    origin = check(query)
    query = replace(query, rank_bound=rank_bound(query, dialect_of(session)))
    key = (_key(query), network)
    found = await search_cache.look_up(_PAGES, session, edition_id, key)
    if found is not None:
        ranked, total, capped = found[0]
        with timing.span("hits"):
            hits = await read_hits(session, list(ranked), origin)
        return Page(
            hits=hits,
            total=total,
            page=query.page,
            per_page=query.per_page,
            origin=origin,
            capped=capped,
            also=query.also,
        )
    page = await _search(
        session, edition_id=edition_id, query=query, origin=origin, network=network
    )
    ids = tuple((-h.network.id if h.network else h.offer.id, h.distance_km) for h in page.hits)
    await search_cache.keep(_PAGES, session, edition_id, key, (ids, page.total, page.capped))
    return page


def _key(query: Query) -> tuple[Any, ...]:
    """Every field of `query` (checked), hashable."""
    return tuple((k, frozenset(v) if isinstance(v, set) else v) for k, v in vars(query).items())


# A page's offers (id, distance) and count, by query (`search`).
_PAGES: search_cache.Kept[tuple[tuple[tuple[int, float | None], ...], int, bool]] = (
    search_cache.Kept()
)


async def _search(
    session: AsyncSession,
    *,
    edition_id: int,
    query: Query,
    origin: geo.Origin | None,
    network: bool,
) -> Page:
    """`search`'s page, worked out: its statement built once per shape (fair.search.shapes),
    the query's values bound."""
    if best_first(session, query, network):
        best = await best_page(session, edition_id=edition_id, query=query, origin=origin)
        if best is not None:
            return best
    dialect = dialect_of(session)
    shape = ranking.shape(dialect, query, origin)
    ranks = shape.words is not None and not shape.nothing
    sort = sort_of(query, True if ranks else None, origin)
    # Ranking by relevance or distance visits every match anyway, and so does a selective
    # filter: they are gathered once (materialised), then counted and the page's top taken
    # from them. Only the plain newest-first listing walks the date index and stops at the
    # page, with a separate count that stops at the cap.
    # The partners' offers too: gathered with the edition's.
    gathered = (
        network or sort != "recent" or bool(query.domain or query.contract or query.radius_km)
    )
    # On PostgreSQL, ranked by relevance: a tier's newest `rank_bound` matches are scored
    # (fair.search.match.postgresql_bounded), the matches gathered with their tier alone.
    # (SQLite's `ranked` scores only those already: fair.search.match.sqlite.)
    bounded = sort == "relevance" and shape.bound and not network and dialect == "postgresql"
    listed = gathered and listable(query)

    def statement(windowed: bool = False) -> Select[Any]:
        key = ("page", shape, sort, gathered, bounded, network, windowed)
        return shapes.built(
            key, lambda: _statement(shape, sort, gathered, bounded, network, windowed)
        )

    offset = (query.page - 1) * query.per_page
    cap = offset + query.count_cap + 1  # matches counted at most: one more says "more than"
    params = ranking.values(dialect, edition_id, query, origin)
    params.update(p_offset=offset, p_limit=query.per_page, p_cap=cap)
    params.update(p_depth=offset + query.per_page)
    narrow = ranking.searched(shape) is not Offer
    with timing.span("query"):  # the page's ids (and, gathered, the capped count) and offers
        # A window only without filters: the words' estimate counts every offer they find.
        windowed = bounded and listable(query)
        rows = await _paged(session, statement, params, narrow, windowed)
    matched: tuple[int, ...] | None = None
    if gathered and rows:
        total = int(rows[0].total)
        matched = id_tuple(rows[0].matched) if listed else None
    elif gathered and offset == 0:
        # Gathered, the page's query counts the matches: no row from the first one, no match
        # (a typo's words, before they are respelt: fair.search.terms). A later page's may
        # be past the last match: counted apart.
        total = 0
    elif network:
        # Past the last match, with the partners' offers: only the page's statement counts
        # those (the count's reads the edition's own), its first row asked for.
        with timing.span("count"):
            first = {**params, "p_offset": 0, "p_limit": 1}
            again = await _paged(session, statement, first, narrow, False)
        total = int(again[0].total) if again else 0
    else:
        with timing.span("count"):
            counted_ = shapes.built(("count", shape), lambda: _count(shape))
            if narrow:
                params["p_seqscan"] = await _indexed(session)
            total = int(await session.scalar(counted_, params) or 0)
    with timing.span("hits"):  # the partners' offers of the page; distances measured
        loaded = {row.id: (row.Offer, row.name) for row in rows if row.Offer is not None}
        hits = await read_hits(session, [(row.id, row.distance) for row in rows], origin, loaded)
    result = capped_page(hits, total, cap, query, origin, query.also)
    result.matched = None if result.capped else matched
    return result


# A bounded page reads a window of the newest ids first (`_paged`) when its words are estimated
# to find WINDOW_FROM times the matches it counts at most, the window's size then likely to
# hold WINDOW_HOLDS times that many (if the ids spread the matches evenly); the older matches
# are read in the same statement only when the window does not settle the page (`_window`):
# a window too short costs one more read of the full-text index, no longer the page's
# statement twice (b081386: "plombier" widened, 9,141 estimated for 2,500 found, 9 -> 18 ms of
# CPU read twice). Lower or tighter windows did not pay at 100,000 offers (backend CPU per page
# statement, mean of 40 replays): from 6 times the cap sized for 2.5, "chauffeur" widened
# (6,676 estimated, 6,783 found) 13 -> 11.5 ms, "btp" 10.3 -> 8.6, but "plombier" and
# "conducteur" (12,643 estimated for 4,932), their windows short of the cap, 6.5 -> 7 and 7 ->
# 9, and bench/search.py's fulltext p95 13.2 -> 15.4 ms; sized for 4, "chauffeur" and "caces"
# 2.5 and 3.8 ms slower windowed. A window costs its ids' bitmap (about 23 ns an id) and a
# larger plan: it pays only when small against the matches it spares.
WINDOW_FROM = 8
WINDOW_HOLDS = 4


async def _paged(
    session: AsyncSession,
    statement: Callable[[bool], Select[Any]],
    params: dict[str, Any],
    narrow: bool,
    windowed: bool,
) -> list[Any]:
    """The page statement's rows (`statement(windowed)`). `windowed` (a bounded ranking:
    fair.search.match.postgresql_bounded, without filters), a broad word's matches are first
    read among the newest ids alone (`p_floor`, `_WINDOWED`), the older ones only when those
    do not settle the page (`_window`): one statement either way. "btp" widened at 100,000
    offers: 1,500 of its 12,635 matches read, each one's row and tier."""
    if not narrow:
        return list((await session.execute(statement(False), params)).all())
    floor = 0
    if windowed:
        was = (await session.execute(_WINDOWED, _window_values(params))).one()
        params["p_seqscan"], params["p_indexscan"], floor = was[:3]
    else:
        params["p_seqscan"] = await _indexed(session)
    if floor:
        params["p_floor"] = floor
    return list((await session.execute(statement(bool(floor)), params)).all())


def _window_values(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "w_found": params["w_found"],
        "p_cap": params["p_cap"],
        "p_from": WINDOW_FROM,
        "p_holds": WINDOW_HOLDS,
    }


# `_indexed`'s, and for a page without filters the id its window starts after (`p_floor`: 0,
# no window, unless the words are estimated to find WINDOW_FROM times the cap, by the planner:
# search_offers_estimate, migration 0046; else the newest ids likely to hold WINDOW_HOLDS
# times the cap); with a window, the planner's plain index scans off too (the settings as
# they were, put back by the page's statement: `_restoring`): the planner walked the primary
# key's range instead, each offer's tsvector read to match it ("btp" widened at 100,000
# offers: 11.5 ms of CPU for the page's statement), where the range's bitmap ANDed with the
# full-text index's reads only the matches (9.2 ms; 23 without a window).
_WINDOWED = text(
    "SELECT current_setting('enable_seqscan'), current_setting('enable_indexscan'), floor,"
    " set_config('enable_seqscan', 'off', true),"
    " set_config('enable_indexscan', CASE WHEN floor > 0 THEN 'off'"
    " ELSE current_setting('enable_indexscan') END, true)"
    " FROM (SELECT CASE WHEN estimate >= :p_from * :p_cap"
    " THEN greatest(0, top - (top * :p_holds * :p_cap / estimate)::bigint) ELSE 0 END AS floor"
    " FROM (SELECT (SELECT coalesce(max(id), 0)::bigint FROM search_offers) AS top,"
    " search_offers_estimate(to_tsquery('fair_french', :w_found)) AS estimate) AS known)"
    " AS windowed"
).bindparams(number("p_from"), integer("p_cap"), number("p_holds"), bind("w_found"))


async def _indexed(session: AsyncSession) -> str:
    """The next statement (the page's or the count's, on the narrow copy of `offers`:
    `ranking.searched`) reads the words' matches from the full-text index, never by a
    sequential scan: the planner's setting turned off for the transaction; the setting as it
    was, which that statement puts back itself once planned (`_restoring`: no round trip of
    its own). On that smaller table a broad word's scan of every row is priced near the index
    ("btp" widened at 100,000 offers: 16,181 against the index's 15,619), and a narrower copy
    had it chosen (the tsquery tested on each of the 100,000 rows: 206 ms where `offers`'
    index took 117, under load)."""
    was = text(
        "SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)"
    )
    return str((await session.execute(was)).scalar_one())


def _restoring(statement: Select[Any], indexscan: bool = False) -> Select[Any]:
    """`statement`, putting the planner's setting back as it was (parameter `p_seqscan`,
    `_indexed`; `indexscan`, the plain index scans' too, `p_indexscan`: `_WINDOWED`) when it
    starts: planned already, it runs as planned (the settings only weigh on planning), and the
    statements after it are planned as before. A one-time filter (an uncorrelated condition,
    worked out before any row is read), so it runs whatever the rows, none included. After a
    failure, the transaction is rolled back, the settings (local to it) with it."""
    backs = [("enable_seqscan", "p_seqscan")]
    if indexscan:
        backs.append(("enable_indexscan", "p_indexscan"))
    for name, value in backs:
        back = func.set_config(literal_column(f"'{name}'"), bind(value), true())
        statement = statement.where(select(back).scalar_subquery().is_not(None))
    return statement


def _count(shape: ranking.Shape) -> Select[Any]:
    """The matches of a search counted up to `p_cap`."""
    model = ranking.searched(shape)
    base = ranking.matching(shape, model)[0]
    counted = select(func.count()).select_from(base.limit(integer("p_cap")).subquery())
    return counted if model is Offer else _restoring(counted)


def _statement(
    shape: ranking.Shape,
    sort: str,
    gathered: bool,
    bounded: bool,
    network: bool,
    windowed: bool = False,
) -> Select[Any]:
    """A page's statement (`_search`), from its shape alone: the page's rows `p_offset`
    onwards, `p_limit` of them, the matches counted up to `p_cap`; `windowed` (bounded), the
    matches past the id `p_floor` first, the others only when those do not settle the page
    (`_window`)."""
    # The matches read from the narrow copy of `offers` on PostgreSQL (`ranking.searched`),
    # the page's few offers from `offers` (`_with_offers`).
    model = ranking.searched(shape)
    base, ranked, rank = ranking.matching(shape, model)
    # The distance in SQL only to sort by it; else the page's few are measured in Python
    # (`read_hits`), not every match gathered.
    distance = (
        distance_from(model).label("distance")
        if shape.filters.located and sort == "distance"
        else literal_column("NULL")
    )
    if bounded:
        vector: Any = literal_column(f"{model.__tablename__}.search_vector")
        words = shape.words or search_match.Words(())
        rank = search_match.postgresql_tier(vector, model.__tablename__, words)
    key = {"relevance": rank, "distance": distance}.get(sort, model.created_at)
    # Sorted by distance, the key is the distance: the matches carry it once, read as the
    # distance one level up (`measured`). SQLite computes each column's expression anew: two
    # haversines a match took 0.35 ms of 3.9 ("electricien" within 20 km at 100,000 offers).
    source: Any = (ranked if sort == "relevance" else base).with_only_columns(
        model.id.label("id"), literal_column("NULL").label("distance"), key.label("key")
    )
    if network:
        source = union_all(source, ranking.network_rows(shape, sort))
        gathered = True
    listed = False
    if gathered:
        # Materialised, so no planner walks a date index to skip a sort it must do anyway;
        # FTS5 ranks only in its own query: the count and the sort run one level up. The
        # count is a scalar subquery (run once), not a window over the rows: a window would
        # sort every match where the page needs only its top rows (a top-N sort).
        cap = integer("p_cap")
        settled: Any = None
        if windowed:  # a window of the newest ids (`_paged`), the others if it does not settle
            inner, settled = _window(source, ranked, model, words)
        else:
            inner = source.cte("matches").prefix_with("MATERIALIZED")
        counted = select(func.count()).select_from(select(inner.c.id).limit(cap).subquery())
        newest_first = sort == "recent"
        total: Any = counted.scalar_subquery()
        if settled is not None:  # settled, the window holds at least the cap (or all do)
            total = case((settled, cap), else_=total)
        total_ = total.label("total")
        # Without filters, the matches are what the facets count: their ids come with the
        # page (at most `cap`: all of them when the count is not capped), so that the facets
        # read those offers by id instead of matching the words again.
        extra: list[Any] = []
        if listable_shape(shape.filters):
            ids = select(inner.c.id).limit(cap).subquery()
            found = select(id_list(shape.dialect, ids.c.id)).scalar_subquery()
            extra = [found.label("matched")]
            listed = True
        rows: Any = inner
        if bounded:  # the rows that can be on the page, ranked
            rows, _ = search_match.postgresql_bounded(inner, model.__table__, words)
        ordered = rows.c.key
        measured = (rows.c.key if sort == "distance" else rows.c.distance).label("distance")
        page_query = select(rows.c.id, measured, ordered, total_, *extra).order_by(
            ordered.desc() if newest_first else ordered, rows.c.id.desc()
        )
    else:
        newest_first = True
        page_query = source.order_by(model.created_at.desc(), model.id.desc())
    page = page_query.offset(integer("p_offset")).limit(integer("p_limit")).subquery("page")
    offers = _with_offers(page, newest_first, gathered, listed)
    return offers if model is Offer else _restoring(offers, windowed)


def _window(source: Any, ranked: Any, model: Any, words: search_match.Words) -> tuple[Any, Any]:
    """The matches (`source`: id, distance, key) of a window of the newest ids (past
    `p_floor`), and the older ones only when those do not settle the page, as one CTE; and
    whether they settle it (an uncorrelated condition, worked out once: `settled`). Settled:
    of each tier the page reaches, the window holds its newest the ranking needs, or all of it
    (fair.search.match._settled: `ranked`, every match, read only through the title's index),
    and every match counts past the cap (those of the window, or else all of them, counted up
    to the cap: the planner's estimate too high, "plombier" widened, 9,141 for 2,500). Not
    settled, the older matches (up to `p_floor`) join the window's: every match, read once, the
    full-text index twice. The page's rows are then ranked from this CTE as without a window."""
    cap = integer("p_cap")
    newest = source.where(model.id > integer("p_floor")).cte("newest").prefix_with("MATERIALIZED")
    table_ = model.__table__
    _, tiers = search_match.postgresql_bounded(newest, table_, words, ranked, "newest_told")
    held = select(func.count()).select_from(select(newest.c.id).limit(cap).subquery())
    every = ranked.with_only_columns(literal_column("1")).limit(cap).subquery()
    counted = select(func.count()).select_from(every)
    # In this order: the tiers first (the window's own rows), every match counted last.
    sure = and_(tiers, or_(held.scalar_subquery() >= cap, counted.scalar_subquery() >= cap))
    decided = select(sure.label("sure")).cte("settled").prefix_with("MATERIALIZED")
    settled = select(decided.c.sure).scalar_subquery()
    # A one-time filter: none of the older matches read when the window settles the page.
    older = source.where(model.id <= integer("p_floor"), ~settled)
    both = union_all(select(newest), older)
    return both.cte("matches").prefix_with("MATERIALIZED"), settled


def _with_offers(page: Any, newest_first: bool, gathered: bool, listed: bool) -> Select[Any]:
    """The page's rows (id, distance, sort key and, `gathered`, the capped count and,
    `listed`, the matches' ids on the first row only) in their order, each with its offer and
    employer's name (none for a partner's offer: negative id): the page's few offers read in
    the same statement as their ids."""
    order = (page.c.key.desc() if newest_first else page.c.key, page.c.id.desc())
    counted: list[Any] = [page.c.total] if gathered else []
    if listed:
        first = func.row_number().over(order_by=order) == 1
        counted.append(case((first, page.c.matched)).label("matched"))
    return (
        select(page.c.id, page.c.distance, *counted, Offer, Employer.name.label("name"))
        .select_from(page)
        .outerjoin(Offer, Offer.id == page.c.id)
        .outerjoin(Booth, Booth.id == Offer.booth_id)
        .outerjoin(Employer, Employer.id == Booth.employer_id)
        .order_by(*order)
    )


def listable(query: Query) -> bool:
    """Whether the page's matches are the offers the facets count (fair.search.facets): no
    filter of theirs is set, so the matches of the words are the same with or without them."""
    return not (
        query.domain
        or query.contract
        or query.working_time
        or query.radius_km
        or query.remote
        or query.publics
    )


def listable_shape(shape: search_filters.Shape) -> bool:
    """`listable`, from the filters' shape (a radius set without a place is none)."""
    return not (
        shape.domain
        or shape.contract
        or shape.working_time
        or shape.radius
        or shape.remote
        or shape.publics
    )


def id_list(dialect: str, column: Any) -> Any:
    """The ids of `column`'s rows as one value: an array on PostgreSQL, "1,-2,3" on SQLite."""
    return func.array_agg(column) if dialect == "postgresql" else func.group_concat(column)


def id_tuple(value: Any) -> tuple[int, ...] | None:
    """The ids `id_list` gave (None: not listed)."""
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(map(int, value.split(","))) if value else ()
    return tuple(map(int, value))


async def listing(
    session: AsyncSession,
    *,
    edition_id: int,
    query: Query,
    after: int | None,
    limit: int,
    updated_since: datetime | None = None,
) -> list[Hit]:
    """The offers `search` finds (same words, filters and checks), by id from just after
    `after`, `limit` at most, changed at or after `updated_since`: the public API's list,
    which a cursor continues (a rank or a distance would not keep a page's place)."""
    origin = check(query)
    dialect = dialect_of(session)
    shape = ranking.shape(dialect, query, origin)
    key = ("listing", shape, after is not None, updated_since is not None)
    statement = shapes.built(key, lambda: _listing(shape, after is not None, updated_since))
    params = ranking.values(dialect, edition_id, query, origin)
    params.update(after=after, updated_since=updated_since, p_limit=limit)
    rows = await session.execute(statement, params)
    return await read_hits(session, [(row[0], row[1]) for row in rows.all()])


def _listing(shape: ranking.Shape, after: bool, updated_since: datetime | None) -> Select[Any]:
    base = ranking.matching(shape)[0]
    if after:
        base = base.where(Offer.id > integer("after"))
    if updated_since is not None:
        since = bindparam("updated_since", type_=Offer.__table__.c.updated_at.type)
        base = base.where(Offer.updated_at >= since)
    distance = distance_from() if shape.filters.located else literal_column("NULL")
    return base.with_only_columns(Offer.id, distance).order_by(Offer.id).limit(integer("p_limit"))
