"""Chat around booths: the public Q&A, and the rules every chat message follows.

A booth's Q&A is public: candidates ask (`ask`), the booth's recruiters answer (`answer`),
anyone reads it (`booth_threads`), askers shown by first name only. Private conversations live
in fair.conversations. Every message of both kinds goes through `check_can_post`: a muted user is
refused (`chat.muted`; mutes are set by fair.moderation), and so is one writing too fast
(`chat.rate_limited`), counted from the stored messages so that the limit holds across
processes.

Live events (published by the boundary after commit): `qa.posted` (and, from fair.moderation,
`qa.deleted`) on channels.booth, ids only: clients re-fetch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, clock, db, employers, events, i18n, permissions
from fair.enums import BoothStatus, Role
from fair.errors import Conflict, Forbidden, Invalid, NotFound, TooMany
from fair.models import (
    Booth,
    ChatMute,
    ConversationMessage,
    Edition,
    Employer,
    QaMessage,
    User,
    WebconferenceQuestion,
)

MAX_BODY = 1000
# (window, most messages in it), Q&A posts and conversation messages together: a burst limit
# and a sustained one. A recruiter in back-to-back text conversations writes a few messages a
# minute, well under both; a flood, by hand or by script, hits them.
RATE_LIMITS = ((timedelta(seconds=30), 8), (timedelta(hours=1), 200))
PUBLIC_THREADS = 100  # the newest questions shown on a booth page
# PostgreSQL advisory lock namespace serialising one user's posts across processes, so that
# two tabs posting at once cannot both slip under the limit (SQLite has one writer anyway).
RATE_LOCK = 5_104


@dataclass(frozen=True)
class QaView:
    """A Q&A message as shown.

    In public, `author` is the asker's first name (questions) or the employer (answers), and a
    removed message has neither author nor body. For moderators it is the full name.
    """

    id: int
    booth_id: int
    question_id: int | None
    author_id: int | None
    author: str
    employer: str
    body: str
    created_at: datetime
    removed: bool
    answers: tuple[QaView, ...] = ()


# Posting ---------------------------------------------------------------------------------------


async def ask(session: AsyncSession, *, candidate: User, booth: Booth, body: str) -> QaMessage:
    """A candidate asks a question in the booth's public Q&A.

    At an approved booth of a published, not archived edition (`booth` as loaded by
    employers.get_booth). Raises `qa.forbidden` (not a candidate), `qa.closed`, `qa.invalid`,
    `chat.muted`, `chat.rate_limited`. Side effect: `qa.posted` on the booth.
    """
    if candidate.role != Role.CANDIDATE:
        raise Forbidden("Only candidates can ask questions at a booth.", code="qa.forbidden")
    _require_open(booth)
    body = clean_body(body)
    await check_can_post(session, user=candidate, booth_id=booth.id)
    return await _post(session, booth, candidate, body, question_id=None)


async def answer(
    session: AsyncSession, *, recruiter: User, question: QaMessage, body: str
) -> QaMessage:
    """A recruiter of the booth's employer answers a question of its Q&A.

    Raises `fair.forbidden` (another employer's recruiter), `qa.not_found` (not a question),
    `qa.closed`, `qa.removed`, `qa.invalid`, `chat.muted`, `chat.rate_limited`.
    Side effect: `qa.posted` on the booth.
    """
    if question.question_id is not None:
        raise NotFound("This question does not exist.", code="qa.not_found")
    booth = await employers.get_booth(session, question.booth_id)
    await permissions.require_booth_member(session, recruiter, booth)
    _require_open(booth)
    if question.deleted_at is not None:
        raise Conflict("This question was removed by the moderators.", code="qa.removed")
    body = clean_body(body)
    await check_can_post(session, user=recruiter, booth_id=booth.id)
    return await _post(session, booth, recruiter, body, question_id=question.id)


def clean_body(body: str) -> str:
    """The message's text without surrounding blanks, 1 to 1,000 characters, else Invalid."""
    body = body.strip()
    if not body:
        message = "Write your message before sending it."
        raise Invalid(message, code="qa.invalid", fields={"body": message})
    if len(body) > MAX_BODY:
        message = "Your message has %(length)s characters: 1,000 at most."
        params = {"length": len(body)}
        raise Invalid(message, code="qa.invalid", params=params, fields={"body": message})
    return body


async def check_can_post(session: AsyncSession, *, user: User, booth_id: int) -> None:
    """Refuse a message (Q&A or conversation, at `booth_id`) from a muted or too fast user.

    Raises `chat.muted` (Forbidden) or `chat.rate_limited` (TooMany, saying when to retry).
    """
    edition_id = await session.scalar(select(Booth.edition_id).where(Booth.id == booth_id))
    if edition_id is None:
        raise NotFound("This booth does not exist.")
    await check_can_post_in(session, user=user, edition_id=edition_id)


async def check_can_post_in(session: AsyncSession, *, user: User, edition_id: int) -> None:
    """`check_can_post` for any message of the edition (webconference questions too)."""
    mute = await active_mute(session, user_id=user.id, edition_id=edition_id)
    if mute is not None:
        raise await _muted(session, mute)
    await _check_rate(session, user.id)


async def _post(
    session: AsyncSession, booth: Booth, author: User, body: str, *, question_id: int | None
) -> QaMessage:
    message = QaMessage(
        booth_id=booth.id,
        edition_id=booth.edition_id,
        question_id=question_id,
        author_id=author.id,
        body=body,
        created_at=clock.now(),
    )
    session.add(message)
    await session.flush()
    announce(session, message, "qa.posted")
    return message


def qa_open(booth: Booth) -> bool:
    """Whether the booth's Q&A takes new messages (the booth's edition must be loaded)."""
    edition = booth.edition
    return (
        booth.status == BoothStatus.APPROVED
        and edition.published_at is not None
        and edition.archived_at is None
    )


def _require_open(booth: Booth) -> None:
    if not qa_open(booth):
        raise Conflict(
            "Questions are open at approved booths of published fairs only.", code="qa.closed"
        )


def announce(session: AsyncSession, message: QaMessage, event: str) -> None:
    """Queue `event` (`qa.posted`, `qa.deleted`) on the booth: ids only, clients re-fetch."""
    payload = {
        "booth_id": message.booth_id,
        "question_id": message.question_id or message.id,
        "message_id": message.id,
    }
    events.emit(session, channel=channels.booth(message.booth_id), event=event, payload=payload)


# The rate limit and mutes ----------------------------------------------------------------------


async def _check_rate(session: AsyncSession, user_id: int) -> None:
    await db.serialise(session, RATE_LOCK, user_id)
    now = clock.now()
    recent = await _recent_posts(session, user_id, now - max(w for w, _ in RATE_LIMITS))
    for window, limit in RATE_LIMITS:
        inside = [moment for moment in recent if moment > now - window]
        if len(inside) >= limit:
            # Once the oldest of the last `limit` messages leaves the window, one more fits.
            raise _too_fast(inside[-limit] + window - now)


async def _recent_posts(session: AsyncSession, user_id: int, since: datetime) -> list[datetime]:
    """When the user wrote since `since`, Q&A, conversations and webconference questions
    together, oldest first."""
    qa = select(QaMessage.created_at).where(
        QaMessage.author_id == user_id, QaMessage.created_at > since
    )
    talk = select(ConversationMessage.created_at).where(
        ConversationMessage.sender_id == user_id, ConversationMessage.created_at > since
    )
    asked = select(WebconferenceQuestion.created_at).where(
        WebconferenceQuestion.author_id == user_id, WebconferenceQuestion.created_at > since
    )
    return sorted(await session.scalars(union_all(qa, talk, asked)))


def _too_fast(wait: timedelta) -> TooMany:
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 120:
        return TooMany(
            "You are sending messages too quickly. Try again in %(seconds)s seconds.",
            code="chat.rate_limited",
            params={"seconds": seconds},
        )
    return TooMany(
        "You have sent many messages in the last hour. Try again in %(minutes)s minutes.",
        code="chat.rate_limited",
        params={"minutes": math.ceil(seconds / 60)},
    )


async def active_mute(session: AsyncSession, *, user_id: int, edition_id: int) -> ChatMute | None:
    """The user's mute in the edition's chats running now, if any."""
    found: ChatMute | None = await session.scalar(
        select(ChatMute)
        .where(ChatMute.user_id == user_id, running_mutes(edition_id))
        .order_by(ChatMute.id.desc())
        .limit(1)
    )
    return found


def running_mutes(edition_id: int) -> ColumnElement[bool]:
    """The condition on ChatMute rows: the edition's mutes running now."""
    return (
        (ChatMute.edition_id == edition_id)
        & ChatMute.lifted_at.is_(None)
        & or_(ChatMute.until.is_(None), ChatMute.until > clock.now())
    )


async def _muted(session: AsyncSession, mute: ChatMute) -> Forbidden:
    if mute.until is None:
        return Forbidden(
            "The moderators have muted you in this fair's chats until they lift it.",
            code="chat.muted",
        )
    zone = await session.scalar(select(Edition.timezone).where(Edition.id == mute.edition_id))
    until = i18n.moment(mute.until, zone or "Europe/Paris", "short")
    return Forbidden(
        "The moderators have muted you in this fair's chats until %(until)s.",
        code="chat.muted",
        params={"until": until},
    )


# Reads -----------------------------------------------------------------------------------------


async def get_qa(session: AsyncSession, message_id: int) -> QaMessage:
    message = await session.get(QaMessage, message_id)
    if message is None:
        raise NotFound("This message does not exist.", code="qa.not_found")
    return message


async def get_question(session: AsyncSession, question_id: int) -> QaMessage:
    message = await session.get(QaMessage, question_id)
    if message is None or message.question_id is not None:
        raise NotFound("This question does not exist.", code="qa.not_found")
    return message


async def booth_threads(session: AsyncSession, booth: Booth) -> list[QaView]:
    """The booth's newest questions with their answers, as the public sees them (2 queries)."""
    return await threads(session, QaMessage.booth_id == booth.id, PUBLIC_THREADS, public=True)


async def threads(
    session: AsyncSession, condition: ColumnElement[bool], limit: int, *, public: bool
) -> list[QaView]:
    """The newest `limit` questions matching `condition`, each with its answers, oldest first.

    `public=False` keeps full names and removed bodies: for moderators only.
    """
    base = (
        select(QaMessage, User.name, Employer.name)
        .join(Booth, Booth.id == QaMessage.booth_id)
        .join(Employer, Employer.id == Booth.employer_id)
        .outerjoin(User, User.id == QaMessage.author_id)
    )
    questions = await session.execute(
        base.where(condition, QaMessage.question_id.is_(None))
        .order_by(QaMessage.created_at.desc(), QaMessage.id.desc())
        .limit(limit)
    )
    found = questions.all()
    if not found:
        return []
    answers = await session.execute(
        base.where(QaMessage.question_id.in_([q.id for q, _, _ in found])).order_by(
            QaMessage.created_at, QaMessage.id
        )
    )
    replies: dict[int | None, list[QaView]] = {}
    for message, name, employer in answers.all():
        view = _view(message, name, employer, public=public)
        replies.setdefault(message.question_id, []).append(view)
    return [
        _view(message, name, employer, public=public, answers=replies.get(message.id, []))
        for message, name, employer in found
    ]


def _view(
    message: QaMessage,
    name: str | None,
    employer: str,
    *,
    public: bool,
    answers: Sequence[QaView] = (),
) -> QaView:
    removed = message.deleted_at is not None
    if not public:
        author = name or ""
    elif removed:
        author = ""
    else:
        author = first_name(name or "") if message.question_id is None else employer
    return QaView(
        id=message.id,
        booth_id=message.booth_id,
        question_id=message.question_id,
        author_id=message.author_id,
        author=author,
        employer=employer,
        body="" if removed and public else message.body,
        created_at=message.created_at,
        removed=removed,
        answers=tuple(answers),
    )


def first_name(name: str) -> str:
    """What the public sees of a person: the first word of their name."""
    parts = name.split()
    return parts[0] if parts else ""
