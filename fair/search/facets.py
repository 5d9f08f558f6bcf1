"""The offer search's facets (issue 16 item 4): how many offers each value of a filter would
find, given the words, the place and the other filters chosen.

A facet's counts leave out its own filter (choosing "CDD" still shows how many CDI there are)
and apply every other one, as shops' and job boards' filters do. All of them come from ONE
query: the offers matching the words (and the partners' offers the search shows), whatever
the filters, read once, each count a sum of a condition over them. A page of results thus
costs the search's queries plus this one, which reads at most SCAN + 1 offers: past SCAN
(a listing of a whole national network, a broad word), the filters are listed without their
counts ("narrow the search to see them"), never with counts of a part shown as exact. The
page's own count (fair.search.COUNT_CAP, as large as SCAN) often proves that already: then
no query at all. The words are not matched again where their matches' ids are known: the
page of a search without filters comes with all of them (fair.search.Page.matched: the same
offers); with filters (or without words) the facets read them first, as ids up to SCAN + 1
(an index read that stops there). The query then reads those offers by primary key (at
100,000 offers, matching the words cost as much as the page's own query). The counts of a
search are kept a while (fair.search.cache: until the edition's offers change), so the next
page of a search, or the same search by someone else, costs nothing more.

Facets: contract, working time, job domain (the sector of the job: its ROME domain), distance
bands from the place searched (the radii of the form), remote work and the publics an offer
is open to (people without a diploma, disabled workers (RQTH), …).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Float,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from fair import geo, rome
from fair.enums import Contract, WorkingTime
from fair.models import NetworkOffer, Offer
from fair.search import cache as search_cache
from fair.search import ranking, shapes
from fair.search.filters import dialect as dialect_of
from fair.search.pages import id_list, id_tuple, listable
from fair.search.places import distance_from, origin_values
from fair.search.query import COUNT_CAP, PUBLICS, RADII, Page, Query
from fair.search.shapes import bind, integer, number
from fair.search.stemming import words

# Past this many offers matching the words and place, no counts: the filters are listed
# without them (counting a national listing would cost more than the page; bench/search.py).
# The search's own count goes as far (page 1 of a search that says "more than 1,000 offers"
# needs no facets' query).
SCAN = COUNT_CAP
# Per offer, what the facets look at (the partners' offers say nothing of the publics).
COLUMNS = ("contract", "working_time", "rome_domain", "remote", "band", *PUBLICS)
# An offer beyond every band (or with no place searched).
BEYOND = 1_000_000
# Within 100 km of a French place, the flat-Earth distance (longitudes scaled at the place's
# latitude) errs by under 3 %: past 5 % of a band's edge it decides alone, within 5 % the
# haversine decides (fair.search.km_from), so the bands are exact at the cost of a few
# haversines (one for each offer took 26 µs on SQLite: the count's main cost).
MARGIN = 0.05


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
    # More than SCAN offers match the words and place: no counts (every choice listed).
    capped: bool = False


def _facetless(query: Query) -> Query:
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


def _band(located: bool, model: Any) -> Any:
    """The smallest radius of the form (RADII) within which the offer lies; BEYOND
    when none (or no place). The place's parameters: fair.search.places.origin_values."""
    if not located:
        return _number(BEYOND)
    x = (model.longitude - number("o_lon")) * number("o_cos")
    y = model.latitude - number("o_lat")
    flat = x * x + y * y  # squared degrees of latitude
    km_per_degree = geo.EARTH_KM * math.pi / 180
    exact = distance_from(model)
    whens: list[tuple[Any, int]] = []
    for radius in RADII:
        inner = (radius * (1 - MARGIN) / km_per_degree) ** 2
        outer = (radius * (1 + MARGIN) / km_per_degree) ** 2
        band = _number(radius)
        whens += [
            (flat <= _number(inner), band),
            (and_(flat <= _number(outer), exact <= band), band),
        ]
    return case(*whens, else_=_number(BEYOND))


def _number(value: float) -> Any:
    """A constant number in SQL, written in it (no parameter to bind)."""
    return literal_column(repr(value), Float if isinstance(value, float) else Integer)


def _columns(model: Any, located: bool) -> list[Any]:
    """What the facets look at of an offer (COLUMNS); the partners' offers say nothing of
    the publics."""
    if model is Offer:
        publics = [column.label(name) for name, column in PUBLICS.items()]
    else:
        publics = [false().label(name) for name in PUBLICS]
    return [
        model.contract.label("contract"),
        model.working_time.label("working_time"),
        model.rome_domain.label("rome_domain"),
        model.remote.label("remote"),
        _band(located, model).label("band"),
        *publics,
    ]


def _offers(shape: ranking.Shape) -> Select[Any]:
    # fair.search's own matching (words, edition, published, approved booth), its filters off.
    base = ranking.matching(shape)[0]
    return base.with_only_columns(*_columns(Offer, shape.filters.located))


def _held(shape: ranking.Shape) -> Select[Any]:
    held = ranking.network_rows(shape, "recent")
    return held.with_only_columns(*_columns(NetworkOffer, shape.filters.located))


def _by_id(dialect: str, own: bool, held: bool, located: bool) -> Any:
    """The offers of a page's matches (fair.search.Page.matched: `facet_ids` the edition's,
    `facet_held` the partners'), by primary key: what `_offers` (and `_held`) read, without
    matching again; `own`, `held`: whether there are any of each."""
    parts: list[Any] = []
    for model, name, some in ((Offer, "facet_ids", own), (NetworkOffer, "facet_held", held)):
        if some:
            # One parameter whatever the number, so that the statement is the same: an array
            # on PostgreSQL (one statement to prepare), a JSON array on SQLite (an expanding
            # IN rendered its thousand parameters in Python on each request, 0.2 ms).
            among = (
                model.id == any_(bindparam(name, type_=ARRAY(Integer)))
                if dialect == "postgresql"
                else model.id.in_(select(func.json_each(bind(name)).table_valued("value")))
            )
            parts.append(select(*_columns(model, located)).where(among))
    if not parts:  # no match: the same counts as a query that finds none
        parts.append(select(*_columns(Offer, located)).where(false()))
    return parts[0] if len(parts) == 1 else union_all(*parts)


def _id_values(dialect: str, matched: tuple[int, ...]) -> dict[str, Any]:
    """`_by_id`'s parameters: the edition's ids and the partners' (`matched`: negated)."""
    own = [i for i in matched if i > 0]
    held = [-i for i in matched if i < 0]
    if dialect == "postgresql":
        return {"facet_ids": own, "facet_held": held}
    return {"facet_ids": _json_ids(own), "facet_held": _json_ids(held)}


def _json_ids(ids: list[int]) -> str:
    """Ids as a JSON array ("[1,2,3]"), SQLite's `json_each` reads it (`_by_id`); "" when none
    (`_by_id` then reads no offer of the kind: no parameter to bind)."""
    return "[" + ",".join(map(str, ids)) + "]" if ids else ""


async def count(
    session: AsyncSession,
    *,
    edition_id: int,
    query: Query,
    origin: geo.Origin | None,
    network: bool = False,
    scan: int = SCAN,
    shown: Page | None = None,
) -> Facets:
    """The facets of `query` (checked already: `origin` is what `check` returned), over
    the edition's offers and, with `network`, the partners' offers it shows; no counts
    (`capped`) past `scan` offers matching the words and place. `shown` is the page of results
    of the same search, when the caller has it: the offers it counted, filters applied, are
    some of those the facets read, so a count past `scan` there is no count here."""
    if shown is not None and shown.total + shown.capped > scan:
        return Facets(capped=True)
    key = (_key(query), origin, network, scan)
    # The page's matches, when it has them all and they are the offers counted here (no
    # filter, the same widening; a partner's only when they are asked for).
    matched = shown.matched if shown is not None and shown.also == query.also else None
    if matched is not None and (
        not listable(query) or (not network and min(matched, default=0) < 0)
    ):
        matched = None

    async def counted() -> Facets:
        if matched is not None:
            return await _tally_ids(session, edition_id, matched, query, origin, scan)
        return await _count(session, edition_id, query, origin, network, scan)

    return await search_cache.through(_KEPT, session, edition_id, key, counted)


_KEPT: search_cache.Kept[Facets] = search_cache.Kept()


def _key(query: Query) -> tuple[Any, ...]:
    """What the counts depend on in `query` (not its page nor its order)."""
    return (
        query.q,
        query.domain,
        query.contract,
        query.working_time,
        query.commune,
        query.near,
        query.radius_km,
        query.remote,
        frozenset(query.publics),
        query.also,
    )


async def _count(
    session: AsyncSession,
    edition_id: int,
    query: Query,
    origin: geo.Origin | None,
    network: bool,
    scan: int,
) -> Facets:
    plain = _facetless(query)
    # Counted on the ids first where the page's own count proved nothing: no words (the
    # whole listing), or filters (the page counted fewer than the facets read: "electricien"
    # within 20 km, CDI, in one domain, showed 921 of the thousands the facets would read,
    # with a band each, to find them past `scan`: 16 ms at 100,000 offers, 1 ms counted).
    filtered = plain != replace(query, sort="", page=1)
    if not words(query.q) or filtered:
        found = await _matched(session, edition_id, plain, network, scan)
        if found is None:
            return Facets(capped=True)
        return await _tally_ids(session, edition_id, found, query, origin, scan)
    dialect = dialect_of(session)
    shape = ranking.shape(dialect, plain, origin)

    def source() -> Any:
        offers = _offers(shape)
        return union_all(offers, _held(shape)) if network else offers

    params = ranking.values(dialect, edition_id, plain, origin)
    return await _tally(session, ("words", shape, network), source, params, query, origin, scan)


async def _tally_ids(
    session: AsyncSession,
    edition_id: int,
    matched: tuple[int, ...],
    query: Query,
    origin: geo.Origin | None,
    scan: int,
) -> Facets:
    """`_tally` over the offers of `matched` (a partner's id negated), read by id."""
    dialect = dialect_of(session)
    ids = _id_values(dialect, matched)
    own, held, located = bool(ids["facet_ids"]), bool(ids["facet_held"]), origin is not None
    params = {**ids, **origin_values(origin)}
    key = ("ids", dialect, own, held, located)
    return await _tally(
        session, key, lambda: _by_id(dialect, own, held, located), params, query, origin, scan
    )


async def _tally(
    session: AsyncSession,
    source_key: Hashable,
    source: Callable[[], Any],
    params: dict[str, Any],
    query: Query,
    origin: geo.Origin | None,
    scan: int,
) -> Facets:
    """The counts over the offers of `source` (COLUMNS each; its shape `source_key`, its
    parameters `params`), no filter applied yet: each facet's counts with the other filters
    of `query`."""
    chosen = (
        bool(query.contract),
        bool(query.working_time),
        bool(query.domain),
        bool(origin and query.radius_km),
        query.remote,
        tuple(sorted(query.publics)),
    )
    statement = shapes.built(("tally", source_key, chosen), lambda: _tallied(source(), *chosen))
    values = {
        **params,
        "contract": query.contract,
        "working_time": query.working_time,
        "domain": query.domain,
        "t_km": query.radius_km,
        "t_scan": scan + 1,
    }
    found: dict[str, dict[str, int]] = {}
    for facet, value, n in (await session.execute(statement, values)).all():
        found.setdefault(facet, {})[value] = int(n)
    if found[""][""] > scan:
        return Facets(capped=True)
    return _facets(found, origin is not None)


def _tallied(
    source: Any,
    contract: bool,
    working_time: bool,
    domain: bool,
    radius: bool,
    remote: bool,
    publics: tuple[str, ...],
) -> Any:
    """`_tally`'s statement: the filters set (their values bound at execution), over at most
    `t_scan` rows of `source`."""
    # Read once, at most `scan` + 1 rows: each offer's band is computed there once (SQLite
    # would compute it again in every sum over a plain subquery).
    rows = source.limit(integer("t_scan")).cte("faceted").prefix_with("MATERIALIZED")
    c = rows.c
    # Each filter's condition on a row, for the filters set.
    conditions: dict[str, Any] = {
        "contract": c.contract == bind("contract") if contract else None,
        "working_time": c.working_time == bind("working_time") if working_time else None,
        "domain": c.rome_domain == bind("domain") if domain else None,
        "radius_km": c.band <= integer("t_km") if radius else None,
        "remote": c.remote.is_(True) if remote else None,
        "publics": or_(*(c[p].is_(True) for p in publics)) if publics else None,
    }
    chosen = {name: test for name, test in conditions.items() if test is not None}

    def others(facet: str) -> list[Any]:
        return [condition for name, condition in chosen.items() if name != facet]

    def counted(facet: str, value: Any, *where: Any) -> Select[Any]:
        return select(_text(facet), value, func.count()).select_from(rows).where(*where)

    # One statement: a few grouped counts over the offers read once (fewer, smaller
    # expressions than a sum per value).
    parts = [counted("", _text(""))]  # how many were read
    for facet, column in (
        ("contract", c.contract),
        ("working_time", c.working_time),
        ("domain", c.rome_domain),
        ("radius_km", cast(c.band, String)),
    ):
        parts.append(counted(facet, column, *others(facet)).group_by(column))
    for facet in ("remote", "publics"):
        parts.append(counted(facet, _text(""), *others(facet)))  # its "any"
    parts.append(counted("remote", _text("on"), c.remote.is_(True), *others("remote")))
    for public in PUBLICS:
        parts.append(counted("publics", _text(public), c[public].is_(True), *others("publics")))
    return union_all(*parts)


async def _matched(
    session: AsyncSession, edition_id: int, plain: Query, network: bool, scan: int
) -> tuple[int, ...] | None:
    """The ids of the offers `plain` (a search without the facets' filters) finds, a
    partner's negated; None when more than `scan` (the edition's whole listing, which a
    national network makes large). Read on the ids alone (an index read), so that such a
    listing does not compute `scan` offers' bands for nothing; the offers of the ids are then
    read by primary key (`_by_id`), the words not matched again."""
    dialect = dialect_of(session)
    shape = ranking.shape(dialect, plain, None)

    def build() -> Any:
        ids: Any = ranking.matched_ids(shape)  # stops at `t_scan`
        if network:
            if isinstance(ids, CompoundSelect):  # (a compound in a compound: not in SQLite)
                ids = select(ids.subquery("own").c.id)
            held = ranking.network_rows(shape, "recent")
            ids = union_all(ids, held.with_only_columns((-NetworkOffer.id).label("id")))
        limited = ids.limit(integer("t_scan")).subquery()
        return select(func.count(), id_list(dialect, limited.c.id))

    read = shapes.built(("facet ids", shape, network), build)
    params = {**ranking.values(dialect, edition_id, plain, None), "t_scan": scan + 1}
    found, listed_ = (await session.execute(read, params)).one()
    return None if found > scan else id_tuple(listed_) or ()


def _text(value: str) -> Any:
    """A constant string in SQL, written in it (no parameter: fewer to bind per request)."""
    return literal_column("'" + value.replace("'", "''") + "'", String)


def _values(facet: str) -> tuple[str, ...]:
    return {
        "contract": tuple(c.value for c in Contract),
        "working_time": tuple(w.value for w in WorkingTime),
        "domain": tuple(rome.DOMAINS),
    }[facet]


def _facets(found: dict[str, dict[str, int]], located: bool) -> Facets:
    def valued(facet: str) -> dict[str, int]:
        return {v: n for v in _values(facet) if (n := found.get(facet, {}).get(v, 0))}

    bands = {int(band): n for band, n in found.get("radius_km", {}).items()}
    publics = found.get("publics", {})
    return Facets(
        contract=valued("contract"),
        working_time=valued("working_time"),
        domain=valued("domain"),
        # Every band beside a place, 0 included; the bands are nested: a sum of the nearer.
        radius_km={r: sum(n for band, n in bands.items() if band <= r) for r in RADII}
        if located
        else {},
        publics={p: n for p in PUBLICS if (n := publics.get(p, 0))},
        remote=found.get("remote", {}).get("on", 0),
        any={
            "contract": sum(found.get("contract", {}).values()),
            "working_time": sum(found.get("working_time", {}).values()),
            "domain": sum(found.get("domain", {}).values()),
            "radius_km": sum(bands.values()),
            "remote": found.get("remote", {}).get("", 0),
            "publics": publics.get("", 0),
        },
    )
