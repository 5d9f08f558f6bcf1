"""Interview rooms: when they open, the waiting room, the mode, the phone number, chat.

A room belongs to one booked interview and to its two people only (fair.interviews.rules:
`room_role`). It opens 10 minutes before the slot and closes 15 minutes after its end.

The room page issues an entry token that the socket's `room.join` requires: an HMAC (with
SECRET_KEY) of the interview, the user, the room's closing time and the interview's
`room_secret`. It is useless to anyone else, after the room closes, and once the booking's secret
changes. Every room command checks the participant, the window and the token again.

Media flows browser to browser (WebRTC). The server only relays signalling
(live/room_commands.py) and hands out ICE servers (fair.ice).

Live events (published by the boundary after commit) on channels.room: `room.admitted`,
`room.mode`, `room.message` and `room.phone`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import candidates, channels, chat, clock, employers, events, i18n, settings
from fair.enums import InterviewMode, InterviewStatus
from fair.errors import Conflict, Forbidden, Invalid, NotFound
from fair.interviews.rules import (
    CANDIDATE,
    require_may_admit,
    require_may_give_phone,
    require_may_see_phone,
    room_role,
)
from fair.models import CandidateProfile, Interview, RoomMessage, User

ROOM_OPENS_BEFORE = timedelta(minutes=10)
ROOM_CLOSES_AFTER = timedelta(minutes=15)
MAX_MESSAGE = 2000

# Where a room stands, for the page (`state`).
NOT_BOOKED = "not_booked"
NOT_OPEN = "not_open"
OPEN = "open"
CLOSED = "closed"


@dataclass(frozen=True)
class Visit:
    """What the room page shows to one of its two people."""

    interview: Interview
    role: str  # rules.CANDIDATE or rules.RECRUITER
    state: str  # NOT_BOOKED, NOT_OPEN, OPEN or CLOSED
    other: User
    employer_name: str
    timezone: str
    token: str  # empty unless the room is open
    messages: list[RoomMessage]
    phone: str  # the candidate's own number (candidate side only)

    @property
    def opens_at(self) -> datetime:
        return opens_at(self.interview)

    @property
    def closes_at(self) -> datetime:
        return closes_at(self.interview)


def opens_at(interview: Interview) -> datetime:
    return interview.starts_at - ROOM_OPENS_BEFORE


def closes_at(interview: Interview) -> datetime:
    return interview.ends_at + ROOM_CLOSES_AFTER


def state(interview: Interview, now: datetime | None = None) -> str:
    now = now or clock.now()
    if interview.status != InterviewStatus.BOOKED:
        return NOT_BOOKED
    if now < opens_at(interview):
        return NOT_OPEN
    if now >= closes_at(interview):
        return CLOSED
    return OPEN


# Entering --------------------------------------------------------------------------------------


async def get(session: AsyncSession, interview_id: int, *, lock: bool = False) -> Interview:
    query = select(Interview).where(Interview.id == interview_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    found = await session.scalar(query)
    if found is None:
        raise NotFound("This interview room does not exist.", code="room.not_found")
    return found


async def enter(
    session: AsyncSession,
    *,
    user: User,
    interview_id: int,
    now: datetime | None = None,
    lock: bool = False,
    token: str | None = None,
) -> Interview:
    """The interview, when `user` is one of its two people and its room is open now (and, with
    `token`, when that is their entry token: `check_token`).

    Raises NotFound `room.not_found` (anyone else), Conflict `room.not_open` (too early, with
    the opening time) or `room.closed` (not booked, or over).
    """
    interview = await get(session, interview_id, lock=lock)
    room_role(interview, user)
    found = state(interview, now)
    if found == NOT_BOOKED:
        raise Conflict("This interview is not booked, so its room is closed.", code="room.closed")
    if found == CLOSED:
        raise Conflict("This interview is over: its room has closed.", code="room.closed")
    if found == NOT_OPEN:
        zone = await _timezone(session, interview)
        when = opens_at(interview).astimezone(ZoneInfo(zone))
        raise Conflict(
            "The room opens at %(time)s, 10 minutes before the interview.",
            code="room.not_open",
            params={"time": i18n.moment(when, zone, "short")},
        )
    if token is not None:
        check_token(interview, user_id=user.id, token=token, now=now)
    return interview


async def visit(
    session: AsyncSession, *, user: User, interview_id: int, now: datetime | None = None
) -> Visit:
    """The room page's content: whatever the time, to the interview's two people only."""
    now = now or clock.now()
    interview = await get(session, interview_id)
    role = room_role(interview, user)
    found = state(interview, now)
    other = await session.get(
        User, interview.recruiter_id if role == CANDIDATE else interview.candidate_id
    )
    booth = await employers.get_booth(session, interview.booth_id)
    assert other is not None
    is_open = found == OPEN
    phone = ""
    if role == CANDIDATE:
        phone = (await candidates.profile(session, user)).phone
    return Visit(
        interview=interview,
        role=role,
        state=found,
        other=other,
        employer_name=booth.employer.name,
        timezone=booth.edition.timezone,
        token=entry_token(interview, user.id) if is_open else "",
        messages=await messages(session, interview_id=interview.id) if is_open else [],
        phone=phone,
    )


def entry_token(interview: Interview, user_id: int) -> str:
    """The token `room.join` asks for: "<expiry>.<mac>", valid until the room closes."""
    expires = int(closes_at(interview).timestamp())
    return f"{expires}.{_mac(interview, user_id, expires)}"


def check_token(
    interview: Interview, *, user_id: int, token: str, now: datetime | None = None
) -> None:
    """Refuse a token made for another user, room or booking (`room.bad_token`), or expired."""
    expires, _, mac = token.partition(".")
    if (
        not (expires.isascii() and expires.isdigit())  # '²' is a digit int() refuses
        or len(expires) > 12
        or not hmac.compare_digest(mac.encode(), _mac(interview, user_id, int(expires)).encode())
    ):
        raise Forbidden(
            "This room's entry is not valid for you: reload the room's page.",
            code="room.bad_token",
        )
    if (now or clock.now()).timestamp() >= int(expires):
        raise Conflict("This interview is over: its room has closed.", code="room.closed")


def require_call(interview: Interview, *, video: bool = False) -> None:
    """Media flows once the recruiter let the candidate in (and, through the relay, only in
    video mode: a phone or written interview sends no media)."""
    if interview.admitted_at is None:
        raise Conflict("The recruiter has not let the candidate in yet.", code="room.not_admitted")
    if video and interview.mode != InterviewMode.VIDEO:
        raise Conflict(
            "This interview is not by video now: switch to video first.", code="room.not_video"
        )


def _mac(interview: Interview, user_id: int, expires: int) -> str:
    message = f"fair-room:{interview.id}:{user_id}:{expires}:{interview.room_secret}"
    key = settings.get().secret_key.encode()
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# State changes ---------------------------------------------------------------------------------


async def admit(
    session: AsyncSession, *, user: User, interview_id: int, now: datetime | None = None
) -> Interview:
    """The interview's recruiter lets the candidate in from the waiting room.

    Admission happens once: admitting again keeps the first time. Side effect: `room.admitted`
    on the room's channel (again on each call, so a lost event can be made up for).
    """
    now = _utc(now)
    interview = await enter(session, user=user, interview_id=interview_id, now=now, lock=True)
    require_may_admit(interview, user)
    if interview.admitted_at is None:
        interview.admitted_at = now
        await session.flush()
    assert interview.admitted_at is not None
    _emit(session, interview, "room.admitted", admitted_at=interview.admitted_at.isoformat())
    return interview


async def switch_mode(
    session: AsyncSession,
    *,
    user: User,
    interview_id: int,
    mode: InterviewMode,
    now: datetime | None = None,
) -> Interview:
    """Either person moves the interview to video, phone or written chat (when video fails).

    Side effect: `room.mode` with the new mode and who chose it, when it changes.
    """
    now = _utc(now)
    interview = await enter(session, user=user, interview_id=interview_id, now=now, lock=True)
    if interview.mode == mode.value:
        return interview
    interview.mode = mode.value
    interview.updated_at = now
    await session.flush()
    _emit(session, interview, "room.mode", mode=mode.value, by=room_role(interview, user))
    return interview


async def phone_number(
    session: AsyncSession, *, user: User, interview_id: int, now: datetime | None = None
) -> str:
    """The candidate's number, for the interview's recruiter only and only during the slot.

    Empty when the candidate gave none.
    """
    now = now or clock.now()
    interview = await enter(session, user=user, interview_id=interview_id, now=now)
    require_may_see_phone(interview, user)
    if not interview.starts_at <= now < interview.ends_at:
        raise Conflict(
            "The candidate's number shows only during the interview.", code="room.phone_hidden"
        )
    profile = await session.get(CandidateProfile, interview.candidate_id)
    return profile.phone if profile is not None else ""


async def set_phone(
    session: AsyncSession,
    *,
    user: User,
    interview_id: int,
    phone: str,
    now: datetime | None = None,
) -> str:
    """The candidate gives or confirms the number to call (kept in their profile).

    Side effect: `room.phone` (without the number: the recruiter asks for it, within the slot).
    """
    interview = await enter(session, user=user, interview_id=interview_id, now=now)
    require_may_give_phone(interview, user)
    profile = await candidates.set_phone(session, user, phone=phone)
    _emit(session, interview, "room.phone")
    return profile.phone


async def send_message(
    session: AsyncSession,
    *,
    user: User,
    interview_id: int,
    body: str,
    now: datetime | None = None,
) -> RoomMessage:
    """Either person writes in the room (2,000 characters at most), stored as plain text.

    Muted or too fast writers are refused (chat.check_can_post). Side effect: `room.message`.
    """
    now = _utc(now)
    interview = await enter(session, user=user, interview_id=interview_id, now=now)
    body = body.strip()
    if not body or len(body) > MAX_MESSAGE:
        text = "Write a message of 2,000 characters at most."
        raise Invalid(text, code="room.invalid", fields={"body": text})
    await chat.check_can_post(session, user=user, booth_id=interview.booth_id)
    message = RoomMessage(interview_id=interview.id, sender_id=user.id, body=body, created_at=now)
    session.add(message)
    await session.flush()
    _emit(
        session,
        interview,
        "room.message",
        message_id=message.id,
        sender_id=user.id,
        body=message.body,
        created_at=message.created_at.isoformat(),
    )
    return message


# Reads -----------------------------------------------------------------------------------------


async def messages(session: AsyncSession, *, interview_id: int) -> list[RoomMessage]:
    """The room's messages, oldest first (callers check the reader is a participant)."""
    rows = await session.scalars(
        select(RoomMessage)
        .where(RoomMessage.interview_id == interview_id)
        .order_by(RoomMessage.created_at, RoomMessage.id)
    )
    return list(rows)


# Helpers ---------------------------------------------------------------------------------------


def _utc(now: datetime | None) -> datetime:
    return (now or clock.now()).astimezone(UTC)


def _emit(session: AsyncSession, interview: Interview, event: str, **payload: Any) -> None:
    events.emit(
        session,
        channel=channels.room(interview.id),
        event=event,
        payload={"interview_id": interview.id, **payload},
    )


async def _timezone(session: AsyncSession, interview: Interview) -> str:
    booth = await employers.get_booth(session, interview.booth_id)
    return booth.edition.timezone
