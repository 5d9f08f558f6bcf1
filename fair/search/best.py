"""The best-first page: on SQLite, a page of words ranked by relevance taken from the FTS5
index's best matches, so that only those few offers are read (fair.search.pages falls back to
ranking every match when they hold too few of the edition's offers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import geo, timing
from fair.models import Booth, Employer, Offer
from fair.search import match as search_match
from fair.search import ranking, shapes
from fair.search.filters import dialect, eligible_offers
from fair.search.filters import terms as terms_of
from fair.search.hits import capped_page, read_hits
from fair.search.query import Page, Query
from fair.search.shapes import integer

# The best-first page (`best_page`) reads at most this many of the index's best matches per
# page asked for (and BEST_MORE more), and serves pages up to BEST_DEPTH matches deep.
BEST_FACTOR = 3
BEST_MORE = 40
BEST_DEPTH = 200


def best_first(session: AsyncSession, query: Query, network: bool) -> bool:
    """Whether `search` may take the page from the full-text index's best matches
    (`best_page`): on SQLite, words ranked by relevance, no filter but the edition's."""
    filtered = query.domain or query.contract or query.working_time or query.remote or query.publics
    return (
        dialect(session) == "sqlite"
        and not network
        and not filtered
        and not query.radius_km
        and (query.sort or "relevance") == "relevance"
        and bool(terms_of(query))
        and query.page * query.per_page <= BEST_DEPTH
        # Ranked by score, a tier's newest `rank_bound` come first: deeper, `search` ranks.
        and (not query.rank_bound or query.page * query.per_page <= query.rank_bound)
    )


async def best_page(
    session: AsyncSession, *, edition_id: int, query: Query, origin: geo.Origin | None
) -> Page | None:
    """`search`'s page when `_best_first`: the matches counted up to the cap, driven by the
    index (stops there), then the page taken from the index's best matches (ranked from the
    index alone) that are the edition's published offers, so that only those few offers
    are read, where `search` reads every match's offer to filter it before ranking. Same
    offers, same order; None when the best matches hold too few of the edition's offers
    (a large index of other editions): `search` then ranks every match. With a rank bound
    (`Query.rank_bound`), the page is taken from the newest matches of each tier that are
    the edition's, a tier read only when the better ones hold fewer than the page
    (`match.sqlite_candidates`, which the page never goes past: `best_first`), ranked: the
    order `search` gives."""
    shape = ranking.shape("sqlite", query, origin)
    words = shape.words or search_match.Words(())
    offset = (query.page - 1) * query.per_page
    cap = offset + query.count_cap + 1
    k = BEST_FACTOR * (offset + query.per_page) + BEST_MORE
    params = ranking.values("sqlite", edition_id, query, origin)
    params.update(p_cap=cap, p_offset=offset, p_limit=query.per_page, best_k=k)
    params.update(p_depth=offset + query.per_page)
    with timing.span("count"):
        counted = shapes.built(("best count", shape), lambda: _counted(shape))
        total, listed, *cut = (await session.execute(counted, params)).one()
    expected = min(query.per_page, max(0, total - offset))
    rows: list[Any] = []
    if expected:
        tier = int(cut[0]) if cut else search_match.LAST
        statement = shapes.built(("best page", shape, tier), lambda: _page(shape, words, tier))
        with timing.span("query"):
            rows = list((await session.execute(statement, params)).all())
        if len(rows) < expected:
            return None
    with timing.span("hits"):
        loaded = {row.id: (row.Offer, row.name) for row in rows}
        hits = await read_hits(session, [(row.id, None) for row in rows], origin, loaded)
    page = capped_page(hits, total, cap, query, origin, query.also)
    page.matched = None if page.capped else tuple(map(int, listed.split(","))) if listed else ()
    return page


def _counted(shape: ranking.Shape) -> Any:
    """The matches counted up to `p_cap`, with their ids (all of them when not capped: the
    facets read those offers by id, fair.search.facets, not the words' matches again), then
    the tier of the index's `best_k`-th best match (`match.tier_cut`: the page's statement
    scores only the tiers that can reach it), but for a bounded page, whose statement tells
    that itself."""
    limited = ranking.matched_ids(shape).limit(integer("p_cap")).subquery()
    words = shape.words
    cut = [search_match.tier_cut("offers_fts", words)] if words and not shape.bound else []
    return select(func.count(), func.group_concat(limited.c.id), *cut)


def _page(shape: ranking.Shape, words: search_match.Words, cut: int) -> Any:
    """The page (`p_offset`, `p_limit`) of the best matches that are the edition's: with a
    rank bound, the newest `w_k` of each tier that are the edition's, ranked, a tier read
    only when the better ones' hold fewer than `p_depth` (`match.sqlite_candidates`); else
    the index's `best_k` best (those of the tiers up to `cut` alone: `match.sqlite_best`)."""
    eligible = eligible_offers(shape.filters)
    if shape.bound:
        found = search_match.sqlite_candidates(eligible, Offer, "offers_fts", words, reach=True)
        # Each one the edition's, and the page within the tiers' newest (`best_first`): the
        # page's are the first, the others' offers not read.
        columns = found.selected_columns
        best: Any = found.order_by(columns.key, columns.id.desc()).limit(
            integer("p_offset") + integer("p_limit")
        )
    else:
        best = search_match.sqlite_best("offers_fts", Offer, words, cut)
    top = best.cte("best").prefix_with("MATERIALIZED")
    return (
        eligible.with_only_columns(top.c.id, Offer, Employer.name.label("name"))
        .select_from(top)
        .join(Offer, Offer.id == top.c.id)
        .join(Booth, Booth.id == Offer.booth_id)
        .join(Employer, Employer.id == Booth.employer_id)
        .order_by(top.c.key, top.c.id.desc())
        .offset(integer("p_offset"))
        .limit(integer("p_limit"))
    )
