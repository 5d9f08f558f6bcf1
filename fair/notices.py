"""In-app notices: what happened to a user's applications and booths, in their language.

Adding a notice or reading them all emits `notices.unread` on the user's channel with their
unread count, so the header's "Notices" link follows without a reload.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from fair import channels, clock, events
from fair.models import Notice


async def add(
    session: AsyncSession, *, user_id: int, kind: str, params: dict[str, Any], link: str = ""
) -> Notice:
    notice = Notice(user_id=user_id, kind=kind, params=params, link=link, created_at=clock.now())
    session.add(notice)
    await session.flush()
    _announce(session, user_id, await unread_count(session, user_id))
    return notice


def _unread(user_id: int | ColumnElement[int] | QueryableAttribute[int]) -> Select[int]:
    return select(func.count(Notice.id)).where(Notice.user_id == user_id, Notice.read_at.is_(None))


async def unread_count(session: AsyncSession, user_id: int) -> int:
    return int(await session.scalar(_unread(user_id)) or 0)


def unread_of(user_id: ColumnElement[int] | QueryableAttribute[int]) -> ScalarSelect[int]:
    """How many notices of `user_id` are unread, as a column: `users.id` to read it with the
    user (fair.user_sessions.session_record: the header of every page shows it)."""
    return _unread(user_id).scalar_subquery()


def _announce(session: AsyncSession, user_id: int, unread: int) -> None:
    events.emit(
        session, channel=channels.user(user_id), event="notices.unread", payload={"unread": unread}
    )


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
    _announce(session, user_id, 0)
