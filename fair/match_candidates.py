"""Candidates for an offer, for its recruiters: the applicants ranked by fair.matching, then the
CV pool's profiles that the recruiter may see (fair.cv_pool: consent in force, at a level that
reaches them), pseudonymous until the candidate accepts a contact request (shown by their pool
reference; their page is fair/web/pool.py's).

The pool part is two short queries whatever the pool's size: the database keeps the profiles
whose target jobs are the offer's code, a code of the same parent (imported referential) or of
its family, ranks them by the points it can compute (the job's best target, the distance
against each candidate's own radius, the contract and working time wanted) and returns the best
`PREFILTER`; Python scores those exactly (fair.matching) and keeps `limit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, cv_pool, job_search, match_offers, match_referential, matching, search
from fair.enums import ApplicationStatus, Transport
from fair.matching import Match
from fair.models import (
    Application,
    CvText,
    JobSearchContract,
    JobSearchProfile,
    JobSearchTarget,
    Offer,
    PoolConsent,
    User,
)

DEFAULT_LIMIT = 20
# Pool profiles the database hands to the exact scoring (which adds at most the skills' 10
# points and the availability's 5 to its order).
PREFILTER = 100


@dataclass(frozen=True)
class Applicant:
    application: Application
    name: str
    match: Match


@dataclass(frozen=True)
class PoolCandidate:
    """A pool profile for the offer: its pseudonymous reference, never a name."""

    ref: str
    match: Match


@dataclass(frozen=True)
class ForOffer:
    applicants: list[Applicant]
    pool: list[PoolCandidate]


async def candidates_for(
    session: AsyncSession, offer: Offer, *, viewer: User, limit: int = DEFAULT_LIMIT
) -> ForOffer:
    """The offer's applicants (not withdrawn), best match first, then the `limit` best pool
    profiles `viewer` may see that did not apply. The caller checks that `viewer` is a member
    of the offer's employer (permissions.require_offer_member). Read-only."""
    now = clock.now()
    today = match_offers.today(now)
    facts = match_offers.facts(offer)
    held = await match_referential.checked(session)
    known = held.referential
    applied = await _applications(session, offer)
    reader = await cv_pool.viewer_of(session, viewer)
    ids: list[int] = []
    if reader is not None:
        close = held.siblings([offer.rome_code])
        ids = list(await session.scalars(prefilter(offer, reader, now, close)))
    # The applicants' and the pool's job searches in one read.
    wanted = await job_search.of_many(session, [a.candidate_id for a, _name in applied] + ids)
    applicants = sorted(
        (
            Applicant(
                a,
                name,
                matching.score(facts, wanted[a.candidate_id], today=today, referential=known),
            )  # fmt: skip
            for a, name in applied
        ),
        key=lambda x: (x.match.order_key()[:2], x.application.id),
    )
    pool: list[PoolCandidate] = []
    if ids:
        pairs = [(facts, wanted[user_id]) for user_id in ids]
        best = matching.top(pairs, limit, today=today, referential=known)
        refs = await _refs(session, [m.candidate_id for m in best])
        pool = [PoolCandidate(refs[m.candidate_id], m) for m in best if m.candidate_id in refs]
    return ForOffer(applicants, pool)


async def _applications(session: AsyncSession, offer: Offer) -> list[tuple[Application, str]]:
    """The offer's applications (not withdrawn) with their candidates' names."""
    rows = await session.execute(
        select(Application, User.name)
        .join(User, User.id == Application.candidate_id)
        .where(
            Application.offer_id == offer.id,
            Application.status != ApplicationStatus.WITHDRAWN.value,
        )
    )
    return [(application, str(name)) for application, name in rows.all()]


def _radius() -> Any:
    """Each candidate's radius in SQL: declared, or the default of their means of transport."""
    defaults = matching.DEFAULT_RADIUS_KM
    by_means = case(
        *[(JobSearchProfile.transport == t.value, defaults[t]) for t in Transport],
        else_=defaults[None],
    )
    return func.coalesce(JobSearchProfile.max_distance_km, by_means)


def prefilter(offer: Offer, viewer: cv_pool.Viewer, now: datetime, close: frozenset[str]) -> Any:
    """The ids of the pool profiles worth scoring for `offer` that `viewer` may see, the best
    `PREFILTER` by the points the database can compute."""
    code = offer.rome_code
    near = set(match_offers.family_codes(matching.family(code))) | set(close) | {code}
    job = case(
        (JobSearchTarget.rome_code == code, literal(matching.SAME_JOB)),
        (JobSearchTarget.rome_code.in_(set(close) - {code} or {""}), literal(matching.SAME_PARENT)),
        else_=literal(matching.SAME_FAMILY),
    )
    jobs = (
        select(JobSearchTarget.user_id, func.max(job).label("points"))
        .where(JobSearchTarget.rome_code.in_(sorted(near)))
        .group_by(JobSearchTarget.user_id)
        .subquery()
    )
    km = search.km_from(offer.latitude, offer.longitude, JobSearchProfile)
    declared = _radius()
    radius = case((declared < 1, literal(1)), else_=declared)
    distance = case(
        (JobSearchProfile.latitude.is_(None), literal(0)),
        else_=match_offers.coarse_distance(km, radius, literal(offer.remote)),
    )
    accepts = exists().where(
        JobSearchContract.user_id == JobSearchProfile.user_id,
        JobSearchContract.contract == offer.contract,
    )
    any_contract = ~exists().where(JobSearchContract.user_id == JobSearchProfile.user_id)
    contract = case(
        (any_contract, literal(0)), (accepts, literal(matching.CONTRACT)), else_=-matching.CONTRACT
    )
    time = case(
        (JobSearchProfile.working_time == "", literal(0)),
        (JobSearchProfile.working_time == offer.working_time, literal(matching.WORKING_TIME)),
        else_=literal(-matching.WORKING_TIME),
    )
    applied = select(Application.candidate_id).where(Application.offer_id == offer.id)
    rank = jobs.c.points + distance + contract + time
    return (
        select(jobs.c.user_id)
        .join(JobSearchProfile, JobSearchProfile.user_id == jobs.c.user_id)
        .join(
            PoolConsent,
            and_(PoolConsent.user_id == jobs.c.user_id, cv_pool.visible_to(viewer, now)),
        )
        .where(jobs.c.user_id.not_in(applied))
        .order_by(rank.desc(), jobs.c.user_id)
        .limit(PREFILTER)
    )


async def _refs(session: AsyncSession, user_ids: list[int]) -> dict[int, str]:
    rows = await session.execute(
        select(CvText.user_id, CvText.ref).where(CvText.user_id.in_(user_ids))
    )
    return {int(user_id): str(ref) for user_id, ref in rows}
