"""The waiting list: candidates no slot suits wait for one to be freed.

A freed slot is offered to the booth's first waiting candidate who can take it, for the
edition's offer time (`InterviewRules.offer_minutes`); an offer not accepted in time passes to
the next (`expire_offers`, the worker's round).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock
from fair.enums import InterviewChange, InterviewStatus
from fair.errors import Conflict
from fair.interviews import lifecycle
from fair.interviews.limits import booking_rules, check_planned, notice
from fair.interviews.reads import (
    active_of_invitation,
    active_on,
    booth_row,
    get_invitation,
    get_slot,
)
from fair.interviews.rules import require_own_invitation
from fair.interviews.slots import slot_modes
from fair.interviews.telling import tell
from fair.models import Interview, InterviewInvitation, User


async def join_waitlist(
    session: AsyncSession, *, candidate: User, invitation: InterviewInvitation
) -> None:
    """No slot suits: wait for one to be freed (it is then offered for a limited time)."""
    require_own_invitation(candidate, invitation)
    _require_open(invitation)
    if invitation.waitlisted_at is None:
        invitation.waitlisted_at = clock.now()
        await session.flush()


async def leave_waitlist(
    session: AsyncSession, *, candidate: User, invitation: InterviewInvitation
) -> None:
    require_own_invitation(candidate, invitation)
    invitation.waitlisted_at = None
    await session.flush()


def _require_open(invitation: InterviewInvitation) -> None:
    if invitation.active_key != 1:
        raise Conflict("This invitation is closed.", code="interview.invitation_closed")


async def offer_to_waitlist(session: AsyncSession, slot_id: int, *, skip: set[int]) -> None:
    """Offer a freed slot to the booth's first waiting candidate who can take it."""
    slot = await get_slot(session, slot_id)
    now = clock.now()
    booth = await booth_row(session, slot.booth_id)
    limits = await booking_rules(session, booth.edition_id)
    if slot.withdrawn_at is not None or slot.starts_at < now + notice(limits):
        return
    if await active_on(session, slot.id) is not None:
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
        if invitation.id in skip or await active_of_invitation(session, invitation.id):
            continue
        try:
            await check_planned(session, invitation.candidate_id, slot)
        except Conflict:
            continue
        expires = min(now + timedelta(minutes=limits.offer_minutes), slot.starts_at)
        interview = lifecycle.new(slot, invitation, slot_modes(slot)[0], InterviewStatus.OFFERED)
        interview.offer_expires_at = expires
        session.add(interview)
        await session.flush()
        await tell(session, interview, InterviewChange.OFFERED, recruiter=False)
        return


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
        await lifecycle.release(session, interview, InterviewStatus.DECLINED, by=None, reason="")
        await offer_to_waitlist(session, interview.slot_id, skip={interview.invitation_id})
    return len(expired)
