"""What the booth queue and conversation tests share: a live fair with one booth, the clock
moved on, and a conversation from call to end."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, conversations, queues
from fair.enums import NextStep
from fair.models import Booth, QueueEntry, User
from tests import factories as f


async def fair_with_booth(session: AsyncSession) -> tuple[Booth, User]:
    edition = await f.edition(session)
    return await f.booth(session, edition_=edition)


def later(seconds: float) -> None:
    clock.set_now(clock.now() + timedelta(seconds=seconds))


async def talk(
    session: AsyncSession, booth: Booth, recruiter: User, seconds: float, step: NextStep
) -> QueueEntry:
    """The recruiter takes the next candidate, who answers; they talk `seconds`, then it ends."""
    entry = await queues.take_next(session, recruiter=recruiter, booth=booth)
    assert entry is not None
    candidate = await session.get(User, entry.candidate_id)
    assert candidate is not None
    conversation = await conversations.answer(session, candidate=candidate, entry=entry)
    later(seconds)
    await conversations.end(session, recruiter=recruiter, conversation=conversation, next_step=step)
    return entry
