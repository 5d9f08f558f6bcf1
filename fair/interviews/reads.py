"""Reading and locking the family's rows: interviews, slots, invitations, booths.

The locks serialise what must not race (fair.interviews.booking): a slot row (FOR UPDATE on
PostgreSQL; SQLite's write session holds the database lock), the candidate (their rules and
overlaps are counted under it) and an interview being changed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair.enums import InterviewStatus
from fair.errors import NotFound
from fair.models import Booth, Interview, InterviewInvitation, InterviewSlot, User


async def get(session: AsyncSession, interview_id: int) -> Interview:
    found = await session.get(Interview, interview_id)
    if found is None:
        raise NotFound("This interview does not exist.", code="interview.not_found")
    return found


async def get_slot(session: AsyncSession, slot_id: int) -> InterviewSlot:
    found = await session.get(InterviewSlot, slot_id)
    if found is None:
        raise NotFound("This slot does not exist.", code="interview.not_found")
    return found


async def get_invitation(session: AsyncSession, invitation_id: int) -> InterviewInvitation:
    found = await session.get(InterviewInvitation, invitation_id)
    if found is None:
        raise NotFound("This invitation does not exist.", code="interview.not_found")
    return found


async def open_invitation(session: AsyncSession, application_id: int) -> InterviewInvitation | None:
    found: InterviewInvitation | None = await session.scalar(
        select(InterviewInvitation).where(
            InterviewInvitation.application_id == application_id,
            InterviewInvitation.active_key == 1,
        )
    )
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


async def booth_row(session: AsyncSession, booth_id: int) -> Booth:
    """The booth row alone (from the session's identity map when already read): enough for
    its edition_id, without get_booth's employer and edition loads."""
    found = await session.get(Booth, booth_id)
    if found is None:
        raise NotFound("This booth does not exist.")
    return found


async def active_on(session: AsyncSession, slot_id: int) -> Interview | None:
    found: Interview | None = await session.scalar(
        select(Interview).where(Interview.slot_id == slot_id, Interview.active_key == 1)
    )
    return found


async def active_of_invitation(session: AsyncSession, invitation_id: int) -> Interview | None:
    found: Interview | None = await session.scalar(
        select(Interview).where(Interview.invitation_id == invitation_id, Interview.active_key == 1)
    )
    return found


async def lock_slot(session: AsyncSession, slot_id: int) -> InterviewSlot:
    found: InterviewSlot | None = await session.get(
        InterviewSlot, slot_id, with_for_update=True, populate_existing=True
    )
    if found is None:
        raise NotFound("This slot does not exist.", code="interview.not_found")
    return found


async def lock_user(session: AsyncSession, user_id: int) -> User:
    """Serialise one candidate's bookings (rules, overlaps); FOR NO KEY UPDATE spares FKs."""
    found: User | None = await session.scalar(
        select(User).where(User.id == user_id).with_for_update(key_share=True)
    )
    if found is None:
        raise NotFound("This account does not exist.")
    return found


async def lock_interview(session: AsyncSession, interview_id: int) -> Interview:
    found: Interview | None = await session.get(
        Interview, interview_id, with_for_update=True, populate_existing=True
    )
    if found is None:
        raise NotFound("This interview does not exist.", code="interview.not_found")
    return found
