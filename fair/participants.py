"""Candidates registered to an edition: the first step of the organiser's funnel and the
registrations' timeline.

A candidate is registered to an edition from their first step in it: the edition page's
"I take part" button, an application, a place in a booth's queue, a talk or an interview
booked, or a booth or offer page opened while logged in (`fair.activity.save`). The first
step's time is kept; later steps change nothing. Registration is idempotent and never fails
on a race: two requests registering the same candidate at once both succeed, one row stays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock
from fair.enums import Role
from fair.models import EditionCandidate, User


async def register(
    session: AsyncSession, *, edition_id: int, user: User, at: datetime | None = None
) -> None:
    """Register a candidate to an edition if not yet registered (staff accounts are not)."""
    if user.role == Role.CANDIDATE:
        await register_many(session, [(edition_id, user.id)], at=at)


async def register_many(
    session: AsyncSession, pairs: Iterable[tuple[int, int]], *, at: datetime | None = None
) -> None:
    """Register (edition id, candidate id) pairs not yet registered, in one statement; the
    caller has checked that the users are candidates."""
    moment = at or clock.now()
    rows = [{"edition_id": e, "user_id": u, "registered_at": moment} for e, u in sorted(set(pairs))]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(insert(EditionCandidate).on_conflict_do_nothing(), rows)


async def is_registered(session: AsyncSession, *, edition_id: int, user: User) -> bool:
    found = await session.get(EditionCandidate, (edition_id, user.id))
    return found is not None


async def count(session: AsyncSession, edition_id: int) -> int:
    statement = select(func.count()).where(EditionCandidate.edition_id == edition_id)
    return int(await session.scalar(statement) or 0)
