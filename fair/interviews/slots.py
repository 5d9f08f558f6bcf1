"""Slots: a recruiter's published availability, cut into slots, and which are free to book.

A taken, withdrawn, passed or too-soon slot answers SlotTaken with the booth's next free slots
(as plain `Choice` values, which outlive the failed transaction's rollback).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, editions, permissions
from fair.enums import BoothStatus, InterviewMode
from fair.errors import Conflict, Invalid
from fair.interviews.limits import booking_rules, notice
from fair.interviews.reads import active_on, booth_row
from fair.interviews.rules import booth_of_staff, require_booth_staff
from fair.models import Booth, Interview, InterviewSlot, User

MIN_LENGTH, MAX_LENGTH = 10, 120  # minutes
MAX_BUFFER = 60


@dataclass(frozen=True)
class Choice:
    """A free slot, as plain values (they outlive the failed transaction's rollback)."""

    id: int
    starts_at: datetime
    ends_at: datetime
    modes: tuple[InterviewMode, ...]


class SlotTaken(Conflict):
    """The slot went to someone else; `alternatives` are the booth's next free slots."""

    code = "interview.slot_taken"

    def __init__(
        self,
        alternatives: Sequence[InterviewSlot],
        message: str = "This slot has just been taken. Choose another one.",
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, params=params)
        self.alternatives = [
            Choice(s.id, s.starts_at, s.ends_at, tuple(slot_modes(s))) for s in alternatives
        ]


@dataclass
class AvailabilityInput:
    """A stretch of one live day, cut into slots of `length` minutes with `buffer` between."""

    day: date
    start: time
    end: time
    length_minutes: int
    buffer_minutes: int
    modes: frozenset[InterviewMode]
    staff_id: int


async def publish_availability(
    session: AsyncSession, *, by: User, booth: Booth, data: AvailabilityInput
) -> list[InterviewSlot]:
    """Cut the stretch into slots for the staff member; slots overlapping theirs are skipped."""
    await require_booth_staff(session, by, booth)
    if booth.status != BoothStatus.APPROVED:
        raise Conflict(
            "Slots can be published once the organiser approves the booth.",
            code="interview.booth_not_approved",
        )
    staff = await session.get(User, data.staff_id)
    if staff is None or not await permissions.is_member(session, staff, booth.employer_id):
        raise Invalid("Choose a member of your team.", code="interview.bad_staff")
    edition = await editions.get(session, booth.edition_id)
    errors = {}
    if data.day not in {d.day for d in edition.live_days}:
        errors["day"] = "Choose one of the fair's live days."
    if data.end <= data.start:
        errors["end"] = "The end must come after the start."
    if not MIN_LENGTH <= data.length_minutes <= MAX_LENGTH:
        errors["length_minutes"] = "An interview lasts between 10 and 120 minutes."
    if not 0 <= data.buffer_minutes <= MAX_BUFFER:
        errors["buffer_minutes"] = "The break between interviews is 60 minutes at most."
    if not data.modes:
        errors["modes"] = "Offer at least one way to hold the interview."
    if errors:
        raise Invalid("Some fields need correcting.", code="interview.slots_invalid", fields=errors)
    zone = ZoneInfo(edition.timezone)
    start = datetime.combine(data.day, data.start, zone).astimezone(UTC)
    end = datetime.combine(data.day, data.end, zone).astimezone(UTC)
    length = timedelta(minutes=data.length_minutes)
    step = length + timedelta(minutes=data.buffer_minutes)
    taken = list(
        await session.execute(
            select(InterviewSlot.starts_at, InterviewSlot.ends_at).where(
                InterviewSlot.staff_id == staff.id,
                InterviewSlot.withdrawn_at.is_(None),
                InterviewSlot.starts_at < end,
                InterviewSlot.ends_at > start,
            )
        )
    )
    modes = " ".join(m.value for m in InterviewMode if m in data.modes)
    created = []
    now = clock.now()
    at = start
    while at + length <= end:
        finish = at + length
        overlaps = any(s < finish and e > at for s, e in taken)
        if not overlaps and at > now:
            slot = InterviewSlot(
                booth_id=booth.id,
                staff_id=staff.id,
                starts_at=at,
                ends_at=finish,
                modes=modes,
                created_at=now,
            )
            session.add(slot)
            created.append(slot)
        at += step
    if not created:
        raise Conflict(
            "No new slot fits: they overlap existing ones or have passed.",
            code="interview.no_slot",
        )
    await session.flush()
    return created


async def withdraw_slot(session: AsyncSession, *, by: User, slot: InterviewSlot) -> None:
    """A free slot is withdrawn; a booked one must be cancelled first (with a reason)."""
    await booth_of_staff(session, by, slot.booth_id)
    if await active_on(session, slot.id) is not None:
        raise Conflict(
            "Someone booked this slot: cancel their interview first.", code="interview.slot_booked"
        )
    slot.withdrawn_at = clock.now()
    await session.flush()


def slot_modes(slot: InterviewSlot) -> list[InterviewMode]:
    return [InterviewMode(m) for m in slot.modes.split()]


async def free_slots(
    session: AsyncSession, booth_id: int, *, limit: int | None = None, after: datetime | None = None
) -> list[InterviewSlot]:
    """The booth's bookable slots, soonest first: after the minimum notice, not withdrawn,
    held by nobody (none before the rules' release time)."""
    booth = await booth_row(session, booth_id)
    limits = await booking_rules(session, booth.edition_id)
    release = limits.release_at
    now = clock.now()
    if after is None or after < now + notice(limits):
        after = now + notice(limits)  # sooner ones cannot be booked any more
    taken = select(Interview.id).where(
        Interview.slot_id == InterviewSlot.id, Interview.active_key == 1
    )
    query = (
        select(InterviewSlot)
        .where(
            InterviewSlot.booth_id == booth_id,
            InterviewSlot.withdrawn_at.is_(None),
            InterviewSlot.starts_at > after,
            ~taken.exists(),
        )
        .order_by(InterviewSlot.starts_at, InterviewSlot.id)
    )
    if release is not None and release > now:
        return []
    if limit is not None:
        query = query.limit(limit)
    return list(await session.scalars(query))


@dataclass(frozen=True)
class Availability:
    """A booth's bookable slots, counted: how many, and when the soonest starts."""

    booth_id: int
    free: int
    next_at: datetime | None


async def free_counts(
    session: AsyncSession, *, edition_id: int, booth_ids: Sequence[int]
) -> dict[int, Availability]:
    """The free slots of these booths of one edition, counted as `free_slots` lists them (after
    the minimum notice, not withdrawn, held by nobody, none before the release time), in one
    query; no staff member or candidate named (the public API's availability)."""
    limits = await booking_rules(session, edition_id)
    now = clock.now()
    found = {booth_id: Availability(booth_id, 0, None) for booth_id in booth_ids}
    if not booth_ids or (limits.release_at is not None and limits.release_at > now):
        return found
    taken = select(Interview.id).where(
        Interview.slot_id == InterviewSlot.id, Interview.active_key == 1
    )
    rows = await session.execute(
        select(InterviewSlot.booth_id, func.count(), func.min(InterviewSlot.starts_at))
        .join(Booth, Booth.id == InterviewSlot.booth_id)
        .where(
            Booth.edition_id == edition_id,
            InterviewSlot.booth_id.in_(booth_ids),
            InterviewSlot.withdrawn_at.is_(None),
            InterviewSlot.starts_at > now + notice(limits),
            ~taken.exists(),
        )
        .group_by(InterviewSlot.booth_id)
    )
    for booth_id, free, soonest in rows:
        # min() of a column loses its type decorator on SQLite: read it as stored (naive UTC).
        if isinstance(soonest, str):
            soonest = datetime.fromisoformat(soonest)
        if soonest is not None and soonest.tzinfo is None:
            soonest = soonest.replace(tzinfo=UTC)
        found[booth_id] = Availability(booth_id, int(free), soonest)
    return found


async def check_slot(session: AsyncSession, slot: InterviewSlot, mode: InterviewMode) -> None:
    """A slot to book or move to: not withdrawn, not passed, not sooner than the minimum
    notice (each answered with the next free slots), offered in `mode`."""
    now = clock.now()
    if slot.withdrawn_at is not None or slot.starts_at <= now:
        raise SlotTaken(await free_slots(session, slot.booth_id, limit=3))
    booth = await booth_row(session, slot.booth_id)
    minimum = notice(await booking_rules(session, booth.edition_id))
    if slot.starts_at < now + minimum:
        raise SlotTaken(
            await free_slots(session, slot.booth_id, limit=3),
            "This slot starts too soon: interviews are booked or moved at least %(minutes)s "
            "minutes ahead. Choose a later one.",
            {"minutes": int(minimum.total_seconds() // 60)},
        )
    if mode not in slot_modes(slot):
        raise Invalid("This slot is not offered in that mode.", code="interview.bad_mode")
