"""The organisers' live panel: what is happening in an edition right now, for its staff.

`snapshot` reads it in six grouped queries (after the edition's own row and live days),
whatever the fair's size (none per booth, talk or candidate): candidates online, each approved
booth's staffing, people waiting and longest wait, the talks live with their viewers, the
interviews in progress. It holds plain values; the page renders it
(templates/organiser/_live_panel.html) and `Panel.payload` is the `panel` event on
`channels.panel(edition_id)`, which only the edition's organisers and the administrators may
follow (`may_follow`, checked on every subscribe).

Throttled, whatever happens in the fair. The worker's round (`publish_changes`, every `PERIOD`
seconds, in `fair worker` or the embedded web process: one place in a deployment) looks only at
editions whose live hours are running now (`live_now`), and among them only at those whose
panel channel some process follows (the broadcaster knows: its own subscribers, or Redis's
PUBSUB NUMSUB when scaled out). For each, it computes one snapshot (the candidates online
counted again every 30 s only) and publishes it only when it differs from the last one it
published. So 10,000 queue joins in a minute cost nothing on their own path and produce at
most one `panel` event per edition per period: the cost follows the clock and the number of
watched live editions, never the candidates' actions. Every web
process forwards the event to its own subscribed sockets (the broadcaster); a socket that
subscribes or reconnects reads the current panel at once (the page, then events: PROTOCOL.md).

Why 3 seconds. The panel is read by people who act at human speed (send a recruiter to an
unstaffed booth with a queue); 3 s is live to them, and the hall already shows each booth's
queue at once. Each watched live edition then costs at most six grouped queries every 3 s
(measured on an edition of 36,000 registered candidates, 200 booths, 100,000 sessions: a round
takes about 30 ms on SQLite and 20 ms on PostgreSQL, the page's full snapshot 80 and 55 ms).
The longest wait is in whole minutes, so a queue that does not move changes the panel once a
minute, not every round.

Candidates online: the edition's registered candidates (fair.participants) whose server-side
session (fair.user_sessions) was seen in the last `ONLINE_WINDOW`. Sessions live in the
database, so the count is the same from every process, and it needs no socket bookkeeping
summed across processes. `last_seen_at` is written at most every 5 minutes per session
(user_sessions.TOUCH_EVERY), so someone browsing counts at once and for 5 to 10 minutes after
their last page; a candidate who logged out counts no more. A candidate registers on their
first step in the edition (a booth or offer page opened, a queue, an application...).

No suppression below 5 (fair.disclosure) here, on purpose. Disclosure protects people from
being singled out in statistics that leave the staff's hands (the dashboard, exports) by what
they declared or did. This panel is an operations screen for the edition's own staff, shown
while it happens, kept nowhere: its figures are counts with no attribute of anyone (no
priority public, no name, no profile), and the same per-booth queue lengths and talk audiences
are public already (the booth hall's `booth.waiting`, the stage's `stage.count`). "< 5 waiting"
at a booth with nobody staffing it is the one thing staff must see to act; hiding it would
make the panel useless without protecting anyone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from fair import channels, clock, editions, events, permissions
from fair.enums import BoothStatus, InterviewStatus, QueueStatus, WebconferenceStatus
from fair.errors import NotFound
from fair.models import (
    Booth,
    BoothPresence,
    Edition,
    EditionCandidate,
    Employer,
    Interview,
    LiveDay,
    QueueEntry,
    User,
    UserSession,
    Webconference,
    WebconferenceAttendance,
)

PERIOD = 3.0  # seconds between two rounds (module docstring)
ONLINE_WINDOW = timedelta(minutes=10)
# The round counts the candidates online at most this often: the figure moves by the minute
# (sessions are seen every 5 minutes), and it is the panel's costliest query (a scan of the
# recent sessions: about 35 ms on SQLite for 100,000 sessions, 6,000 of them recent).
ONLINE_EVERY = timedelta(seconds=30)
EVENT = "panel"


@dataclass(frozen=True)
class BoothLine:
    booth_id: int
    name: str  # the employer's (public)
    staffed: bool
    waiting: int
    longest_wait_minutes: int | None  # None when nobody waits


@dataclass(frozen=True)
class TalkLine:
    webconference_id: int
    title: str
    viewers: int


@dataclass(frozen=True)
class Panel:
    """An edition's live figures at one moment; `live` says whether its live hours run now."""

    edition_id: int
    live: bool
    candidates_online: int
    booths: tuple[BoothLine, ...]
    talks: tuple[TalkLine, ...]
    interviews_in_progress: int  # booked, their slot running now
    interviews_admitted: int  # of those, the candidate let into the room

    @property
    def staffed(self) -> int:
        return sum(1 for b in self.booths if b.staffed)

    @property
    def unstaffed(self) -> int:
        return len(self.booths) - self.staffed

    @property
    def waiting(self) -> int:
        return sum(b.waiting for b in self.booths)

    @property
    def longest_wait_minutes(self) -> int | None:
        waits = [b.longest_wait_minutes for b in self.booths if b.longest_wait_minutes is not None]
        return max(waits, default=None)

    @property
    def viewers(self) -> int:
        return sum(t.viewers for t in self.talks)

    def payload(self) -> dict[str, Any]:
        """The `panel` event (PROTOCOL.md): counts and ids only; names stay on the page."""
        return {
            "edition_id": self.edition_id,
            "live": self.live,
            "candidates_online": self.candidates_online,
            "staffed": self.staffed,
            "unstaffed": self.unstaffed,
            "waiting": self.waiting,
            "longest_wait_minutes": self.longest_wait_minutes,
            "booths": [
                [b.booth_id, b.staffed, b.waiting, b.longest_wait_minutes] for b in self.booths
            ],
            "talks": [[t.webconference_id, t.viewers] for t in self.talks],
            "viewers": self.viewers,
            "interviews_in_progress": self.interviews_in_progress,
            "interviews_admitted": self.interviews_admitted,
        }


# Who may follow it ------------------------------------------------------------------------------


async def may_follow(session: AsyncSession, user: User | None, edition_id: int) -> bool:
    """The edition's organisers and the administrators; nobody else (nor for an unknown id)."""
    if user is None:
        return False
    try:
        edition = await editions.get(session, edition_id)
    except NotFound:
        return False
    return await permissions.is_organiser(session, user, edition)


# The snapshot ----------------------------------------------------------------------------------


async def snapshot(
    session: AsyncSession,
    edition_id: int,
    *,
    now: datetime | None = None,
    online: int | None = None,
) -> Panel:
    """The edition's live figures now (six grouped queries; see the module docstring); the
    round passes `online` when it counted the candidates online recently (`ONLINE_EVERY`)."""
    now = now or clock.now()
    edition = await editions.get(session, edition_id)
    staffed = await _staffed(session, edition_id)
    queues = await _queues(session, edition_id)
    booths = []
    for booth_id, name in await _booths(session, edition_id):
        waiting, oldest = queues.get(booth_id, (0, None))
        wait = None if oldest is None else max(0, int((now - oldest).total_seconds() // 60))
        booths.append(BoothLine(booth_id, name, booth_id in staffed, waiting, wait))
    in_progress, admitted = await _interviews(session, edition_id, now)
    return Panel(
        edition_id=edition_id,
        live=editions.open_now(edition, now),
        candidates_online=await candidates_online(session, edition_id, now)
        if online is None
        else online,
        booths=tuple(booths),
        talks=tuple(await _talks(session, edition_id)),
        interviews_in_progress=in_progress,
        interviews_admitted=admitted,
    )


async def _booths(session: AsyncSession, edition_id: int) -> list[tuple[int, str]]:
    """The edition's approved booths with their employer's name, by name."""
    rows = await session.execute(
        select(Booth.id, Employer.name)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(Booth.edition_id == edition_id, Booth.status == BoothStatus.APPROVED.value)
        .order_by(Employer.name, Booth.id)
    )
    return [(booth_id, name) for booth_id, name in rows]


async def _staffed(session: AsyncSession, edition_id: int) -> set[int]:
    """Booths with at least one recruiter socket present (fair.presence's rows)."""
    rows = await session.scalars(
        select(BoothPresence.booth_id)
        .join(Booth, Booth.id == BoothPresence.booth_id)
        .where(Booth.edition_id == edition_id)
        .distinct()
    )
    return set(rows)


async def _queues(session: AsyncSession, edition_id: int) -> dict[int, tuple[int, datetime | None]]:
    """Per booth with someone waiting: how many, and since when the first of them waits."""
    rows = await session.execute(
        select(QueueEntry.booth_id, func.count(), func.min(QueueEntry.joined_at))
        .join(Booth, Booth.id == QueueEntry.booth_id)
        .where(
            Booth.edition_id == edition_id,
            QueueEntry.active_key == 1,
            QueueEntry.status == QueueStatus.WAITING.value,
        )
        .group_by(QueueEntry.booth_id)
    )
    return {booth_id: (int(n), _aware(oldest)) for booth_id, n, oldest in rows}


def _aware(moment: datetime | str | None) -> datetime | None:
    """MIN() over a UTCDateTime column comes back raw (SQLite: naive text); read it as UTC."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=clock.now().tzinfo)


async def _talks(session: AsyncSession, edition_id: int) -> list[TalkLine]:
    """The edition's talks live now, each with the people watching it (open attendance rows,
    one person counted once whatever their tabs), by start time."""
    viewers = func.count(distinct(WebconferenceAttendance.user_id))
    rows = await session.execute(
        select(Webconference.id, Webconference.title, viewers)
        .outerjoin(
            WebconferenceAttendance,
            (WebconferenceAttendance.webconference_id == Webconference.id)
            & WebconferenceAttendance.left_at.is_(None),
        )
        .where(
            Webconference.edition_id == edition_id,
            Webconference.status == WebconferenceStatus.LIVE.value,
        )
        .group_by(Webconference.id, Webconference.title, Webconference.starts_at)
        .order_by(Webconference.starts_at, Webconference.id)
    )
    return [TalkLine(talk_id, title, int(n)) for talk_id, title, n in rows]


async def _interviews(session: AsyncSession, edition_id: int, now: datetime) -> tuple[int, int]:
    """Booked interviews of the edition's booths whose slot runs now, and how many of them have
    the candidate admitted into the room."""
    admitted = func.count().filter(Interview.admitted_at.is_not(None))
    row = (
        await session.execute(
            select(func.count(), admitted)
            .select_from(Interview)
            .join(Booth, Booth.id == Interview.booth_id)
            .where(
                Booth.edition_id == edition_id,
                Interview.status == InterviewStatus.BOOKED.value,
                Interview.starts_at <= now,
                Interview.ends_at > now,
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def candidates_online(session: AsyncSession, edition_id: int, now: datetime) -> int:
    """Registered candidates of the edition with a session seen within ONLINE_WINDOW."""
    query = (
        select(func.count(distinct(UserSession.user_id)))
        .join(
            EditionCandidate,
            (EditionCandidate.user_id == UserSession.user_id)
            & (EditionCandidate.edition_id == edition_id),
        )
        .where(UserSession.revoked_at.is_(None), UserSession.last_seen_at >= now - ONLINE_WINDOW)
    )
    return int(await session.scalar(query) or 0)


# The round -------------------------------------------------------------------------------------


async def live_now(session: AsyncSession, now: datetime | None = None) -> list[Edition]:
    """Published, unarchived editions whose live hours run now (editions.open_now), by id.

    Only editions with a live day around today's date are read (time zones are at most a day
    away from UTC), so the round never loads every edition ever held."""
    now = now or clock.now()
    days = [(now + timedelta(days=d)).date() for d in (-1, 0, 1)]
    found = await session.scalars(
        select(Edition)
        .where(
            Edition.published_at.is_not(None),
            Edition.archived_at.is_(None),
            Edition.id.in_(select(LiveDay.edition_id).where(LiveDay.day.in_(days))),
        )
        .options(selectinload(Edition.live_days))
        .order_by(Edition.id)
    )
    return [edition for edition in found if editions.open_now(edition, now)]


Followed = Callable[[Collection[str]], Awaitable[set[str]]]


@dataclass
class Published:
    """What the round published last, per edition: the next round publishes only a change."""

    last: dict[int, dict[str, Any]] = field(default_factory=dict)
    online: dict[int, tuple[datetime, int]] = field(default_factory=dict)  # when counted, count

    async def candidates_online(self, session: AsyncSession, edition_id: int, now: datetime) -> int:
        """The edition's candidates online, counted again once ONLINE_EVERY has passed."""
        counted = self.online.get(edition_id)
        if counted is None or now - counted[0] >= ONLINE_EVERY or now < counted[0]:
            counted = (now, await candidates_online(session, edition_id, now))
            self.online[edition_id] = counted
        return counted[1]

    def forget(self, edition_id: int) -> None:
        self.last.pop(edition_id, None)
        self.online.pop(edition_id, None)


async def publish_changes(
    session: AsyncSession,
    published: Published,
    *,
    followed: Followed,
    now: datetime | None = None,
) -> int:
    """One round of the throttle: for each live edition whose panel channel someone follows
    (`followed` answers which of the names given are), queue a `panel` event when its snapshot
    changed since the last one published; an edition whose live hours just ended gets one last
    panel saying so. Returns the events queued (published by the caller after the session).
    """
    now = now or clock.now()
    live = {edition.id for edition in await live_now(session, now)}
    ended = set(published.last) - live
    watched = await followed([channels.panel(e) for e in sorted(live | ended)])
    sent = 0
    for edition_id in sorted(live | ended):
        if channels.panel(edition_id) not in watched:
            published.forget(edition_id)  # nobody to tell: a new watcher reads the page
            continue
        try:
            online = await published.candidates_online(session, edition_id, now)
            payload = (await snapshot(session, edition_id, now=now, online=online)).payload()
        except NotFound:  # deleted meanwhile
            published.forget(edition_id)
            continue
        if edition_id in ended:
            payload["live"] = False
            published.forget(edition_id)
        elif published.last.get(edition_id) == payload:
            continue
        else:
            published.last[edition_id] = payload
        events.emit(session, channel=channels.panel(edition_id), event=EVENT, payload=payload)
        sent += 1
    return sent
