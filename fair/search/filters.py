"""What an offer search's words and filters select, as SQL: the edition's published offers
in approved booths (`eligible_offers`), the filters (`filters`), the query's stems (`terms`)
and the sort actually used (`sort`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import geo
from fair.enums import BoothStatus
from fair.models import Booth, Offer
from fair.search.match import typed_terms
from fair.search.places import distance_from, surely_within
from fair.search.query import PUBLICS, Query

MAX_WORDS = 12  # the query's words searched at most


def dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def terms(query: Query) -> list[str]:
    """The query's stems as fair.search.match matches them (a short one of a longer word,
    whole: `match.typed`)."""
    return typed_terms(query.q, MAX_WORDS)


def eligible_offers(
    edition_id: int, query: Query, origin: geo.Origin | None, dialect: str, *, words: bool
) -> Select[int]:
    """The ids of the edition's published offers in approved booths that pass `query`'s
    filters, whatever its words."""
    approved = select(Booth.id).where(
        Booth.edition_id == edition_id, Booth.status == BoothStatus.APPROVED.value
    )
    base = select(Offer.id).where(
        Offer.edition_id == edition_id,
        Offer.published.is_(True),
        Offer.booth_id.in_(approved),
    )
    return filters(base, query, origin, dialect, words=words)


def filters(
    base: Select[int],
    query: Query,
    origin: geo.Origin | None,
    dialect: str,
    model: Any = Offer,
    *,
    words: bool = False,
) -> Select[int]:
    if query.domain:
        base = base.where(model.rome_domain == query.domain)
    if query.contract:
        base = base.where(model.contract == query.contract)
    if query.working_time:
        base = base.where(model.working_time == query.working_time)
    if query.remote:
        base = base.where(model.remote.is_(True))
    if query.publics and model is Offer:
        base = base.where(or_(*(PUBLICS[p].is_(True) for p in sorted(query.publics))))
    elif query.publics:  # the partners' feeds do not say which publics an offer is open to
        base = base.where(false())
    if origin and query.radius_km:
        min_lat, max_lat, min_lon, max_lon = geo.bounding_box(
            origin.latitude, origin.longitude, query.radius_km
        )
        latitude: Any = model.latitude
        longitude: Any = model.longitude
        if dialect == "sqlite" and (query.domain or query.contract or words):
            # Around a local fair most offers lie within the radius: the domain and contract
            # index, or the words' matches (FTS5, in id order), is the selective one. "+ 0"
            # keeps SQLite's planner off the position index: with it, "agent" within 20 km of
            # Montpellier computed the distance of every offer in the box, then sorted them.
            latitude, longitude = latitude + 0, longitude + 0
        within: Any = distance_from(origin, model) <= query.radius_km
        if dialect == "sqlite":
            # The haversine only near the circle's edge: SQLite's math functions cost more
            # than the rest of an offer's checks, and around a fair most offers lie well
            # inside the radius. Same offers.
            inside = surely_within(origin, query.radius_km, latitude, longitude)
            within = or_(inside, within)
        base = base.where(
            and_(latitude.between(min_lat, max_lat), longitude.between(min_lon, max_lon))
        ).where(within)
    return base


def sort(query: Query, rank: Any, origin: geo.Origin | None) -> str:
    sort = query.sort or ("relevance" if rank is not None else "recent")
    if (sort == "distance" and origin is None) or (sort == "relevance" and rank is None):
        return "recent"
    return sort
