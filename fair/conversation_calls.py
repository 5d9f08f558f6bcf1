"""A booth conversation by video or phone: its mode and the request to change it.

A conversation (fair.conversations) starts in written chat, which stays available beside any
other mode. Either of its two people may ask to move to video or phone (`request_mode`); the
move happens only when the other accepts (`accept`): the other may refuse, and the one who
asked may withdraw (`decline`). Nobody is moved to video or phone without saying yes. Going
back to written chat needs nobody's acceptance (`request_mode` with CHAT). The mode is stored
on the conversation, so every process and a reloaded page see it.

By video, media flows browser to browser as in the interview rooms; the boundary
(live/call_commands.py) relays the signalling and the media relay fallback once `require_call`
allows it. By phone, the recruiter calls the number the candidate gave (`set_phone`): it shows
to the conversation's recruiter only while the conversation is open and in phone mode
(`phone_number`).

Only the conversation's two people may do any of this: anyone else gets
`conversation.not_found`, as for its messages.

Live events (published by the boundary after commit), on channels.user of both participants:
`conversation.mode` (the whole call state, see `state`) and `conversation.phone` (without the
number).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fair import candidates, channels, events
from fair.enums import InterviewMode
from fair.errors import Conflict, Forbidden, NotYours
from fair.models import CandidateProfile, Conversation, User

CANDIDATE = "candidate"
RECRUITER = "recruiter"

# What happened, in the `change` field of `conversation.mode`.
REQUESTED = "requested"
ACCEPTED = "accepted"
DECLINED = "declined"  # the other person refused
WITHDRAWN = "withdrawn"  # the person who asked took it back
SWITCHED = "switched"  # back to written chat, at once


def role(conversation: Conversation, user: User) -> str:
    """CANDIDATE or RECRUITER: the user's side; `conversation.not_found` for anyone else."""
    if user.id == conversation.candidate_id:
        return CANDIDATE
    if conversation.recruiter_id is not None and user.id == conversation.recruiter_id:
        return RECRUITER
    raise NotYours("This conversation does not exist.", code="conversation.not_found")


def state(conversation: Conversation) -> dict[str, Any]:
    """The call's state as events and replies carry it: the mode, and the pending request
    (`requested_mode`, and `requested_by`: the role of the one who asked), or nulls."""
    asker = None
    if conversation.requested_by_id is not None:
        asker = (
            CANDIDATE if conversation.requested_by_id == conversation.candidate_id else RECRUITER
        )
    return {
        "conversation_id": conversation.id,
        "mode": conversation.mode,
        "requested_mode": conversation.requested_mode,
        "requested_by": asker,
    }


# State changes ---------------------------------------------------------------------------------


async def request_mode(
    session: AsyncSession, *, user: User, conversation: Conversation, mode: InterviewMode
) -> Conversation:
    """Ask to move the conversation to video or phone, or go back to written chat at once.

    Asking for what the other person already asked for accepts it; asking for the mode the
    conversation is in changes nothing. Side effect: `conversation.mode` (`requested`, or
    `switched` / `accepted`) to both participants, when something changed.
    """
    conversation = await _open(session, user, conversation.id)
    me = role(conversation, user)
    if mode == InterviewMode.CHAT:
        if conversation.mode == mode.value and conversation.requested_mode is None:
            return conversation
        return await _set_mode(session, conversation, mode.value, change=SWITCHED, by=me)
    if conversation.requested_mode == mode.value and conversation.requested_by_id != user.id:
        return await _set_mode(session, conversation, mode.value, change=ACCEPTED, by=me)
    if conversation.mode == mode.value:
        return conversation
    if conversation.requested_mode == mode.value:
        return conversation  # asked already
    conversation.requested_mode = mode.value
    conversation.requested_by_id = user.id
    await session.flush()
    _emit_state(session, conversation, change=REQUESTED, by=me)
    return conversation


async def accept(session: AsyncSession, *, user: User, conversation: Conversation) -> Conversation:
    """The other person accepts the pending request: the conversation moves to that mode.

    Side effect: `conversation.mode` (`accepted`) to both participants.
    """
    conversation = await _open(session, user, conversation.id)
    me = role(conversation, user)
    requested = _pending(conversation)
    if conversation.requested_by_id == user.id:
        raise Conflict(
            "You asked for this: the other person accepts or refuses it.",
            code="conversation.own_request",
        )
    return await _set_mode(session, conversation, requested, change=ACCEPTED, by=me)


async def decline(session: AsyncSession, *, user: User, conversation: Conversation) -> Conversation:
    """The other person refuses the pending request, or the one who asked withdraws it: the
    conversation stays as it is.

    Side effect: `conversation.mode` (`declined` or `withdrawn`) to both participants.
    """
    conversation = await _open(session, user, conversation.id)
    me = role(conversation, user)
    _pending(conversation)
    change = WITHDRAWN if conversation.requested_by_id == user.id else DECLINED
    _clear_request(conversation)
    await session.flush()
    _emit_state(session, conversation, change=change, by=me)
    return conversation


async def set_phone(
    session: AsyncSession, *, user: User, conversation: Conversation, phone: str
) -> str:
    """The candidate gives or confirms the number the recruiter may call (kept in their
    profile, as in the interview rooms). Side effect: `conversation.phone` to both participants
    (without the number: the recruiter asks for it with `phone_number`)."""
    conversation = await _open(session, user, conversation.id, lock=False)
    if role(conversation, user) != CANDIDATE:
        raise Forbidden("Only the candidate can give their number.", code="conversation.forbidden")
    profile = await candidates.set_phone(session, user, phone=phone)
    _emit(session, conversation, "conversation.phone", {"conversation_id": conversation.id})
    return profile.phone


# Reads -----------------------------------------------------------------------------------------


async def phone_number(session: AsyncSession, *, user: User, conversation: Conversation) -> str:
    """The candidate's number, for the conversation's recruiter only, and only while it is open
    and by phone (`conversation.phone_hidden` otherwise). Empty when the candidate gave none."""
    conversation = await _open(session, user, conversation.id, lock=False)
    if role(conversation, user) != RECRUITER:
        raise Forbidden(
            "Only the recruiter sees the candidate's phone number.", code="conversation.forbidden"
        )
    if conversation.mode != InterviewMode.PHONE:
        raise Conflict(
            "The candidate's number shows only while you talk by phone.",
            code="conversation.phone_hidden",
        )
    profile = await session.get(CandidateProfile, conversation.candidate_id)
    return profile.phone if profile is not None else ""


async def require_call(session: AsyncSession, *, user: User, conversation_id: int) -> str:
    """The user's role, when they may exchange media in the conversation now: one of its two
    people, open, by video (`conversation.not_video` otherwise)."""
    conversation = await _open(session, user, conversation_id, lock=False)
    me = role(conversation, user)
    if conversation.mode != InterviewMode.VIDEO:
        raise Conflict(
            "This conversation is not by video now: ask for video first.",
            code="conversation.not_video",
        )
    return me


# Helpers ---------------------------------------------------------------------------------------


async def _open(
    session: AsyncSession, user: User, conversation_id: int, *, lock: bool = True
) -> Conversation:
    """The conversation, read again (locked for a change), for its two people while open."""
    conversation = await session.get(
        Conversation,
        conversation_id,
        with_for_update=True if lock else None,
        populate_existing=True,
    )
    if conversation is None:
        raise NotYours("This conversation does not exist.", code="conversation.not_found")
    role(conversation, user)
    if conversation.ended_at is not None:
        raise Conflict("This conversation has already ended.", code="conversation.ended")
    return conversation


def _pending(conversation: Conversation) -> str:
    if conversation.requested_mode is None:
        raise Conflict(
            "Nobody asked to change how you talk, or it was answered already.",
            code="conversation.no_request",
        )
    return conversation.requested_mode


def _clear_request(conversation: Conversation) -> None:
    conversation.requested_mode = None
    conversation.requested_by_id = None


async def _set_mode(
    session: AsyncSession, conversation: Conversation, mode: str, *, change: str, by: str
) -> Conversation:
    conversation.mode = mode
    _clear_request(conversation)
    await session.flush()
    _emit_state(session, conversation, change=change, by=by)
    return conversation


def _emit_state(session: AsyncSession, conversation: Conversation, *, change: str, by: str) -> None:
    _emit(
        session,
        conversation,
        "conversation.mode",
        {**state(conversation), "change": change, "by": by},
    )


def _emit(
    session: AsyncSession, conversation: Conversation, event: str, payload: dict[str, Any]
) -> None:
    people = {conversation.candidate_id, conversation.recruiter_id} - {None}
    for user_id in sorted(p for p in people if p is not None):
        events.emit(session, channel=channels.user(user_id), event=event, payload=payload)
