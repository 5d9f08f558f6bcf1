"""The offer search's facets (issue 16 item 4): how many offers each value of a filter would
find, given the words, the place and the other filters chosen.

A facet's counts leave out its own filter (choosing "CDD" still shows how many CDI there are)
and apply every other one, as shops' and job boards' filters do. All of them come from ONE
query: the offers matching the words (and the partners' offers the search shows), whatever
the filters, read once, each count a sum of a condition over them. A page of results thus
costs the search's queries plus this one (bench/search.py measures it).

Facets: contract, working time, job domain (the sector of the job: its ROME domain), distance
bands from the place searched (the radii of the form), remote work and the publics an offer
is open to (people without a diploma, disabled workers (RQTH), …).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Select, and_, case, false, func, literal, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from fair import geo, rome, search
from fair.enums import Contract, WorkingTime
from fair.models import NetworkOffer, Offer

# Per offer, what the facets look at (the partners' offers say nothing of the publics).
COLUMNS = ("contract", "working_time", "rome_domain", "remote", "distance", *search.PUBLICS)


@dataclass
class Facets:
    """The counts for each value of each filter (0 values left out), and the total matching
    the words and place with no filter (a facet's "any")."""

    contract: dict[str, int] = field(default_factory=dict)
    working_time: dict[str, int] = field(default_factory=dict)
    domain: dict[str, int] = field(default_factory=dict)
    radius_km: dict[int, int] = field(default_factory=dict)
    publics: dict[str, int] = field(default_factory=dict)
    remote: int = 0
    # Per facet, the offers found with every other filter and none of its own: its "any".
    any: dict[str, int] = field(default_factory=dict)


def _facetless(query: search.Query) -> search.Query:
    return replace(
        query,
        domain="",
        contract="",
        working_time="",
        radius_km=0,
        remote=False,
        publics=set(),
        sort="",
        page=1,
    )


def _offers(
    session: AsyncSession, edition_id: int, query: search.Query, origin: geo.Origin | None
) -> Select[Any]:
    # fair.search's own matching (words, edition, published, approved booth), its filters off.
    base, _ranked, _rank = search._matching(
        session, edition_id=edition_id, query=query, origin=origin
    )
    distance = search._distance(origin) if origin else literal(None)
    publics = [column.label(name) for name, column in search.PUBLICS.items()]
    return base.with_only_columns(
        Offer.contract.label("contract"),
        Offer.working_time.label("working_time"),
        Offer.rome_domain.label("rome_domain"),
        Offer.remote.label("remote"),
        distance.label("distance"),
        *publics,
    )


def _held(
    session: AsyncSession, edition_id: int, query: search.Query, origin: geo.Origin | None
) -> Select[Any]:
    held = search._network(session, edition_id, query, origin, "recent")
    distance = search._distance(origin, NetworkOffer) if origin else literal(None)
    return held.with_only_columns(
        NetworkOffer.contract.label("contract"),
        NetworkOffer.working_time.label("working_time"),
        NetworkOffer.rome_domain.label("rome_domain"),
        NetworkOffer.remote.label("remote"),
        distance.label("distance"),
        *(false().label(name) for name in search.PUBLICS),
    )


async def count(
    session: AsyncSession,
    *,
    edition_id: int,
    query: search.Query,
    origin: geo.Origin | None,
    network: bool = False,
) -> Facets:
    """The facets of `query` (checked already: `origin` is what `search.check` returned), over
    the edition's offers and, with `network`, the partners' offers it shows."""
    plain = _facetless(query)
    source: Any = _offers(session, edition_id, plain, origin)
    if network:
        source = union_all(source, _held(session, edition_id, plain, origin))
    rows = source.subquery("faceted")
    c = rows.c
    # Each filter's condition on a row; True when the filter is not set.
    chosen: dict[str, Any] = {
        "contract": c.contract == query.contract if query.contract else true(),
        "working_time": c.working_time == query.working_time if query.working_time else true(),
        "domain": c.rome_domain == query.domain if query.domain else true(),
        "radius_km": c.distance <= query.radius_km if origin and query.radius_km else true(),
        "remote": c.remote.is_(True) if query.remote else true(),
        "publics": (
            or_(*(c[p].is_(True) for p in sorted(query.publics))) if query.publics else true()
        ),
    }

    def others(facet: str) -> list[Any]:
        return [condition for name, condition in chosen.items() if name != facet]

    sums: dict[tuple[str, Any], Any] = {}

    def add(facet: str, value: Any, condition: Any) -> None:
        sums[(facet, value)] = func.coalesce(
            func.sum(case((and_(condition, *others(facet)), 1), else_=0)), 0
        )

    for facet in chosen:
        add(facet, None, true())
    for facet, column, values in (
        ("contract", c.contract, _values("contract")),
        ("working_time", c.working_time, _values("working_time")),
        ("domain", c.rome_domain, _values("domain")),
    ):
        for value in values:
            add(facet, value, column == value)
    if origin is not None:
        for radius in search.RADII:
            add("radius_km", radius, c.distance <= radius)
    add("remote", True, c.remote.is_(True))
    for public in search.PUBLICS:
        add("publics", public, c[public].is_(True))
    keys = list(sums)
    row = (await session.execute(select(*sums.values()).select_from(rows))).one()
    return _facets(dict(zip(keys, (int(n) for n in row), strict=True)))


def _values(facet: str) -> tuple[str, ...]:
    return {
        "contract": tuple(c.value for c in Contract),
        "working_time": tuple(w.value for w in WorkingTime),
        "domain": tuple(rome.DOMAINS),
    }[facet]


def _facets(counted: dict[tuple[str, Any], int]) -> Facets:
    found = Facets()
    for (facet, value), n in counted.items():
        if value is None:
            found.any[facet] = n
        elif facet == "remote":
            found.remote = n
        elif n or facet == "radius_km":  # every band shown beside the place
            getattr(found, facet)[value] = n
    return found
