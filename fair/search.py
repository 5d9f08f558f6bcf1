"""Full-text offer search in French, accents and plurals ignored, on SQLite and PostgreSQL.

SQLite: an FTS5 index over stems that Python computes with the Snowball French stemmer
(`stems`), kept in step by triggers. PostgreSQL: a generated tsvector under the `fair_french`
configuration (unaccent, then french_stem, the same Snowball algorithm) with a GIN index.
Both are created by the initial migration.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

import snowballstemmer
from sqlalchemy import (
    Float,
    Select,
    and_,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from fair import geo, paging, search_cache, search_match, timing
from fair.enums import BoothStatus, Contract, WorkingTime
from fair.errors import Invalid
from fair.models import Booth, Employer, NetworkOffer, NetworkPartner, Offer

PER_PAGE = 20
# Matches counted at most past the page shown: beyond it the page says "more than 1,000
# offers", so that counting never costs more than finding the page (a broad word or the
# whole listing at 100,000 offers).
COUNT_CAP = 1000
MAX_PAGE = paging.MAX_PAGE
RADII = (5, 10, 20, 30, 50, 100)
SORTS = ("relevance", "recent", "distance")
PUBLICS = {
    "seniors": Offer.open_seniors,
    "under26": Offer.open_under26,
    "disabled": Offer.open_disabled,
    "no_diploma": Offer.no_diploma,
    "insertion": Offer.insertion_clause,
}
WORD_RE = re.compile(r"[a-z0-9]+")
# Words too common to help a search (kept short: French articles and prepositions).
STOPWORDS = frozenset(
    "a au aux avec ce ces dans de des du en et h f la le les leur mais ou par pour sur un"
    " une".split()
)


@cache
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("french")


def fold(text_: str) -> str:
    """Lower case without accents, ligatures opened: 'Électricien' -> 'electricien',
    'Manœuvre' -> 'manoeuvre' (as PostgreSQL's unaccent)."""
    lowered = text_.lower().replace("œ", "oe").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text_: str) -> list[str]:
    return [w for w in WORD_RE.findall(fold(text_)) if w not in STOPWORDS]


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """One folded word's Snowball French stem (the pure-Python stemmer is slow: cache it)."""
    return str(_stemmer().stemWord(word))


def stems(text_: str) -> str:
    """The indexable form of `text_`: folded, stop words dropped, each word stemmed."""
    return " ".join(stem(w) for w in words(text_))


@dataclass
class Query:
    q: str = ""
    domain: str = ""
    contract: str = ""
    working_time: str = ""
    commune: str = ""
    # "lat,lon" (the browser's "around me", rounded: fair.geo.position), when no commune.
    near: str = ""
    radius_km: int = 0
    remote: bool = False
    publics: set[str] = field(default_factory=set)
    sort: str = ""
    page: int = 1
    per_page: int = PER_PAGE
    # What the words also match, below their own matches (fair.search_terms fills it).
    also: search_match.Wider = search_match.Wider()
    count_cap: int = COUNT_CAP  # matches counted past the page at most


@dataclass
class Hit:
    offer: Offer
    employer: str
    distance_km: float | None
    # A partner's offer (fair.network): `offer` is then a copy of its fields, not stored.
    network: NetworkOffer | None = None
    territory: str = ""
    why: search_match.Reason | None = None  # found by a widening of the words (fair.search_terms)


@dataclass
class Page(paging.Paged):
    hits: list[Hit]
    total: int
    page: int
    per_page: int
    origin: geo.Origin | None
    did_you_mean: str = ""  # the words spelled as the offers spell them (fair.search_terms)
    # More than `total` match: the count stopped there (COUNT_CAP past the page).
    capped: bool = False
    # What the words also matched (fair.search_terms): the facets count the same offers.
    also: search_match.Wider = search_match.Wider()


def check(query: Query) -> geo.Origin | None:
    """Validate the filters; returns the commune (or position) distances are measured from."""
    place = geo.place(
        query.commune,
        query.radius_km,
        radii=RADII,
        near=query.near,
        needs_origin=query.sort == "distance",
    )
    errors, params, origin = dict(place.errors), dict(place.params), place.origin
    if query.contract and query.contract not in {c.value for c in Contract}:
        errors["contract"] = "Choose a contract type from the list."
    if query.working_time and query.working_time not in {w.value for w in WorkingTime}:
        errors["working_time"] = "Choose a working time from the list."
    if query.domain and not re.fullmatch(r"[A-N]", query.domain):
        errors["domain"] = "Choose a job domain from the list."
    if query.sort and query.sort not in SORTS:
        errors["sort"] = "Choose a sort order from the list."
    if not set(query.publics) <= set(PUBLICS):
        errors["publics"] = "Choose from the listed publics."
    if errors:
        raise Invalid(
            "Some search filters need correcting.",
            code="search.invalid",
            fields=errors,
            params=params,
        )
    query.page = paging.clamp(query.page, MAX_PAGE)
    return origin


def km_from(lat: float, lon: float, model: Any = Offer) -> Any:
    """Haversine in SQL (SQLite's math functions and PostgreSQL's), in double precision, from
    a fixed point to the position of `model` (offers, the partners' offers, CV pool profiles,
    job searches): the one distance in SQL of fair."""

    def f(name: str, *args: Any) -> Any:
        return getattr(func, name)(*args, type_=Float)

    lat1, lon1 = math.radians(lat), math.radians(lon)
    lat2, lon2 = f("radians", model.latitude), f("radians", model.longitude)
    half_dlat = f("sin", (lat2 - lat1) * 0.5)
    half_dlon = f("sin", (lon2 - lon1) * 0.5)
    a = half_dlat * half_dlat + math.cos(lat1) * f("cos", lat2) * half_dlon * half_dlon
    return 2 * geo.EARTH_KM * f("asin", f("sqrt", a))


def _distance(origin: geo.Origin, model: Any = Offer) -> Any:
    return km_from(origin.latitude, origin.longitude, model)


def near(origin: geo.Origin, km: int) -> Any:
    """The condition "the offer lies within `km` of `origin`": a bounding box first (the
    position index can serve it), then the exact distance. Also used by fair.hall."""
    min_lat, max_lat, min_lon, max_lon = geo.bounding_box(origin.latitude, origin.longitude, km)
    return and_(
        Offer.latitude.between(min_lat, max_lat),
        Offer.longitude.between(min_lon, max_lon),
        _distance(origin) <= km,
    )


async def search(
    session: AsyncSession, *, edition_id: int, query: Query, network: bool = False
) -> Page:
    """One page of an edition's published offers in approved booths matching `query`; with
    `network`, the partners' offers held for the edition too (fair.network_sync), ranked and
    sorted among them (their ids negated in the page's query).

    One query: the ids of the page (narrow rows to sort) with the number of matches, counted
    up to COUNT_CAP past the page (`Page.capped` then says "more than"), then those few offers
    joined with their employers (the partners' offers of the page are read after it). The
    page's ids and count are kept until the edition's offers change (fair.search_cache): the
    same search again (the next visitor's, the back button's) reads only those offers.
    """
    origin = check(query)
    key = (_key(query), network)
    found = await search_cache.look_up(_PAGES, session, edition_id, key)
    if found is not None:
        ranked, total, capped = found[0]
        with timing.span("hits"):
            hits = await _hits(session, list(ranked), origin)
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
    """`search`'s page, worked out."""
    if _best_first(session, query, network):
        best = await _best_page(session, edition_id=edition_id, query=query, origin=origin)
        if best is not None:
            return best
    base, ranked, rank = _matching(session, edition_id=edition_id, query=query, origin=origin)
    sort = _sort(query, rank, origin)
    # The distance in SQL only to sort by it; else the page's few are measured in Python
    # (`_hits`), not every match gathered.
    distance = (
        _distance(origin).label("distance")
        if origin is not None and sort == "distance"
        else literal_column("NULL")
    )
    offset = (query.page - 1) * query.per_page
    cap = offset + query.count_cap + 1  # matches counted at most: one more says "more than"
    # Ranking by relevance or distance visits every match anyway, and so does a selective
    # filter: they are gathered once (materialised), then counted and the page's top taken
    # from them. Only the plain newest-first listing walks the date index and stops at the
    # page, with a separate count that stops at the cap.
    gathered = sort != "recent" or bool(query.domain or query.contract or query.radius_km)
    key = {"relevance": rank, "distance": distance}.get(sort, Offer.created_at)
    source: Any = (ranked if sort == "relevance" else base).with_only_columns(
        Offer.id.label("id"), distance.label("distance"), key.label("key")
    )
    if network:
        source = union_all(source, _network(session, edition_id, query, origin, sort))
        gathered = True
    if gathered:
        # Materialised, so no planner walks a date index to skip a sort it must do anyway;
        # FTS5 ranks only in its own query: the count and the sort run one level up. The
        # count is a scalar subquery (run once), not a window over the rows: a window would
        # sort every match where the page needs only its top rows (a top-N sort).
        inner = source.cte("matches").prefix_with("MATERIALIZED")
        counted = select(func.count()).select_from(select(inner.c.id).limit(cap).subquery())
        newest_first = sort == "recent"
        total_ = counted.scalar_subquery().label("total")
        page_query = select(inner.c.id, inner.c.distance, inner.c.key, total_).order_by(
            inner.c.key.desc() if newest_first else inner.c.key, inner.c.id.desc()
        )
    else:
        newest_first = True
        page_query = source.order_by(Offer.created_at.desc(), Offer.id.desc())
    page = page_query.offset(offset).limit(query.per_page).subquery("page")
    with timing.span("query"):  # the page's ids (and, gathered, the capped count) and offers
        rows = (await session.execute(_with_offers(page, newest_first, gathered))).all()
    if gathered and rows:
        total = int(rows[0].total)
    elif network:
        total = 0  # counted in the page's query: no row, no match
    else:
        with timing.span("count"):
            counted_ = select(func.count()).select_from(base.limit(cap).subquery())
            total = int(await session.scalar(counted_) or 0)
    with timing.span("hits"):  # the partners' offers of the page; distances measured
        loaded = {row.id: (row.Offer, row.name) for row in rows if row.Offer is not None}
        hits = await _hits(session, [(row.id, row.distance) for row in rows], origin, loaded)
    return _capped_page(hits, total, cap, query, origin, query.also)


def _with_offers(page: Any, newest_first: bool, gathered: bool) -> Select[Any]:
    """The page's rows (id, distance, sort key and, `gathered`, the capped count) in their
    order, each with its offer and employer's name (none for a partner's offer: negative id):
    the page's few offers read in the same statement as their ids."""
    counted = [page.c.total] if gathered else []
    return (
        select(page.c.id, page.c.distance, *counted, Offer, Employer.name.label("name"))
        .select_from(page)
        .outerjoin(Offer, Offer.id == page.c.id)
        .outerjoin(Booth, Booth.id == Offer.booth_id)
        .outerjoin(Employer, Employer.id == Booth.employer_id)
        .order_by(page.c.key.desc() if newest_first else page.c.key, page.c.id.desc())
    )


def _matching(
    session: AsyncSession, *, edition_id: int, query: Query, origin: geo.Origin | None
) -> tuple[Select[Any], Select[Any], Any]:
    """The ids of the edition's published offers in approved booths that match `query`'s words
    and filters; the same joined to the full-text index for ranking; and the rank (lower is
    better), None without words."""
    dialect = _dialect(session)
    terms = _terms(query)
    base = _eligible(edition_id, query, origin, dialect, words=bool(terms))
    rank: Any = None
    ranked = base
    if query.q.strip() and not terms:
        base = ranked = base.where(false())
    elif terms and query.also and dialect == "sqlite":
        base, ranked, rank = search_match.sqlite(base, Offer, "offers_fts", terms, query.also)
    elif terms and query.also:
        vector_: Any = literal_column("offers.search_vector")
        base, rank = search_match.postgresql(base, Offer, vector_, terms, query.also)
        ranked = base
    elif terms and dialect == "sqlite":
        match = " ".join(f'"{t}"*' for t in terms)
        matching = text("SELECT rowid FROM offers_fts WHERE offers_fts MATCH :match").bindparams(
            match=match
        )
        # Filter with IN (the match runs once), rank through a join on the same match.
        base = base.where(Offer.id.in_(matching.columns(literal_column("rowid"))))
        fts = table("offers_fts", literal_column("rowid"))
        ranked = base.join(fts, literal_column("offers_fts.rowid") == Offer.id).where(
            text("offers_fts MATCH :rank_match").bindparams(rank_match=match)
        )
        rank = literal_column("bm25(offers_fts, 4.0, 1.0)")  # lower is better
    elif terms:
        tsquery = func.to_tsquery("fair_french", " & ".join(f"{t}:*" for t in terms))
        vector: Any = literal_column("offers.search_vector")
        base = ranked = base.where(vector.op("@@")(tsquery))
        rank = -func.ts_rank(vector, tsquery)
    return base, ranked, rank


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def _terms(query: Query) -> list[str]:
    return [stem(w) for w in words(query.q)][:12]


def _eligible(
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
    return _filters(base, query, origin, dialect, words=words)


# The best-first page (`_best_page`) reads at most this many of the index's best matches per
# page asked for (and BEST_MORE more), and serves pages up to BEST_DEPTH matches deep.
BEST_FACTOR = 3
BEST_MORE = 40
BEST_DEPTH = 200


def _best_first(session: AsyncSession, query: Query, network: bool) -> bool:
    """Whether `search` may take the page from the full-text index's best matches
    (`_best_page`): on SQLite, words ranked by relevance, no filter but the edition's."""
    filtered = query.domain or query.contract or query.working_time or query.remote or query.publics
    return (
        _dialect(session) == "sqlite"
        and not network
        and not filtered
        and not query.radius_km
        and (query.sort or "relevance") == "relevance"
        and bool(_terms(query))
        and query.page * query.per_page <= BEST_DEPTH
    )


async def _best_page(
    session: AsyncSession, *, edition_id: int, query: Query, origin: geo.Origin | None
) -> Page | None:
    """`search`'s page when `_best_first`: the matches counted up to the cap, driven by the
    index (stops there), then the page taken from the index's best matches (ranked from the
    index alone) that are the edition's published offers, so that only those few offers
    are read, where `search` reads every match's offer to filter it before ranking. Same
    offers, same order; None when the best matches hold too few of the edition's offers
    (a large index of other editions): `search` then ranks every match."""
    terms, also = _terms(query), query.also
    offset = (query.page - 1) * query.per_page
    cap = offset + query.count_cap + 1
    eligible = _eligible(edition_id, query, origin, "sqlite", words=True)
    with timing.span("count"):
        if also.codes:  # the codes' offers are matched apart: `search`'s own matching
            matched = _matching(session, edition_id=edition_id, query=query, origin=origin)[0]
        else:
            matched = search_match.sqlite_matched(eligible, Offer, "offers_fts", terms, also)
        counted = select(func.count()).select_from(matched.limit(cap).subquery())
        total = int(await session.scalar(counted) or 0)
    expected = min(query.per_page, max(0, total - offset))
    rows: list[Any] = []
    if expected:
        k = BEST_FACTOR * (offset + query.per_page) + BEST_MORE
        best = search_match.sqlite_best("offers_fts", Offer, terms, also, k)
        top = best.cte("best").prefix_with("MATERIALIZED")
        statement = (
            eligible.with_only_columns(top.c.id, Offer, Employer.name.label("name"))
            .select_from(top)
            .join(Offer, Offer.id == top.c.id)
            .join(Booth, Booth.id == Offer.booth_id)
            .join(Employer, Employer.id == Booth.employer_id)
            .order_by(top.c.key, top.c.id.desc())
            .offset(offset)
            .limit(query.per_page)
        )
        with timing.span("query"):
            rows = list((await session.execute(statement)).all())
        if len(rows) < expected:
            return None
    with timing.span("hits"):
        loaded = {row.id: (row.Offer, row.name) for row in rows}
        hits = await _hits(session, [(row.id, None) for row in rows], origin, loaded)
    return _capped_page(hits, total, cap, query, origin, also)


def _capped_page(
    hits: list[Hit],
    total: int,
    cap: int,
    query: Query,
    origin: geo.Origin | None,
    also: search_match.Wider,
) -> Page:
    """The page of `hits` for a count read up to `cap` (at `cap`: "more than cap - 1")."""
    return Page(
        hits=hits,
        total=min(total, cap - 1),
        page=query.page,
        per_page=query.per_page,
        origin=origin,
        capped=total >= cap,
        also=also,
    )


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
    base, _ranked, _rank = _matching(session, edition_id=edition_id, query=query, origin=origin)
    if after is not None:
        base = base.where(Offer.id > after)
    if updated_since is not None:
        base = base.where(Offer.updated_at >= updated_since)
    distance = _distance(origin) if origin else literal_column("NULL")
    rows = await session.execute(
        base.with_only_columns(Offer.id, distance).order_by(Offer.id).limit(limit)
    )
    return await _hits(session, [(row[0], row[1]) for row in rows.all()])


async def territory_communes(session: AsyncSession, *, edition_id: int) -> tuple[geo.Commune, ...]:
    """The search form's suggestions: the communes of the départements where most of the
    edition's approved employers are (three at most: a few thousand options). Read from the
    booths (a few hundred rows), not from the offers, which may be a hundred thousand."""
    rows = await session.scalars(
        select(Employer.commune)
        .join(Booth, Booth.employer_id == Employer.id)
        .where(Booth.edition_id == edition_id, Booth.status == BoothStatus.APPROVED.value)
    )
    counts = Counter(place.departement for place in map(geo.find, rows) if place is not None)
    return tuple(c for code, _n in counts.most_common(3) for c in geo.in_departement(code))


async def _hits(
    session: AsyncSession,
    ranked: list[tuple[int, float | None]],
    origin: geo.Origin | None = None,
    loaded: dict[int, tuple[Offer, str]] | None = None,
) -> list[Hit]:
    """The offers of `ranked` (id, distance) with their employers, in that order (those of
    `loaded` already read); a distance not given is measured from `origin`, if any (the same
    haversine as `km_from`)."""
    if not ranked:
        return []
    found: dict[int, tuple[Offer, str, NetworkOffer | None, str]] = {
        offer_id: (offer, name, None, "") for offer_id, (offer, name) in (loaded or {}).items()
    }
    local = [offer_id for offer_id, _ in ranked if offer_id > 0 and offer_id not in found]
    if local:
        rows = await session.execute(
            select(Offer, Employer.name)
            .join(Booth, Booth.id == Offer.booth_id)
            .join(Employer, Employer.id == Booth.employer_id)
            .where(Offer.id.in_(local))
        )
        found.update({offer.id: (offer, name, None, "") for offer, name in rows.all()})
    remote = [-offer_id for offer_id, _ in ranked if offer_id < 0]
    if remote:
        held_rows = await session.execute(
            select(NetworkOffer, NetworkPartner.territory)
            .join(NetworkPartner, NetworkPartner.id == NetworkOffer.partner_id)
            .where(NetworkOffer.id.in_(remote))
        )
        for held, territory in held_rows.all():
            found[-held.id] = (_as_offer(held), held.employer, held, territory)
    hits = [
        Hit(found[i][0], found[i][1], distance, found[i][2], found[i][3])
        for i, distance in ranked
        if i in found
    ]
    if origin is not None:
        for hit in hits:
            if hit.distance_km is None:
                hit.distance_km = geo.distance_km(
                    origin.latitude, origin.longitude, hit.offer.latitude, hit.offer.longitude
                )
    return hits


def _as_offer(held: NetworkOffer) -> Offer:
    """A partner's offer as an Offer the result cards can show (never added to the session)."""
    return Offer(
        title=held.title,
        description=held.description,
        rome_code=held.rome_code,
        rome_domain=held.rome_domain,
        contract=held.contract,
        working_time=held.working_time,
        commune=held.commune,
        postcode=held.postcode,
        latitude=held.latitude,
        longitude=held.longitude,
        remote=held.remote,
        positions=held.positions,
        salary=held.salary,
        starts_on=held.starts_on,
        created_at=held.created_at,
        updated_at=held.updated_at,
    )


def _network(
    session: AsyncSession, edition_id: int, query: Query, origin: geo.Origin | None, sort: str
) -> Select[Any]:
    """The partners' offers held for the edition that match `query`, as (negated id,
    distance, sort key) rows beside the edition's own (`search`); their own full-text index
    (migration 0031)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    terms = [stem(w) for w in words(query.q)][:12]
    held = select(NetworkOffer.id).where(NetworkOffer.edition_id == edition_id)
    held = _filters(held, query, origin, dialect, NetworkOffer)
    rank: Any = literal_column("0")
    if query.q.strip() and not terms:
        held = held.where(false())
    elif terms and query.also and dialect == "sqlite":
        _, held, rank = search_match.sqlite(
            held, NetworkOffer, "network_offers_fts", terms, query.also
        )
    elif terms and query.also:
        vector_: Any = literal_column("network_offers.search_vector")
        held, rank = search_match.postgresql(held, NetworkOffer, vector_, terms, query.also)
    elif terms and dialect == "sqlite":
        match = " ".join(f'"{t}"*' for t in terms)
        fts = table("network_offers_fts", literal_column("rowid"))
        held = held.join(fts, literal_column("network_offers_fts.rowid") == NetworkOffer.id).where(
            text("network_offers_fts MATCH :network_match").bindparams(network_match=match)
        )
        rank = literal_column("bm25(network_offers_fts, 4.0, 1.0)")
    elif terms:
        tsquery = func.to_tsquery("fair_french", " & ".join(f"{t}:*" for t in terms))
        vector: Any = literal_column("network_offers.search_vector")
        held = held.where(vector.op("@@")(tsquery))
        rank = -func.ts_rank(vector, tsquery)
    distance = (
        _distance(origin, NetworkOffer)
        if origin is not None and sort == "distance"
        else literal_column("NULL")
    )
    key = {"relevance": rank, "distance": distance}.get(sort, NetworkOffer.created_at)
    return held.with_only_columns(
        (-NetworkOffer.id).label("id"), distance.label("distance"), key.label("key")
    )


def _filters(
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
        base = base.where(
            and_(latitude.between(min_lat, max_lat), longitude.between(min_lon, max_lon))
        ).where(_distance(origin, model) <= query.radius_km)
    return base


def _sort(query: Query, rank: Any, origin: geo.Origin | None) -> str:
    sort = query.sort or ("relevance" if rank is not None else "recent")
    if (sort == "distance" and origin is None) or (sort == "relevance" and rank is None):
        return "recent"
    return sort
