"""The private conversation a booth's queue call opens: one candidate, one recruiter, live.

The called candidate answers (`answer`, within queues.CALL_TIMEOUT): the queue entry moves to
"in conversation" and the conversation opens. Both write (`send_message`); a recruiter of the
booth ends it with a next step (`end`), which closes the entry and moves the candidate's
applications to the booth's offers forward. What one person sees of the booth's live desk
(their place, call or conversation) is `candidate_desk` / `recruiter_desk`.

The queue's own state (places, calls, expiry) is fair.queues; the entry's status changes only
through queues.move. How the two talk (written chat, or video or phone once both agree) is
fair.conversation_calls.

Live events (published by the boundary after commit): `conversation.started`,
`conversation.message` and `conversation.ended` on channels.user of both participants, and the
booth's `queue.changed` (queues.announce).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    applications,
    channels,
    chat,
    clock,
    employers,
    events,
    interviews,
    permissions,
    queues,
)
from fair.enums import APPLICATION_TRANSITIONS, ApplicationStatus, NextStep, QueueStatus
from fair.errors import Conflict, Invalid, NotFound, NotYours
from fair.i18n import gettext as _
from fair.models import Application, Conversation, ConversationMessage, QueueEntry, User

MAX_MESSAGE = 2000


# State changes ---------------------------------------------------------------------------------


async def answer(session: AsyncSession, *, candidate: User, entry: QueueEntry) -> Conversation:
    """The called candidate answers within 60 s: the private conversation opens.

    Side effects: both the candidate and the recruiter get `conversation.started`.
    """
    if entry.candidate_id != candidate.id:
        raise NotYours("This place in the queue does not exist.", code="queue.not_found")
    entry = await queues.lock_entry(session, entry.id)
    if entry.status != QueueStatus.CALLED:
        raise Conflict("You are not being called by this booth.", code="queue.not_called")
    assert entry.called_at is not None
    if clock.now() - entry.called_at > queues.CALL_TIMEOUT:
        raise Conflict(
            "The call expired: you did not answer within 60 seconds.", code="queue.call_expired"
        )
    queues.move(entry, QueueStatus.IN_CONVERSATION)
    conversation = Conversation(
        booth_id=entry.booth_id,
        candidate_id=entry.candidate_id,
        recruiter_id=entry.called_by_id,
        queue_entry_id=entry.id,
        started_at=clock.now(),
    )
    session.add(conversation)
    await session.flush()
    payload = {"conversation_id": conversation.id, "booth_id": entry.booth_id}
    for user_id in _participants(conversation):
        events.emit(
            session, channel=channels.user(user_id), event="conversation.started", payload=payload
        )
    await queues.announce(session, entry.booth_id)
    return conversation


async def end(
    session: AsyncSession, *, recruiter: User, conversation: Conversation, next_step: NextStep
) -> None:
    """A recruiter of the booth ends the conversation with a next step.

    The queue entry is done. When the candidate applied to the booth's offers, each open
    application moves through applications.set_status (with its notice, mail and live event):
    to interview proposed (through shortlisted when it was not yet) or to not retained, as far
    as the transitions allow. Side effects: both participants get `conversation.ended`.
    """
    booth = await employers.get_booth(session, conversation.booth_id)
    await permissions.require_booth_member(session, recruiter, booth)
    conversation = await _lock_conversation(session, conversation.id)
    if conversation.ended_at is not None:
        raise Conflict("This conversation has already ended.", code="conversation.ended")
    now = clock.now()
    conversation.ended_at = now
    conversation.next_step = next_step.value
    entry = await queues.lock_entry(session, conversation.queue_entry_id)
    queues.move(entry, QueueStatus.DONE, now=now)
    entry.next_step = next_step.value
    await session.flush()
    await _apply_next_step(session, recruiter, conversation, next_step)
    payload = {"conversation_id": conversation.id, "next_step": next_step.value}
    for user_id in _participants(conversation):
        events.emit(
            session, channel=channels.user(user_id), event="conversation.ended", payload=payload
        )
    await queues.announce(session, booth.id)


async def send_message(
    session: AsyncSession, *, user: User, conversation: Conversation, body: str
) -> ConversationMessage:
    """A participant writes in an open conversation (2,000 characters at most).

    Muted or too fast writers are refused (chat.check_can_post: `chat.muted`,
    `chat.rate_limited`). Side effects: both participants get `conversation.message`.
    """
    if user.id not in _participants(conversation):
        raise NotYours("This conversation does not exist.", code="conversation.not_found")
    if conversation.ended_at is not None:
        raise Conflict("This conversation has already ended.", code="conversation.ended")
    body = body.strip()
    if not body or len(body) > MAX_MESSAGE:
        raise Invalid("Write a message of 2,000 characters at most.", code="conversation.invalid")
    await chat.check_can_post(session, user=user, booth_id=conversation.booth_id)
    message = ConversationMessage(
        conversation_id=conversation.id, sender_id=user.id, body=body, created_at=clock.now()
    )
    session.add(message)
    await session.flush()
    payload = {
        "conversation_id": conversation.id,
        "message_id": message.id,
        "sender_id": user.id,
        "body": body,
        "created_at": message.created_at.isoformat(),
    }
    for user_id in _participants(conversation):
        events.emit(
            session, channel=channels.user(user_id), event="conversation.message", payload=payload
        )
    return message


# Reads -----------------------------------------------------------------------------------------


async def get(session: AsyncSession, conversation_id: int) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("This conversation does not exist.", code="conversation.not_found")
    return conversation


async def messages(
    session: AsyncSession, *, user: User, conversation: Conversation
) -> Sequence[ConversationMessage]:
    """The conversation's messages, for its participants only."""
    if user.id not in _participants(conversation):
        raise NotYours("This conversation does not exist.", code="conversation.not_found")
    rows = await session.scalars(
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id == conversation.id)
        .order_by(ConversationMessage.id)
    )
    return list(rows)


@dataclass(frozen=True)
class Waiting:
    """One person waiting at the booth, as the recruiter's desk lists them (in queue order)."""

    name: str
    joined_at: datetime


async def waiting_list(session: AsyncSession, *, booth_id: int, limit: int = 20) -> list[Waiting]:
    """Who waits at the booth, first come first (the first `limit`), for its recruiters' desk:
    the callers check the reader is a recruiter of the booth."""
    rows = await session.execute(
        select(User.name, QueueEntry.joined_at)
        .join(User, User.id == QueueEntry.candidate_id)
        .where(QueueEntry.booth_id == booth_id, QueueEntry.status == QueueStatus.WAITING)
        .order_by(QueueEntry.joined_at, QueueEntry.id)
        .limit(limit)
    )
    return [Waiting(name, joined_at) for name, joined_at in rows.all()]


@dataclass(frozen=True)
class Desk:
    """What one person sees of a booth's live desk: their call or conversation, if any."""

    entry: QueueEntry | None  # the candidate's active entry, or the recruiter's pending call
    place: queues.Place | None  # the candidate's place while waiting
    expires_at: datetime | None  # while called
    conversation: Conversation | None  # open, or the latest ended one (candidate side)
    other: User | None  # the person on the other side of the call or conversation
    messages: Sequence[ConversationMessage]


async def candidate_desk(session: AsyncSession, *, candidate: User, booth_id: int) -> Desk:
    """The candidate's place, call or conversation at the booth (the latest one, even ended)."""
    entry = await queues.entry_of(session, candidate=candidate, booth_id=booth_id)
    place = None
    if entry is not None and entry.status == QueueStatus.WAITING:
        place = await queues.place_of(session, entry)
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.booth_id == booth_id, Conversation.candidate_id == candidate.id)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    return await _desk(session, candidate, entry, place, conversation)


async def recruiter_desk(session: AsyncSession, *, recruiter: User, booth_id: int) -> Desk:
    """The recruiter's pending call and open conversation at the booth (one at a time)."""
    entry = await session.scalar(
        select(QueueEntry).where(
            QueueEntry.booth_id == booth_id,
            QueueEntry.called_by_id == recruiter.id,
            QueueEntry.status == QueueStatus.CALLED,
        )
    )
    conversation = await session.scalar(
        select(Conversation).where(
            Conversation.booth_id == booth_id,
            Conversation.recruiter_id == recruiter.id,
            Conversation.ended_at.is_(None),
        )
    )
    return await _desk(session, recruiter, entry, None, conversation)


async def _desk(
    session: AsyncSession,
    me: User,
    entry: QueueEntry | None,
    place: queues.Place | None,
    conversation: Conversation | None,
) -> Desk:
    expires_at = None
    if entry is not None and entry.status == QueueStatus.CALLED and entry.called_at is not None:
        expires_at = entry.called_at + queues.CALL_TIMEOUT
    other_id = None
    if conversation is not None:
        others = _participants(conversation) - {me.id}
        other_id = others.pop() if others else None
    elif entry is not None and entry.status == QueueStatus.CALLED:
        other_id = entry.candidate_id if entry.candidate_id != me.id else entry.called_by_id
    other = await session.get(User, other_id) if other_id is not None else None
    listed: Sequence[ConversationMessage] = []
    if conversation is not None:
        listed = await messages(session, user=me, conversation=conversation)
    return Desk(entry, place, expires_at, conversation, other, listed)


# Helpers ---------------------------------------------------------------------------------------


def _participants(conversation: Conversation) -> set[int]:
    return {conversation.candidate_id} | (
        {conversation.recruiter_id} if conversation.recruiter_id is not None else set()
    )


async def _lock_conversation(session: AsyncSession, conversation_id: int) -> Conversation:
    conversation = await session.get(
        Conversation, conversation_id, with_for_update=True, populate_existing=True
    )
    if conversation is None:
        raise NotFound("This conversation does not exist.", code="conversation.not_found")
    return conversation


async def _apply_next_step(
    session: AsyncSession, recruiter: User, conversation: Conversation, next_step: NextStep
) -> None:
    """Move the candidate's applications to the booth's offers forward, per the next step.

    Never backwards: an application already at "interview proposed" or further stays (an
    interview booked keeps it "scheduled"). "Propose an interview" makes a real invitation
    (interviews.invite), shortlisting first when needed, so the candidate can book a slot.
    """
    if next_step not in (NextStep.INTERVIEW_PROPOSED, NextStep.NOT_RETAINED):
        return
    rows = await session.scalars(
        select(Application)
        .where(
            and_(
                Application.booth_id == conversation.booth_id,
                Application.candidate_id == conversation.candidate_id,
            )
        )
        .order_by(Application.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    candidate = await session.get(User, conversation.candidate_id)
    locale = candidate.locale if candidate is not None else "fr"
    message = _(applications.DEFAULT_DECLINE, locale) if next_step == NextStep.NOT_RETAINED else ""
    for application in list(rows):
        path = _path(ApplicationStatus(application.status), next_step)
        if next_step == NextStep.INTERVIEW_PROPOSED and path:
            for status in path[:-1]:  # shortlisted, when it was not yet
                await applications.set_status(session, application, status, by=recruiter)
            await interviews.invite(session, by=recruiter, application=application)
            continue
        for status in path:
            await applications.set_status(
                session, application, status, by=recruiter, message=message
            )


def _path(current: ApplicationStatus, next_step: NextStep) -> list[ApplicationStatus]:
    """The allowed moves from `current` toward the next step's status, forward only (empty
    when none)."""
    moves = APPLICATION_TRANSITIONS[current]
    if next_step == NextStep.NOT_RETAINED:
        return [ApplicationStatus.NOT_RETAINED] if ApplicationStatus.NOT_RETAINED in moves else []
    target = ApplicationStatus.INTERVIEW_PROPOSED
    if target.progress <= current.progress:
        return []
    if target in moves:
        return [target]
    shortlisted = ApplicationStatus.SHORTLISTED
    if shortlisted in moves and target in APPLICATION_TRANSITIONS[shortlisted]:
        return [shortlisted, target]
    return []
