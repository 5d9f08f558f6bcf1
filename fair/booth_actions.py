"""The one thing a visitor can do next at a booth, chosen by the state of the booth and the fair.

In this order: book an interview (the booth invited the candidate and has free slots); join the
booth's queue (during the fair's live hours), with the place one would take and an honest
estimate of the wait; apply (the application window is open and the booth has offers); else
nothing is possible now, with why and, when known, from when.

The wait estimate is fair.queues' own (the median length of the booth's last 10 finished
conversations, 5 minutes when there are none, times the people ahead), said with what it rests
on: `sample` is the number of conversations it was computed from (0: the 5-minute assumption).
While nobody staffs the booth there is no estimate: the wait starts when a recruiter arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, editions, interviews, presence, queues
from fair.enums import EditionStatus, Role
from fair.models import Booth, Conversation, Edition, InterviewInvitation, Offer, User


class Kind(StrEnum):
    BOOK = "book"
    QUEUE = "queue"
    APPLY = "apply"
    NONE = "none"


class Why(StrEnum):
    """Why nothing is possible now."""

    OPENS_LATER = "opens_later"  # the queue opens at the next live hours (`when`)
    APPLICATIONS_LATER = "applications_later"  # applications open at `when`
    NO_OFFERS = "no_offers"  # the booth has no offer open to applications
    OVER = "over"  # the fair is over


@dataclass(frozen=True)
class Action:
    kind: Kind
    # queue: people waiting now, the wait for one joining now (None while unstaffed), and the
    # number of conversations the estimate rests on; `position` is the candidate's own place
    # when they wait already (its estimate in `estimate_seconds`).
    waiting: int = 0
    estimate_seconds: int | None = None
    sample: int = 0
    staffed: bool = False
    position: int | None = None
    in_conversation: bool = False
    # book: how many free slots, the first one's start
    free_slots: int = 0
    first_slot: datetime | None = None
    # apply: how many offers, the one offer when there is one, until when
    offers: int = 0
    offer_id: int | None = None
    closes_at: datetime | None = None
    # none: why, and from when
    why: Why | None = None
    when: datetime | None = None


async def next_action(
    session: AsyncSession,
    *,
    booth: Booth,
    edition: Edition,
    user: User | None,
    now: datetime | None = None,
) -> Action:
    """The call to action of the booth page for `user` (None: a visitor not logged in)."""
    now = now or clock.now()
    offers = list(
        await session.scalars(
            select(Offer.id)
            .where(Offer.booth_id == booth.id, Offer.published.is_(True))
            .order_by(Offer.id)
        )
    )
    candidate = user if user is not None and user.role == Role.CANDIDATE else None
    if candidate is not None:
        booking = await _booking(session, booth, candidate)
        if booking is not None:
            return booking
    if editions.open_now(edition, now):
        return await _queue(session, booth, candidate)
    if offers and editions.applications_open(edition, now):
        only = offers[0] if len(offers) == 1 else None
        return Action(
            Kind.APPLY, offers=len(offers), offer_id=only, closes_at=edition.applications_close_at
        )
    return _nothing(edition, offers, now)


async def _booking(session: AsyncSession, booth: Booth, candidate: User) -> Action | None:
    invited = await session.scalar(
        select(InterviewInvitation.id).where(
            InterviewInvitation.booth_id == booth.id,
            InterviewInvitation.candidate_id == candidate.id,
            InterviewInvitation.active_key == 1,
        )
    )
    if invited is None:
        return None
    free = await interviews.free_slots(session, booth.id)
    if not free:
        return None
    return Action(Kind.BOOK, free_slots=len(free), first_slot=free[0].starts_at)


async def _queue(session: AsyncSession, booth: Booth, candidate: User | None) -> Action:
    staffed = await presence.is_staffed(session, booth.id)
    waiting = (await queues.counts(session, booth.id))["waiting"]
    median = await queues.median_seconds(session, booth.id)
    sample = await _sample(session, booth.id)
    position, in_conversation = None, False
    estimate = waiting * median if staffed else None
    if candidate is not None:
        entry = await queues.entry_of(session, candidate=candidate, booth_id=booth.id)
        if entry is not None and entry.status == "waiting":
            place = await queues.place_of(session, entry)
            if place is not None:
                position = place.position
                estimate = place.estimate_seconds if staffed else None
        elif entry is not None:
            in_conversation = True  # called or talking: the desk below says what to do
    return Action(
        Kind.QUEUE,
        waiting=waiting,
        estimate_seconds=estimate,
        sample=sample,
        staffed=staffed,
        position=position,
        in_conversation=in_conversation,
    )


async def _sample(session: AsyncSession, booth_id: int) -> int:
    """How many finished conversations the estimate rests on (at most queues.ESTIMATE_SAMPLE)."""
    recent = (
        select(Conversation.id)
        .where(Conversation.booth_id == booth_id, Conversation.ended_at.is_not(None))
        .limit(queues.ESTIMATE_SAMPLE)
        .subquery()
    )
    return int(await session.scalar(select(func.count()).select_from(recent)) or 0)


def _nothing(edition: Edition, offers: list[int], now: datetime) -> Action:
    opening = next_opening(edition, now)
    if opening is not None:
        return Action(Kind.NONE, why=Why.OPENS_LATER, when=opening)
    status = editions.status_at(edition, now)
    if status in (EditionStatus.CLOSED, EditionStatus.ARCHIVED):
        return Action(Kind.NONE, why=Why.OVER)
    if now < edition.applications_open_at:
        return Action(Kind.NONE, why=Why.APPLICATIONS_LATER, when=edition.applications_open_at)
    return Action(Kind.NONE, why=Why.NO_OFFERS if not offers else Why.OVER)


def next_opening(edition: Edition, now: datetime) -> datetime | None:
    """When the fair's live hours next open after `now` (None when no live day is left)."""
    zone = ZoneInfo(edition.timezone)
    for day in edition.live_days:
        opens = datetime.combine(day.day, day.opens, zone)
        if opens > now:
            return opens
    return None
