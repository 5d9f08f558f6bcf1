"""Editions compared: registrations, applications and interviews day by day around each
edition's opening day, so that a second edition can be judged against the first (issue 12
item 8).

The time line. Day 0 is the day applications open (`applications_open_at`) in the edition's
own time zone; day n is n days later, also counted in the edition's zone (a registration at
00:30 in Paris falls on its Paris day). The window runs from day -21 to day +21 (`FIRST_DAY`,
`LAST_DAY`): three weeks of registrations before opening, three weeks of applications and
interviews after it, which covers the fairs seen so far (a fortnight of applications, a live
week). An edition running now has no figure for its days still to come (`Curve.known`: they
are "not yet", neither shown nor hidden). Moments are read grouped by UTC hour, then placed
on local days here: exact for every zone whose offset is whole hours (all of France's but
the Marquesas, which a half-hour would shift by one hour).

The measures. Registrations: a candidate's registration to the edition
(`EditionCandidate.registered_at`, fair.participants). Applications: their creation
(`Application.created_at`). Interviews: the day an interview was booked (`Interview.created_at`),
not the day it takes place: booking is what candidates and recruiters do day by day, like
registering and applying, while interviews take place on the few live days whatever the
campaign did. Only interviews that stand or stood count (booked, held, no-show); offers not
taken, pending, declined and cancelled ones do not.

Cumulative, not daily. Each point is the total up to the end of that day, everything before
the window included (the first point is the total by day -21). A daily count of a few people
is noisy and mostly too small to show; cumulative curves say at a glance "by opening day, the
second edition had twice the registrations", and they are what can be shown safely.

Disclosure. A point is a count of people; the difference between two points is one too (the
people who registered between them). A point is shown only when it is 5 or more
(`disclosure.THRESHOLD`) *and* 5 or more above the last shown point of its curve (0 before the
first): so every shown value, and every difference between two shown values, is at least 5; a
hidden point lies strictly between its shown neighbours' values and could take several values
(a gap in the curve, "hidden" in the table). A curve that grows slowly shows a point every few
days instead of every day. The edition's total so far is shown on other pages, as counted now
(the dashboard's registered candidates, the responses page's applications, the activity
page's interviews by mode): it acts as one more shown point after the last, so the last point
shown here is hidden too when the total is fewer than 5 above it (a plateau to the end of the
window included: "nobody registered since" is a count of 0). One point at most is hidden for
it: the shown point before is 5 below the hidden one at least.

Which editions. An organiser compares the editions they organise; an administrator, the
editions of the same territory (the same `territory` text), as editions of different
territories are different fairs. The edition the page is for, and at most `MOST_OTHERS` others:
those whose opening day is nearest to it, so that a fourth edition is judged against the
third and second before the first. Three grouped queries for all the editions compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from fair import clock, disclosure, editions, permissions
from fair.enums import InterviewStatus
from fair.models import Application, Booth, Edition, EditionCandidate, Interview, User

FIRST_DAY, LAST_DAY = -21, 21
DAYS = list(range(FIRST_DAY, LAST_DAY + 1))
MOST_OTHERS = 4
MEASURES = ("registrations", "applications", "interviews")
STANDING = (InterviewStatus.BOOKED, InterviewStatus.HELD, InterviewStatus.NO_SHOW)


@dataclass(frozen=True)
class Curve:
    """One edition's cumulative counts of one measure, one figure per day of `DAYS`; only the
    first `known` days have begun (an edition running now has no figures for its future)."""

    edition: Edition
    points: tuple[disclosure.Figure, ...]
    known: int


def days_begun(edition: Edition, now: datetime | None = None) -> int:
    """How many days of `DAYS` have begun in the edition's time zone."""
    today = day_of(edition, now or clock.now())
    return max(0, min(len(DAYS), today - FIRST_DAY + 1))


def opening_day(edition: Edition) -> date:
    """Day 0: the day applications open, in the edition's time zone."""
    return edition.applications_open_at.astimezone(ZoneInfo(edition.timezone)).date()


def day_of(edition: Edition, moment: datetime) -> int:
    """The day of `moment` relative to the edition's opening day, in its time zone."""
    local = moment.astimezone(ZoneInfo(edition.timezone)).date()
    return (local - opening_day(edition)).days


# Which editions --------------------------------------------------------------------------------


async def compared(session: AsyncSession, user: User, edition: Edition) -> list[Edition]:
    """The editions shown beside `edition` (module docstring), by opening day; `edition`
    included. The caller has checked that `user` organises `edition`."""
    if permissions.is_admin(user):
        query = select(Edition).where(Edition.territory == edition.territory)
        found = list(await session.scalars(query))
    else:
        found = await editions.organised_by(session, user)
    return nearest(edition, found)


def nearest(edition: Edition, candidates: Sequence[Edition]) -> list[Edition]:
    """`edition` and the `MOST_OTHERS` others opening nearest to it, by opening day."""
    others = [e for e in candidates if e.id != edition.id]
    others.sort(key=lambda e: (abs((opening_day(e) - opening_day(edition)).days), -e.id))
    chosen = [edition, *others[:MOST_OTHERS]]
    return sorted(chosen, key=lambda e: (opening_day(e), e.id))


# Counts ----------------------------------------------------------------------------------------


def cumulative(per_day: dict[int, int]) -> list[int]:
    """Per day of `DAYS`, the count up to the end of that day; days before the window count
    in the first point, days after it nowhere."""
    total = sum(n for day, n in per_day.items() if day < FIRST_DAY)
    points = []
    for day in DAYS:
        total += per_day.get(day, 0)
        points.append(total)
    return points


def protect(points: Sequence[int], total: int) -> tuple[disclosure.Figure, ...]:
    """Show a point when it is at least the threshold and at least the threshold above the
    last shown point, and at least the threshold below the edition's total so far for the
    last one (module docstring)."""
    last_shown, shown = 0, []
    for value in points:
        shown.append(not disclosure.small(value) and not disclosure.small(value - last_shown))
        if shown[-1]:
            last_shown = value
    if True in shown:
        last = len(shown) - 1 - shown[::-1].index(True)
        shown[last] = not disclosure.small(total - points[last])
    return tuple(disclosure.Figure(v, s) for v, s in zip(points, shown, strict=True))


async def curves(session: AsyncSession, chosen: list[Edition]) -> dict[str, list[Curve]]:
    """Per measure, one protected curve per edition (in the order of `chosen`)."""
    found: dict[str, list[Curve]] = {}
    for measure in MEASURES:
        per_day = await daily(session, chosen, measure)
        found[measure] = [curve(e, per_day.get(e.id, {})) for e in chosen]
    return found


def curve(edition: Edition, per_day: dict[int, int]) -> Curve:
    points = cumulative(per_day)
    return Curve(edition, protect(points, sum(per_day.values())), days_begun(edition))


async def daily(
    session: AsyncSession, chosen: list[Edition], measure: str
) -> dict[int, dict[int, int]]:
    """Per edition, per day relative to its opening (before and after the window included):
    how many."""
    if not chosen:
        return {}
    # Each edition's zone and opening day once: an edition's history is thousands of hours.
    places = {e.id: (ZoneInfo(e.timezone), opening_day(e)) for e in chosen}
    rows = await session.execute(_query(session, measure, list(places)))
    found: dict[int, dict[int, int]] = {}
    for key, label, n in rows:
        zone, opening = places[key]
        at = datetime(
            int(label[:4]), int(label[5:7]), int(label[8:10]), int(label[11:13]), tzinfo=UTC
        )
        day = (at.astimezone(zone).date() - opening).days
        per_day = found.setdefault(key, {})
        per_day[day] = per_day.get(day, 0) + int(n)
    return found


def _query(session: AsyncSession, measure: str, ids: list[int]) -> Select[int, str, int]:
    """How many of a measure per edition and UTC hour."""
    edition_id: InstrumentedAttribute[int]
    moment: InstrumentedAttribute[datetime]
    if measure == "registrations":
        edition_id, moment = EditionCandidate.edition_id, EditionCandidate.registered_at
    elif measure == "applications":
        edition_id, moment = Application.edition_id, Application.created_at
    else:
        edition_id, moment = Booth.edition_id, Interview.created_at
    hour = _hour(session, moment)
    query = select(edition_id, hour, func.count()).where(edition_id.in_(ids))
    if measure == "interviews":
        query = (
            query.select_from(Interview)
            .join(Booth, Booth.id == Interview.booth_id)
            .where(Interview.status.in_([s.value for s in STANDING]))
        )
    return query.group_by(edition_id, hour)


def _hour(session: AsyncSession, moment: InstrumentedAttribute[datetime]) -> ColumnElement[str]:
    """The UTC hour of a stored moment as text, 'YYYY-MM-DD HH' (stored as naive UTC)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(moment, "YYYY-MM-DD HH24")
    return func.substr(moment, 1, 13)
