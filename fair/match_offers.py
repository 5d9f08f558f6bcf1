"""Offers for a candidate: the open offers that best match their job search, with the reasons
(fair.matching). Serves the candidate's "offers for you", a counsellor's view of good offers for
each of their candidates, and the mail alerts (fair.alerts).

Two short queries, whatever the number of offers: the database keeps the offers of the jobs
wanted and their professional families (the exact codes listed, so that an index serves them on
both backends) within twice the candidate's radius (a bounding box; remote offers wherever
they are), ranks them by the points it can compute (`matching`'s, but the skills' and the
availability's) and returns the best `PREFILTER`; Python scores those exactly and keeps `limit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from fair import clock, geo, job_search, matching, rome, search
from fair.enums import BoothStatus
from fair.job_search import JobSearch
from fair.matching import Match, OfferFacts
from fair.models import Application, Booth, Edition, Offer, RomeCode, RomeSkill

# How many offers the database hands to the exact scoring.
PREFILTER = 200
DEFAULT_LIMIT = 10
PARIS = ZoneInfo("Europe/Paris")


def today(now: datetime) -> date:
    """The day in France, which availability dates are compared with."""
    return now.astimezone(PARIS).date()


@dataclass(frozen=True)
class OfferMatch:
    """A matched offer with what a page shows of it (its booth and employer loaded)."""

    match: Match
    offer: Offer


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


def _job_rank(wanted: JobSearch, siblings: frozenset[str]) -> tuple[Any, Any]:
    """The job's points in SQL, and the condition keeping the jobs wanted, the codes of the
    same parent in the imported referential (`siblings`) and their families."""
    codes = set(wanted.codes)
    close = set(siblings) - codes
    near = {code for c in codes for code in family_codes(matching.family(c))} - codes - close
    points = case(
        (Offer.rome_code.in_(codes), literal(matching.SAME_JOB)),
        (Offer.rome_code.in_(close or {""}), literal(matching.SAME_PARENT)),
        else_=literal(matching.SAME_FAMILY),
    )
    return points, Offer.rome_code.in_(sorted(codes | close | near))


async def siblings(session: AsyncSession, codes: tuple[str, ...]) -> frozenset[str]:
    """The codes sharing a parent with one of `codes` in the imported ROME 4.0 referential
    (none without it)."""
    parents = select(RomeCode.parent).where(RomeCode.code.in_(codes))
    found = await session.scalars(select(RomeCode.code).where(RomeCode.parent.in_(parents)))
    return frozenset(found)


async def referential(
    session: AsyncSession, codes: set[str], skills: set[str]
) -> matching.Referential:
    """What the imported referential says of these codes (their parents) and skills (their
    training links, by folded label); empty without it."""
    parents: dict[str, str] = {}
    if codes:
        rows = await session.execute(
            select(RomeCode.code, RomeCode.parent).where(RomeCode.code.in_(codes))
        )
        parents = {str(code): str(parent) for code, parent in rows}
    trainings: dict[str, str] = {}
    if skills:
        rows = await session.execute(
            select(RomeSkill.label, RomeSkill.training_url).where(
                RomeSkill.label.in_(skills), RomeSkill.training_url != ""
            )
        )
        trainings = {search.fold(label).strip(): str(url) for label, url in rows}
    return matching.Referential(parents, trainings)


def _wishes(wanted: JobSearch) -> Any:
    """The contract's and working time's points in SQL."""
    total: Any = literal(0)
    if wanted.contracts:
        accepted = [c.value for c in wanted.contracts]
        total = total + case(
            (Offer.contract.in_(accepted), matching.CONTRACT), else_=-matching.CONTRACT
        )
    if wanted.working_time is not None:
        total = total + case(
            (Offer.working_time == wanted.working_time.value, matching.WORKING_TIME),
            else_=-matching.WORKING_TIME,
        )
    return total


def prefilter(
    wanted: JobSearch, now: datetime, *conditions: Any, close: frozenset[str] = frozenset()
) -> Any:
    """The ids of the open offers worth scoring for `wanted` (and meeting `conditions`), the
    best `PREFILTER` by the points the database can compute; `close`: `siblings`."""
    points, jobs = _job_rank(wanted, close)
    rank = points + _wishes(wanted)
    applied = select(Application.offer_id).where(Application.candidate_id == wanted.user_id)
    approved = select(Booth.id).where(Booth.status == BoothStatus.APPROVED.value)
    query = select(Offer.id).where(
        Offer.edition_id.in_(open_editions(now)),
        Offer.published.is_(True),
        Offer.booth_id.in_(approved),
        jobs,
        Offer.id.not_in(applied),
        *conditions,
    )
    order: list[Any] = []
    if wanted.latitude is not None and wanted.longitude is not None:
        radius = max(matching.radius_km(wanted), 1)
        box = geo.bounding_box(wanted.latitude, wanted.longitude, 2 * radius)
        inside = and_(
            Offer.latitude.between(box[0], box[1]), Offer.longitude.between(box[2], box[3])
        )
        query = query.where(or_(inside, Offer.remote.is_(True)))
        km = search.km_from(wanted.latitude, wanted.longitude)
        rank = rank + coarse_distance(km, radius, Offer.remote.is_(True))
        order = [km]
    return query.order_by(rank.desc(), *order, Offer.id.desc()).limit(PREFILTER)


async def offers_for(
    session: AsyncSession, candidate_id: int, *, limit: int = DEFAULT_LIMIT
) -> list[OfferMatch]:
    """The `limit` open offers that best match the candidate's job search, best first, with
    their reasons (fair.matching); none when the search names no job. Offers they applied to
    are left out. Open offers: published, in an approved booth of an edition taking
    applications now. Read-only: for the candidate's page, a counsellor's (who must have
    checked they accompany this candidate) and the alerts."""
    wanted = await job_search.of(session, candidate_id)
    if not wanted.described():
        return []
    now = clock.now()
    close = await siblings(session, wanted.codes)
    ids = list(await session.scalars(prefilter(wanted, now, close=close)))
    return await score_offers(session, wanted, ids, limit=limit, today=today(now))


FACTS = (
    Offer.id,
    Offer.rome_code,
    Offer.rome_label,
    Offer.contract,
    Offer.working_time,
    Offer.latitude,
    Offer.longitude,
    Offer.remote,
    Offer.skills,
)


async def score_offers(
    session: AsyncSession, wanted: JobSearch, ids: list[int], *, limit: int, today: date
) -> list[OfferMatch]:
    """Score these offers for `wanted` (their columns read, not whole rows) and keep the
    `limit` best, then loaded with booth and employer."""
    if not ids:
        return []
    rows = (await session.execute(select(*FACTS).where(Offer.id.in_(ids)))).all()
    facts_ = [OfferFacts(*row[:-1], skills=tuple(row[-1] or ())) for row in rows]
    codes = {f.rome_code for f in facts_} | set(wanted.codes)
    skills = {skill for f in facts_ for skill in f.skills}
    known = await referential(session, codes, skills)
    pairs = [(f, wanted) for f in facts_]
    chosen = matching.top(pairs, limit, today=today, referential=known)
    loaded = await session.scalars(
        select(Offer)
        .where(Offer.id.in_([m.offer_id for m in chosen]))
        .options(selectinload(Offer.booth).selectinload(Booth.employer))
    )
    by_id = {offer.id: offer for offer in loaded}
    return [OfferMatch(match, by_id[match.offer_id]) for match in chosen]
