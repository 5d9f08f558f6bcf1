"""Reminders the day before and an hour before each booked interview (the worker's round).

A reminder is recorded in the same transaction as its queued mail, so a restart never sends it
twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock
from fair.enums import InterviewChange, InterviewStatus
from fair.interviews.telling import tell
from fair.models import Interview

DAY_BEFORE = timedelta(hours=24)
HOUR_BEFORE = timedelta(hours=1)


def no_late_reminder(interview: Interview) -> None:
    """Booked or moved less than an hour before it starts: no "in one hour" reminder (nor one
    for the day) will follow; the booking's own mail says when it is."""
    now = clock.now()
    if interview.starts_at - now < HOUR_BEFORE:
        interview.reminded_hour_at = interview.reminded_day_at = now


async def send_reminders(session: AsyncSession, now: datetime | None = None) -> int:
    """Reminders the day before and an hour before each booked interview, once each (none
    "in one hour" for an interview booked or moved less than an hour before it: see
    `no_late_reminder`).

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
        await tell(session, interview, InterviewChange.REMINDER_HOUR, notice=False, live=False)
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
        await tell(session, interview, InterviewChange.REMINDER_DAY, notice=False, live=False)
        sent += 1
    await session.flush()
    return sent
