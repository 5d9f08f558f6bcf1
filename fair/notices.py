"""In-app notices: what happened to a user's applications and booths, in their language."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock
from fair.models import Notice


async def add(
    session: AsyncSession, *, user_id: int, kind: str, params: dict[str, Any], link: str = ""
) -> Notice:
    notice = Notice(user_id=user_id, kind=kind, params=params, link=link, created_at=clock.now())
    session.add(notice)
    await session.flush()
    return notice


async def for_user(session: AsyncSession, user_id: int, *, limit: int = 50) -> list[Notice]:
    rows = await session.scalars(
        select(Notice).where(Notice.user_id == user_id).order_by(Notice.id.desc()).limit(limit)
    )
    return list(rows)


async def mark_all_read(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(Notice)
        .where(Notice.user_id == user_id, Notice.read_at.is_(None))
        .values(read_at=clock.now())
    )
