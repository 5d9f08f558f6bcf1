"""The retention rule: a candidate's CVs and messages are removed `FAIR_RETENTION_MONTHS` months
(12 by default) after the end of the last edition they took part in (registered, or applied).

What goes: their CV files (fair.files: in the database; applications and the profile then have
no CV) and the text read from them for the CV pool (fair.cv_text), unless the candidate keeps
their profile in the CV pool (a consent in force, fair.cv_pool: a purpose and a period of its
own, which they chose); the messages of their booth conversations and of their interview
rooms (both sides: the conversation is about them); and the text of their public Q&A
questions (the thread stays for the recruiters' answers). What stays: everything the
organisers' figures count (applications and their statuses, interviews, conversations
held), without that text.

Run by the worker once a day (`step` after `step`, each one transaction over at most `BATCH`
candidates). Idempotent: a candidate with nothing left to remove is not picked again, and a
candidate who takes part in a newer edition is not due until that one is old enough.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    exists,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from fair import clock, cv_pool, outcomes, settings
from fair.enums import FileKind, Role
from fair.models import (
    Application,
    Conversation,
    ConversationMessage,
    CvText,
    Edition,
    EditionCandidate,
    Interview,
    PoolConsent,
    QaMessage,
    RoomMessage,
    StoredFile,
    User,
)

BATCH = 200


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` months earlier (the month's last day when it is shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


def cutoff(now: datetime | None = None) -> datetime:
    """Editions ended before this are old enough for their candidates' data to go."""
    return months_before(now or clock.now(), settings.get().retention_months)


async def _editions_split(session: AsyncSession, limit: datetime) -> tuple[list[int], list[int]]:
    """The editions ended before `limit`, and the others (not ended, or ended after)."""
    found = await session.scalars(select(Edition).options(selectinload(Edition.live_days)))
    old: list[int] = []
    recent: list[int] = []
    for edition in found:
        (old if outcomes.ends_at(edition) <= limit else recent).append(edition.id)
    return old, recent


def _took_part(edition_ids: list[int]) -> Select[int]:
    registered = select(EditionCandidate.user_id).where(
        EditionCandidate.edition_id.in_(edition_ids)
    )
    applied = select(Application.candidate_id).where(Application.edition_id.in_(edition_ids))
    return select(union(registered, applied).subquery().c[0])


def _conversation_messages(user_ids: Select[int] | list[int]) -> Select[int]:
    return select(ConversationMessage.id).where(
        ConversationMessage.conversation_id.in_(
            select(Conversation.id).where(Conversation.candidate_id.in_(user_ids))
        )
    )


def _room_messages(user_ids: Select[int] | list[int]) -> Select[int]:
    return select(RoomMessage.id).where(
        RoomMessage.interview_id.in_(
            select(Interview.id).where(Interview.candidate_id.in_(user_ids))
        )
    )


def _cv_text_left() -> ColumnElement[bool]:
    """A CvText row still holding what was read from a CV."""
    return or_(CvText.content != "", CvText.file_id.is_not(None))


def _pooled(now: datetime) -> Select[int]:
    """The candidates whose profile is in the CV pool now: their CV stays."""
    return select(PoolConsent.user_id).where(cv_pool.in_force(now))


def _something_left(now: datetime) -> ColumnElement[bool]:
    """A condition on User: the candidate still has something the rule removes."""
    cv = and_(
        User.id.not_in(_pooled(now)),
        or_(
            exists().where(StoredFile.owner_id == User.id, StoredFile.kind == FileKind.CV.value),
            exists().where(CvText.user_id == User.id, _cv_text_left()),
        ),
    )
    talk = exists(
        select(ConversationMessage.id)
        .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
        .where(Conversation.candidate_id == User.id)
    )
    room = exists(
        select(RoomMessage.id)
        .join(Interview, Interview.id == RoomMessage.interview_id)
        .where(Interview.candidate_id == User.id)
    )
    questions = exists().where(QaMessage.author_id == User.id, QaMessage.body != "")
    return or_(cv, talk, room, questions)


async def due(
    session: AsyncSession, *, limit: int = BATCH, now: datetime | None = None
) -> list[int]:
    """The candidates whose data the rule removes now, by id, at most `limit`."""
    now = now or clock.now()
    old, recent = await _editions_split(session, cutoff(now))
    if not old:
        return []
    query = (
        select(User.id)
        .where(
            User.role == Role.CANDIDATE.value,
            User.id.in_(_took_part(old)),
            _something_left(now),
        )
        .order_by(User.id)
        .limit(limit)
    )
    if recent:
        query = query.where(User.id.not_in(_took_part(recent)))
    return list(await session.scalars(query))


async def remove(session: AsyncSession, user_ids: list[int], now: datetime) -> None:
    """Remove what the rule removes for these candidates."""
    unpooled = select(User.id).where(User.id.in_(user_ids), User.id.not_in(_pooled(now)))
    await session.execute(
        delete(StoredFile).where(
            StoredFile.owner_id.in_(unpooled), StoredFile.kind == FileKind.CV.value
        )
    )
    # The text read from those CVs for the CV pool goes with them (fair.cv_text).
    await session.execute(
        update(CvText)
        .where(CvText.user_id.in_(unpooled), _cv_text_left())
        .values(file_id=None, status="none", pages=0, content="", content_stems="")
    )
    await session.execute(
        delete(ConversationMessage).where(
            ConversationMessage.id.in_(_conversation_messages(user_ids))
        )
    )
    await session.execute(delete(RoomMessage).where(RoomMessage.id.in_(_room_messages(user_ids))))
    await session.execute(
        update(QaMessage)
        .where(QaMessage.author_id.in_(user_ids), QaMessage.body != "")
        .values(body="")
    )


async def step(session: AsyncSession, now: datetime | None = None) -> int:
    """One transaction's work: up to BATCH due candidates; returns how many (0: none left)."""
    now = now or clock.now()
    found = await due(session, now=now)
    if found:
        await remove(session, found, now)
    return len(found)
