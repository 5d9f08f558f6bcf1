"""What an offer search's words and filters select, as SQL: the edition's published offers
in approved booths (`eligible_offers`), the filters (`filters`, built from their `Shape`, their
`values` bound at execution: fair.search.shapes), the query's stems (`terms`) and the sort
actually used (`sort`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import geo
from fair.enums import BoothStatus
from fair.models import Booth, NetworkOffer, Offer
from fair.search.match import typed_terms
from fair.search.places import distance_from, origin_values, surely_within, within_values
from fair.search.query import PUBLICS, Query
from fair.search.shapes import bind, integer, number

MAX_WORDS = 12  # the query's words searched at most


def dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def terms(query: Query) -> list[str]:
    """The query's stems as fair.search.match matches them (a short one of a longer word,
    whole: `match.typed`)."""
    return typed_terms(query.q, MAX_WORDS)


@dataclass(frozen=True)
class Shape:
    """What of a query's filters decides their SQL (fair.search.shapes): which are set (the
    publics chosen), and where the words' matches drive on SQLite (`filters`)."""

    dialect: str
    domain: bool = False
    contract: bool = False
    working_time: bool = False
    remote: bool = False
    publics: tuple[str, ...] = ()
    radius: bool = False  # within a radius of a place
    words: bool = False  # the query has words (their matches drive on SQLite)
    located: bool = False  # a place is searched (distances from it)

    @classmethod
    def of(cls, query: Query, origin: geo.Origin | None, dialect: str, *, words: bool) -> Shape:
        return cls(
            dialect,
            bool(query.domain),
            bool(query.contract),
            bool(query.working_time),
            query.remote,
            tuple(sorted(query.publics)),
            bool(origin and query.radius_km),
            words,
            origin is not None,
        )


def values(query: Query, origin: geo.Origin | None) -> dict[str, Any]:
    """The filters' parameters (`filters`), the place's (fair.search.places) included."""
    found: dict[str, Any] = {
        "domain": query.domain,
        "contract": query.contract,
        "working_time": query.working_time,
        **origin_values(origin),
    }
    if origin and query.radius_km:
        found.update(within_values(origin, query.radius_km))
    return found


def eligible_offers(shape: Shape, model: Any = Offer) -> Select[int]:
    """The ids of the edition's (parameter `edition_id`) published offers in approved booths
    that pass the filters (`values`), whatever the words: from `offers` or from its narrow
    copy (`model` SearchOffer, the same columns: fair.search.ranking)."""
    approved = select(Booth.id).where(
        Booth.edition_id == integer("edition_id"), Booth.status == BoothStatus.APPROVED.value
    )
    base = select(model.id).where(
        model.edition_id == integer("edition_id"),
        model.published.is_(True),
        model.booth_id.in_(approved),
    )
    return filters(base, shape, model)


def filters(base: Select[int], shape: Shape, model: Any = Offer) -> Select[int]:
    if shape.domain:
        base = base.where(model.rome_domain == bind("domain"))
    if shape.contract:
        base = base.where(model.contract == bind("contract"))
    if shape.working_time:
        base = base.where(model.working_time == bind("working_time"))
    if shape.remote:
        base = base.where(model.remote.is_(True))
    if shape.publics and model is not NetworkOffer:
        base = base.where(or_(*(getattr(model, PUBLICS[p].key).is_(True) for p in shape.publics)))
    elif shape.publics:  # the partners' feeds do not say which publics an offer is open to
        base = base.where(false())
    if shape.radius:
        latitude: Any = model.latitude
        longitude: Any = model.longitude
        sqlite = shape.dialect == "sqlite"
        if sqlite and (shape.domain or shape.contract or shape.words):
            # Around a local fair most offers lie within the radius: the domain and contract
            # index, or the words' matches (FTS5, in id order), is the selective one. "+ 0"
            # keeps SQLite's planner off the position index: with it, "agent" within 20 km of
            # Montpellier computed the distance of every offer in the box, then sorted them.
            latitude, longitude = latitude + 0, longitude + 0
        within: Any = distance_from(model) <= number("f_km")
        if sqlite:
            # The haversine only near the circle's edge: SQLite's math functions cost more
            # than the rest of an offer's checks, and around a fair most offers lie well
            # inside the radius. Same offers.
            within = or_(surely_within(latitude, longitude), within)
        box = and_(
            latitude.between(number("f_min_lat"), number("f_max_lat")),
            longitude.between(number("f_min_lon"), number("f_max_lon")),
        )
        base = base.where(box).where(within)
    return base


def sort(query: Query, rank: Any, origin: geo.Origin | None) -> str:
    sort = query.sort or ("relevance" if rank is not None else "recent")
    if (sort == "distance" and origin is None) or (sort == "relevance" and rank is None):
        return "recent"
    return sort
