"""The "My fair" page's domain: what a candidate has going on in an edition today, on one page.

Today's interviews (with the room's state: its link works from 10 minutes before the start),
the candidate's places in booths' queues (position and estimated wait, as fair.queues counts
them), the talks they registered for that start today and have not ended, and their
applications whose status moved in the last `MOVED_WITHIN`. Only the candidate's own rows: every
statement filters on their id. A fixed number of statements whatever the number of rows (at
most seven).

The page follows the candidate's own live channel (channels.user): `interview.changed`,
`queue.position`, `queue.called`, `queue.skipped`, `conversation.started`, `conversation.ended`,
`webconference.changed` and `application.status` say that something shown here changed, and
the page reads this again (static/live.js and static/my_fair.js).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from fair import clock, editions, queues
from fair.enums import EditionStatus, QueueStatus, RegistrationStatus, Role, WebconferenceStatus
from fair.errors import Forbidden
from fair.interviews import rooms
from fair.models import (
    Application,
    Booth,
    Conversation,
    Edition,
    EditionCandidate,
    Employer,
    Interview,
    Offer,
    QueueEntry,
    User,
    Webconference,
    WebconferenceRegistration,
)

MOVED_WITHIN = timedelta(days=7)
SOON = timedelta(minutes=30)  # a talk starting within this is "starting soon"
LIVE_EVENTS = (
    "interview.changed",
    "queue.position",
    "queue.called",
    "queue.skipped",
    "conversation.started",
    "conversation.ended",
    "webconference.changed",
    "application.status",
)


@dataclass(frozen=True)
class TodayInterview:
    interview: Interview
    employer: str
    room: str  # fair.interviews.rooms' state: not_booked, not_open, open, closed
    opens_at: datetime


@dataclass(frozen=True)
class QueuePlace:
    booth_id: int
    employer: str
    status: QueueStatus
    position: int | None  # while waiting
    estimate_seconds: int | None  # while waiting


@dataclass(frozen=True)
class Talk:
    webconference: Webconference
    status: RegistrationStatus
    live: bool
    soon: bool


@dataclass(frozen=True)
class Moved:
    application: Application
    offer_title: str
    employer: str


@dataclass
class MyFair:
    edition: Edition
    live: bool
    interviews: list[TodayInterview] = field(default_factory=list)
    queues: list[QueuePlace] = field(default_factory=list)
    talks: list[Talk] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.interviews or self.queues or self.talks or self.moved)


async def of_candidate(
    session: AsyncSession, *, candidate: User, edition: Edition, now: datetime | None = None
) -> MyFair:
    """The candidate's fair today; Forbidden for anyone but a candidate."""
    if candidate.role != Role.CANDIDATE:
        raise Forbidden("This page is for candidates.", code="my_fair.forbidden")
    now = now or clock.now()
    start, end = _today(edition, now)
    return MyFair(
        edition=edition,
        live=editions.open_now(edition, now),
        interviews=await _interviews(session, candidate, edition, start, end, now),
        queues=await _queues(session, candidate, edition),
        talks=await _talks(session, candidate, edition, end, now),
        moved=await _moved(session, candidate, edition, now),
    )


def _today(edition: Edition, now: datetime) -> tuple[datetime, datetime]:
    """Today's bounds in the edition's time zone."""
    zone = ZoneInfo(edition.timezone)
    local = now.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


async def _interviews(
    session: AsyncSession,
    candidate: User,
    edition: Edition,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[TodayInterview]:
    rows = await session.execute(
        select(Interview, Employer.name)
        .join(Booth, Booth.id == Interview.booth_id)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(
            Interview.candidate_id == candidate.id,
            Interview.active_key == 1,
            Booth.edition_id == edition.id,
            Interview.starts_at >= start,
            Interview.starts_at < end,
        )
        .order_by(Interview.starts_at, Interview.id)
    )
    return [
        TodayInterview(i, name, rooms.state(i, now), rooms.opens_at(i)) for i, name in rows.all()
    ]


async def _queues(session: AsyncSession, candidate: User, edition: Edition) -> list[QueuePlace]:
    rows = (
        await session.execute(
            select(QueueEntry, Employer.name)
            .join(Booth, Booth.id == QueueEntry.booth_id)
            .join(Employer, Employer.id == Booth.employer_id)
            .where(
                QueueEntry.candidate_id == candidate.id,
                QueueEntry.active_key == 1,
                Booth.edition_id == edition.id,
            )
            .order_by(QueueEntry.joined_at, QueueEntry.id)
        )
    ).all()
    waiting = [e.booth_id for e, _ in rows if e.status == QueueStatus.WAITING]
    places = await _places(session, waiting) if waiting else {}
    found = []
    for entry, name in rows:
        place = places.get(entry.id)
        found.append(
            QueuePlace(
                booth_id=entry.booth_id,
                employer=name,
                status=QueueStatus(entry.status),
                position=place[0] if place else None,
                estimate_seconds=place[1] if place else None,
            )
        )
    return found


async def _places(session: AsyncSession, booth_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{entry id: (position, estimate in seconds)} of every waiting entry of the booths, counted
    as fair.queues counts one booth's (held candidates passed over; the median of the booth's
    last conversations times the people ahead), in two statements for all the booths."""
    other = aliased(QueueEntry)
    held = exists().where(
        other.candidate_id == QueueEntry.candidate_id, other.status.in_(queues.ENGAGED)
    )
    rows = await session.execute(
        select(QueueEntry.id, QueueEntry.booth_id, held)
        .where(QueueEntry.booth_id.in_(booth_ids), QueueEntry.status == QueueStatus.WAITING)
        .order_by(QueueEntry.booth_id, QueueEntry.joined_at, QueueEntry.id)
    )
    medians = await _medians(session, booth_ids)
    places: dict[int, tuple[int, int]] = {}
    ahead: dict[int, int] = {}
    for entry_id, booth_id, is_held in rows.all():
        n = ahead.get(booth_id, 0)
        places[entry_id] = (n + 1, n * medians.get(booth_id, queues.DEFAULT_CONVERSATION_SECONDS))
        if not is_held:
            ahead[booth_id] = n + 1
    return places


async def _medians(session: AsyncSession, booth_ids: list[int]) -> dict[int, int]:
    """Each booth's median conversation length over its last queues.ESTIMATE_SAMPLE ones."""
    rank = (
        func.row_number()
        .over(
            partition_by=Conversation.booth_id,
            order_by=(Conversation.ended_at.desc(), Conversation.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(Conversation.booth_id, Conversation.started_at, Conversation.ended_at, rank)
        .where(Conversation.booth_id.in_(booth_ids), Conversation.ended_at.is_not(None))
        .subquery()
    )
    rows = await session.execute(
        select(ranked.c.booth_id, ranked.c.started_at, ranked.c.ended_at).where(
            ranked.c.rank <= queues.ESTIMATE_SAMPLE
        )
    )
    lengths: dict[int, list[float]] = {}
    for booth_id, started, ended in rows.all():
        lengths.setdefault(booth_id, []).append((ended - started).total_seconds())
    return {b: round(statistics.median(v)) for b, v in lengths.items()}


async def _talks(
    session: AsyncSession, candidate: User, edition: Edition, end: datetime, now: datetime
) -> list[Talk]:
    rows = await session.execute(
        select(Webconference, WebconferenceRegistration.status)
        .join(
            WebconferenceRegistration,
            WebconferenceRegistration.webconference_id == Webconference.id,
        )
        .where(
            WebconferenceRegistration.candidate_id == candidate.id,
            WebconferenceRegistration.active_key == 1,
            Webconference.edition_id == edition.id,
            Webconference.status.in_(
                (WebconferenceStatus.SCHEDULED.value, WebconferenceStatus.LIVE.value)
            ),
            Webconference.starts_at < end,
            Webconference.ends_at > now,
        )
        .order_by(Webconference.starts_at, Webconference.id)
    )
    return [
        Talk(
            webconference=talk,
            status=RegistrationStatus(status),
            live=talk.starts_at <= now,
            soon=now < talk.starts_at <= now + SOON,
        )
        for talk, status in rows.all()
    ]


async def _moved(
    session: AsyncSession, candidate: User, edition: Edition, now: datetime
) -> list[Moved]:
    rows = await session.execute(
        select(Application, Offer.title, Employer.name)
        .join(Offer, Offer.id == Application.offer_id)
        .join(Booth, Booth.id == Application.booth_id)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(
            Application.candidate_id == candidate.id,
            Application.edition_id == edition.id,
            Application.status_changed_at >= now - MOVED_WITHIN,
            Application.status_changed_at > Application.created_at,
        )
        .order_by(Application.status_changed_at.desc(), Application.id.desc())
        .limit(20)
    )
    return [Moved(a, title, name) for a, title, name in rows.all()]


async def current_edition(
    session: AsyncSession, candidate: User, now: datetime | None = None
) -> Edition | None:
    """The edition whose "My fair" the menu opens: among the published ones the candidate takes
    part in (fair.participants), the one live now, else the next to go live, else the latest."""
    now = now or clock.now()
    rows = await session.scalars(
        select(Edition)
        .join(EditionCandidate, EditionCandidate.edition_id == Edition.id)
        .where(
            EditionCandidate.user_id == candidate.id,
            Edition.published_at.is_not(None),
            Edition.archived_at.is_(None),
        )
        .options(selectinload(Edition.live_days))
        .order_by(Edition.applications_open_at.desc(), Edition.id.desc())
    )
    found = list(rows)
    if not found:
        return None
    live = [e for e in found if editions.status_at(e, now) == EditionStatus.LIVE]
    if live:
        return live[0]
    coming = [(b[0], e.id, e) for e in found if (b := editions.live_bounds(e)) and b[0] > now]
    return min(coming)[2] if coming else found[0]
