"""Offers for a candidate: the open offers that best match their job search, with the reasons
(fair.matching). Serves the candidate's "offers for you", a counsellor's view of good offers for
each of their candidates, and the mail alerts (fair.alerts). The partners' offers held for an
open edition (fair.network_sync) are among them, ranked by the same points and shown with their
territory; the alerts take those that appeared since their last round (`network_where`).

Three round trips whatever the number of offers, the candidate's job search first (one,
fair.job_search.of):

1. one query ranks in the database the open offers of the jobs wanted, of the codes with the
   same parent in the imported referential and of their professional families, within twice
   the candidate's radius (a bounding box; remote offers wherever they are), by the points it
   can compute (`matching`'s but the skills' and the availability's), local and network offers
   in one list, and returns the best `PREFILTER` with the columns scoring reads, and the
   referential's version token (fair.match_referential: the codes' parents and the skills'
   training links are held in memory, read again only when that token changed). The query is
   built once per `Shape` (`statement`), its values are parameters;
2. Python scores those exactly (`matching.top`) and keeps `limit`;
3. one query loads the kept offers with their booth and employer (a second one when partners'
   offers are kept: with their territory).

The database's part is served by `ix_offers_matching` (migration 0038), which holds every column
the ranking reads (PostgreSQL reads it alone where autovacuum marked the table's pages
all-visible).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Float,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from fair import clock, geo, job_search, match_referential, matching, network, rome
from fair.enums import BoothStatus
from fair.job_search import JobSearch
from fair.match_referential import Held
from fair.matching import Match, OfferFacts
from fair.models import (
    Application,
    Booth,
    Edition,
    NetworkApplication,
    NetworkOffer,
    NetworkPartner,
    Offer,
)

# How many offers the database hands to the exact scoring.
PREFILTER = 200
DEFAULT_LIMIT = 10
PARIS = ZoneInfo("Europe/Paris")


def today(now: datetime) -> date:
    """The day in France, which availability dates are compared with."""
    return now.astimezone(PARIS).date()


@dataclass(frozen=True)
class OfferMatch:
    """A matched offer with what a page shows of it: an offer of this instance (its booth and
    employer loaded), or a partner's (`territory` names it)."""

    match: Match
    offer: Offer | NetworkOffer
    territory: str = ""

    @property
    def network(self) -> bool:
        return isinstance(self.offer, NetworkOffer)

    @property
    def employer(self) -> str:
        if isinstance(self.offer, NetworkOffer):
            return self.offer.employer
        return self.offer.booth.employer.name


@cache
def family_codes(family: str) -> tuple[str, ...]:
    """The shipped ROME codes of a professional family ("N11": N1101, N1102, …)."""
    return tuple(sorted(code for code in rome.jobs() if code.startswith(family)))


def facts(offer: Offer) -> OfferFacts:
    return OfferFacts(
        id=offer.id,
        rome_code=offer.rome_code,
        rome_label=offer.rome_label,
        contract=offer.contract,
        working_time=offer.working_time,
        latitude=offer.latitude,
        longitude=offer.longitude,
        remote=offer.remote,
        skills=tuple(offer.skills or ()),
        starts_on=offer.starts_on,
    )


def open_editions(now: datetime) -> Any:
    """The ids of the editions taking applications now (published, not archived)."""
    return select(Edition.id).where(
        Edition.published_at.is_not(None),
        Edition.archived_at.is_(None),
        Edition.applications_open_at <= now,
        Edition.applications_close_at > now,
    )


def coarse_distance(km: Any, radius: Any, remote: Any) -> Any:
    """`matching.distance_points` in SQL (radius > 0 here; a radius of 0 counts as 1 km)."""
    best, edge, worst = matching.DISTANCE_BEST, matching.DISTANCE_EDGE, matching.DISTANCE_WORST
    return case(
        (remote, literal(best)),
        (km <= radius, best - (best - edge) * km / radius),
        (km <= 2 * radius, edge - (edge - worst) * (km - radius) / radius),
        else_=literal(worst),
    )


@dataclass(frozen=True)
class Shape:
    """What changes the ranking query's text (everything else is a parameter of it): whether
    the candidate's home is known, whether they named contracts and a working time, whether
    the partners' offers are in."""

    located: bool
    contracts: bool
    working_time: bool
    network: bool

    @classmethod
    def of(cls, wanted: JobSearch, network: bool) -> Shape:
        located = wanted.latitude is not None and wanted.longitude is not None
        return cls(located, bool(wanted.contracts), wanted.working_time is not None, network)


def parameters(wanted: JobSearch, now: datetime, siblings: frozenset[str]) -> dict[str, Any]:
    """The ranking query's parameters for `wanted`: the jobs wanted, the codes of the same
    parent in the imported referential (`siblings`) and their families; the wishes; the home,
    its radius and the bounding box of twice the radius."""
    codes = set(wanted.codes)
    close = set(siblings) - codes
    near = {code for c in codes for code in family_codes(matching.family(c))}
    values: dict[str, Any] = {
        "user_id": wanted.user_id,
        "now": now,
        "codes": sorted(codes),
        "close": sorted(close) or [""],
        "jobs": sorted(codes | close | near),
        "contracts": sorted(c.value for c in wanted.contracts),
        "working_time": wanted.working_time.value if wanted.working_time else "",
    }
    if wanted.latitude is not None and wanted.longitude is not None:
        radius = max(matching.radius_km(wanted), 1)
        box = geo.bounding_box(wanted.latitude, wanted.longitude, 2 * radius)
        lat1 = math.radians(wanted.latitude)
        values |= {
            "radius": radius,
            "lat1": lat1,
            "lon1": math.radians(wanted.longitude),
            "cos_lat1": math.cos(lat1),
            "min_lat": box[0],
            "max_lat": box[1],
            "min_lon": box[2],
            "max_lon": box[3],
        }
    return values


def _p(name: str, **kw: Any) -> Any:
    return bindparam(name, **kw)


def km_from_home(model: Any) -> Any:
    """fair.search.km_from with the fixed point as parameters (lat1 and lon1 in radians,
    cos_lat1), so that the statement is built once (tests/test_match_offers.py checks that the
    two give the same distances)."""

    def f(name: str, *args: Any) -> Any:
        return getattr(func, name)(*args, type_=Float)

    lat2, lon2 = f("radians", model.latitude), f("radians", model.longitude)
    half_dlat = f("sin", (lat2 - _p("lat1", type_=Float)) * 0.5)
    half_dlon = f("sin", (lon2 - _p("lon1", type_=Float)) * 0.5)
    a = half_dlat * half_dlat + _p("cos_lat1", type_=Float) * f("cos", lat2) * half_dlon * half_dlon
    return 2 * geo.EARTH_KM * f("asin", f("sqrt", a))


def _points(shape: Shape, row: Any) -> Any:
    """The points the database can compute (`matching`'s but the skills' and the
    availability's) of a row with rome_code, contract, working_time, remote and km."""
    total: Any = case(
        (row.rome_code.in_(_p("codes", expanding=True)), literal(matching.SAME_JOB)),
        (row.rome_code.in_(_p("close", expanding=True)), literal(matching.SAME_PARENT)),
        else_=literal(matching.SAME_FAMILY),
    )
    if shape.contracts:
        accepted = row.contract.in_(_p("contracts", expanding=True))
        total = total + case((accepted, matching.CONTRACT), else_=-matching.CONTRACT)
    if shape.working_time:
        same = row.working_time == _p("working_time")
        total = total + case((same, matching.WORKING_TIME), else_=-matching.WORKING_TIME)
    if shape.located:
        total = total + coarse_distance(row.km, _p("radius"), row.remote.is_(True))
    return total


def _ranked(shape: Shape, model: Any, query: Any, id_: Any) -> Any:
    """`query` (the open offers of `model`) kept to the jobs and the place worth scoring, as
    (id, rank, km) rows: `id_` is the id to return (negated for a partner's offer). The
    distance is computed once a row, in a subquery the planners keep as such (OFFSET 0)."""
    columns = [id_.label("id"), model.rome_code, model.contract, model.working_time, model.remote]
    query = query.where(model.rome_code.in_(_p("jobs", expanding=True)))
    if shape.located:
        inside = and_(
            model.latitude.between(_p("min_lat"), _p("max_lat")),
            model.longitude.between(_p("min_lon"), _p("max_lon")),
        )
        query = query.where(or_(inside, model.remote.is_(True)))
        columns.append(km_from_home(model).label("km"))
    row = query.with_only_columns(*columns).offset(0).subquery()
    km = row.c.km if shape.located else null()
    return select(row.c.id, _points(shape, row.c).label("rank"), km.label("km"))


def _local(shape: Shape, *conditions: Any) -> Any:
    applied = select(Application.offer_id).where(Application.candidate_id == _p("user_id"))
    approved = select(Booth.id).where(Booth.status == BoothStatus.APPROVED.value)
    query = select(Offer.id).where(
        Offer.edition_id.in_(open_editions(_p("now"))),
        Offer.published.is_(True),
        Offer.booth_id.in_(approved),
        Offer.id.not_in(applied),
        *conditions,
    )
    return _ranked(shape, Offer, query, Offer.id)


def _network(shape: Shape, *conditions: Any) -> Any:
    """The partners' offers held for the open editions, from the partners whose offers are
    shown (fair.network.shown_partners: active, registered by an edition that did not turn
    them off, as its search), but those the candidate applied to
    (fair.network_applications), meeting `conditions`."""
    applied = exists().where(
        NetworkApplication.candidate_id == _p("user_id"),
        NetworkApplication.partner_id == NetworkOffer.partner_id,
        NetworkApplication.origin_offer_id == NetworkOffer.origin_id,
    )
    query = select(NetworkOffer.id).where(
        NetworkOffer.edition_id.in_(open_editions(_p("now"))),
        NetworkOffer.partner_id.in_(network.shown_partners()),
        ~applied,
        *conditions,
    )
    return _ranked(shape, NetworkOffer, query, -NetworkOffer.id)


def prefilter(shape: Shape, *conditions: Any, network_where: Sequence[Any] = ()) -> Any:
    """The open offers worth scoring as (id, rank, km) rows, the best `PREFILTER` by the
    points the database can compute: this instance's (meeting `conditions`), and the
    partners' when `shape.network` (their ids negated, meeting `network_where`). Its
    parameters: `parameters`."""
    ranked: Any = _local(shape, *conditions)
    if shape.network:
        both = union_all(ranked, _network(shape, *network_where)).subquery()
        ranked = select(both.c.id, both.c.rank, both.c.km)
    order = [ranked.selected_columns.rank.desc()]
    if shape.located:
        order.append(ranked.selected_columns.km)
    return ranked.order_by(*order, ranked.selected_columns.id.desc()).limit(PREFILTER)


def _with_facts(ranked: Any) -> Any:
    """The ranked rows with what scoring reads of their offers (a partner's offer has no
    skills and no label of its own), each with the referential's token; when no offer is
    kept, one row with the token alone (joined from it, so that it is read whatever the
    offers)."""
    kept = ranked.subquery("ranked")
    first = select(match_referential.token_column().label("token")).subquery("first")
    local = Offer.id == kept.c.id
    held = NetworkOffer.id == -kept.c.id

    def either(name: str) -> Any:
        return func.coalesce(getattr(Offer, name), getattr(NetworkOffer, name)).label(name)

    return select(
        first.c.token,
        kept.c.id,
        either("rome_code"),
        Offer.rome_label,
        either("contract"),
        either("working_time"),
        either("latitude"),
        either("longitude"),
        either("remote"),
        Offer.skills,
        either("starts_on"),
        NetworkOffer.url,
    ).select_from(
        first.outerjoin(kept, true()).outerjoin(Offer, local).outerjoin(NetworkOffer, held)
    )


@cache
def statement(shape: Shape) -> Any:
    """The ranking query of a shape, built once a process: building it costs more than
    running it (SQLAlchemy then reuses its compiled form too)."""
    return _with_facts(prefilter(shape))


async def candidates(
    session: AsyncSession,
    wanted: JobSearch,
    now: datetime,
    *conditions: Any,
    network: bool = False,
    network_where: Sequence[Any] = (),
) -> tuple[list[OfferFacts], Held]:
    """The offers `prefilter` keeps, as what scoring reads (a partner's offer with its id
    negated, each of its copies once), and the referential to score them with: one query,
    run again when the referential changed since this process read it."""
    shape = Shape.of(wanted, network)
    query = (
        _with_facts(prefilter(shape, *conditions, network_where=network_where))
        if conditions or network_where
        else statement(shape)
    )

    async def run(held: Held) -> list[Any]:
        values = parameters(wanted, now, held.siblings(wanted.codes))
        return list(await session.execute(query, values))

    held = await match_referential.current(session)
    rows = await run(held)
    if not match_referential.fresh(held, rows[0].token):
        held = await match_referential.read(session)
        rows = await run(held)
    found: list[OfferFacts] = []
    copies: set[str] = set()
    for row in rows:
        if row.id is None:
            continue  # no offer kept: the row carries the token only
        if row.id < 0:
            if row.url in copies:
                continue  # the same partner's offer held for two editions
            copies.add(row.url)
        label = row.rome_label if row.id > 0 else _label(row.rome_code)
        found.append(
            OfferFacts(
                row.id,
                row.rome_code,
                label,
                row.contract,
                row.working_time,
                row.latitude,
                row.longitude,
                bool(row.remote),
                tuple(row.skills or ()),
                row.starts_on,
            )
        )
    return found, held


def _label(code: str) -> str:
    job = rome.job(code)
    return job.label if job else code


async def best(
    session: AsyncSession,
    wanted: JobSearch,
    now: datetime,
    *conditions: Any,
    limit: int,
    network: bool = False,
    network_where: Sequence[Any] = (),
) -> list[OfferMatch]:
    """The `limit` open offers that best match `wanted` (and meet `conditions`), best first,
    scored with their reasons and loaded for a page or a mail; with `network`, the partners'
    offers among them (those meeting `network_where`)."""
    found, held = await candidates(
        session, wanted, now, *conditions, network=network, network_where=network_where
    )
    pairs = [(f, wanted) for f in found]
    chosen = matching.top(pairs, limit, today=today(now), referential=held.referential)
    return await load(session, chosen)


async def load(session: AsyncSession, chosen: Sequence[Match]) -> list[OfferMatch]:
    """The offers of these matches with what pages show: the booth and employer of this
    instance's, the territory of a partner's (one query each kind)."""
    local = [m.offer_id for m in chosen if m.offer_id > 0]
    remote = [-m.offer_id for m in chosen if m.offer_id < 0]
    shown: dict[int, tuple[Offer | NetworkOffer, str]] = {}
    if local:
        rows = await session.scalars(
            select(Offer)
            .join(Offer.booth)
            .join(Booth.employer)
            .where(Offer.id.in_(local))
            .options(contains_eager(Offer.booth).contains_eager(Booth.employer))
        )
        shown |= {offer.id: (offer, "") for offer in rows}
    if remote:
        held = await session.execute(
            select(NetworkOffer, NetworkPartner.territory)
            .join(NetworkPartner, NetworkPartner.id == NetworkOffer.partner_id)
            .where(NetworkOffer.id.in_(remote))
        )
        shown |= {-offer.id: (offer, territory) for offer, territory in held.all()}
    return [OfferMatch(m, *shown[m.offer_id]) for m in chosen if m.offer_id in shown]


async def offers_for(
    session: AsyncSession, candidate_id: int, *, limit: int = DEFAULT_LIMIT
) -> list[OfferMatch]:
    """The `limit` open offers that best match the candidate's job search, best first, with
    their reasons (fair.matching), partners' offers among them where the edition holding them
    shows them (fair.network.shown_partners; none when the site turned them off:
    FAIR_NETWORK_OFFERS); none when the search names no job. Offers they applied to are
    left out. Open offers: published, in an approved booth of an edition taking applications
    now; a partner's: held for such an edition, from a partner still active. Read-only: for
    the candidate's page, a counsellor's (who must have checked they accompany this
    candidate) and the alerts."""
    wanted = await job_search.of(session, candidate_id)
    if not wanted.described():
        return []
    shown = network.site_shows()
    return await best(session, wanted, clock.now(), limit=limit, network=shown)
