"""Editions whose candidates were retained, for the follow-up tests (fair.outcomes): booths in
given sectors, candidates who applied, retained ones (an application walked to "hired" by its
recruiter through applications.set_status), and the clock moved after the edition's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from fair import applications, clock, employers, outcomes
from fair.enums import ApplicationStatus, BoothStatus, Role
from fair.models import Application, Booth, Edition, Offer, User
from tests import factories as f

# The moves of an application from submitted to hired, as a recruiter makes them.
TO_HIRED = (
    ApplicationStatus.SHORTLISTED,
    ApplicationStatus.INTERVIEW_PROPOSED,
    ApplicationStatus.INTERVIEW_SCHEDULED,
    ApplicationStatus.INTERVIEWED,
    ApplicationStatus.HIRED,
)


@dataclass
class Stand:
    """A booth, its employer's recruiter, and one offer to apply to."""

    booth: Booth
    recruiter: User
    offer: Offer
    applications: list[Application] = field(default_factory=list)


async def stand(
    session: AsyncSession,
    edition: Edition,
    *,
    naf: str = "43.21A",
    name: str = "",
    can_log_in: bool = False,
) -> Stand:
    """An approved booth of an employer in the NAF class `naf`, with one offer; its recruiter
    has a password only if `can_log_in` (hashing costs 0.15 s)."""
    recruiter = await f.user(session, Role.RECRUITER, can_log_in=can_log_in)
    n = next(f._n)
    employer = await employers.register(
        session,
        by=recruiter,
        data=employers.EmployerInput(
            name=name or f"Employeur {n}",
            siret=f.siret(n),
            naf_code=naf,
            size="10-49",
            commune="Montpellier",
            website="",
            description="",
            video_url="",
        ),
    )
    booth = await employers.request_booth(session, by=recruiter, employer=employer, edition=edition)
    admin = await f.user(session, Role.ADMIN, can_log_in=False)
    await employers.set_status(session, booth, BoothStatus.APPROVED, by=admin)
    offer = await f.offer(session, booth_=booth)
    return Stand(booth, recruiter, offer)


async def apply(
    session: AsyncSession, stand_: Stand, candidate: User | None = None, *, hired: bool = False
) -> Application:
    """An application to the stand's offer (a new candidate unless given), hired if asked."""
    candidate = candidate or await f.candidate(session, can_log_in=False)
    applied = await f.application(session, offer_=stand_.offer, candidate_=candidate)
    if hired:
        for status in TO_HIRED:
            await applications.set_status(session, applied, status, by=stand_.recruiter)
    stand_.applications.append(applied)
    return applied


def after_end(edition: Edition, days: int, hours: int = 0) -> None:
    """Move the clock to `days` days (and `hours` hours) after the edition's end."""
    clock.set_now(outcomes.ends_at(edition) + timedelta(days=days, hours=hours))
