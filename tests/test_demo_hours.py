"""The demo seeds at any hour of the day: the candidates it puts in the live queues joined
during the day's opening hours, never before (CI at 08:08 Paris failed on 91bcbb2: a candidate
joined 14 minutes ago, at 07:54, before the 08:00 opening, and seed-demo stopped)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import demo
from fair.enums import QueueStatus
from fair.models import QueueEntry

PARIS = ZoneInfo(demo.ZONE)


@pytest.mark.parametrize("minute", [0.5, 5])  # opened 30 s ago, 5 minutes ago
async def test_the_demo_seeds_just_after_the_opening(session: AsyncSession, minute: float) -> None:
    now = datetime(2026, 12, 8, 8, 0, tzinfo=PARIS) + timedelta(minutes=minute)
    await demo.seed(session, now=now)
    edition = await demo.find(session)
    assert edition is not None
    joined = list(
        await session.scalars(
            select(QueueEntry.joined_at).where(QueueEntry.status == QueueStatus.WAITING)
        )
    )
    opening = now.replace(minute=0, second=0)
    assert joined
    assert all(opening <= at <= now for at in joined), (joined, now)
