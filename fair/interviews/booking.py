"""Invitations and bookings: propose, book, confirm, decline, cancel, move, record.

A recruiter invites a shortlisted candidate from the pipeline; the candidate books a slot (or
a recruiter books one for them, and they confirm). The edition's rules (fair.interviews.limits)
bound bookings.

Booking is race-safe: the slot row is locked (FOR UPDATE on PostgreSQL; SQLite's write session
holds the database lock), the candidate too (their rules and overlaps are counted under it), and
the unique constraint (slot_id, active_key) is the last guard. A taken slot answers SlotTaken
with the next free slots. Every change tells both participants (fair.interviews.telling).
"""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fair import applications, clock, webhooks
from fair.enums import (
    ApplicationStatus,
    InterviewChange,
    InterviewMode,
    InterviewOutcome,
    InterviewStatus,
    InvitationStatus,
)
from fair.errors import Conflict, Invalid, NotFound
from fair.i18n import gettext as _
from fair.interviews import lifecycle
from fair.interviews.limits import booking_refusal, check_planned, require_before_cutoff
from fair.interviews.reads import (
    active_of_invitation,
    active_on,
    get_invitation,
    get_slot,
    lock_interview,
    lock_slot,
    lock_user,
    open_invitation,
)
from fair.interviews.reminders import no_late_reminder
from fair.interviews.rules import (
    ANSWERABLE,
    PLANNED,
    booth_of_staff,
    invitable,
    require_booker,
    require_candidate,
    require_participant,
)
from fair.interviews.slots import SlotTaken, check_slot, free_slots, slot_modes
from fair.interviews.telling import tell
from fair.interviews.waitlist import offer_to_waitlist
from fair.models import Application, Interview, InterviewInvitation, InterviewSlot, User
from fair.on_behalf import Acting

MAX_REASON = 500
MAX_ACCOMMODATION = 1000


async def invite(
    session: AsyncSession, *, by: User, application: Application
) -> InterviewInvitation:
    """Propose an interview to the candidate of a shortlisted (or interviewed) application.

    The application moves to "interview proposed" (with its notice and live event); inviting
    again while an invitation is open returns it.
    """
    booth = await booth_of_staff(session, by, application.booth_id)
    existing = await open_invitation(session, application.id)
    if existing is not None:
        return existing
    if not invitable(application):
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


async def book(
    session: AsyncSession,
    *,
    by: User,
    invitation: InterviewInvitation,
    slot: InterviewSlot,
    mode: InterviewMode,
    accommodation: str = "",
    acting: Acting | None = None,
) -> Interview:
    """Book `slot` for the invitation's candidate.

    By the candidate: booked at once. By a recruiter of the booth: pending until the candidate
    confirms. Raises SlotTaken (with the next free slots) when someone else holds the slot.
    `acting`: a counsellor books for the candidate (`by`, the candidate; fair.counsellors
    checked the accompaniment): recorded as the booker, and the candidate's mail says so.
    """
    by_candidate = await require_booker(session, by, invitation)
    accommodation = accommodation.strip()
    if len(accommodation) > MAX_ACCOMMODATION:
        raise Invalid(
            "Describe your needs in 1,000 characters at most.",
            code="interview.invalid",
            fields={"accommodation": "Describe your needs in 1,000 characters at most."},
        )
    if slot.booth_id != invitation.booth_id:
        raise NotFound("This slot does not exist.", code="interview.not_found")
    slot = await lock_slot(session, slot.id)
    candidate = await lock_user(session, invitation.candidate_id)
    refusal = await booking_refusal(session, invitation)  # what the page said, under the locks
    if refusal is not None:
        raise refusal.error()
    await check_slot(session, slot, mode)
    if await active_on(session, slot.id) is not None:
        raise SlotTaken(await free_slots(session, slot.booth_id, limit=3))
    await check_planned(session, candidate.id, slot)
    status = InterviewStatus.BOOKED if by_candidate else InterviewStatus.PENDING
    interview = lifecycle.new(slot, invitation, mode, status)
    interview.accommodation = accommodation
    interview.booked_by_id = acting.counsellor_id if acting else by.id
    no_late_reminder(interview)
    try:
        async with session.begin_nested():
            session.add(interview)
            await session.flush()
    except IntegrityError:  # another transaction took it meanwhile: the constraint decided
        raise SlotTaken(await free_slots(session, slot.booth_id, limit=3)) from None
    invitation.waitlisted_at = None
    if status == InterviewStatus.BOOKED:
        await lifecycle.schedule_application(session, invitation, by)
        await webhooks.interview_event(session, "interview.booked", interview)
    change = InterviewChange.BOOKED if by_candidate else InterviewChange.TO_CONFIRM
    await tell(session, interview, change, acting=acting)
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
    interview = await lock_interview(session, interview.id)
    require_candidate(candidate, interview)
    status = InterviewStatus(interview.status)
    if status not in ANSWERABLE:
        raise Conflict("There is nothing to confirm.", code="interview.not_pending")
    if status == InterviewStatus.OFFERED:
        assert interview.offer_expires_at is not None
        if clock.now() > interview.offer_expires_at:
            raise Conflict("This offer has expired.", code="interview.offer_expired")
        slot = await get_slot(session, interview.slot_id)
        await check_planned(session, candidate.id, slot, interview)
        if mode is not None:
            if mode not in slot_modes(slot):
                raise Invalid("This slot is not offered in that mode.", code="interview.bad_mode")
            interview.mode = mode.value
    lifecycle.move(interview, InterviewStatus.BOOKED)
    interview.offer_expires_at = None
    interview.updated_at = clock.now()
    no_late_reminder(interview)
    await session.flush()
    invitation = await get_invitation(session, interview.invitation_id)
    invitation.waitlisted_at = None
    await lifecycle.schedule_application(session, invitation, candidate)
    await webhooks.interview_event(session, "interview.booked", interview)
    await tell(session, interview, InterviewChange.CONFIRMED)


async def decline(session: AsyncSession, *, candidate: User, interview: Interview) -> None:
    """The candidate turns down a pending booking or an offered slot; the slot is free again."""
    interview = await lock_interview(session, interview.id)
    require_candidate(candidate, interview)
    if InterviewStatus(interview.status) not in ANSWERABLE:
        raise Conflict("There is nothing to decline.", code="interview.not_pending")
    await lifecycle.release(session, interview, InterviewStatus.DECLINED, by=candidate, reason="")
    await tell(session, interview, InterviewChange.CANCELLED)
    await offer_to_waitlist(session, interview.slot_id, skip={interview.invitation_id})


async def cancel(session: AsyncSession, *, by: User, interview: Interview, reason: str) -> None:
    """Either side cancels with a reason, up to the edition's cut-off before the interview.

    The freed slot is offered to the first candidate of the booth's waiting list.
    """
    interview = await lock_interview(session, interview.id)
    await require_participant(session, by, interview)
    if not InterviewStatus(interview.status).active:
        raise Conflict("This interview is no longer planned.", code="interview.not_active")
    await require_before_cutoff(session, interview)
    reason = _reason(reason)
    await lifecycle.release(session, interview, InterviewStatus.CANCELLED, by=by, reason=reason)
    await lifecycle.unschedule_application(session, interview, by)
    await webhooks.interview_event(session, "interview.cancelled", interview)
    await tell(session, interview, InterviewChange.CANCELLED)
    await offer_to_waitlist(session, interview.slot_id, skip={interview.invitation_id})


async def application_withdrawn(session: AsyncSession, *, application: Application) -> None:
    """After the candidate withdrew `application`: its open invitation closes and its planned
    interview is cancelled (both participants told, the slot offered to the waiting list)."""
    invitation = await open_invitation(session, application.id)
    if invitation is None:
        return
    lifecycle.close_invitation(invitation)
    active = await active_of_invitation(session, invitation.id)
    if active is None:
        await session.flush()
        return
    interview = await lock_interview(session, active.id)
    candidate = await session.get(User, interview.candidate_id)
    recruiter = await session.get(User, interview.recruiter_id)
    reason = _("The candidate withdrew the application.", recruiter.locale if recruiter else "fr")
    await lifecycle.release(
        session, interview, InterviewStatus.CANCELLED, by=candidate, reason=reason
    )
    await webhooks.interview_event(session, "interview.cancelled", interview)
    await tell(session, interview, InterviewChange.CANCELLED)
    await offer_to_waitlist(session, interview.slot_id, skip={interview.invitation_id})


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
    interview = await lock_interview(session, interview.id)
    await require_participant(session, by, interview)
    if InterviewStatus(interview.status) not in PLANNED:
        raise Conflict("This interview is no longer planned.", code="interview.not_active")
    await require_before_cutoff(session, interview)
    reason = _reason(reason)
    if slot.booth_id != interview.booth_id or slot.id == interview.slot_id:
        raise Invalid("Choose another slot of the same booth.", code="interview.bad_slot")
    mode = mode or InterviewMode(interview.mode)
    slot = await lock_slot(session, slot.id)
    await check_slot(session, slot, mode)
    if await active_on(session, slot.id) is not None:
        raise SlotTaken(await free_slots(session, slot.booth_id, limit=3))
    await lock_user(session, interview.candidate_id)
    await check_planned(session, interview.candidate_id, slot, interview)
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
    no_late_reminder(interview)
    interview.admitted_at = None
    interview.room_secret = secrets.token_urlsafe(32)  # entry tokens for the old time lapse
    interview.updated_at = clock.now()
    await session.flush()
    await webhooks.interview_event(session, "interview.moved", interview)
    await tell(session, interview, InterviewChange.RESCHEDULED)
    await offer_to_waitlist(session, old_slot, skip={interview.invitation_id})
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
    interview = await lock_interview(session, interview.id)
    await booth_of_staff(session, by, interview.booth_id)
    if interview.status != InterviewStatus.BOOKED:
        raise Conflict("Only a booked interview can be recorded.", code="interview.not_booked")
    if clock.now() < interview.starts_at:
        raise Conflict("The interview has not started yet.", code="interview.too_early")
    invitation = await get_invitation(session, interview.invitation_id)
    application = await applications.get(session, invitation.application_id)
    lifecycle.move(interview, InterviewStatus.HELD if attended else InterviewStatus.NO_SHOW)
    interview.outcome = outcome.value if attended and outcome else None
    interview.updated_at = clock.now()
    lifecycle.close_invitation(invitation)
    await session.flush()
    if not attended:
        await lifecycle.move_application(session, application, ApplicationStatus.NO_SHOW, by)
        return
    await lifecycle.move_application(session, application, ApplicationStatus.INTERVIEWED, by)
    if outcome == InterviewOutcome.HIRED:
        await lifecycle.move_application(session, application, ApplicationStatus.HIRED, by, message)
    elif outcome == InterviewOutcome.NOT_RETAINED:
        await lifecycle.move_application(
            session, application, ApplicationStatus.NOT_RETAINED, by, message
        )
    elif outcome == InterviewOutcome.SECOND_INTERVIEW:
        await invite(session, by=by, application=application)


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        text = "Give a reason (500 characters at most)."
        raise Invalid(text, code="interview.reason", fields={"reason": text})
    return reason
