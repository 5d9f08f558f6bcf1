"""The retention rule: a candidate's CVs and messages are removed `FAIR_RETENTION_MONTHS` months
(12 by default) after the end of the last edition they took part in (registered, or applied),
or, for a candidate who never took part in one, after their last activity (their account
created, a browser seen logged in, a CV uploaded, a consent to the CV pool, a contact request,
an application to a partner's offer, a counsellor's action for them). Mails are removed the same
number of months after they were sent (or given up), and the contact details (and message) of
the contact requests sent to partners' pool candidates the same number of months after their
answer (or, unanswered, after they were sent).

What goes: their CV files (fair.files: in the database; applications and the profile then have
no CV) and the text read from them for the CV pool (fair.cv_text), unless the candidate keeps
their profile in the CV pool (a consent in force, fair.cv_pool: a purpose and a period of its
own, which they chose); the messages of their booth conversations and of their interview
rooms (both sides: the conversation is about them); the text of their public Q&A questions
and of their questions during talks (the threads stay); the messages of their applications
(theirs and the recruiter's), of the contact requests made to them and of their applications
to partners' offers. Nothing younger than the period goes, even for a candidate who is due (a
CV uploaded last month stays). What stays: everything the organisers' figures count
(applications and their statuses, interviews, conversations held, questions asked), without
that text.

Run by the worker once a day (`step` after `step`, each one transaction over at most `BATCH`
candidates and `MAIL_BATCH` mails). Idempotent: a candidate with nothing left to remove is not
picked again, and a candidate who takes part in a newer edition is not due until that one is
old enough.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    true,
    union,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from fair import clock, cv_pool, outcomes, settings
from fair.enums import FileKind, Role
from fair.models import (
    Application,
    ContactRequest,
    Conversation,
    ConversationMessage,
    CounsellorAction,
    CvText,
    Edition,
    EditionCandidate,
    Interview,
    NetworkApplication,
    NetworkContact,
    OutboxMail,
    PoolConsent,
    QaMessage,
    RoomMessage,
    StoredFile,
    User,
    UserSession,
    WebconferenceQuestion,
)

BATCH = 200
MAIL_BATCH = 2000


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
    """Editions ended before this are old enough for their candidates' data to go; so are
    mails sent before it, and what was written before it."""
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


def _active_since(limit: datetime) -> ColumnElement[bool]:
    """A condition on User: the candidate did something at or after `limit` (their last
    activity, for a candidate who never took part in an edition)."""
    return or_(
        User.created_at >= limit,
        exists().where(UserSession.user_id == User.id, UserSession.last_seen_at >= limit),
        exists().where(StoredFile.owner_id == User.id, StoredFile.created_at >= limit),
        exists().where(PoolConsent.user_id == User.id, PoolConsent.created_at >= limit),
        exists().where(
            ContactRequest.candidate_id == User.id,
            or_(ContactRequest.created_at >= limit, ContactRequest.answered_at >= limit),
        ),
        exists().where(
            NetworkApplication.candidate_id == User.id, NetworkApplication.created_at >= limit
        ),
        exists().where(
            CounsellorAction.candidate_id == User.id, CounsellorAction.created_at >= limit
        ),
    )


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


def _old_cvs(limit: datetime) -> ColumnElement[bool]:
    """A condition on StoredFile: a CV uploaded before `limit`."""
    return and_(StoredFile.kind == FileKind.CV.value, StoredFile.created_at < limit)


def _cv_text_left(limit: datetime) -> ColumnElement[bool]:
    """A CvText row still holding what was read from a CV that the rule removes (or from one
    already gone)."""
    read = or_(CvText.content != "", CvText.file_id.is_not(None))
    old = or_(
        CvText.file_id.is_(None), CvText.file_id.in_(select(StoredFile.id).where(_old_cvs(limit)))
    )
    return and_(read, old)


def _pooled(now: datetime) -> Select[int]:
    """The candidates whose profile is in the CV pool now: their CV stays."""
    return select(PoolConsent.user_id).where(cv_pool.in_force(now))


def _application_text() -> ColumnElement[bool]:
    return or_(Application.message != "", Application.status_message != "")


def _something_left(now: datetime, limit: datetime) -> ColumnElement[bool]:
    """A condition on User: the candidate still has something the rule removes."""
    cv = and_(
        User.id.not_in(_pooled(now)),
        or_(
            exists().where(StoredFile.owner_id == User.id, _old_cvs(limit)),
            exists().where(CvText.user_id == User.id, _cv_text_left(limit)),
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
    return or_(
        cv,
        talk,
        room,
        exists().where(QaMessage.author_id == User.id, QaMessage.body != ""),
        exists().where(Application.candidate_id == User.id, _application_text()),
        exists().where(WebconferenceQuestion.author_id == User.id, _old_question(limit)),
        exists().where(ContactRequest.candidate_id == User.id, _old_contact_request(limit)),
        exists().where(NetworkApplication.candidate_id == User.id, _old_network_text(limit)),
    )


def _old_question(limit: datetime) -> ColumnElement[bool]:
    return and_(WebconferenceQuestion.body != "", WebconferenceQuestion.created_at < limit)


def _old_contact_request(limit: datetime) -> ColumnElement[bool]:
    return and_(ContactRequest.message != "", ContactRequest.created_at < limit)


def _old_network_text(limit: datetime) -> ColumnElement[bool]:
    return and_(NetworkApplication.message != "", NetworkApplication.created_at < limit)


async def due(
    session: AsyncSession, *, limit: int = BATCH, now: datetime | None = None
) -> list[int]:
    """The candidates whose data the rule removes now, by id, at most `limit`."""
    now = now or clock.now()
    moment = cutoff(now)
    old, recent = await _editions_split(session, moment)
    took_old = User.id.in_(_took_part(old)) if old else false()
    took_any = User.id.in_(_took_part(old + recent)) if old or recent else false()
    query = (
        select(User.id)
        .where(
            User.role == Role.CANDIDATE.value,
            or_(took_old, and_(~took_any, ~_active_since(moment))),
            User.id.not_in(_took_part(recent)) if recent else true(),
            _something_left(now, moment),
        )
        .order_by(User.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def remove(session: AsyncSession, user_ids: list[int], now: datetime) -> None:
    """Remove what the rule removes for these candidates."""
    moment = cutoff(now)
    unpooled = select(User.id).where(User.id.in_(user_ids), User.id.not_in(_pooled(now)))
    # The text read from those CVs for the CV pool goes with them (fair.cv_text).
    await session.execute(
        update(CvText)
        .where(CvText.user_id.in_(unpooled), _cv_text_left(moment))
        .values(file_id=None, status="none", pages=0, content="", content_stems="")
    )
    await session.execute(
        delete(StoredFile).where(StoredFile.owner_id.in_(unpooled), _old_cvs(moment))
    )
    await session.execute(
        delete(ConversationMessage).where(
            ConversationMessage.id.in_(_conversation_messages(user_ids))
        )
    )
    await session.execute(delete(RoomMessage).where(RoomMessage.id.in_(_room_messages(user_ids))))
    await _blank_texts(session, user_ids, moment)


async def _blank_texts(session: AsyncSession, user_ids: list[int], moment: datetime) -> None:
    """Messages whose rows the figures count: their text only."""
    await session.execute(
        update(QaMessage)
        .where(QaMessage.author_id.in_(user_ids), QaMessage.body != "")
        .values(body="")
    )
    await session.execute(
        update(Application)
        .where(Application.candidate_id.in_(user_ids), _application_text())
        .values(message="", status_message="")
    )
    await session.execute(
        update(WebconferenceQuestion)
        .where(WebconferenceQuestion.author_id.in_(user_ids), _old_question(moment))
        .values(body="")
    )
    await session.execute(
        update(ContactRequest)
        .where(ContactRequest.candidate_id.in_(user_ids), _old_contact_request(moment))
        .values(message="")
    )
    await session.execute(
        update(NetworkApplication)
        .where(NetworkApplication.candidate_id.in_(user_ids), _old_network_text(moment))
        .values(message="")
    )


async def forget_mails(session: AsyncSession, now: datetime | None = None) -> int:
    """Delete up to MAIL_BATCH mails sent (or given up) before the cutoff; returns how many."""
    moment = cutoff(now)
    old = (
        select(OutboxMail.id)
        .where(or_(OutboxMail.sent_at < moment, OutboxMail.failed_at < moment))
        .order_by(OutboxMail.id)
        .limit(MAIL_BATCH)
    )
    ids = list(await session.scalars(old))
    if ids:
        await session.execute(delete(OutboxMail).where(OutboxMail.id.in_(ids)))
    return len(ids)


async def forget_network_contacts(session: AsyncSession, now: datetime | None = None) -> int:
    """Blank the contact details, and the message, of up to MAIL_BATCH contact requests sent
    to partners' candidates (fair.network_pool) answered (or, unanswered, sent) before the
    cutoff: people of another instance, whose details were given for a hiring, not for good;
    returns how many."""
    moment = cutoff(now)
    old = (
        select(NetworkContact.id)
        .where(
            func.coalesce(NetworkContact.answered_at, NetworkContact.created_at) < moment,
            or_(NetworkContact.email != "", NetworkContact.message != ""),
        )
        .order_by(NetworkContact.id)
        .limit(MAIL_BATCH)
    )
    ids = list(await session.scalars(old))
    if ids:
        await session.execute(
            update(NetworkContact)
            .where(NetworkContact.id.in_(ids))
            .values(name="", email="", phone="", message="")
        )
    return len(ids)


async def step(session: AsyncSession, now: datetime | None = None) -> int:
    """One transaction's work: up to BATCH due candidates, MAIL_BATCH old mails and as many
    old network contact requests; returns how many of all (under BATCH: nothing left for the
    day)."""
    now = now or clock.now()
    found = await due(session, now=now)
    if found:
        await remove(session, found, now)
    forgotten = await forget_mails(session, now) + await forget_network_contacts(session, now)
    return len(found) + forgotten
