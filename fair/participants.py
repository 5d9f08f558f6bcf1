"""Candidates registered to an edition: the first step of the organiser's funnel and the
registrations' timeline.

A candidate is registered to an edition from their first step in it: the edition page's
"I take part" button, an application, a place in a booth's queue, a talk or an interview
booked, or a booth or offer page opened while logged in (`fair.activity.save`). The first
step's time is kept; later steps change nothing. Registration is idempotent and never fails
on a race: two requests registering the same candidate at once both succeed, one row stays.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, funnel_marks
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
    statement = insert(EditionCandidate).on_conflict_do_nothing()
    returning = statement.returning(EditionCandidate.edition_id, EditionCandidate.user_id)
    new = await session.execute(returning, rows)
    # A step written earlier in this transaction (an application before its registration) is
    # in the funnel's kept steps once the new row is computed (fair.insight.progress).
    funnel_marks.add(session, {(e, None, u) for e, u in new})


async def mark_active(session: AsyncSession, pairs: Iterable[tuple[int, int]]) -> None:
    """Raise the funnel's kept "active" step (fair.insight.progress) of registered (edition id,
    candidate id) pairs: an active day was recorded for them (fair.activity.save writes those
    with a core statement, which the progress listeners do not see)."""
    per_edition: dict[int, set[int]] = {}
    for edition_id, user_id in pairs:
        per_edition.setdefault(edition_id, set()).add(user_id)
    for edition_id, users in sorted(per_edition.items()):
        await session.execute(
            update(EditionCandidate)
            .where(
                EditionCandidate.edition_id == edition_id,
                EditionCandidate.user_id.in_(sorted(users)),
                EditionCandidate.reached_active == 0,
            )
            .values(reached_active=1)
            .execution_options(synchronize_session=False)
        )


async def is_registered(session: AsyncSession, *, edition_id: int, user: User) -> bool:
    found = await session.get(EditionCandidate, (edition_id, user.id))
    return found is not None


async def registered_among(
    session: AsyncSession, user_ids: Collection[int], edition_ids: Collection[int]
) -> list[tuple[int, int]]:
    """(user id, edition id) of each registration of `user_ids` to `edition_ids`, by user and
    edition (one read for them all)."""
    if not user_ids or not edition_ids:
        return []
    rows = await session.execute(
        select(EditionCandidate.user_id, EditionCandidate.edition_id)
        .where(
            EditionCandidate.user_id.in_(list(user_ids)),
            EditionCandidate.edition_id.in_(list(edition_ids)),
        )
        .order_by(EditionCandidate.user_id, EditionCandidate.edition_id)
    )
    return [(user_id, edition_id) for user_id, edition_id in rows]


async def count(session: AsyncSession, edition_id: int) -> int:
    statement = select(func.count()).where(EditionCandidate.edition_id == edition_id)
    return int(await session.scalar(statement) or 0)
