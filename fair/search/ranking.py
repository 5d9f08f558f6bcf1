"""An offer search's words as SQL: the matching offers (their ids), the same joined to the
full-text index for ranking, and the rank, for the edition's offers (`matching`) and for the
partners' offers it holds (`network_rows`). SQLite: the FTS5 index over `stemming.stems`;
PostgreSQL: the generated tsvector under `fair_french` (GIN index). Every search with words,
widened (fair.search.terms) or not, goes through fair.search.match: ranked in its tiers, the
title's matches first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import geo
from fair.models import NetworkOffer, Offer
from fair.search import match as search_match
from fair.search.filters import dialect as dialect_of
from fair.search.filters import eligible_offers, filters
from fair.search.filters import terms as terms_of
from fair.search.places import distance_from
from fair.search.query import Query


def matching(
    session: AsyncSession, *, edition_id: int, query: Query, origin: geo.Origin | None
) -> tuple[Select[Any], Select[Any], Any]:
    """The ids of the edition's published offers in approved booths that match `query`'s words
    and filters; the same joined to the full-text index for ranking; and the rank (lower is
    better), None without words."""
    dialect = dialect_of(session)
    terms = terms_of(query)
    base = eligible_offers(edition_id, query, origin, dialect, words=bool(terms))
    rank: Any = None
    ranked = base
    if query.q.strip() and not terms:
        base = ranked = base.where(false())
    elif terms and dialect == "sqlite":
        # With a job domain, its index drives and each of its offers is looked up in the
        # matches: driven from the matches, a broad word ("agent", 3,000 at 20,000 offers)
        # read every match's offer row to keep the domain's few.
        base, ranked, rank = search_match.sqlite(
            base,
            Offer,
            "offers_fts",
            terms,
            query.also,
            looked_up=bool(query.domain),
            bound=query.rank_bound or 0,
        )
    elif terms:
        vector: Any = literal_column("offers.search_vector")
        base, rank = search_match.postgresql(base, Offer, vector, terms, query.also)
        ranked = base
    return base, ranked, rank


def network_rows(
    session: AsyncSession, edition_id: int, query: Query, origin: geo.Origin | None, sort: str
) -> Select[Any]:
    """The partners' offers held for the edition that match `query`, as (negated id,
    distance, sort key) rows beside the edition's own (`search`); their own full-text index
    (migration 0031)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    terms = terms_of(query)
    held = select(NetworkOffer.id).where(NetworkOffer.edition_id == edition_id)
    held = filters(held, query, origin, dialect, NetworkOffer)
    rank: Any = literal_column("0")
    if query.q.strip() and not terms:
        held = held.where(false())
    elif terms and dialect == "sqlite":
        _, held, rank = search_match.sqlite(
            held, NetworkOffer, "network_offers_fts", terms, query.also, bound=query.rank_bound or 0
        )
    elif terms:
        vector: Any = literal_column("network_offers.search_vector")
        held, rank = search_match.postgresql(held, NetworkOffer, vector, terms, query.also)
    distance = (
        distance_from(origin, NetworkOffer)
        if origin is not None and sort == "distance"
        else literal_column("NULL")
    )
    key = {"relevance": rank, "distance": distance}.get(sort, NetworkOffer.created_at)
    return held.with_only_columns(
        (-NetworkOffer.id).label("id"), distance.label("distance"), key.label("key")
    )
