"""An offer search's words as SQL: the matching offers (their ids), the same joined to the
full-text index for ranking, and the rank, for the edition's offers (`matching`) and for the
partners' offers it holds (`network_rows`). SQLite: the FTS5 index over `stemming.stems`;
PostgreSQL: the generated tsvector under `fair_french` (GIN index). Every search with words,
widened (fair.search.terms) or not, goes through fair.search.match: ranked in its tiers, the
title's matches first. Built from the search's `Shape` alone, its `values` bound at execution
(fair.search.shapes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, false, literal_column, select

from fair import geo
from fair.models import NetworkOffer, Offer, SearchOffer
from fair.search import filters as search_filters
from fair.search import match as search_match
from fair.search.filters import eligible_offers, filters
from fair.search.filters import terms as terms_of
from fair.search.places import distance_from
from fair.search.query import Query
from fair.search.shapes import integer


@dataclass(frozen=True)
class Shape:
    """What decides a search's SQL: its filters' shape, its words' (None without words),
    whether its words are none that can be searched (it then matches nothing), and on SQLite
    whether a job domain's index drives (`looked_up`) and whether a rank bound applies."""

    filters: search_filters.Shape
    words: search_match.Words | None = None
    nothing: bool = False
    looked_up: bool = False
    bound: bool = False

    @property
    def dialect(self) -> str:
        return self.filters.dialect


def shape(dialect: str, query: Query, origin: geo.Origin | None) -> Shape:
    terms = terms_of(query)
    return Shape(
        search_filters.Shape.of(query, origin, dialect, words=bool(terms)),
        search_match.Words.of(terms, query.also) if terms else None,
        bool(query.q.strip() and not terms),
        looked_up=bool(query.domain),
        bound=bool(query.rank_bound),
    )


def values(
    dialect: str, edition_id: int, query: Query, origin: geo.Origin | None
) -> dict[str, Any]:
    """The parameters of the statements built from `shape(dialect, query, origin)`."""
    found = {"edition_id": edition_id, **search_filters.values(query, origin)}
    terms = terms_of(query)
    if terms:
        found.update(search_match.values(dialect, terms, query.also))
    found["w_k"] = query.rank_bound or 0
    return found


def searched(shape: Shape) -> Any:
    """The table whose rows a search's page and count read (`matching`'s `model`): on
    PostgreSQL with words, the narrow copy of `offers` (SearchOffer, migration 0045), where
    a broad word's thousands of matches are checked without reading their wide rows ("btp"
    widened, 12,635 at 100,000 offers); else `offers`."""
    if shape.dialect == "postgresql" and shape.words is not None and not shape.nothing:
        return SearchOffer
    return Offer


def matching(shape: Shape, model: Any = Offer) -> tuple[Select[Any], Select[Any], Any]:
    """The ids of the edition's published offers in approved booths that match the words and
    filters; the same joined to the full-text index for ranking; and the rank (lower is
    better), None without words. Read from `model`: `offers`, or on PostgreSQL its narrow
    copy (`searched`)."""
    words = shape.words
    base = eligible_offers(shape.filters, model)
    rank: Any = None
    ranked = base
    if shape.nothing:
        base = ranked = base.where(false())
    elif words is not None and shape.dialect == "sqlite":
        # With a job domain, its index drives and each of its offers is looked up in the
        # matches: driven from the matches, a broad word ("agent", 3,000 at 20,000 offers)
        # read every match's offer row to keep the domain's few.
        base, ranked, rank = search_match.sqlite(
            base, Offer, "offers_fts", words, looked_up=shape.looked_up, bound=shape.bound
        )
    elif words is not None:
        vector: Any = literal_column(f"{model.__tablename__}.search_vector")
        base, rank = search_match.postgresql(base, model, vector, words)
        ranked = base
    return base, ranked, rank


def matched_ids(shape: Shape) -> Any:
    """The ids `matching` finds (its first statement), for a LIMIT to stop early: on SQLite,
    words without a job domain are read from the full-text index first, in id order, each
    match's offer looked up (`match.sqlite_matched`), where `matching` lists every match
    (and every offer of the codes) before looking any up: a broad word's thousands, to count
    a thousand. On PostgreSQL, words are matched in the narrow copy of `offers` (`searched`),
    as the page's: the facets' thousand ids of "btp" widened, with filters that leave the
    page few, took 17 ms from `offers`' wide rows, 9 from the copy's (100,000 offers)."""
    words = shape.words
    if shape.dialect == "sqlite" and words is not None and not (shape.nothing or shape.looked_up):
        eligible = eligible_offers(shape.filters)
        return search_match.sqlite_matched(eligible, Offer, "offers_fts", words)
    return matching(shape, searched(shape))[0]


def network_rows(shape: Shape, sort: str) -> Select[Any]:
    """The partners' offers held for the edition that match the search, as (negated id,
    distance, sort key) rows beside the edition's own (`search`); their own full-text index
    (migration 0031). The distance is NULL: sorted by distance, it is the key."""
    words = shape.words
    held = select(NetworkOffer.id).where(NetworkOffer.edition_id == integer("edition_id"))
    held = filters(held, shape.filters, NetworkOffer)
    rank: Any = literal_column("0")
    if shape.nothing:
        held = held.where(false())
    elif words is not None and shape.dialect == "sqlite":
        _, held, rank = search_match.sqlite(
            held, NetworkOffer, "network_offers_fts", words, bound=shape.bound
        )
    elif words is not None:
        vector: Any = literal_column("network_offers.search_vector")
        held, rank = search_match.postgresql(held, NetworkOffer, vector, words)
    # Sorted by distance, the distance is the key alone, read as the distance one level up
    # (fair.search.pages, as the edition's own matches): SQLite computes each column anew.
    distance = (
        distance_from(NetworkOffer)
        if shape.filters.located and sort == "distance"
        else literal_column("NULL")
    )
    key = {"relevance": rank, "distance": distance}.get(sort, NetworkOffer.created_at)
    return held.with_only_columns(
        (-NetworkOffer.id).label("id"), literal_column("NULL").label("distance"), key.label("key")
    )
