"""Editions for the landing page's tests (tests/test_landing.py, tests/test_web_landing.py):
booths of named employers in chosen sectors, talks on stage or coming, recruiters present."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, employers, presence, queues, webconferences
from fair.enums import BoothStatus, Role
from fair.models import Booth, Edition, User, Webconference
from tests import factories as f

_connections = iter(range(1, 10**6))


async def booth_of(
    session: AsyncSession,
    edition: Edition,
    name: str,
    *,
    naf: str = "43.21A",
    status: BoothStatus = BoothStatus.APPROVED,
) -> tuple[Booth, User]:
    """A booth of a new employer called `name` (NAF `naf`), approved unless told otherwise."""
    recruiter = await f.user(session, Role.RECRUITER, can_log_in=False)
    employer = await employers.register(
        session,
        by=recruiter,
        data=employers.EmployerInput(
            name=name,
            siret=f.siret(next(_connections) + 500_000),
            naf_code=naf,
            size="10-49",
            commune="Montpellier",
            website="",
            description="",
            video_url="",
        ),
    )
    booth = await employers.request_booth(session, by=recruiter, employer=employer, edition=edition)
    if status != BoothStatus.REQUESTED:
        admin = await f.user(session, Role.ADMIN, can_log_in=False)
        await employers.set_status(session, booth, status, by=admin, reason="Hors territoire.")
    return await employers.get_booth(session, booth.id), recruiter


async def talk(
    session: AsyncSession,
    edition: Edition,
    booth: Booth,
    recruiter: User,
    title: str,
    starts_at: datetime,
    *,
    on_stage: bool = False,
) -> Webconference:
    """The booth's one-hour talk at `starts_at`, started by its presenter when `on_stage`
    (scheduled an hour before it starts, as the rules want a time in the future)."""
    frozen = clock.frozen()
    clock.set_now(min(clock.now(), starts_at - timedelta(hours=1)))
    try:
        created = await webconferences.schedule(
            session,
            by=recruiter,
            edition=edition,
            booth=booth,
            data=f.talk(
                [recruiter],
                title=title,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=1),
            ),
        )
    finally:
        clock.set_now(frozen)
    if on_stage:
        await webconferences.start(session, by=recruiter, webconference=created)
    return created


async def staffed(
    session: AsyncSession, booth: Booth, recruiter: User, *, waiting: int = 0
) -> None:
    """The recruiter staffs the booth now, with `waiting` candidates in its queue."""
    connection = f"landing-{next(_connections)}"
    await presence.staff(session, recruiter=recruiter, booth=booth, connection_id=connection)
    for _ in range(waiting):
        candidate = await f.user(session, Role.CANDIDATE, can_log_in=False)
        await queues.join(session, candidate=candidate, booth=booth)
