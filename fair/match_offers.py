"""Offers for a candidate: the open offers that best match their job search, with the reasons
(fair.matching). Serves the candidate's "offers for you", a counsellor's view of good offers for
each of their candidates, and the mail alerts (fair.alerts). The partners' offers held for an
open edition (fair.network_sync) are among them, ranked by the same points and shown with their
territory; the alerts keep to this instance's offers.

Three round trips whatever the number of offers (two after the candidate's job search, which
fair.job_search reads in three):

1. one query ranks in the database the open offers of the jobs wanted, of the codes with the
   same parent in the imported referential and of their professional families, within twice
   the candidate's radius (a bounding box; remote offers wherever they are), by the points it
   can compute (`matching`'s but the skills' and the availability's), local and network offers
   in one list, and returns the best `PREFILTER` with the columns scoring reads, and the
   referential's version token (fair.match_referential: the codes' parents and the skills'
   training links are held in memory, read again only when that token changed);
2. Python scores those exactly (`matching.top`) and keeps `limit`;
3. one query loads the kept offers with their booth and employer (a second one when partners'
   offers are kept: with their territory).

The database's part is served by `ix_offers_matching` (migration 0038), which holds every column
the ranking reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, literal, null, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from fair import clock, geo, job_search, match_referential, matching, rome, search, settings
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


def _job_rank(wanted: JobSearch, siblings: frozenset[str], model: Any) -> tuple[Any, Any]:
    """The job's points in SQL, and the condition keeping the jobs wanted, the codes of the
    same parent in the imported referential (`siblings`) and their families."""
    codes = set(wanted.codes)
    close = set(siblings) - codes
    near = {code for c in codes for code in family_codes(matching.family(c))} - codes - close
    points = case(
        (model.rome_code.in_(codes), literal(matching.SAME_JOB)),
        (model.rome_code.in_(close or {""}), literal(matching.SAME_PARENT)),
        else_=literal(matching.SAME_FAMILY),
    )
    return points, model.rome_code.in_(sorted(codes | close | near))


def _wishes(wanted: JobSearch, model: Any) -> Any:
    """The contract's and working time's points in SQL."""
    total: Any = literal(0)
    if wanted.contracts:
        accepted = [c.value for c in wanted.contracts]
        total = total + case(
            (model.contract.in_(accepted), matching.CONTRACT), else_=-matching.CONTRACT
        )
    if wanted.working_time is not None:
        total = total + case(
            (model.working_time == wanted.working_time.value, matching.WORKING_TIME),
            else_=-matching.WORKING_TIME,
        )
    return total


def _ranked(wanted: JobSearch, close: frozenset[str], model: Any, query: Any, id_: Any) -> Any:
    """`query` (the open offers of `model`) kept to the jobs and the place worth scoring, as
    (id, rank, km) rows: `id_` is the id to return (negated for a partner's offer)."""
    points, jobs = _job_rank(wanted, close, model)
    rank = points + _wishes(wanted, model)
    km: Any = null()
    if wanted.latitude is not None and wanted.longitude is not None:
        radius = max(matching.radius_km(wanted), 1)
        box = geo.bounding_box(wanted.latitude, wanted.longitude, 2 * radius)
        inside = and_(
            model.latitude.between(box[0], box[1]), model.longitude.between(box[2], box[3])
        )
        query = query.where(or_(inside, model.remote.is_(True)))
        km = search.km_from(wanted.latitude, wanted.longitude, model)
        rank = rank + coarse_distance(km, radius, model.remote.is_(True))
    return query.where(jobs).with_only_columns(id_.label("id"), rank.label("rank"), km.label("km"))


def _local(wanted: JobSearch, now: datetime, close: frozenset[str], *conditions: Any) -> Any:
    applied = select(Application.offer_id).where(Application.candidate_id == wanted.user_id)
    approved = select(Booth.id).where(Booth.status == BoothStatus.APPROVED.value)
    query = select(Offer.id).where(
        Offer.edition_id.in_(open_editions(now)),
        Offer.published.is_(True),
        Offer.booth_id.in_(approved),
        Offer.id.not_in(applied),
        *conditions,
    )
    return _ranked(wanted, close, Offer, query, Offer.id)


def _network(wanted: JobSearch, now: datetime, close: frozenset[str]) -> Any:
    """The partners' offers held for the open editions, from active partners, but those the
    candidate applied to (fair.network_applications)."""
    active = select(NetworkPartner.id).where(NetworkPartner.active.is_(True))
    applied = exists().where(
        NetworkApplication.candidate_id == wanted.user_id,
        NetworkApplication.partner_id == NetworkOffer.partner_id,
        NetworkApplication.origin_offer_id == NetworkOffer.origin_id,
    )
    query = select(NetworkOffer.id).where(
        NetworkOffer.edition_id.in_(open_editions(now)),
        NetworkOffer.partner_id.in_(active),
        ~applied,
    )
    return _ranked(wanted, close, NetworkOffer, query, -NetworkOffer.id)


def prefilter(
    wanted: JobSearch,
    now: datetime,
    *conditions: Any,
    close: frozenset[str] = frozenset(),
    network: bool = False,
) -> Any:
    """The open offers worth scoring for `wanted` as (id, rank, km) rows, the best `PREFILTER`
    by the points the database can compute: this instance's (meeting `conditions`), and with
    `network` the partners' (their ids negated); `close`: the codes of the same parent."""
    ranked: Any = _local(wanted, now, close, *conditions)
    if network:
        ranked = union_all(ranked, _network(wanted, now, close)).subquery()
        ranked = select(ranked.c.id, ranked.c.rank, ranked.c.km)
    order = [ranked.selected_columns.rank.desc()]
    if wanted.latitude is not None:
        order.append(ranked.selected_columns.km)
    return ranked.order_by(*order, ranked.selected_columns.id.desc()).limit(PREFILTER)


def _with_facts(ranked: Any, token: Any) -> Any:
    """The ranked rows with what scoring reads of their offers (a partner's offer has no
    skills and no label of its own), each with `token`; when no offer is kept, one row with
    `token` alone (joined from it, so that it is read whatever the offers)."""
    kept = ranked.subquery("ranked")
    first = select(token.label("token")).subquery("first")
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
        NetworkOffer.url,
    ).select_from(
        first.outerjoin(kept, true()).outerjoin(Offer, local).outerjoin(NetworkOffer, held)
    )


async def candidates(
    session: AsyncSession,
    wanted: JobSearch,
    now: datetime,
    *conditions: Any,
    network: bool = False,
) -> tuple[list[OfferFacts], Held]:
    """The offers `prefilter` keeps, as what scoring reads (a partner's offer with its id
    negated, each of its copies once), and the referential to score them with: one query,
    run again when the referential changed since this process read it."""

    async def run(held: Held) -> list[Any]:
        close = held.siblings(wanted.codes)
        ranked = prefilter(wanted, now, *conditions, close=close, network=network)
        query = _with_facts(ranked, match_referential.token_column())
        return list(await session.execute(query))

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
) -> list[OfferMatch]:
    """The `limit` open offers that best match `wanted` (and meet `conditions`), best first,
    scored with their reasons and loaded for a page or a mail; with `network`, the partners'
    offers among them."""
    found, held = await candidates(session, wanted, now, *conditions, network=network)
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
    their reasons (fair.matching), partners' offers among them (unless the site turned them
    off: FAIR_NETWORK_OFFERS); none when the search names no job. Offers they applied to are
    left out. Open offers: published, in an approved booth of an edition taking applications
    now; a partner's: held for such an edition, from a partner still active. Read-only: for
    the candidate's page, a counsellor's (who must have checked they accompany this
    candidate) and the alerts."""
    wanted = await job_search.of(session, candidate_id)
    if not wanted.described():
        return []
    network = settings.get().network_offers
    return await best(session, wanted, clock.now(), limit=limit, network=network)
