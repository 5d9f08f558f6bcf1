"""The interview's life: the only writers of its status, and the application following it.

Application statuses move only through applications.set_status: booked → interview scheduled,
cancelled → interview proposed again, held → interviewed (then hired / not retained / a second
interview), no-show → did not attend.
"""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from fair import applications, clock
from fair.enums import (
    APPLICATION_TRANSITIONS,
    ApplicationStatus,
    InterviewMode,
    InterviewStatus,
    InvitationStatus,
    Role,
)
from fair.interviews.reads import get_invitation
from fair.models import Application, Interview, InterviewInvitation, InterviewSlot, User


def move(interview: Interview, new: InterviewStatus) -> None:
    """The only writer of Interview.status after creation; active_key (the slot's guard) is 1
    exactly while the status holds the slot."""
    interview.status = new.value
    interview.active_key = 1 if new.active else None


def close_invitation(invitation: InterviewInvitation) -> None:
    """The only writer of InterviewInvitation.status after creation: the invitation is closed
    (its interview held or missed, or its application withdrawn), off the waiting list, and no
    longer the application's open one (active_key)."""
    invitation.status = InvitationStatus.CLOSED.value
    invitation.active_key = None
    invitation.waitlisted_at = None


def new(
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


async def release(
    session: AsyncSession,
    interview: Interview,
    status: InterviewStatus,
    *,
    by: User | None,
    reason: str,
) -> None:
    move(interview, status)
    interview.offer_expires_at = None
    interview.sequence += 1
    interview.cancelled_by_id = by.id if by else None
    interview.cancel_reason = reason
    interview.updated_at = clock.now()
    interview.room_secret = secrets.token_urlsafe(32)  # its room's entry tokens lapse
    await session.flush()


async def schedule_application(
    session: AsyncSession, invitation: InterviewInvitation, by: User
) -> None:
    application = await applications.get(session, invitation.application_id)
    recruiter = (
        by if by.role == Role.RECRUITER else await session.get(User, invitation.invited_by_id or 0)
    )
    if recruiter is None:
        return
    await move_application(session, application, ApplicationStatus.INTERVIEW_SCHEDULED, recruiter)


async def unschedule_application(session: AsyncSession, interview: Interview, by: User) -> None:
    invitation = await get_invitation(session, interview.invitation_id)
    application = await applications.get(session, invitation.application_id)
    recruiter = by if by.role == Role.RECRUITER else await session.get(User, interview.recruiter_id)
    if recruiter is not None:
        await move_application(
            session, application, ApplicationStatus.INTERVIEW_PROPOSED, recruiter
        )


async def move_application(
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
