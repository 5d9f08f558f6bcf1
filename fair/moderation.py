"""Moderation of an edition's chats: reports by users; removal, mutes and verdicts by moderators.

Moderators are the edition's organisers and the admins (permissions.require_organiser), checked
on the message's own edition. Any logged-in user who can see a Q&A message, and either
participant of a conversation, reports a message once (`report`). Moderators see the open
reports, for a conversation only the reported message, never the rest of it
(`open_reports`); they remove a message softly (`remove`: the row stays, with who removed it
and when, and the public sees a placeholder), mute a user in the edition for a while or until
unmuted (`mute`, `unmute`; fair.chat refuses their messages meanwhile), and settle reports
(`resolve`: dismissed, or the message removed, the author muted too if they choose).

Live events (published by the boundary after commit): `qa.deleted` on channels.booth (ids
only), `conversation.message_deleted` on both participants' channels.user.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, chat, clock, editions, employers, events, permissions
from fair.enums import BoothStatus, MuteLength, ReportKind, ReportResolution
from fair.errors import Conflict, Invalid, NotFound, NotYours
from fair.models import (
    Booth,
    ChatMute,
    ChatReport,
    Conversation,
    ConversationMessage,
    Edition,
    Employer,
    QaMessage,
    User,
)

MAX_REASON = 500
MODERATED_THREADS = 200  # the newest questions of the edition on the moderation page


@dataclass(frozen=True)
class ReportedMessage:
    """A reported message, with its author's full name: for the edition's moderators only."""

    kind: ReportKind
    id: int
    author_id: int | None
    author: str
    employer: str
    body: str
    created_at: datetime
    removed: bool


@dataclass(frozen=True)
class ReportLine:
    reporter: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class Reported:
    message: ReportedMessage
    reports: tuple[ReportLine, ...]


@dataclass(frozen=True)
class MuteView:
    user_id: int
    name: str
    until: datetime | None  # None: until unmuted
    reason: str
    created_at: datetime


# Reports ---------------------------------------------------------------------------------------


async def report(
    session: AsyncSession, *, user: User, kind: ReportKind, message_id: int, reason: str = ""
) -> ChatReport:
    """A user reports a message to the edition's moderators, once per message.

    Q&A: anyone logged in who can see it (an approved booth of a published edition).
    Conversation: its participants only (`chat.not_found`). Raises `chat.own_message`,
    `chat.removed` (already removed), `chat.already_reported`, `chat.invalid` (reason too long).
    """
    reason = _clean_reason(reason)
    message: QaMessage | ConversationMessage
    if kind == ReportKind.QA:
        message = await _visible_qa(session, message_id)
        author_id, edition_id = message.author_id, message.edition_id
    else:
        message, conversation = await _conversation_message(session, message_id)
        if user.id not in _participants(conversation):
            raise NotYours("This message does not exist.", code="chat.not_found")
        author_id = message.sender_id
        edition_id = await _edition_of_booth(session, conversation.booth_id)
    if message.deleted_at is not None:
        raise Conflict("The moderators have already removed this message.", code="chat.removed")
    if author_id == user.id:
        raise Invalid("You cannot report your own message.", code="chat.own_message")
    if await _reported(session, user.id, kind, [message_id]):
        raise _already_reported()
    row = ChatReport(
        edition_id=edition_id,
        reporter_id=user.id,
        qa_message_id=message_id if kind == ReportKind.QA else None,
        conversation_message_id=message_id if kind == ReportKind.CONVERSATION else None,
        reason=reason,
        created_at=clock.now(),
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:  # a concurrent double report: the unique constraint decided
        raise _already_reported() from None
    return row


def _already_reported() -> Conflict:
    return Conflict("You have already reported this message.", code="chat.already_reported")


def _clean_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        message = "Keep the reason to 500 characters at most."
        raise Invalid(message, code="chat.invalid", fields={"reason": message})
    return reason


async def reported_by(session: AsyncSession, *, user: User, ids: Iterable[int]) -> set[int]:
    """Which of these Q&A messages the user has already reported."""
    return await _reported(session, user.id, ReportKind.QA, ids)


async def _reported(
    session: AsyncSession, user_id: int, kind: ReportKind, ids: Iterable[int]
) -> set[int]:
    column = (
        ChatReport.qa_message_id if kind == ReportKind.QA else ChatReport.conversation_message_id
    )
    rows = await session.scalars(
        select(column).where(ChatReport.reporter_id == user_id, column.in_(list(ids)))
    )
    return {int(found) for found in rows if found is not None}


# Verdicts --------------------------------------------------------------------------------------


async def remove(session: AsyncSession, *, by: User, kind: ReportKind, message_id: int) -> bool:
    """A moderator of the message's edition removes it softly; False if already removed.

    The row stays, with who removed it and when; its open reports are settled as removed.
    Side effects: `qa.deleted` on the booth, or `conversation.message_deleted` to both
    participants.
    """
    message, _edition = await _moderated(session, by, kind, message_id)
    if message.deleted_at is not None:
        return False
    message.deleted_at = clock.now()
    message.deleted_by_id = by.id
    await _close_reports(session, by, kind, message_id, ReportResolution.REMOVED)
    if isinstance(message, QaMessage):
        chat.announce(session, message, "qa.deleted")
        return True
    conversation = await _conversation(session, message.conversation_id)
    payload = {"conversation_id": conversation.id, "message_id": message.id}
    for user_id in _participants(conversation):
        events.emit(
            session,
            channel=channels.user(user_id),
            event="conversation.message_deleted",
            payload=payload,
        )
    return True


async def resolve(
    session: AsyncSession,
    *,
    by: User,
    kind: ReportKind,
    message_id: int,
    remove_message: bool,
    mute_length: MuteLength | None = None,
) -> int:
    """A moderator settles a message's open reports: dismissed, or the message removed; its
    author is muted in the edition too when `mute_length` is given. Returns how many reports
    were settled (0 when another moderator was quicker)."""
    message, edition = await _moderated(session, by, kind, message_id)
    resolution = ReportResolution.REMOVED if remove_message else ReportResolution.DISMISSED
    settled = await _close_reports(session, by, kind, message_id, resolution)
    if remove_message:
        await remove(session, by=by, kind=kind, message_id=message_id)
    author_id = message.author_id if isinstance(message, QaMessage) else message.sender_id
    if mute_length is not None and author_id is not None:
        await mute(session, by=by, edition=edition, user_id=author_id, length=mute_length)
    return settled


async def _close_reports(
    session: AsyncSession, by: User, kind: ReportKind, message_id: int, verdict: ReportResolution
) -> int:
    column = (
        ChatReport.qa_message_id if kind == ReportKind.QA else ChatReport.conversation_message_id
    )
    rows = await session.scalars(
        select(ChatReport).where(column == message_id, ChatReport.resolved_at.is_(None))
    )
    settled = 0
    for row in rows:
        row.resolved_at = clock.now()
        row.resolved_by_id = by.id
        row.resolution = verdict.value
        settled += 1
    await session.flush()
    return settled


async def mute(
    session: AsyncSession,
    *,
    by: User,
    edition: Edition,
    user_id: int,
    length: MuteLength,
    reason: str = "",
) -> ChatMute:
    """A moderator mutes a user in the edition's Q&A and conversations, replacing a running
    mute. The edition's moderators themselves cannot be muted (`chat.cannot_mute`)."""
    await permissions.require_organiser(session, by, edition)
    target = await session.get(User, user_id)
    if target is None:
        raise NotFound("This person does not exist.", code="chat.user_not_found")
    if await permissions.is_organiser(session, target, edition):
        raise Conflict("The fair's moderators cannot be muted.", code="chat.cannot_mute")
    reason = _clean_reason(reason)
    await _lift(session, by, edition.id, user_id)
    now = clock.now()
    duration = length.duration
    row = ChatMute(
        edition_id=edition.id,
        user_id=user_id,
        muted_by_id=by.id,
        reason=reason,
        created_at=now,
        until=now + duration if duration is not None else None,
    )
    session.add(row)
    await session.flush()
    return row


async def unmute(session: AsyncSession, *, by: User, edition: Edition, user_id: int) -> bool:
    """A moderator lifts the user's running mute in the edition; False when there was none."""
    await permissions.require_organiser(session, by, edition)
    return await _lift(session, by, edition.id, user_id)


async def _lift(session: AsyncSession, by: User, edition_id: int, user_id: int) -> bool:
    running = await session.scalars(
        select(ChatMute).where(ChatMute.user_id == user_id, chat.running_mutes(edition_id))
    )
    lifted = False
    for row in running:
        row.lifted_at = clock.now()
        row.lifted_by_id = by.id
        lifted = True
    await session.flush()
    return lifted


# Reads for moderators --------------------------------------------------------------------------


async def active_mutes(session: AsyncSession, *, by: User, edition: Edition) -> list[MuteView]:
    """The mutes running in the edition, newest first."""
    await permissions.require_organiser(session, by, edition)
    rows = await session.execute(
        select(ChatMute, User.name)
        .join(User, User.id == ChatMute.user_id)
        .where(chat.running_mutes(edition.id))
        .order_by(ChatMute.created_at.desc(), ChatMute.id.desc())
    )
    return [MuteView(m.user_id, name, m.until, m.reason, m.created_at) for m, name in rows.all()]


async def edition_threads(
    session: AsyncSession, *, by: User, edition: Edition
) -> list[chat.QaView]:
    """The edition's newest questions and answers, removed ones included, with full names."""
    await permissions.require_organiser(session, by, edition)
    condition = QaMessage.edition_id == edition.id
    return await chat.threads(session, condition, MODERATED_THREADS, public=False)


async def open_reports(session: AsyncSession, *, by: User, edition: Edition) -> list[Reported]:
    """The edition's reported messages with their open reports, oldest report first (4 queries
    at most)."""
    await permissions.require_organiser(session, by, edition)
    rows = await session.execute(
        select(ChatReport, User.name)
        .join(User, User.id == ChatReport.reporter_id)
        .where(ChatReport.edition_id == edition.id, ChatReport.resolved_at.is_(None))
        .order_by(ChatReport.created_at, ChatReport.id)
    )
    found = rows.all()
    lines: dict[tuple[ReportKind, int], list[ReportLine]] = {}
    for row, reporter in found:
        lines.setdefault(_key(row), []).append(ReportLine(reporter, row.reason, row.created_at))
    messages = await _reported_messages(session, [key for key in lines])
    return [Reported(messages[key], tuple(lines[key])) for key in lines if key in messages]


def _key(row: ChatReport) -> tuple[ReportKind, int]:
    if row.qa_message_id is not None:
        return ReportKind.QA, row.qa_message_id
    return ReportKind.CONVERSATION, row.conversation_message_id or 0


async def _reported_messages(
    session: AsyncSession, keys: list[tuple[ReportKind, int]]
) -> dict[tuple[ReportKind, int], ReportedMessage]:
    """The reported messages themselves (one query per kind), with author and employer."""
    shown: dict[tuple[ReportKind, int], ReportedMessage] = {}
    qa_ids = [i for kind, i in keys if kind == ReportKind.QA]
    talk_ids = [i for kind, i in keys if kind == ReportKind.CONVERSATION]
    if qa_ids:
        rows = await session.execute(
            select(QaMessage, User.name, Employer.name)
            .join(Booth, Booth.id == QaMessage.booth_id)
            .join(Employer, Employer.id == Booth.employer_id)
            .outerjoin(User, User.id == QaMessage.author_id)
            .where(QaMessage.id.in_(qa_ids))
        )
        for qa, name, employer in rows.all():
            shown[ReportKind.QA, qa.id] = _shown(ReportKind.QA, qa, qa.author_id, name, employer)
    if talk_ids:
        talk_rows = await session.execute(
            select(ConversationMessage, User.name, Employer.name)
            .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
            .join(Booth, Booth.id == Conversation.booth_id)
            .join(Employer, Employer.id == Booth.employer_id)
            .outerjoin(User, User.id == ConversationMessage.sender_id)
            .where(ConversationMessage.id.in_(talk_ids))
        )
        kind = ReportKind.CONVERSATION
        for talk, name, employer in talk_rows.all():
            shown[kind, talk.id] = _shown(kind, talk, talk.sender_id, name, employer)
    return shown


def _shown(
    kind: ReportKind,
    message: QaMessage | ConversationMessage,
    author_id: int | None,
    name: str | None,
    employer: str,
) -> ReportedMessage:
    removed = message.deleted_at is not None
    return ReportedMessage(
        kind, message.id, author_id, name or "", employer, message.body, message.created_at, removed
    )


# Helpers ---------------------------------------------------------------------------------------


async def _moderated(
    session: AsyncSession, by: User, kind: ReportKind, message_id: int
) -> tuple[QaMessage | ConversationMessage, Edition]:
    """The message and its edition, once `by` is known to moderate that edition."""
    message: QaMessage | ConversationMessage
    if kind == ReportKind.QA:
        message = await chat.get_qa(session, message_id)
        edition_id = message.edition_id
    else:
        message, conversation = await _conversation_message(session, message_id)
        edition_id = await _edition_of_booth(session, conversation.booth_id)
    edition = await editions.get(session, edition_id)
    await permissions.require_organiser(session, by, edition)
    return message, edition


async def _visible_qa(session: AsyncSession, message_id: int) -> QaMessage:
    """A Q&A message the public can see: at an approved booth of a published edition."""
    message = await chat.get_qa(session, message_id)
    booth = await employers.get_booth(session, message.booth_id)
    if booth.status != BoothStatus.APPROVED or booth.edition.published_at is None:
        raise NotFound("This message does not exist.", code="qa.not_found")
    return message


async def _conversation_message(
    session: AsyncSession, message_id: int
) -> tuple[ConversationMessage, Conversation]:
    message = await session.get(ConversationMessage, message_id)
    if message is None:
        raise NotFound("This message does not exist.", code="chat.not_found")
    return message, await _conversation(session, message.conversation_id)


async def _conversation(session: AsyncSession, conversation_id: int) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("This conversation does not exist.", code="conversation.not_found")
    return conversation


async def _edition_of_booth(session: AsyncSession, booth_id: int) -> int:
    edition_id = await session.scalar(select(Booth.edition_id).where(Booth.id == booth_id))
    if edition_id is None:
        raise NotFound("This booth does not exist.")
    return int(edition_id)


def _participants(conversation: Conversation) -> set[int]:
    return {conversation.candidate_id} | (
        {conversation.recruiter_id} if conversation.recruiter_id is not None else set()
    )
