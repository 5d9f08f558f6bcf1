"""fair/timeline.py on SQLite and PostgreSQL: each edition's cumulative counts per day around its
opening, in its time zone, against what the test did; the disclosure rule of a time line; which
editions are compared."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fair import applications, candidates, clock, participants, timeline
from fair.enums import InterviewStatus, Role
from fair.models import Edition, User
from tests import factories as f

PARIS = ZoneInfo("Europe/Paris")
REUNION = ZoneInfo("Indian/Reunion")
# Day 0 of the first edition: applications open on 12 January 2026, 09:00 in Paris.
WINTER = datetime(2026, 1, 12, 9, 0, tzinfo=PARIS)


def expected(days: list[int]) -> list[int]:
    """Cumulative counts per day of the window, from the events' days, counted here."""
    return [sum(1 for d in days if d <= day) for day in timeline.DAYS]


def shown(points: list[int], total: int) -> list[bool]:
    """The rule, written again: 5 or more, and 5 or more above the last shown point; the last
    shown one 5 or more below the total so far (shown on other pages)."""
    last, found = 0, []
    for value in points:
        found.append(value >= 5 and value - last >= 5)
        if found[-1]:
            last = value
    if any(found):
        final = max(i for i, s in enumerate(found) if s)
        found[final] = total - points[final] >= 5
    return found


async def opening_at(
    session: AsyncSession, organiser: User, moment: datetime, **kw: object
) -> Edition:
    """An edition whose applications open at `moment` (and close two weeks later)."""
    return await f.edition(session, by=organiser, now=moment + timedelta(days=7), **kw)


def local(day0: datetime, day: int, hour: int, zone: ZoneInfo = PARIS) -> datetime:
    return datetime.combine(day0.date() + timedelta(days=day), time(hour), zone)


async def test_each_measure_day_by_day_around_the_opening(session: AsyncSession) -> None:
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    edition = await opening_at(session, organiser, WINTER)
    # Registrations at these local days (and hours); -30 is before the window, +25 after it.
    # 00:30 in Paris on day 0 is still day -1 in UTC: it counts on day 0.
    moments = [local(WINTER, d, 10) for d in (-30, -30, -30, -5, -5, -5, -5, 0, 0, 0, 0, 3)]
    moments += [local(WINTER, 25, 10)] * 5
    moments += [datetime.combine(WINTER.date(), time(0, 30), PARIS)] * 2
    people = await f.candidate_accounts(session, len(moments))
    for person, moment in zip(people, moments, strict=True):
        await participants.register(session, edition_id=edition.id, user=person, at=moment)
    # Applications by registered candidates: six on day 0, one on day 2, one on day 9.
    booth, recruiter = await f.booth(
        session, edition_=edition, recruiter=await f.user(session, Role.RECRUITER, can_log_in=False)
    )
    offer = await f.offer(session, booth_=booth)
    applied_days = [0, 0, 0, 0, 0, 0, 2, 9]
    for person, day in zip(people[: len(applied_days)], applied_days, strict=True):
        clock.set_now(local(WINTER, day, 11))
        await candidates.set_cv(session, person, filename="cv.pdf", data=f.pdf_bytes())
        await applications.apply(session, candidate=person, offer=offer, message="Bonjour")
    # Interviews booked on day 3 (standing: held, booked, no-show) and one cancelled.
    booked = [InterviewStatus.HELD, InterviewStatus.BOOKED, InterviewStatus.NO_SHOW]
    for n, status in enumerate([*booked, InterviewStatus.CANCELLED]):
        clock.set_now(local(WINTER, 3, 14))
        await f.interview(
            session,
            booth_=booth,
            recruiter=recruiter,
            candidate_=people[0],
            status=status,
            starts_at=local(WINTER, 8, 10 + n),
        )

    found = await timeline.curves(session, [edition])

    register_days = [timeline.day_of(edition, m) for m in moments]
    assert Counter(register_days)[0] == 6 and Counter(register_days)[-1] == 0
    # Every interview's own application (f.interview) is an application of day 3 too.
    application_days = applied_days + [3] * 4
    interview_days = [3] * len(booked)
    for measure, days in (
        ("registrations", register_days),
        ("applications", application_days),
        ("interviews", interview_days),
    ):
        (curve,) = found[measure]
        values = expected(days)
        assert [p.value for p in curve.points] == values, measure
        assert [p.shown for p in curve.points] == shown(values, len(days)), measure
    points = [p.value for p in found["registrations"][0].points]
    assert points[0] == 3 and points[timeline.DAYS.index(0)] == 13 and points[-1] == 14
    registrations = found["registrations"][0].points

    def at_day(day: int) -> tuple[int, bool]:
        point = registrations[timeline.DAYS.index(day)]
        return point.value, point.shown

    assert [at_day(d) for d in (-21, -6, -5, -4, -1, 0, 2, 3)] == [
        (3, False),  # three before the window, too few
        (3, False),
        (7, True),
        (7, False),  # no one more: the same figure is not shown again
        (7, False),
        (13, True),
        (13, False),
        (14, False),  # one more than 13: hidden, or it would tell who registered on day 3
    ]
    assert (registrations[-1].value, registrations[-1].shown) == (14, False)  # 14 - 13 < 5
    # 19 registered in all (five on day 25): 13 is 5 or more below, so it stays shown.
    assert len(moments) == 19


async def test_a_zone_far_from_paris_counts_its_own_days(session: AsyncSession) -> None:
    """La Réunion is UTC+4: 21:30 UTC on the eve of opening is already day 0 there; and the
    last point is hidden when the total so far is fewer than 5 above it."""
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    opening = datetime(2026, 6, 1, 8, 0, tzinfo=REUNION)
    edition = await opening_at(session, organiser, opening, timezone="Indian/Reunion")
    eve = datetime(2026, 5, 31, 21, 30, tzinfo=UTC)
    next_day = datetime(2026, 6, 2, 10, 0, tzinfo=REUNION)
    people = await f.candidate_accounts(session, 10)
    for n, person in enumerate(people):
        moment = eve if n < 5 else next_day
        await participants.register(session, edition_id=edition.id, user=person, at=moment)

    (curve,) = (await timeline.curves(session, [edition]))["registrations"]

    assert timeline.opening_day(edition) == date(2026, 6, 1)
    day0 = timeline.DAYS.index(0)
    assert [(p.value, p.shown) for p in curve.points[day0 - 1 : day0 + 3]] == [
        (0, False),
        (5, True),
        # 10 would be shown (5 more), but it is the total so far, shown on the dashboard: the
        # days after it would read "nobody since", a count of 0.
        (10, False),
        (10, False),
    ]


async def test_which_editions_are_compared(session: AsyncSession) -> None:
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    other = await f.user(session, Role.ORGANISER, can_log_in=False)
    admin = await f.user(session, Role.ADMIN, can_log_in=False)
    mine = [
        await opening_at(session, organiser, WINTER + timedelta(days=60 * n), title=f"Forum {n}")
        for n in range(7)
    ]
    theirs = await opening_at(session, other, WINTER + timedelta(days=100), title="Le leur")
    away = await opening_at(
        session, other, WINTER + timedelta(days=110), title="Ailleurs", territory="Ailleurs"
    )
    current = mine[3]

    chosen = await timeline.compared(session, organiser, current)

    # This one and the four opening nearest to it (60 and 120 days either side), by opening.
    assert [e.title for e in chosen] == ["Forum 1", "Forum 2", "Forum 3", "Forum 4", "Forum 5"]
    as_admin = await timeline.compared(session, admin, theirs)
    # The administrator: the same territory (every edition here but "Ailleurs").
    assert away not in as_admin and theirs in as_admin and len(as_admin) == 5
    by_distance = sorted(
        [e for e in [*mine, theirs] if e.id != theirs.id],
        key=lambda e: abs((timeline.opening_day(e) - timeline.opening_day(theirs)).days),
    )
    assert {e.id for e in as_admin} == {theirs.id} | {e.id for e in by_distance[:4]}
    # Another organiser: the editions they organise, whatever the territory.
    organised = await timeline.compared(session, other, away)
    assert [e.title for e in organised] == ["Le leur", "Ailleurs"]


async def test_the_days_still_to_come_are_not_counted_yet(session: AsyncSession) -> None:
    organiser = await f.user(session, Role.ORGANISER, can_log_in=False)
    edition = await opening_at(session, organiser, WINTER)
    at_opening = WINTER.replace(hour=23, minute=59)
    assert timeline.days_begun(edition, WINTER - timedelta(days=30)) == 0
    assert timeline.days_begun(edition, at_opening) == timeline.DAYS.index(0) + 1
    assert timeline.days_begun(edition, at_opening + timedelta(minutes=2)) == 23
    assert timeline.days_begun(edition, WINTER + timedelta(days=60)) == len(timeline.DAYS)
