"""The candidate's private calendar feed of their interviews (an address to subscribe to)."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import calendar, clock
from fair.enums import InterviewStatus
from fair.errors import NotFound
from fair.i18n import gettext as _
from fair.interviews.telling import meeting
from fair.models import CalendarFeed, Interview, User


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
    meetings = [await meeting(session, i, user.locale) for i in rows]
    return calendar.feed(meetings, _("My interviews", user.locale))
