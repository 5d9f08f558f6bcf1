"""Booth presence: which booths a recruiter staffs right now, across every process.

A recruiter's socket staffs at most one booth at a time: one `BoothPresence` row per socket
(`connection_id`, unique). Rows live in the database, so every process sees the same truth;
a socket touches its row every 25 s, and rows untouched for 90 s (their process died) are
removed by `expire`, run by the app's background task.

Live events (published by the boundary after commit): `booth.staffing` on channels.edition
with {"booth_id", "staffed", "waiting"}, only when a booth's staffed state changes. Changes of
one booth are serialised by locking its row (`FOR UPDATE` on PostgreSQL; SQLite has one writer),
so that two recruiters leaving at once cannot both miss that the booth became unstaffed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, clock, events, permissions, queues
from fair.enums import QueueStatus
from fair.models import Booth, BoothPresence, QueueEntry, User

STALE_AFTER = timedelta(seconds=90)


async def staff(
    session: AsyncSession, *, recruiter: User, booth: Booth, connection_id: str
) -> BoothPresence:
    """The recruiter's socket `connection_id` staffs `booth` (moving from another booth if any).

    Raises Forbidden unless the recruiter belongs to the booth's employer.
    Side effects: `booth.staffing` (staffed) when the booth was unstaffed, and (unstaffed) on
    the booth the socket leaves when nobody else staffs it.
    """
    await permissions.require_booth_member(session, recruiter, booth)
    row = await _row(session, connection_id)
    if row is not None and row.booth_id != booth.id:
        await unstaff(session, connection_id=connection_id)
        row = None
    await _lock_booth(session, booth.id)
    was_staffed = await is_staffed(session, booth.id)
    if row is None:
        row = BoothPresence(
            booth_id=booth.id,
            user_id=recruiter.id,
            connection_id=connection_id,
            last_seen=clock.now(),
        )
        session.add(row)
    else:
        row.last_seen = clock.now()
    await session.flush()
    if not was_staffed:
        await _announce(session, booth.id, booth.edition_id, staffed=True)
    return row


async def unstaff(
    session: AsyncSession, *, connection_id: str, booth_id: int | None = None
) -> bool:
    """The socket stops staffing its booth (only `booth_id`'s, when given); False if it did not.

    Side effect: `booth.staffing` (unstaffed) when nobody else staffs the booth.
    """
    row = await _row(session, connection_id)
    if row is None or (booth_id is not None and row.booth_id != booth_id):
        return False
    booth = await _lock_booth(session, row.booth_id)
    await session.delete(row)
    await session.flush()
    if booth is not None and not await is_staffed(session, booth.id):
        await _announce(session, booth.id, booth.edition_id, staffed=False)
    return True


async def touch(session: AsyncSession, *, connection_id: str) -> None:
    """The socket is still there: its row stays fresh (no event)."""
    await session.execute(
        update(BoothPresence)
        .where(BoothPresence.connection_id == connection_id)
        .values(last_seen=clock.now())
    )


async def expire(session: AsyncSession, now: datetime | None = None) -> list[int]:
    """Remove rows untouched for 90 s (their process died); returns the booths now unstaffed.

    Side effect: `booth.staffing` (unstaffed) for each booth nobody staffs any more.
    """
    cutoff = (now or clock.now()) - STALE_AFTER
    stale = select(BoothPresence.booth_id).where(BoothPresence.last_seen < cutoff).distinct()
    unstaffed = []
    for booth_id in sorted(await session.scalars(stale)):
        booth = await _lock_booth(session, booth_id)
        await session.execute(
            delete(BoothPresence).where(
                BoothPresence.booth_id == booth_id, BoothPresence.last_seen < cutoff
            )
        )
        if booth is not None and not await is_staffed(session, booth_id):
            await _announce(session, booth_id, booth.edition_id, staffed=False)
            unstaffed.append(booth_id)
    return unstaffed


async def staffing(session: AsyncSession, edition_id: int) -> dict[int, tuple[bool, int]]:
    """{booth_id: (staffed, waiting)} for every booth of the edition, in three queries."""
    booth_ids = await session.scalars(select(Booth.id).where(Booth.edition_id == edition_id))
    staffed = set(
        await session.scalars(
            select(BoothPresence.booth_id)
            .join(Booth, Booth.id == BoothPresence.booth_id)
            .where(Booth.edition_id == edition_id)
            .distinct()
        )
    )
    rows = await session.execute(
        select(QueueEntry.booth_id, func.count())
        .join(Booth, Booth.id == QueueEntry.booth_id)
        .where(
            Booth.edition_id == edition_id,
            QueueEntry.active_key == 1,
            QueueEntry.status == QueueStatus.WAITING.value,
        )
        .group_by(QueueEntry.booth_id)
    )
    waiting = {booth_id: int(n) for booth_id, n in rows.all()}
    return {b: (b in staffed, waiting.get(b, 0)) for b in booth_ids}


async def _row(session: AsyncSession, connection_id: str) -> BoothPresence | None:
    found: BoothPresence | None = await session.scalar(
        select(BoothPresence).where(BoothPresence.connection_id == connection_id)
    )
    return found


async def _lock_booth(session: AsyncSession, booth_id: int) -> Booth | None:
    found: Booth | None = await session.scalar(
        select(Booth).where(Booth.id == booth_id).with_for_update()
    )
    return found


async def is_staffed(session: AsyncSession, booth_id: int) -> bool:
    """Whether at least one recruiter socket staffs the booth now."""
    found = await session.scalar(
        select(BoothPresence.id).where(BoothPresence.booth_id == booth_id).limit(1)
    )
    return found is not None


async def _announce(
    session: AsyncSession, booth_id: int, edition_id: int, *, staffed: bool
) -> None:
    counts = await queues.counts(session, booth_id)
    payload = {"booth_id": booth_id, "staffed": staffed, "waiting": counts["waiting"]}
    for channel in (channels.edition(edition_id), channels.booth(booth_id)):
        events.emit(session, channel=channel, event="booth.staffing", payload=payload)
