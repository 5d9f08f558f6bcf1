"""A webconference's audience: who watched and for how long, and the questions they asked.

Attendance: the stage opens a row when a socket starts watching (`arrive`, once per socket:
watching again after a presenter joins keeps the row) and closes it when the socket leaves
(`depart`); ending the talk (scheduling.end) closes those still open. A row whose process
died stays open until the talk ends, and counts until then. `statistics` sums it up for the
organiser.

Questions: viewers ask while the talk is live (`ask`, same mutes and rate limit as every chat
message, fair.chat), upvote once each (`vote`, which also takes a vote back), and moderators
(the talk's presenters, the edition's organisers, the booth's recruiters for a booth's talk)
mark them answered, hide them or open them again (`moderate`, the one writer of
`WebconferenceQuestion.status`). Everyone watching sees open and answered questions, open ones
by votes; moderators also see hidden ones. Askers are shown by first name.

Live events: `stage.question` {webconference_id, question_id} on `webconference:<id>` for a
new question, a vote or a moderation: clients re-fetch the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, chat, clock, events
from fair.enums import QuestionStatus, RegistrationStatus, WebconferenceStatus
from fair.errors import Conflict, Forbidden, NotFound
from fair.models import (
    User,
    Webconference,
    WebconferenceAttendance,
    WebconferenceQuestion,
    WebconferenceRegistration,
    WebconferenceVote,
)
from fair.webconferences import rules, talks

MAX_QUESTIONS_SHOWN = 200


@dataclass(frozen=True)
class QuestionView:
    id: int
    body: str
    author: str  # first name in public
    votes: int
    status: QuestionStatus
    created_at: datetime
    mine: bool
    voted: bool


@dataclass(frozen=True)
class Statistics:
    attendees: int  # distinct people who watched
    registered: int  # seats booked
    registered_attended: int  # of those, how many watched
    total_seconds: int
    average_seconds: int  # per attendee


# Questions -------------------------------------------------------------------------------------


async def ask(
    session: AsyncSession, *, user: User, webconference_id: int, body: str
) -> WebconferenceQuestion:
    """A viewer asks a question during the live talk. Raises what `require_viewer` raises,
    `qa.invalid`, `chat.muted`, `chat.rate_limited`."""
    await rules.require_viewer(session, user, webconference_id)
    webconference = await talks.get(session, webconference_id)
    body = chat.clean_body(body)
    await chat.check_can_post_in(session, user=user, edition_id=webconference.edition_id)
    question = WebconferenceQuestion(
        webconference_id=webconference_id,
        author_id=user.id,
        body=body,
        status=QuestionStatus.OPEN.value,
        votes=0,
        created_at=clock.now(),
    )
    session.add(question)
    await session.flush()
    _announce(session, question)
    return question


async def vote(
    session: AsyncSession, *, user: User, question_id: int, up: bool = True
) -> WebconferenceQuestion:
    """Upvote an open question once (`up=False` takes the vote back); one's own question
    cannot be voted. The count is kept on the question, recounted from the votes."""
    question = await get_question(session, question_id)
    await rules.require_viewer(session, user, question.webconference_id)
    if question.status != QuestionStatus.OPEN:
        raise Conflict("This question is closed.", code="question.closed")
    if question.author_id == user.id:
        raise Conflict("You cannot vote for your own question.", code="question.own")
    mine = (WebconferenceVote.question_id == question.id) & (WebconferenceVote.user_id == user.id)
    voted = await session.scalar(select(func.count()).select_from(WebconferenceVote).where(mine))
    if up and not voted:
        session.add(
            WebconferenceVote(question_id=question.id, user_id=user.id, created_at=clock.now())
        )
    elif not up and voted:
        await session.execute(delete(WebconferenceVote).where(mine))
    await session.flush()
    count = select(func.count()).where(WebconferenceVote.question_id == question.id)
    await session.execute(
        update(WebconferenceQuestion)
        .where(WebconferenceQuestion.id == question.id)
        .values(votes=count.scalar_subquery())
    )
    await session.refresh(question, ["votes"])
    _announce(session, question)
    return question


async def moderate(
    session: AsyncSession, *, by: User, question_id: int, status: QuestionStatus
) -> WebconferenceQuestion:
    """Mark a question answered, hide it, or open it again (a moderator only)."""
    question = await get_question(session, question_id)
    webconference = await talks.get(session, question.webconference_id)
    if not await rules.can_moderate(session, by, webconference):
        raise Forbidden(
            "Only the presenters and organisers moderate questions.", code="question.forbidden"
        )
    question.status = status.value
    question.moderated_by_id, question.moderated_at = by.id, clock.now()
    await session.flush()
    _announce(session, question)
    return question


async def questions(
    session: AsyncSession, *, webconference: Webconference, user: User | None
) -> list[QuestionView]:
    """The questions `user` sees: open ones by votes then age, then answered ones; hidden
    ones too for moderators (last). Two queries, whatever the count."""
    moderator = await rules.can_moderate(session, user, webconference)
    shown = [QuestionStatus.OPEN, QuestionStatus.ANSWERED]
    if moderator:
        shown.append(QuestionStatus.HIDDEN)
    rows = (
        await session.execute(
            select(WebconferenceQuestion, User.name)
            .join(User, User.id == WebconferenceQuestion.author_id)
            .where(
                WebconferenceQuestion.webconference_id == webconference.id,
                WebconferenceQuestion.status.in_([s.value for s in shown]),
            )
            .order_by(WebconferenceQuestion.id)
            .limit(MAX_QUESTIONS_SHOWN)
        )
    ).all()
    voted: set[int] = set()
    if user is not None and rows:
        voted = set(
            await session.scalars(
                select(WebconferenceVote.question_id).where(
                    WebconferenceVote.user_id == user.id,
                    WebconferenceVote.question_id.in_([q.id for q, _ in rows]),
                )
            )
        )
    order = {s: i for i, s in enumerate(shown)}
    views = [
        QuestionView(
            id=q.id,
            body=q.body,
            author=name if moderator else chat.first_name(name),
            votes=q.votes,
            status=QuestionStatus(q.status),
            created_at=q.created_at,
            mine=user is not None and q.author_id == user.id,
            voted=q.id in voted,
        )
        for q, name in rows
    ]
    return sorted(
        views,
        key=lambda v: (order[v.status], -v.votes if v.status == QuestionStatus.OPEN else 0, v.id),
    )


async def get_question(session: AsyncSession, question_id: int) -> WebconferenceQuestion:
    found = await session.get(WebconferenceQuestion, question_id)
    if found is None:
        raise NotFound("This question does not exist.", code="question.not_found")
    return found


def _announce(session: AsyncSession, question: WebconferenceQuestion) -> None:
    payload = {"webconference_id": question.webconference_id, "question_id": question.id}
    channel = channels.webconference(question.webconference_id)
    events.emit(session, channel=channel, event="stage.question", payload=payload)


# Attendance ------------------------------------------------------------------------------------


async def arrive(
    session: AsyncSession, *, user: User, webconference_id: int, connection_id: str
) -> WebconferenceAttendance:
    """The socket `connection_id` watches: its open row, or a new one."""
    found = await session.scalar(
        select(WebconferenceAttendance).where(
            WebconferenceAttendance.connection_id == connection_id,
            WebconferenceAttendance.webconference_id == webconference_id,
            WebconferenceAttendance.left_at.is_(None),
        )
    )
    if found is not None:
        return found
    row = WebconferenceAttendance(
        webconference_id=webconference_id,
        user_id=user.id,
        connection_id=connection_id,
        joined_at=clock.now(),
    )
    session.add(row)
    await session.flush()
    return row


async def depart(session: AsyncSession, *, webconference_id: int, connection_id: str) -> int:
    """The socket stopped watching: close its open row; how many were open."""
    result = await session.execute(
        update(WebconferenceAttendance)
        .where(
            WebconferenceAttendance.connection_id == connection_id,
            WebconferenceAttendance.webconference_id == webconference_id,
            WebconferenceAttendance.left_at.is_(None),
        )
        .values(left_at=clock.now())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def statistics(session: AsyncSession, webconference: Webconference) -> Statistics:
    """Attendance in figures: people, seats, time watched (an open row counts until now, or
    until the end of a talk that is over)."""
    return (await statistics_of(session, [webconference]))[webconference.id]


async def statistics_of(session: AsyncSession, talks: list[Webconference]) -> dict[int, Statistics]:
    """`statistics` of several talks in two queries (the organiser's programme)."""
    ids = [w.id for w in talks]
    rows = (
        await session.execute(
            select(
                WebconferenceAttendance.webconference_id,
                WebconferenceAttendance.user_id,
                WebconferenceAttendance.joined_at,
                WebconferenceAttendance.left_at,
            ).where(WebconferenceAttendance.webconference_id.in_(ids))
        )
    ).all()
    seats = (
        await session.execute(
            select(
                WebconferenceRegistration.webconference_id,
                WebconferenceRegistration.candidate_id,
            ).where(
                WebconferenceRegistration.webconference_id.in_(ids),
                WebconferenceRegistration.status == RegistrationStatus.REGISTERED,
            )
        )
    ).all()
    now = clock.now()
    seconds: dict[int, dict[int, float]] = {i: {} for i in ids}
    seated: dict[int, set[int]] = {i: set() for i in ids}
    until = {w.id: _until(w, now) for w in talks}
    for talk_id, user_id, joined, left in rows:
        spent = max(0.0, ((left or until[talk_id]) - joined).total_seconds())
        seconds[talk_id][user_id] = seconds[talk_id].get(user_id, 0.0) + spent
    for talk_id, candidate_id in seats:
        seated[talk_id].add(candidate_id)
    return {i: _figures(seconds[i], seated[i]) for i in ids}


def _until(webconference: Webconference, now: datetime) -> datetime:
    if webconference.status == WebconferenceStatus.ENDED and webconference.ended_at is not None:
        return webconference.ended_at
    return now


def _figures(seconds: dict[int, float], seats: set[int]) -> Statistics:
    total = int(sum(seconds.values()))
    return Statistics(
        attendees=len(seconds),
        registered=len(seats),
        registered_attended=len(seats & set(seconds)),
        total_seconds=total,
        average_seconds=total // len(seconds) if seconds else 0,
    )
