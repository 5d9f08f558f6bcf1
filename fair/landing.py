"""An edition's landing page as the public sees it: where the fair stands (before its live
days, open now, paused between two live days, closed), the countdown to its next opening,
what is live now (talks on stage, booths staffed), its key figures and the programme's next
talks.

Only what the public sees is counted: published offers of approved booths, approved booths,
the talks of the organisers and of approved booths. `of_edition` runs a fixed number of
queries whatever the size of the edition (two for the figures, one for the partners' logos,
and by phase at most three more: live talks, next talks, staffed booths).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, distinct, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import branding, clock, editions
from fair.enums import BoothStatus, EditionStatus, QueueStatus, WebconferenceStatus
from fair.models import (
    Booth,
    BoothPresence,
    Edition,
    EditionPartner,
    Employer,
    Offer,
    QueueEntry,
    Webconference,
)

NEXT_TALKS = 4  # the programme's next talks shown on the landing page

BEFORE, OPEN, PAUSED, CLOSED = "before", "open", "paused", "closed"


@dataclass(frozen=True)
class Countdown:
    """How long until a moment, in one unit: whole days (a day or more), else whole hours
    (an hour or more), else minutes rounded up (at least one). static/countdown.js counts
    the same way."""

    unit: str  # "days", "hours" or "minutes"
    count: int


@dataclass(frozen=True)
class Figures:
    offers: int  # published offers of approved booths
    employers: int  # approved booths (one per employer and edition)
    sectors: int  # NAF divisions of those employers


@dataclass(frozen=True)
class Talk:
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    employer: str  # "" for the organisers' own talks


@dataclass(frozen=True)
class StaffedBooth:
    id: int
    employer: str
    waiting: int  # candidates waiting in its queue


@dataclass(frozen=True)
class Landing:
    phase: str  # BEFORE, OPEN, PAUSED or CLOSED
    opens_at: datetime | None  # the next opening of a live day (BEFORE, PAUSED), UTC
    countdown: Countdown | None
    figures: Figures
    live_talks: list[Talk]
    next_talks: list[Talk]
    staffed: list[StaffedBooth]
    logos: list[EditionPartner]  # the partners set on the Branding page (fair.branding)
    partners: list[str]  # else the names written in the edition's settings


def partner_names(text: str) -> list[str]:
    """The partners an organiser listed (the edition's `partners` text), one per line or
    separated by commas or semicolons, in their order, each once."""
    names = (n.strip() for n in re.split(r"[\n,;]", text))
    return list(dict.fromkeys(n for n in names if n))


def countdown(target: datetime, now: datetime) -> Countdown:
    left = max(target - now, timedelta(0))
    if left >= timedelta(days=1):
        return Countdown("days", left // timedelta(days=1))
    if left >= timedelta(hours=1):
        return Countdown("hours", left // timedelta(hours=1))
    return Countdown("minutes", max(1, -(-left // timedelta(minutes=1))))


def next_opening(edition: Edition, now: datetime) -> datetime | None:
    """When the next live day opens after `now` (UTC), None after the last one opened."""
    zone = ZoneInfo(edition.timezone)
    for day in edition.live_days:  # in order (the relationship is ordered by day)
        opens = datetime.combine(day.day, day.opens, zone)
        if opens > now:
            return opens.astimezone(now.tzinfo)
    return None


def phase(edition: Edition, now: datetime) -> str:
    """CLOSED once the edition is over (editions.status_at), OPEN during a live day's hours,
    BEFORE until the first live day opens, PAUSED in between (overnight, or after the last
    live day while applications are still open)."""
    if editions.status_at(edition, now) in (EditionStatus.CLOSED, EditionStatus.ARCHIVED):
        return CLOSED
    if editions.open_now(edition, now):
        return OPEN
    bounds = editions.live_bounds(edition)
    if bounds is None or now < bounds[0]:
        return BEFORE
    return PAUSED


async def of_edition(
    session: AsyncSession, edition: Edition, now: datetime | None = None
) -> Landing:
    """What the landing page of `edition` shows at `now`."""
    now = now or clock.now()
    current = phase(edition, now)
    opens_at = next_opening(edition, now) if current in (BEFORE, PAUSED) else None
    going_on = current != CLOSED
    return Landing(
        phase=current,
        opens_at=opens_at,
        countdown=countdown(opens_at, now) if opens_at is not None else None,
        figures=await figures(session, edition.id),
        live_talks=await live_talks(session, edition.id) if going_on else [],
        next_talks=await next_talks(session, edition.id, now) if going_on else [],
        staffed=await staffed_booths(session, edition.id) if current == OPEN else [],
        logos=await branding.partners(session, edition.id),
        partners=partner_names(edition.partners),
    )


async def figures(session: AsyncSession, edition_id: int) -> Figures:
    """The edition's key figures, as the public sees them (two queries)."""
    offers = await session.scalar(
        select(func.count(Offer.id))
        .join(Booth, Booth.id == Offer.booth_id)
        .where(
            Offer.edition_id == edition_id,
            Offer.published.is_(True),
            Booth.status == BoothStatus.APPROVED.value,
        )
    )
    booths, sectors = (
        await session.execute(
            select(func.count(Booth.id), func.count(distinct(func.substr(Employer.naf_code, 1, 2))))
            .join(Employer, Employer.id == Booth.employer_id)
            .where(Booth.edition_id == edition_id, Booth.status == BoothStatus.APPROVED.value)
        )
    ).one()
    return Figures(offers=int(offers or 0), employers=int(booths), sectors=int(sectors))


def _talks(edition_id: int) -> Select[Webconference, str]:
    """The edition's talks the public sees, with their booth's employer (one statement)."""
    return (
        select(Webconference, Employer.name)
        .outerjoin(Booth, Booth.id == Webconference.booth_id)
        .outerjoin(Employer, Employer.id == Booth.employer_id)
        .where(
            Webconference.edition_id == edition_id,
            or_(Webconference.booth_id.is_(None), Booth.status == BoothStatus.APPROVED.value),
        )
        .order_by(Webconference.starts_at, Webconference.id)
    )


def _talk(webconference: Webconference, employer: str | None) -> Talk:
    w = webconference
    return Talk(w.id, w.title, w.starts_at, w.ends_at, employer or "")


async def live_talks(session: AsyncSession, edition_id: int) -> list[Talk]:
    """Talks on stage now: a presenter started them and nobody ended them (talks.is_live)."""
    query = _talks(edition_id).where(Webconference.status == WebconferenceStatus.LIVE.value)
    return [_talk(w, name) for w, name in (await session.execute(query)).all()]


async def next_talks(
    session: AsyncSession, edition_id: int, now: datetime, limit: int = NEXT_TALKS
) -> list[Talk]:
    """The programme's next talks not on stage yet (those whose time has come included, as
    the programme lists them under "Coming up"), by start time."""
    query = _talks(edition_id).where(
        and_(
            Webconference.status == WebconferenceStatus.SCHEDULED.value, Webconference.ends_at > now
        )
    )
    rows = await session.execute(query.limit(limit))
    return [_talk(w, name) for w, name in rows.all()]


async def staffed_booths(session: AsyncSession, edition_id: int) -> list[StaffedBooth]:
    """Approved booths a recruiter staffs now (fair.presence), by employer name, with the
    length of their queue (one statement)."""
    waiting = (
        select(func.count(QueueEntry.id))
        .where(
            QueueEntry.booth_id == Booth.id,
            QueueEntry.active_key == 1,
            QueueEntry.status == QueueStatus.WAITING.value,
        )
        .correlate(Booth)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Booth.id, Employer.name, waiting)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(
            Booth.edition_id == edition_id,
            Booth.status == BoothStatus.APPROVED.value,
            exists().where(BoothPresence.booth_id == Booth.id),
        )
        .order_by(Employer.name, Booth.id)
    )
    return [StaffedBooth(booth_id, name, int(n)) for booth_id, name, n in rows.all()]
