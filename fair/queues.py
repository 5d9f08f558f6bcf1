"""A booth's drop-in queue during live hours: join, leave, call the next one, expiry, places.

State lives in the database only (`queue_entries`), so a place survives a reconnect and a
restart. Two unique constraints are the last guards: one active entry per booth and candidate
(`active_key`), one engaged entry (called or in conversation) per candidate across booths
(`engaged_key`). `take_next` locks late and once: `FOR UPDATE SKIP LOCKED` on PostgreSQL; on
SQLite the write session already holds the database lock (BEGIN IMMEDIATE). A call answered in
time opens a private conversation: fair.conversations, which moves the entry through `move`
(the only writer of its status) and tells the booth through `announce`.

Live events (published by the boundary after commit): `queue.changed` on channels.booth (counts
only), `booth.waiting` on channels.edition, `queue.position`, `queue.called`,
`queue.skipped` and `queue.left` on channels.user.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import Exists

from fair import (
    channels,
    clock,
    editions,
    employers,
    events,
    notices,
    participants,
    permissions,
)
from fair.enums import QUEUE_TRANSITIONS, NoticeKind, QueueStatus, Role
from fair.errors import Conflict, Forbidden, NotFound
from fair.models import Booth, Conversation, QueueEntry, User

CALL_TIMEOUT = timedelta(seconds=60)
DEFAULT_CONVERSATION_SECONDS = 5 * 60
ESTIMATE_SAMPLE = 10
ENGAGED = (QueueStatus.CALLED.value, QueueStatus.IN_CONVERSATION.value)


@dataclass(frozen=True)
class Place:
    """Where a waiting entry stands: 1 for next; the estimate is in seconds."""

    position: int
    estimate_seconds: int


# State changes ---------------------------------------------------------------------------------


async def join(session: AsyncSession, *, candidate: User, booth: Booth) -> QueueEntry:
    """A candidate joins the booth's queue; joining again while in it returns the same entry.

    Only during the edition's opening hours, at an approved booth. Side effects: the
    candidate gets `queue.position`, the booth `queue.changed`.
    """
    if candidate.role != Role.CANDIDATE:
        raise Forbidden("Only candidates can join a booth's queue.", code="queue.forbidden")
    await _require_open(session, booth)
    existing = await _active_entry(session, booth.id, candidate.id)
    if existing is not None:
        return existing
    entry = QueueEntry(
        booth_id=booth.id,
        candidate_id=candidate.id,
        status=QueueStatus.WAITING.value,
        active_key=1,
        joined_at=clock.now(),
    )
    try:
        async with session.begin_nested():
            session.add(entry)
            await session.flush()
    except IntegrityError:  # a concurrent double join: the unique constraint decided
        found = await _active_entry(session, booth.id, candidate.id)
        if found is None:
            raise
        return found
    await participants.register(session, edition_id=booth.edition_id, user=candidate)
    await announce(session, booth.id, waiting_changed=True)
    return entry


async def leave(session: AsyncSession, *, candidate: User, booth: Booth) -> QueueEntry | None:
    """The candidate leaves the booth's queue (waiting or called); None when not in it.

    Side effects: the booth gets `queue.changed` and the people behind `queue.position`; a
    recruiter whose call the candidate leaves gets `queue.left`: the call is over, the next
    may be called (the soak's recruiters waited 90 s for an answer that could not come).
    """
    entry = await _active_entry(session, booth.id, candidate.id, lock=True)
    if entry is None:
        return None
    if entry.status == QueueStatus.IN_CONVERSATION:
        raise Conflict(
            "You are in a conversation with this booth: it ends when the recruiter closes it.",
            code="queue.in_conversation",
        )
    was_waiting = entry.status == QueueStatus.WAITING
    caller = entry.called_by_id if entry.status == QueueStatus.CALLED else None
    move(entry, QueueStatus.LEFT)
    await session.flush()
    if caller is not None:
        payload = {"entry_id": entry.id, "booth_id": entry.booth_id}
        events.emit(session, channel=channels.user(caller), event="queue.left", payload=payload)
    await announce(session, booth.id, waiting_changed=was_waiting)
    return entry


async def take_next(session: AsyncSession, *, recruiter: User, booth: Booth) -> QueueEntry | None:
    """An available recruiter calls the next candidate; None when nobody can be called.

    The oldest waiting entry whose candidate is not engaged elsewhere (held candidates keep
    their place); each entry and each candidate is locked late and once, and a candidate is
    never called twice. Side effects: the candidate gets `queue.called`, the booth
    `queue.changed`, the people behind `queue.position`.
    """
    await permissions.require_booth_member(session, recruiter, booth)
    await _require_open(session, booth)
    await _require_available(session, recruiter)
    passed: set[int] = set()
    while True:
        entry = await _lock_next_waiting(session, booth.id, passed)
        if entry is None:
            return None
        passed.add(entry.id)
        if await _lock_candidate(session, entry.candidate_id) and await _call(
            session, entry, recruiter
        ):
            await announce(session, booth.id, waiting_changed=True)
            return entry


async def expire_calls(session: AsyncSession, now: datetime | None = None) -> list[QueueEntry]:
    """Calls left unanswered for more than 60 s are skipped; returns them.

    Side effects: each candidate gets an in-app notice and `queue.skipped` (so does the
    recruiter who called), each booth `queue.changed`.
    """
    now = now or clock.now()
    query = (
        select(QueueEntry)
        .where(QueueEntry.status == QueueStatus.CALLED, QueueEntry.called_at < now - CALL_TIMEOUT)
        .order_by(QueueEntry.id)
        .with_for_update(skip_locked=True)
    )
    expired = list(await session.scalars(query))
    for entry in expired:
        move(entry, QueueStatus.SKIPPED, now=now)
    await session.flush()
    for entry in expired:
        await notices.add(
            session,
            user_id=entry.candidate_id,
            kind=NoticeKind.QUEUE_SKIPPED,
            params={"booth_id": entry.booth_id},
        )
        payload = {"entry_id": entry.id, "booth_id": entry.booth_id}
        for user_id in {entry.candidate_id, entry.called_by_id} - {None}:
            assert user_id is not None
            events.emit(
                session, channel=channels.user(user_id), event="queue.skipped", payload=payload
            )
    for booth_id in sorted({entry.booth_id for entry in expired}):
        await announce(session, booth_id)
    return expired


# Reads -----------------------------------------------------------------------------------------


async def position_of(session: AsyncSession, entry: QueueEntry) -> tuple[int, int]:
    """(position, estimated wait in seconds) of a waiting entry; (0, 0) once it no longer waits.

    Held candidates ahead (called or in conversation at another booth) are not counted: they
    are passed over. The estimate is the median length of the booth's last 10 finished
    conversations (5 minutes when there are none) times the people ahead.
    """
    place = await place_of(session, entry)
    if place is None:
        return 0, 0
    return place.position, place.estimate_seconds


async def place_of(session: AsyncSession, entry: QueueEntry) -> Place | None:
    """The entry's place while it waits (as `position_of`); None once it no longer waits."""
    return (await _places(session, entry.booth_id)).get(entry.id)


async def counts(session: AsyncSession, booth_id: int) -> dict[str, int]:
    """How many wait and how many talk at the booth: no personal data."""
    rows = await session.execute(
        select(QueueEntry.status, func.count())
        .where(QueueEntry.booth_id == booth_id, QueueEntry.active_key == 1)
        .group_by(QueueEntry.status)
    )
    found = {status: int(n) for status, n in rows.all()}
    return {
        "waiting": found.get(QueueStatus.WAITING.value, 0),
        "called": found.get(QueueStatus.CALLED.value, 0),
        "in_conversation": found.get(QueueStatus.IN_CONVERSATION.value, 0),
    }


async def median_seconds(session: AsyncSession, booth_id: int) -> int:
    """The median length of the booth's last 10 finished conversations (5 minutes if none)."""
    rows = await session.execute(
        select(Conversation.started_at, Conversation.ended_at)
        .where(Conversation.booth_id == booth_id, Conversation.ended_at.is_not(None))
        .order_by(Conversation.ended_at.desc(), Conversation.id.desc())
        .limit(ESTIMATE_SAMPLE)
    )
    lengths = [(end - start).total_seconds() for start, end in rows.all() if end is not None]
    if not lengths:
        return DEFAULT_CONVERSATION_SECONDS
    return round(statistics.median(lengths))


async def get_entry(session: AsyncSession, entry_id: int) -> QueueEntry:
    entry = await session.get(QueueEntry, entry_id)
    if entry is None:
        raise NotFound("This place in the queue does not exist.", code="queue.not_found")
    return entry


async def entry_of(session: AsyncSession, *, candidate: User, booth_id: int) -> QueueEntry | None:
    """The candidate's active entry at the booth, if any."""
    return await _active_entry(session, booth_id, candidate.id)


# Shared with fair.conversations ----------------------------------------------------------------


def move(entry: QueueEntry, new: QueueStatus, *, now: datetime | None = None) -> None:
    """The only writer of QueueEntry.status, keeping the two guard keys in step."""
    current = QueueStatus(entry.status)
    if new not in QUEUE_TRANSITIONS[current]:
        raise Conflict(
            "This place in the queue is already “%(status)s”.",
            code="queue.bad_transition",
            params={"status": current.label},
        )
    entry.status = new.value
    entry.active_key = 1 if new.active else None
    entry.engaged_key = 1 if new.engaged else None
    if not new.active:
        entry.ended_at = now or clock.now()


async def lock_entry(session: AsyncSession, entry_id: int) -> QueueEntry:
    """The entry, re-read under a row lock (PostgreSQL; SQLite's write session holds the db)."""
    entry = await session.get(QueueEntry, entry_id, with_for_update=True, populate_existing=True)
    if entry is None:
        raise NotFound("This place in the queue does not exist.", code="queue.not_found")
    return entry


async def announce(session: AsyncSession, booth_id: int, *, waiting_changed: bool = False) -> None:
    """Queue `queue.changed` (counts) on the booth and `queue.position` for each waiting one.

    When the number of people waiting changed, the edition (its hall) gets `booth.waiting`:
    only then, since every hall visitor receives it.
    """
    found = await counts(session, booth_id)
    events.emit(
        session,
        channel=channels.booth(booth_id),
        event="queue.changed",
        payload={"booth_id": booth_id, **found},
    )
    if waiting_changed:
        booth = await session.get(Booth, booth_id)
        assert booth is not None
        events.emit(
            session,
            channel=channels.edition(booth.edition_id),
            event="booth.waiting",
            payload={"booth_id": booth_id, "waiting": found["waiting"]},
        )
    places = await _places(session, booth_id)
    if not places:
        return
    rows = await session.execute(
        select(QueueEntry.id, QueueEntry.candidate_id).where(QueueEntry.id.in_(list(places)))
    )
    for entry_id, candidate_id in rows.all():
        place = places[entry_id]
        events.emit(
            session,
            channel=channels.user(candidate_id),
            event="queue.position",
            payload={
                "booth_id": booth_id,
                "entry_id": entry_id,
                "position": place.position,
                "estimate_seconds": place.estimate_seconds,
            },
        )


# Helpers ---------------------------------------------------------------------------------------


async def _require_open(session: AsyncSession, booth: Booth) -> None:
    edition = await editions.get(session, booth.edition_id)
    if not employers.is_public(booth) or not editions.open_now(edition):
        raise Conflict(
            "This booth's queue is open during the fair's live hours only.", code="queue.closed"
        )


async def _require_available(session: AsyncSession, recruiter: User) -> None:
    busy = await session.scalar(
        select(QueueEntry.id).where(
            QueueEntry.called_by_id == recruiter.id, QueueEntry.status.in_(ENGAGED)
        )
    )
    if busy is not None:
        raise Conflict(
            "Finish your current call or conversation before taking the next candidate.",
            code="queue.recruiter_busy",
        )


async def _active_entry(
    session: AsyncSession, booth_id: int, candidate_id: int, *, lock: bool = False
) -> QueueEntry | None:
    query = select(QueueEntry).where(
        QueueEntry.booth_id == booth_id,
        QueueEntry.candidate_id == candidate_id,
        QueueEntry.active_key == 1,
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


def _engaged_elsewhere() -> Exists:
    other = aliased(QueueEntry)
    return exists().where(other.candidate_id == QueueEntry.candidate_id, other.status.in_(ENGAGED))


async def _lock_next_waiting(
    session: AsyncSession, booth_id: int, passed: set[int]
) -> QueueEntry | None:
    """The oldest waiting, not held, not yet passed entry, locked; others' locks are skipped."""
    query = (
        select(QueueEntry)
        .where(
            QueueEntry.booth_id == booth_id,
            QueueEntry.status == QueueStatus.WAITING,
            ~_engaged_elsewhere(),
        )
        .order_by(QueueEntry.joined_at, QueueEntry.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=QueueEntry)
        .execution_options(populate_existing=True)
    )
    if passed:
        query = query.where(QueueEntry.id.not_in(passed))
    return await session.scalar(query)


async def _lock_candidate(session: AsyncSession, candidate_id: int) -> bool:
    """Lock the candidate against another booth calling them now; False if someone else does.

    FOR NO KEY UPDATE leaves foreign keys to the user (notices, messages) unblocked.
    """
    locked = await session.scalar(
        select(User.id)
        .where(User.id == candidate_id)
        .with_for_update(skip_locked=True, key_share=True)
    )
    return locked is not None


async def _call(session: AsyncSession, entry: QueueEntry, recruiter: User) -> bool:
    """Call the locked entry's candidate unless engaged meanwhile; False when passed over."""
    engaged = await session.scalar(
        select(QueueEntry.id).where(
            QueueEntry.candidate_id == entry.candidate_id, QueueEntry.status.in_(ENGAGED)
        )
    )
    if engaged is not None:
        return False
    try:
        async with session.begin_nested():
            move(entry, QueueStatus.CALLED)
            entry.called_at = clock.now()
            entry.called_by_id = recruiter.id
            await session.flush()
    except IntegrityError:  # engaged by another booth after all: the constraint decided
        await session.refresh(entry)
        return False
    payload = {
        "entry_id": entry.id,
        "booth_id": entry.booth_id,
        "expires_at": (entry.called_at + CALL_TIMEOUT).isoformat(),
    }
    events.emit(
        session, channel=channels.user(entry.candidate_id), event="queue.called", payload=payload
    )
    return True


async def _places(session: AsyncSession, booth_id: int) -> dict[int, Place]:
    """Every waiting entry's place at the booth, held candidates passed over."""
    rows = await session.execute(
        select(QueueEntry.id, _engaged_elsewhere())
        .where(QueueEntry.booth_id == booth_id, QueueEntry.status == QueueStatus.WAITING)
        .order_by(QueueEntry.joined_at, QueueEntry.id)
    )
    median = await median_seconds(session, booth_id)
    places: dict[int, Place] = {}
    ahead = 0
    for entry_id, held in rows.all():
        places[entry_id] = Place(ahead + 1, ahead * median)
        if not held:
            ahead += 1
    return places
