"""A talk as read: the webconference row (locked for a change), its presenters, its hours and
the phase every page shows (scheduled, starting soon, live, ended, cancelled).

A talk has one to three presenters (the booth's recruiters or the edition's organisers), kept
in order; it is live only once a presenter starts it on stage, whatever its time says.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, employers
from fair.enums import WebconferenceStatus
from fair.errors import NotFound
from fair.i18n import N_
from fair.models import Booth, Edition, User, Webconference, WebconferencePresenter

SOON = timedelta(minutes=15)  # "starting soon" on the webconference page
OVER = (WebconferenceStatus.ENDED.value, WebconferenceStatus.CANCELLED.value)


async def get(session: AsyncSession, webconference_id: int) -> Webconference:
    found = await session.get(Webconference, webconference_id)
    if found is None:
        raise NotFound("This webconference does not exist.", code="webconference.not_found")
    return found


async def lock(session: AsyncSession, webconference_id: int) -> Webconference:
    """The talk, its row locked for the transaction (FOR UPDATE on PostgreSQL; SQLite's write
    session holds the database lock) and read afresh."""
    found: Webconference | None = await session.get(
        Webconference, webconference_id, with_for_update=True, populate_existing=True
    )
    if found is None:
        raise NotFound("This webconference does not exist.", code="webconference.not_found")
    return found


async def booth_of(session: AsyncSession, webconference: Webconference) -> Booth | None:
    """The booth of a booth's talk; None for the edition's own."""
    if webconference.booth_id is None:
        return None
    return await employers.get_booth(session, webconference.booth_id)


async def presenters_of(session: AsyncSession, webconference_id: int) -> list[int]:
    rows = await session.scalars(
        select(WebconferencePresenter.user_id)
        .where(WebconferencePresenter.webconference_id == webconference_id)
        .order_by(WebconferencePresenter.position)
    )
    return list(rows)


async def presented_by(
    session: AsyncSession, user: User, webconference_ids: Sequence[int]
) -> set[int]:
    """Which of these webconferences `user` presents (one query)."""
    rows = await session.scalars(
        select(WebconferencePresenter.webconference_id).where(
            WebconferencePresenter.user_id == user.id,
            WebconferencePresenter.webconference_id.in_(list(webconference_ids)),
        )
    )
    return set(rows)


def within_live_hours(edition: Edition, starts_at: datetime, ends_at: datetime) -> bool:
    """Whether [starts_at, ends_at] fits in one live day's opening hours (edition's zone)."""
    zone = ZoneInfo(edition.timezone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    for day in edition.live_days:
        opens = datetime.combine(day.day, day.opens, zone)
        closes = datetime.combine(day.day, day.closes, zone)
        if opens <= start and end <= closes:
            return True
    return False


# The phase -------------------------------------------------------------------------------------


def is_live(webconference: Webconference, now: datetime | None = None) -> bool:
    """Live now: a presenter started it on stage (even early, or running late) and nobody
    ended it. Its time alone does not make it live: until started it is "starting soon"."""
    return phase(webconference, now) == "live"


def is_past(webconference: Webconference, now: datetime | None = None) -> bool:
    """Ended on stage, or past its end time without being on stage (a talk running late is
    not past until a presenter ends it)."""
    now = now or clock.now()
    if webconference.status == WebconferenceStatus.LIVE:
        return False
    return webconference.status == WebconferenceStatus.ENDED or webconference.ends_at <= now


def phase(webconference: Webconference, now: datetime | None = None) -> str:
    """What the webconference page says: cancelled, ended, live (on stage), soon (within 15
    minutes of its start, or past it while the presenters have not started) or scheduled."""
    now = now or clock.now()
    if webconference.status == WebconferenceStatus.CANCELLED:
        return "cancelled"
    if is_past(webconference, now):
        return "ended"
    if webconference.status == WebconferenceStatus.LIVE:
        return "live"
    if webconference.starts_at - now <= SOON:  # its time has come, not its presenter yet
        return "soon"
    return "scheduled"


# The short label of each phase: the programme, the talk's page and the organiser's list
# all show this one, read from `phase` at the same moment.
PHASE_LABELS = {
    "cancelled": N_("Cancelled"),
    "ended": N_("Ended"),
    "live": N_("Live"),
    "soon": N_("Starting soon"),
    "scheduled": N_("Scheduled"),
}


def phase_label(webconference: Webconference, now: datetime | None = None) -> str:
    """The msgid of what every page says of the talk's state now (see `phase`)."""
    return PHASE_LABELS[phase(webconference, now)]
