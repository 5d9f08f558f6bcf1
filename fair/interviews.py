"""Scheduled one-to-one interviews: slots, invitations, booking, changes, reminders, outcomes.

A recruiter publishes slots (per staff member, with the modes offered: video, phone, chat) and
invites a shortlisted candidate from the pipeline; the candidate books a slot (or a recruiter
books one for them, and they confirm). The edition's rules (InterviewRules) bound bookings.

Booking is race-safe: the slot row is locked (FOR UPDATE on PostgreSQL; SQLite's write session
holds the database lock), the candidate too (their rules and overlaps are counted under it), and
the unique constraint (slot_id, active_key) is the last guard. A taken slot answers SlotTaken
with the next free slots.

Every change tells both participants: an in-app notice, a live `interview.changed` event on
their user channels, and an e-mail carrying an iCalendar invitation (METHOD REQUEST, or CANCEL;
one UID per interview, SEQUENCE raised on each change). Reminders (the day before, an hour
before) are sent by `send_reminders`, run by the worker: a reminder is recorded in the same
transaction as its queued mail, so a restart never sends it twice.

Application statuses move only through applications.set_status: invited → interview proposed,
booked → interview scheduled, cancelled → interview proposed again, held → interviewed (then
hired / not retained / a second interview), no-show → did not attend.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fair import applications, calendar, channels, clock, editions, employers, events, mail, notices
from fair import settings as fair_settings
from fair.enums import (
    APPLICATION_TRANSITIONS,
    ApplicationStatus,
    BoothStatus,
    InterviewChange,
    InterviewMode,
    InterviewOutcome,
    InterviewStatus,
    InvitationStatus,
    NoticeKind,
    Role,
)
from fair.errors import Conflict, Invalid, NotFound, NotYours
from fair.i18n import N_, moment
from fair.i18n import gettext as _
from fair.models import (
    Application,
    Booth,
    CalendarFeed,
    Edition,
    Employer,
    Interview,
    InterviewInvitation,
    InterviewRules,
    InterviewSlot,
    User,
)

MIN_LENGTH, MAX_LENGTH = 10, 120  # minutes
MAX_BUFFER = 60
MAX_REASON = 500
MAX_ACCOMMODATION = 1000
DAY_BEFORE = timedelta(hours=24)
HOUR_BEFORE = timedelta(hours=1)
ACTIVE = tuple(s.value for s in InterviewStatus if s.active)


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


# Rules -----------------------------------------------------------------------------------------


@dataclass
class RulesInput:
    max_per_booth: int
    max_total: int
    release_at: datetime | None
    cancel_cutoff_minutes: int
    offer_minutes: int
    min_notice_minutes: int = 120


async def rules(session: AsyncSession, edition_id: int) -> InterviewRules:
    """The edition's rules; defaults (not stored) until an organiser sets them."""
    found = await session.get(InterviewRules, edition_id)
    if found is not None:
        return found
    return InterviewRules(
        edition_id=edition_id,
        max_per_booth=1,
        max_total=5,
        release_at=None,
        cancel_cutoff_minutes=120,
        offer_minutes=60,
        min_notice_minutes=120,
    )


async def set_rules(
    session: AsyncSession, *, by: User, edition: Edition, data: RulesInput
) -> InterviewRules:
    await editions.require_organiser(session, by, edition)
    errors = {}
    if not 1 <= data.max_per_booth <= 20:
        errors["max_per_booth"] = "Enter a number between 1 and 20."
    if not 1 <= data.max_total <= 50:
        errors["max_total"] = "Enter a number between 1 and 50."
    if not 0 <= data.cancel_cutoff_minutes <= 7 * 24 * 60:
        errors["cancel_cutoff_minutes"] = "Enter a number of minutes between 0 and 10,080."
    if not 5 <= data.offer_minutes <= 24 * 60:
        errors["offer_minutes"] = "Enter a number of minutes between 5 and 1,440."
    if not 0 <= data.min_notice_minutes <= 7 * 24 * 60:
        errors["min_notice_minutes"] = "Enter a number of minutes between 0 and 10,080."
    if errors:
        raise Invalid("Some fields need correcting.", code="interview.rules_invalid", fields=errors)
    found = await session.get(InterviewRules, edition.id)
    if found is None:
        found = InterviewRules(edition_id=edition.id)
        session.add(found)
    found.max_per_booth = data.max_per_booth
    found.max_total = data.max_total
    found.release_at = data.release_at
    found.cancel_cutoff_minutes = data.cancel_cutoff_minutes
    found.offer_minutes = data.offer_minutes
    found.min_notice_minutes = data.min_notice_minutes
    await session.flush()
    return found


def notice(limits: InterviewRules) -> timedelta:
    """The minimum notice: bookings and moves start at least this long after they are made."""
    return timedelta(minutes=limits.min_notice_minutes)


# Can this candidate book now? --------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why a booking cannot succeed now: a msgid, its parameters and a dotted code (`at`: the
    release time, for pages that show it in the reader's language)."""

    message: str
    code: str
    params: dict[str, Any]
    at: datetime | None = None

    def error(self) -> Conflict:
        return Conflict(self.message, code=self.code, params=self.params)


async def booking_refusal(session: AsyncSession, invitation: InterviewInvitation) -> Refusal | None:
    """Whether the invitation's candidate can book a slot now, and if not why (None: they can).

    The one answer for the pages, which show it instead of a booking form (to the candidate,
    and to the recruiter before booking for them), and for `book` itself, which raises it.
    In order: the invitation is closed; it already has an interview (a stale tab); booking
    has not opened yet (the rules' release time); the candidate has as many interviews
    planned with this employer, or in all, as the fair allows.
    """
    if invitation.active_key != 1:
        return Refusal("This invitation is closed.", "interview.invitation_closed", {})
    if await _active_of_invitation(session, invitation.id) is not None:
        return Refusal(
            "You already have an interview for this invitation: change it instead.",
            "interview.already_booked",
            {},
        )
    return await rules_refusal(
        session, candidate_id=invitation.candidate_id, booth_id=invitation.booth_id
    )


async def rules_refusal(
    session: AsyncSession, *, candidate_id: int, booth_id: int
) -> Refusal | None:
    """The edition's rules for this candidate at this booth now: booking not open yet, or as
    many interviews planned as allowed (what a recruiter sees before proposing one)."""
    booth = await _booth(session, booth_id)
    limits = await rules(session, booth.edition_id)
    if limits.release_at is not None and clock.now() < limits.release_at:
        edition = await editions.get(session, booth.edition_id)
        when = limits.release_at.astimezone(ZoneInfo(edition.timezone))
        return Refusal(
            "Booking opens on %(when)s.",
            "interview.not_released",
            {"when": moment(when, edition.timezone, "short")},
            limits.release_at,
        )
    planned = await _planned(session, candidate_id)
    return _over_limit(planned, booth_id, booth.edition_id, limits)


async def _planned(
    session: AsyncSession, candidate_id: int, moving: Interview | None = None
) -> list[tuple[Interview, int]]:
    """The candidate's active interviews not yet over, with their edition (`moving` left out)."""
    query = (
        select(Interview, Booth.edition_id)
        .join(Booth, Booth.id == Interview.booth_id)
        .where(
            Interview.candidate_id == candidate_id,
            Interview.active_key == 1,
            Interview.ends_at > clock.now(),
        )
    )
    if moving is not None:
        query = query.where(Interview.id != moving.id)
    return [(i, edition_id) for i, edition_id in (await session.execute(query)).all()]


def _over_limit(
    planned: list[tuple[Interview, int]], booth_id: int, edition_id: int, limits: InterviewRules
) -> Refusal | None:
    """The edition's limits on planned interviews, per employer's booth and in all."""
    if sum(1 for i, _e in planned if i.booth_id == booth_id) >= limits.max_per_booth:
        return Refusal(
            "You have as many interviews planned with this employer as the fair allows.",
            "interview.limit_booth",
            {},
        )
    if sum(1 for _i, e in planned if e == edition_id) >= limits.max_total:
        return Refusal(
            "You have as many interviews planned as the fair allows.", "interview.limit_total", {}
        )
    return None


# Slots -----------------------------------------------------------------------------------------


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
    await employers.require_member(session, by, booth.employer_id)
    if booth.status != BoothStatus.APPROVED:
        raise Conflict(
            "Slots can be published once the organiser approves the booth.",
            code="interview.booth_not_approved",
        )
    staff = await session.get(User, data.staff_id)
    if staff is None or not await employers.membership(session, staff, booth.employer_id):
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
    booth = await employers.get_booth(session, slot.booth_id)
    await employers.require_member(session, by, booth.employer_id)
    if await _active_on(session, slot.id) is not None:
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
    booth = await _booth(session, booth_id)
    limits = await rules(session, booth.edition_id)
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


async def slots_of_booth(
    session: AsyncSession, booth_id: int
) -> list[tuple[InterviewSlot, Interview | None]]:
    """Every slot not withdrawn, with its active interview if any (the recruiter's agenda)."""
    rows = await session.execute(
        select(InterviewSlot, Interview)
        .outerjoin(Interview, (Interview.slot_id == InterviewSlot.id) & (Interview.active_key == 1))
        .where(InterviewSlot.booth_id == booth_id, InterviewSlot.withdrawn_at.is_(None))
        .order_by(InterviewSlot.starts_at, InterviewSlot.id)
    )
    return [(slot, interview) for slot, interview in rows.all()]


# Invitations -----------------------------------------------------------------------------------


async def invite(
    session: AsyncSession, *, by: User, application: Application
) -> InterviewInvitation:
    """Propose an interview to the candidate of a shortlisted (or interviewed) application.

    The application moves to "interview proposed" (with its notice and live event); inviting
    again while an invitation is open returns it.
    """
    booth = await employers.get_booth(session, application.booth_id)
    await employers.require_member(session, by, booth.employer_id)
    existing = await open_invitation(session, application.id)
    if existing is not None:
        return existing
    current = ApplicationStatus(application.status)
    if ApplicationStatus.INTERVIEW_PROPOSED not in APPLICATION_TRANSITIONS[current]:
        raise Conflict(
            "Shortlist the application before proposing an interview.",
            code="interview.not_shortlisted",
        )
    await applications.set_status(session, application, ApplicationStatus.INTERVIEW_PROPOSED, by=by)
    invitation = InterviewInvitation(
        application_id=application.id,
        booth_id=booth.id,
        candidate_id=application.candidate_id,
        invited_by_id=by.id,
        status=InvitationStatus.OPEN.value,
        active_key=1,
        created_at=clock.now(),
    )
    session.add(invitation)
    await session.flush()
    return invitation


async def open_invitation(session: AsyncSession, application_id: int) -> InterviewInvitation | None:
    found: InterviewInvitation | None = await session.scalar(
        select(InterviewInvitation).where(
            InterviewInvitation.application_id == application_id,
            InterviewInvitation.active_key == 1,
        )
    )
    return found


async def get_invitation(session: AsyncSession, invitation_id: int) -> InterviewInvitation:
    found = await session.get(InterviewInvitation, invitation_id)
    if found is None:
        raise NotFound("This invitation does not exist.", code="interview.not_found")
    return found


async def invitations_of(session: AsyncSession, candidate: User) -> list[InterviewInvitation]:
    rows = await session.scalars(
        select(InterviewInvitation)
        .where(
            InterviewInvitation.candidate_id == candidate.id,
            InterviewInvitation.active_key == 1,
        )
        .order_by(InterviewInvitation.id)
    )
    return list(rows)


async def join_waitlist(
    session: AsyncSession, *, candidate: User, invitation: InterviewInvitation
) -> None:
    """No slot suits: wait for one to be freed (it is then offered for a limited time)."""
    _own(candidate, invitation)
    _require_open(invitation)
    if invitation.waitlisted_at is None:
        invitation.waitlisted_at = clock.now()
        await session.flush()


async def leave_waitlist(
    session: AsyncSession, *, candidate: User, invitation: InterviewInvitation
) -> None:
    _own(candidate, invitation)
    invitation.waitlisted_at = None
    await session.flush()


# Booking ---------------------------------------------------------------------------------------


async def book(
    session: AsyncSession,
    *,
    by: User,
    invitation: InterviewInvitation,
    slot: InterviewSlot,
    mode: InterviewMode,
    accommodation: str = "",
) -> Interview:
    """Book `slot` for the invitation's candidate.

    By the candidate: booked at once. By a recruiter of the booth: pending until the candidate
    confirms. Raises SlotTaken (with the next free slots) when someone else holds the slot.
    """
    by_candidate = by.id == invitation.candidate_id
    if not by_candidate:
        booth = await employers.get_booth(session, invitation.booth_id)
        await employers.require_member(session, by, booth.employer_id)
    accommodation = accommodation.strip()
    if len(accommodation) > MAX_ACCOMMODATION:
        raise Invalid(
            "Describe your needs in 1,000 characters at most.",
            code="interview.invalid",
            fields={"accommodation": "Describe your needs in 1,000 characters at most."},
        )
    if slot.booth_id != invitation.booth_id:
        raise NotFound("This slot does not exist.", code="interview.not_found")
    slot = await _lock_slot(session, slot.id)
    candidate = await _lock_user(session, invitation.candidate_id)
    refusal = await booking_refusal(session, invitation)  # what the page said, under the locks
    if refusal is not None:
        raise refusal.error()
    await _check_slot(session, slot, mode)
    if await _active_on(session, slot.id) is not None:
        raise SlotTaken(await free_slots(session, slot.booth_id, limit=3))
    await _check_rules(session, candidate.id, slot)
    status = InterviewStatus.BOOKED if by_candidate else InterviewStatus.PENDING
    interview = _new(slot, invitation, mode, status)
    interview.accommodation = accommodation
    interview.booked_by_id = by.id
    _no_late_reminder(interview)
    try:
        async with session.begin_nested():
            session.add(interview)
            await session.flush()
    except IntegrityError:  # another transaction took it meanwhile: the constraint decided
        raise SlotTaken(await free_slots(session, slot.booth_id, limit=3)) from None
    invitation.waitlisted_at = None
    if status == InterviewStatus.BOOKED:
        await _schedule_application(session, invitation, by)
    change = InterviewChange.BOOKED if by_candidate else InterviewChange.TO_CONFIRM
    await _tell(session, interview, change)
    return interview


async def confirm(
    session: AsyncSession,
    *,
    candidate: User,
    interview: Interview,
    mode: InterviewMode | None = None,
) -> None:
    """The candidate accepts a booking made for them, or a slot offered from the waiting list.

    For an offered slot they choose the mode among the slot's (video is never imposed).
    """
    interview = await _lock_interview(session, interview.id)
    if interview.candidate_id != candidate.id:
        raise NotYours("This interview does not exist.", code="interview.not_found")
    status = InterviewStatus(interview.status)
    if status not in (InterviewStatus.PENDING, InterviewStatus.OFFERED):
        raise Conflict("There is nothing to confirm.", code="interview.not_pending")
    if status == InterviewStatus.OFFERED:
        assert interview.offer_expires_at is not None
        if clock.now() > interview.offer_expires_at:
            raise Conflict("This offer has expired.", code="interview.offer_expired")
        slot = await _slot(session, interview.slot_id)
        await _check_rules(session, candidate.id, slot, interview)
        if mode is not None:
            if mode not in slot_modes(slot):
                raise Invalid("This slot is not offered in that mode.", code="interview.bad_mode")
            interview.mode = mode.value
    _move(interview, InterviewStatus.BOOKED)
    interview.offer_expires_at = None
    interview.updated_at = clock.now()
    _no_late_reminder(interview)
    await session.flush()
    invitation = await get_invitation(session, interview.invitation_id)
    invitation.waitlisted_at = None
    await _schedule_application(session, invitation, candidate)
    await _tell(session, interview, InterviewChange.CONFIRMED)


async def decline(session: AsyncSession, *, candidate: User, interview: Interview) -> None:
    """The candidate turns down a pending booking or an offered slot; the slot is free again."""
    interview = await _lock_interview(session, interview.id)
    if interview.candidate_id != candidate.id:
        raise NotYours("This interview does not exist.", code="interview.not_found")
    if InterviewStatus(interview.status) not in (InterviewStatus.PENDING, InterviewStatus.OFFERED):
        raise Conflict("There is nothing to decline.", code="interview.not_pending")
    await _release(session, interview, InterviewStatus.DECLINED, by=candidate, reason="")
    await _tell(session, interview, InterviewChange.CANCELLED)
    await _offer_to_waitlist(session, interview.slot_id, skip={interview.invitation_id})


async def cancel(session: AsyncSession, *, by: User, interview: Interview, reason: str) -> None:
    """Either side cancels with a reason, up to the edition's cut-off before the interview.

    The freed slot is offered to the first candidate of the booth's waiting list.
    """
    interview = await _lock_interview(session, interview.id)
    await _require_participant(session, by, interview)
    if not InterviewStatus(interview.status).active:
        raise Conflict("This interview is no longer planned.", code="interview.not_active")
    await _require_before_cutoff(session, interview)
    reason = _reason(reason)
    await _release(session, interview, InterviewStatus.CANCELLED, by=by, reason=reason)
    await _unschedule_application(session, interview, by)
    await _tell(session, interview, InterviewChange.CANCELLED)
    await _offer_to_waitlist(session, interview.slot_id, skip={interview.invitation_id})


async def application_withdrawn(session: AsyncSession, *, application: Application) -> None:
    """After the candidate withdrew `application`: its open invitation closes and its planned
    interview is cancelled (both participants told, the slot offered to the waiting list)."""
    invitation = await open_invitation(session, application.id)
    if invitation is None:
        return
    invitation.status = InvitationStatus.CLOSED.value
    invitation.active_key = None
    invitation.waitlisted_at = None
    active = await _active_of_invitation(session, invitation.id)
    if active is None:
        await session.flush()
        return
    interview = await _lock_interview(session, active.id)
    candidate = await session.get(User, interview.candidate_id)
    recruiter = await session.get(User, interview.recruiter_id)
    reason = _("The candidate withdrew the application.", recruiter.locale if recruiter else "fr")
    await _release(session, interview, InterviewStatus.CANCELLED, by=candidate, reason=reason)
    await _tell(session, interview, InterviewChange.CANCELLED)
    await _offer_to_waitlist(session, interview.slot_id, skip={interview.invitation_id})


async def reschedule(
    session: AsyncSession,
    *,
    by: User,
    interview: Interview,
    slot: InterviewSlot,
    reason: str,
    mode: InterviewMode | None = None,
) -> Interview:
    """Move a planned interview to another slot of the booth: same UID, SEQUENCE raised.

    The old slot is offered to the waiting list. Raises SlotTaken if the new one is held.
    """
    interview = await _lock_interview(session, interview.id)
    await _require_participant(session, by, interview)
    if InterviewStatus(interview.status) not in (InterviewStatus.BOOKED, InterviewStatus.PENDING):
        raise Conflict("This interview is no longer planned.", code="interview.not_active")
    await _require_before_cutoff(session, interview)
    reason = _reason(reason)
    if slot.booth_id != interview.booth_id or slot.id == interview.slot_id:
        raise Invalid("Choose another slot of the same booth.", code="interview.bad_slot")
    mode = mode or InterviewMode(interview.mode)
    slot = await _lock_slot(session, slot.id)
    await _check_slot(session, slot, mode)
    if await _active_on(session, slot.id) is not None:
        raise SlotTaken(await free_slots(session, slot.booth_id, limit=3))
    await _lock_user(session, interview.candidate_id)
    await _check_rules(session, interview.candidate_id, slot, interview)
    old_slot = interview.slot_id
    try:
        async with session.begin_nested():
            interview.slot_id = slot.id
            interview.recruiter_id = slot.staff_id
            interview.starts_at = slot.starts_at
            interview.ends_at = slot.ends_at
            interview.mode = mode.value
            await session.flush()
    except IntegrityError:
        await session.refresh(interview)
        raise SlotTaken(await free_slots(session, slot.booth_id, limit=3)) from None
    interview.sequence += 1
    interview.cancel_reason = reason
    interview.reminded_day_at = None
    interview.reminded_hour_at = None
    _no_late_reminder(interview)
    interview.admitted_at = None
    interview.room_secret = secrets.token_urlsafe(32)  # entry tokens for the old time lapse
    interview.updated_at = clock.now()
    await session.flush()
    await _tell(session, interview, InterviewChange.RESCHEDULED)
    await _offer_to_waitlist(session, old_slot, skip={interview.invitation_id})
    return interview


async def record(
    session: AsyncSession,
    *,
    by: User,
    interview: Interview,
    attended: bool,
    outcome: InterviewOutcome | None = None,
    message: str = "",
) -> None:
    """After its start, a recruiter records the interview: held (with an outcome) or no-show.

    The application follows through applications.set_status: interviewed, then hired, not
    retained, or a new invitation for a second interview; a no-show to "did not attend".
    """
    interview = await _lock_interview(session, interview.id)
    booth = await employers.get_booth(session, interview.booth_id)
    await employers.require_member(session, by, booth.employer_id)
    if interview.status != InterviewStatus.BOOKED:
        raise Conflict("Only a booked interview can be recorded.", code="interview.not_booked")
    if clock.now() < interview.starts_at:
        raise Conflict("The interview has not started yet.", code="interview.too_early")
    invitation = await get_invitation(session, interview.invitation_id)
    application = await applications.get(session, invitation.application_id)
    _move(interview, InterviewStatus.HELD if attended else InterviewStatus.NO_SHOW)
    interview.outcome = outcome.value if attended and outcome else None
    interview.updated_at = clock.now()
    invitation.status = InvitationStatus.CLOSED.value
    invitation.active_key = None
    invitation.waitlisted_at = None
    await session.flush()
    if not attended:
        await _move_application(session, application, ApplicationStatus.NO_SHOW, by)
        return
    await _move_application(session, application, ApplicationStatus.INTERVIEWED, by)
    if outcome == InterviewOutcome.HIRED:
        await _move_application(session, application, ApplicationStatus.HIRED, by, message)
    elif outcome == InterviewOutcome.NOT_RETAINED:
        await _move_application(session, application, ApplicationStatus.NOT_RETAINED, by, message)
    elif outcome == InterviewOutcome.SECOND_INTERVIEW:
        await invite(session, by=by, application=application)


# The worker's rounds ---------------------------------------------------------------------------


async def expire_offers(session: AsyncSession, now: datetime | None = None) -> int:
    """Offers from the waiting list not accepted in time pass to the next candidate."""
    now = now or clock.now()
    expired = list(
        await session.scalars(
            select(Interview)
            .where(
                Interview.status == InterviewStatus.OFFERED,
                Interview.offer_expires_at < now,
            )
            .order_by(Interview.id)
            .with_for_update(skip_locked=True)
        )
    )
    for interview in expired:
        invitation = await get_invitation(session, interview.invitation_id)
        invitation.waitlisted_at = None  # they had their turn
        await _release(session, interview, InterviewStatus.DECLINED, by=None, reason="")
        await _offer_to_waitlist(session, interview.slot_id, skip={interview.invitation_id})
    return len(expired)


async def send_reminders(session: AsyncSession, now: datetime | None = None) -> int:
    """Reminders the day before and an hour before each booked interview, once each (none
    "in one hour" for an interview booked or moved less than an hour before it: see
    `_no_late_reminder`).

    The reminder's timestamp is written in the transaction that queues its mail: both commit
    or neither, so a worker restart never sends one twice.
    """
    now = now or clock.now()
    sent = 0
    soon = list(
        await session.scalars(
            select(Interview)
            .where(
                Interview.status == InterviewStatus.BOOKED,
                Interview.reminded_hour_at.is_(None),
                Interview.starts_at > now,
                Interview.starts_at <= now + HOUR_BEFORE,
            )
            .order_by(Interview.id)
            .with_for_update(skip_locked=True)
        )
    )
    for interview in soon:
        interview.reminded_hour_at = now
        interview.reminded_day_at = interview.reminded_day_at or now  # no day reminder after
        await _tell(session, interview, InterviewChange.REMINDER_HOUR, notice=False, live=False)
        sent += 1
    tomorrow = list(
        await session.scalars(
            select(Interview)
            .where(
                Interview.status == InterviewStatus.BOOKED,
                Interview.reminded_day_at.is_(None),
                Interview.starts_at > now + HOUR_BEFORE,
                Interview.starts_at <= now + DAY_BEFORE,
            )
            .order_by(Interview.id)
            .with_for_update(skip_locked=True)
        )
    )
    for interview in tomorrow:
        interview.reminded_day_at = now
        await _tell(session, interview, InterviewChange.REMINDER_DAY, notice=False, live=False)
        sent += 1
    await session.flush()
    return sent


# Reads -----------------------------------------------------------------------------------------


async def get(session: AsyncSession, interview_id: int) -> Interview:
    found = await session.get(Interview, interview_id)
    if found is None:
        raise NotFound("This interview does not exist.", code="interview.not_found")
    return found


async def get_slot(session: AsyncSession, slot_id: int) -> InterviewSlot:
    return await _slot(session, slot_id)


async def of_candidate(session: AsyncSession, candidate: User) -> list[Interview]:
    rows = await session.scalars(
        select(Interview)
        .where(Interview.candidate_id == candidate.id)
        .order_by(Interview.starts_at.desc(), Interview.id.desc())
    )
    return list(rows)


async def of_booth(session: AsyncSession, booth_id: int) -> list[Interview]:
    rows = await session.scalars(
        select(Interview)
        .where(Interview.booth_id == booth_id, Interview.status != InterviewStatus.DECLINED)
        .order_by(Interview.starts_at, Interview.id)
    )
    return list(rows)


async def feed_token(session: AsyncSession, user: User) -> str:
    """The candidate's private calendar feed token, made on first use."""
    found = await session.get(CalendarFeed, user.id)
    if found is None:
        found = CalendarFeed(
            user_id=user.id, token=secrets.token_urlsafe(24), created_at=clock.now()
        )
        session.add(found)
        await session.flush()
    return found.token


async def feed(session: AsyncSession, token: str) -> str:
    """The calendar of the feed's owner: their planned and past interviews (not cancelled)."""
    found = await session.scalar(select(CalendarFeed).where(CalendarFeed.token == token))
    if found is None or len(token) < 16:
        raise NotFound("This calendar does not exist.", code="interview.not_found")
    user = await session.get(User, found.user_id)
    assert user is not None
    rows = await session.scalars(
        select(Interview)
        .where(
            Interview.candidate_id == user.id,
            Interview.status.in_(
                [
                    InterviewStatus.BOOKED.value,
                    InterviewStatus.HELD.value,
                    InterviewStatus.PENDING.value,
                ]
            ),
        )
        .order_by(Interview.starts_at)
    )
    meetings = [await _meeting(session, i, user.locale) for i in rows]
    return calendar.feed(meetings, _("My interviews", user.locale))


# Helpers ---------------------------------------------------------------------------------------


def _own(candidate: User, invitation: InterviewInvitation) -> None:
    if invitation.candidate_id != candidate.id:
        raise NotYours("This invitation does not exist.", code="interview.not_found")


def _require_open(invitation: InterviewInvitation) -> None:
    if invitation.active_key != 1:
        raise Conflict("This invitation is closed.", code="interview.invitation_closed")


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        text = "Give a reason (500 characters at most)."
        raise Invalid(text, code="interview.reason", fields={"reason": text})
    return reason


async def _require_participant(session: AsyncSession, user: User, interview: Interview) -> None:
    if user.id == interview.candidate_id:
        return
    if user.role == Role.RECRUITER:
        booth = await employers.get_booth(session, interview.booth_id)
        if await employers.membership(session, user, booth.employer_id):
            return
    raise NotYours("This interview does not exist.", code="interview.not_found")


async def _require_before_cutoff(session: AsyncSession, interview: Interview) -> None:
    booth = await _booth(session, interview.booth_id)
    cutoff = timedelta(minutes=(await rules(session, booth.edition_id)).cancel_cutoff_minutes)
    if clock.now() > interview.starts_at - cutoff:
        raise Conflict(
            "Too late to change this interview: %(minutes)s minutes before it at the latest.",
            code="interview.too_late",
            params={"minutes": int(cutoff.total_seconds() // 60)},
        )


async def _check_slot(session: AsyncSession, slot: InterviewSlot, mode: InterviewMode) -> None:
    """A slot to book or move to: not withdrawn, not passed, not sooner than the minimum
    notice (each answered with the next free slots), offered in `mode`."""
    now = clock.now()
    if slot.withdrawn_at is not None or slot.starts_at <= now:
        raise SlotTaken(await free_slots(session, slot.booth_id, limit=3))
    booth = await _booth(session, slot.booth_id)
    minimum = notice(await rules(session, booth.edition_id))
    if slot.starts_at < now + minimum:
        raise SlotTaken(
            await free_slots(session, slot.booth_id, limit=3),
            "This slot starts too soon: interviews are booked or moved at least %(minutes)s "
            "minutes ahead. Choose a later one.",
            {"minutes": int(minimum.total_seconds() // 60)},
        )
    if mode not in slot_modes(slot):
        raise Invalid("This slot is not offered in that mode.", code="interview.bad_mode")


def _no_late_reminder(interview: Interview) -> None:
    """Booked or moved less than an hour before it starts: no "in one hour" reminder (nor one
    for the day) will follow; the booking's own mail says when it is."""
    now = clock.now()
    if interview.starts_at - now < HOUR_BEFORE:
        interview.reminded_hour_at = interview.reminded_day_at = now


async def _check_rules(
    session: AsyncSession, candidate_id: int, slot: InterviewSlot, moving: Interview | None = None
) -> None:
    """No overlap with any planned interview, and the edition's limits on future bookings.

    Called with the candidate's row locked, so two bookings of theirs cannot both pass.
    """
    booth = await _booth(session, slot.booth_id)
    limits = await rules(session, booth.edition_id)
    planned = await _planned(session, candidate_id, moving)
    if any(i.starts_at < slot.ends_at and i.ends_at > slot.starts_at for i, _e in planned):
        raise Conflict("You already have an interview at that time.", code="interview.overlap")
    refusal = _over_limit(planned, slot.booth_id, booth.edition_id, limits)
    if refusal is not None:
        raise refusal.error()


async def _release(
    session: AsyncSession,
    interview: Interview,
    status: InterviewStatus,
    *,
    by: User | None,
    reason: str,
) -> None:
    _move(interview, status)
    interview.offer_expires_at = None
    interview.sequence += 1
    interview.cancelled_by_id = by.id if by else None
    interview.cancel_reason = reason
    interview.updated_at = clock.now()
    interview.room_secret = secrets.token_urlsafe(32)  # its room's entry tokens lapse
    await session.flush()


async def _offer_to_waitlist(session: AsyncSession, slot_id: int, *, skip: set[int]) -> None:
    """Offer a freed slot to the booth's first waiting candidate who can take it."""
    slot = await _slot(session, slot_id)
    now = clock.now()
    booth = await _booth(session, slot.booth_id)
    limits = await rules(session, booth.edition_id)
    if slot.withdrawn_at is not None or slot.starts_at < now + notice(limits):
        return
    if await _active_on(session, slot.id) is not None:
        return
    waiting = await session.scalars(
        select(InterviewInvitation)
        .where(
            InterviewInvitation.booth_id == slot.booth_id,
            InterviewInvitation.active_key == 1,
            InterviewInvitation.waitlisted_at.is_not(None),
        )
        .order_by(InterviewInvitation.waitlisted_at, InterviewInvitation.id)
    )
    for invitation in waiting:
        if invitation.id in skip or await _active_of_invitation(session, invitation.id):
            continue
        try:
            await _check_rules(session, invitation.candidate_id, slot)
        except Conflict:
            continue
        expires = min(now + timedelta(minutes=limits.offer_minutes), slot.starts_at)
        interview = _new(slot, invitation, slot_modes(slot)[0], InterviewStatus.OFFERED)
        interview.offer_expires_at = expires
        session.add(interview)
        await session.flush()
        await _tell(session, interview, InterviewChange.OFFERED, recruiter=False)
        return


async def _schedule_application(
    session: AsyncSession, invitation: InterviewInvitation, by: User
) -> None:
    application = await applications.get(session, invitation.application_id)
    recruiter = (
        by if by.role == Role.RECRUITER else await session.get(User, invitation.invited_by_id or 0)
    )
    if recruiter is None:
        return
    await _move_application(session, application, ApplicationStatus.INTERVIEW_SCHEDULED, recruiter)


async def _unschedule_application(session: AsyncSession, interview: Interview, by: User) -> None:
    invitation = await get_invitation(session, interview.invitation_id)
    application = await applications.get(session, invitation.application_id)
    recruiter = by if by.role == Role.RECRUITER else await session.get(User, interview.recruiter_id)
    if recruiter is not None:
        await _move_application(
            session, application, ApplicationStatus.INTERVIEW_PROPOSED, recruiter
        )


async def _move_application(
    session: AsyncSession,
    application: Application,
    new: ApplicationStatus,
    by: User,
    message: str = "",
) -> None:
    """Move as far as the transitions allow (a withdrawn application stays withdrawn)."""
    current = ApplicationStatus(application.status)
    if current == new or new not in APPLICATION_TRANSITIONS[current]:
        return
    await applications.set_status(session, application, new, by=by, message=message)


def _move(interview: Interview, new: InterviewStatus) -> None:
    """The only writer of Interview.status after creation; active_key (the slot's guard) is 1
    exactly while the status holds the slot."""
    interview.status = new.value
    interview.active_key = 1 if new.active else None


def _new(
    slot: InterviewSlot,
    invitation: InterviewInvitation,
    mode: InterviewMode,
    status: InterviewStatus,
) -> Interview:
    """An active interview on `slot` for the invitation's candidate (not yet added)."""
    now = clock.now()
    return Interview(
        uid=f"{uuid.uuid4()}@fair",
        sequence=0,
        slot_id=slot.id,
        invitation_id=invitation.id,
        booth_id=slot.booth_id,
        candidate_id=invitation.candidate_id,
        recruiter_id=slot.staff_id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        mode=mode.value,
        accommodation="",
        status=status.value,
        active_key=1 if status.active else None,
        created_at=now,
        updated_at=now,
        room_secret=secrets.token_urlsafe(32),
    )


async def _booth(session: AsyncSession, booth_id: int) -> Booth:
    """The booth row alone (from the session's identity map when already read): enough for
    its edition_id, without get_booth's employer and edition loads."""
    found = await session.get(Booth, booth_id)
    if found is None:
        raise NotFound("This booth does not exist.")
    return found


async def _active_on(session: AsyncSession, slot_id: int) -> Interview | None:
    found: Interview | None = await session.scalar(
        select(Interview).where(Interview.slot_id == slot_id, Interview.active_key == 1)
    )
    return found


async def _active_of_invitation(session: AsyncSession, invitation_id: int) -> Interview | None:
    found: Interview | None = await session.scalar(
        select(Interview).where(Interview.invitation_id == invitation_id, Interview.active_key == 1)
    )
    return found


async def _slot(session: AsyncSession, slot_id: int) -> InterviewSlot:
    found = await session.get(InterviewSlot, slot_id)
    if found is None:
        raise NotFound("This slot does not exist.", code="interview.not_found")
    return found


async def _lock_slot(session: AsyncSession, slot_id: int) -> InterviewSlot:
    found: InterviewSlot | None = await session.scalar(
        select(InterviewSlot)
        .where(InterviewSlot.id == slot_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound("This slot does not exist.", code="interview.not_found")
    return found


async def _lock_user(session: AsyncSession, user_id: int) -> User:
    """Serialise one candidate's bookings (rules, overlaps); FOR NO KEY UPDATE spares FKs."""
    found: User | None = await session.scalar(
        select(User).where(User.id == user_id).with_for_update(key_share=True)
    )
    if found is None:
        raise NotFound("This account does not exist.")
    return found


async def _lock_interview(session: AsyncSession, interview_id: int) -> Interview:
    found: Interview | None = await session.scalar(
        select(Interview)
        .where(Interview.id == interview_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound("This interview does not exist.", code="interview.not_found")
    return found


# Telling people --------------------------------------------------------------------------------

SUBJECTS = {
    InterviewChange.BOOKED: N_("Interview booked: %(employer)s, %(when)s"),
    InterviewChange.TO_CONFIRM: N_("Interview to confirm: %(employer)s, %(when)s"),
    InterviewChange.CONFIRMED: N_("Interview confirmed: %(employer)s, %(when)s"),
    InterviewChange.RESCHEDULED: N_("Interview moved: %(employer)s, %(when)s"),
    InterviewChange.CANCELLED: N_("Interview cancelled: %(employer)s, %(when)s"),
    InterviewChange.OFFERED: N_("A slot is free for you: %(employer)s, %(when)s"),
    InterviewChange.REMINDER_DAY: N_("Reminder: interview with %(employer)s, %(when)s"),
    InterviewChange.REMINDER_HOUR: N_(
        "Reminder: interview in one hour with %(employer)s, %(when)s"
    ),
}
LEADS = {
    InterviewChange.BOOKED: N_("Your interview is booked."),
    InterviewChange.TO_CONFIRM: N_("A recruiter booked an interview for you: please confirm it."),
    InterviewChange.CONFIRMED: N_("The interview is confirmed."),
    InterviewChange.RESCHEDULED: N_("The interview has moved to a new time."),
    InterviewChange.CANCELLED: N_("The interview is cancelled."),
    InterviewChange.OFFERED: N_(
        "A slot was freed and is offered to you: accept it before %(until)s."
    ),
    InterviewChange.REMINDER_DAY: N_("A reminder of your interview within the next day."),
    InterviewChange.REMINDER_HOUR: N_("Your interview starts in one hour."),
}
NOTICES = {
    InterviewChange.BOOKED.value: N_("Your interview with %(employer)s is booked."),
    InterviewChange.TO_CONFIRM.value: N_("%(employer)s booked an interview for you: confirm it."),
    InterviewChange.CONFIRMED.value: N_("Your interview with %(employer)s is confirmed."),
    InterviewChange.RESCHEDULED.value: N_("Your interview with %(employer)s has moved."),
    InterviewChange.CANCELLED.value: N_("Your interview with %(employer)s is cancelled."),
    InterviewChange.OFFERED.value: N_("A slot with %(employer)s is free for you: accept it soon."),
}
MODE_HOW = {
    InterviewMode.VIDEO: N_(
        "By video in your browser: %(link)s (the room opens 10 minutes before)."
    ),
    InterviewMode.PHONE: N_(
        "By phone: the recruiter calls the number in your profile. See %(link)s"
    ),
    InterviewMode.CHAT: N_("By written chat in your browser: %(link)s"),
}


def _when(at: datetime, zone: str, locale: str) -> str:
    from babel.dates import format_datetime

    return format_datetime(at.astimezone(ZoneInfo(zone)), "EEEE d MMMM HH:mm", locale=locale)


async def _context(
    session: AsyncSession, interview: Interview
) -> tuple[User, User, Employer, Edition]:
    candidate = await session.get(User, interview.candidate_id)
    recruiter = await session.get(User, interview.recruiter_id)
    booth = await employers.get_booth(session, interview.booth_id)
    edition = await editions.get(session, booth.edition_id)
    assert candidate is not None and recruiter is not None
    return candidate, recruiter, booth.employer, edition


def room_link(interview: Interview) -> str:
    return f"{fair_settings.get().base_url}/interviews/{interview.id}"


async def _meeting(session: AsyncSession, interview: Interview, locale: str) -> calendar.Meeting:
    return _meeting_of(interview, locale, await _context(session, interview))


def _meeting_of(
    interview: Interview, locale: str, context: tuple[User, User, Employer, Edition]
) -> calendar.Meeting:
    """The interview as calendars see it, from the people and places `_context` read."""
    candidate, recruiter, employer, edition = context
    mode = InterviewMode(interview.mode)
    how = _(MODE_HOW[mode], locale, link=room_link(interview))
    status = InterviewStatus(interview.status)
    return calendar.Meeting(
        uid=interview.uid,
        sequence=interview.sequence,
        starts_at=interview.starts_at,
        ends_at=interview.ends_at,
        zone=edition.timezone,
        summary=_(
            "Interview: %(employer)s and %(candidate)s",
            locale,
            employer=employer.name,
            candidate=candidate.name,
        ),
        description=how,
        location=room_link(interview),
        organizer=(recruiter.name, recruiter.email),
        attendees=((candidate.name, candidate.email), (recruiter.name, recruiter.email)),
        cancelled=not status.active
        and status not in (InterviewStatus.HELD, InterviewStatus.NO_SHOW),
        stamp=interview.updated_at,
    )


async def _tell(
    session: AsyncSession,
    interview: Interview,
    change: InterviewChange,
    *,
    recruiter: bool = True,
    notice: bool = True,
    live: bool = True,
) -> None:
    """Notice, live event and mail with its calendar to the candidate (and the recruiter)."""
    context = await _context(session, interview)
    candidate, staff, employer, edition = context
    people = [candidate] + ([staff] if recruiter else [])
    for person in people:
        locale = person.locale or "fr"
        when = _when(interview.starts_at, edition.timezone, locale)
        until = (
            _when(interview.offer_expires_at, edition.timezone, locale)
            if interview.offer_expires_at
            else ""
        )
        subject = _(SUBJECTS[change], locale, employer=employer.name, when=when)
        lines = [
            _("Hello %(name)s,", locale, name=person.name),
            "",
            _(LEADS[change], locale, until=until),
            _(
                "With: %(who)s",
                locale,
                who=candidate.name if person is staff else f"{staff.name} ({employer.name})",
            ),
            _("When: %(when)s", locale, when=when),
            _(MODE_HOW[InterviewMode(interview.mode)], locale, link=room_link(interview)),
        ]
        if interview.cancel_reason and change in (
            InterviewChange.CANCELLED,
            InterviewChange.RESCHEDULED,
        ):
            lines.append(_("Reason: %(reason)s", locale, reason=interview.cancel_reason))
        if person is staff and interview.accommodation:
            lines.append(_("Accommodation asked: %(need)s", locale, need=interview.accommodation))
        ics = None
        if change not in (InterviewChange.OFFERED, InterviewChange.TO_CONFIRM) or person is staff:
            ics = calendar.invitation(_meeting_of(interview, locale, context))
        await mail.queue(
            session, to=person.email, subject=subject, body="\n".join(lines) + "\n", calendar=ics
        )
        if notice:
            await notices.add(
                session,
                user_id=person.id,
                kind=NoticeKind.INTERVIEW,
                params={
                    "interview_id": interview.id,
                    "change": change.value,
                    "employer": employer.name,
                },
                link=f"/interviews/{interview.id}",
            )
        if live:
            events.emit(
                session,
                channel=channels.user(person.id),
                event="interview.changed",
                payload={
                    "interview_id": interview.id,
                    "change": change.value,
                    "status": interview.status,
                },
            )


# Organiser figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BoothFigures:
    """One booth's interviews for the organiser: slots published, and interviews by outcome."""

    booth_id: int
    employer: str
    slots: int = 0
    booked: int = 0  # planned and confirmed (status booked)
    held: int = 0
    no_shows: int = 0
    cancelled: int = 0


async def figures(session: AsyncSession, edition_id: int) -> list[BoothFigures]:
    """Per booth of the edition (approved, or with slots), by employer name; three queries."""
    from sqlalchemy import func

    from fair.enums import BoothStatus

    slot_counts: dict[int, int] = {
        booth_id: n
        for booth_id, n in await session.execute(
            select(InterviewSlot.booth_id, func.count(InterviewSlot.id))
            .join(Booth, Booth.id == InterviewSlot.booth_id)
            .where(Booth.edition_id == edition_id, InterviewSlot.withdrawn_at.is_(None))
            .group_by(InterviewSlot.booth_id)
        )
    }
    by_status: dict[tuple[int, str], int] = {
        (booth_id, status): n
        for booth_id, status, n in await session.execute(
            select(Interview.booth_id, Interview.status, func.count(Interview.id))
            .join(Booth, Booth.id == Interview.booth_id)
            .where(Booth.edition_id == edition_id)
            .group_by(Interview.booth_id, Interview.status)
        )
    }
    booths = await session.execute(
        select(Booth.id, Booth.status, Employer.name)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(Booth.edition_id == edition_id)
        .order_by(Employer.name, Booth.id)
    )
    return [
        BoothFigures(
            booth_id=booth_id,
            employer=name,
            slots=slot_counts.get(booth_id, 0),
            booked=by_status.get((booth_id, InterviewStatus.BOOKED.value), 0),
            held=by_status.get((booth_id, InterviewStatus.HELD.value), 0),
            no_shows=by_status.get((booth_id, InterviewStatus.NO_SHOW.value), 0),
            cancelled=by_status.get((booth_id, InterviewStatus.CANCELLED.value), 0),
        )
        for booth_id, status, name in booths
        if status == BoothStatus.APPROVED.value or booth_id in slot_counts
    ]
