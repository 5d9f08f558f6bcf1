"""Webconferences: an edition's programme of talks, registrations, waiting list and reminders.

Organisers schedule talks for the edition; recruiters of an approved booth schedule their
booth's. A talk has one to three presenters (the booth's recruiters or the edition's
organisers), a capacity and an access: open to all, or to registered candidates only.

Registering is race-safe: the webconference row is locked (FOR UPDATE on PostgreSQL; SQLite's
write session holds the database lock) while the seats are counted, so the capacity is never
exceeded; beyond it, candidates join the waiting list (ordered by registration id), and a seat
freed by an unregistration goes to the first of them. The unique constraint
(webconference_id, candidate_id, active_key) is the last guard against a double registration.

Registered candidates receive an iCalendar invitation: one UID per registration (derived from
the webconference's UID), METHOD REQUEST on registration and on each change of time or title,
CANCEL on unregistration or cancellation; SEQUENCE is the webconference's (raised on every
mailed change), plus one once the registration is cancelled. A reminder leaves an hour before,
once: `send_reminders`, run by the worker, records it in the transaction that queues its mail.
The mails and invitations themselves are written by fair.webconference_mail.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, clock, editions, employers, events, webconference_mail
from fair.enums import (
    WEBCONFERENCE_TRANSITIONS,
    BoothStatus,
    RegistrationStatus,
    Role,
    WebconferenceAccess,
    WebconferenceChange,
    WebconferenceStatus,
)
from fair.errors import Conflict, Forbidden, Invalid, NotFound
from fair.i18n import N_
from fair.models import (
    Booth,
    Edition,
    EditionOrganiser,
    Employer,
    EmployerMember,
    User,
    Webconference,
    WebconferenceAttendance,
    WebconferencePresenter,
    WebconferenceRegistration,
)

MIN_MINUTES, MAX_MINUTES = 15, 240
MAX_CAPACITY = 5000
MAX_PRESENTERS = 3
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
HOUR_BEFORE = timedelta(hours=1)
SOON = timedelta(minutes=15)  # "starting soon" on the webconference page
ACTIVE = (RegistrationStatus.REGISTERED.value, RegistrationStatus.WAITING.value)
OVER = (WebconferenceStatus.ENDED.value, WebconferenceStatus.CANCELLED.value)


@dataclass
class WebconferenceInput:
    """What an organiser or a booth's recruiter sets; datetimes are aware."""

    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    access: WebconferenceAccess
    presenter_ids: list[int] = field(default_factory=list)


# Who manages a webconference -------------------------------------------------------------------


async def eligible_presenters(
    session: AsyncSession, edition: Edition, booth: Booth | None
) -> list[User]:
    """Who may present: the edition's organisers, and the booth's recruiters for a booth's talk."""
    allowed: Any = select(EditionOrganiser.user_id).where(EditionOrganiser.edition_id == edition.id)
    if booth is not None:
        allowed = allowed.union(
            select(EmployerMember.user_id).where(EmployerMember.employer_id == booth.employer_id)
        )
    rows = await session.scalars(
        select(User).where(User.id.in_(allowed), User.is_active.is_(True)).order_by(User.name)
    )
    return list(rows)


async def can_manage(session: AsyncSession, user: User, webconference: Webconference) -> bool:
    """An organiser of the edition, or a recruiter of the booth for a booth's talk."""
    edition = await editions.get(session, webconference.edition_id)
    if await editions.is_organiser(session, user, edition):
        return True
    if webconference.booth_id is None or user.role != Role.RECRUITER:
        return False
    booth = await employers.get_booth(session, webconference.booth_id)
    return await employers.membership(session, user, booth.employer_id) is not None


async def require_manager(session: AsyncSession, user: User, webconference: Webconference) -> None:
    if not await can_manage(session, user, webconference):
        raise Forbidden("You cannot change this webconference.", code="webconference.forbidden")


async def _require_scheduler(
    session: AsyncSession, user: User, edition: Edition, booth: Booth | None
) -> None:
    if booth is not None and booth.edition_id != edition.id:
        raise NotFound("This booth does not exist.")
    if await editions.is_organiser(session, user, edition):
        return
    if booth is None or user.role != Role.RECRUITER:
        raise Forbidden("You do not organise this edition.")
    await employers.require_member(session, user, booth.employer_id)
    if booth.status != BoothStatus.APPROVED:
        raise Conflict(
            "Webconferences can be scheduled once the organiser approves the booth.",
            code="webconference.booth_not_approved",
        )


# Scheduling ------------------------------------------------------------------------------------


async def _check(
    session: AsyncSession,
    edition: Edition,
    booth: Booth | None,
    data: WebconferenceInput,
    *,
    registered: int = 0,
    moved: bool = True,
) -> None:
    """Every field error at once: text, live day and hours, length, capacity, presenters."""
    errors: dict[str, str] = {}
    title = data.title.strip()
    if not title or len(title) > MAX_TITLE:
        errors["title"] = "Enter a title (200 characters at most)."
    if len(data.description.strip()) > MAX_DESCRIPTION:
        errors["description"] = "Describe it in 5,000 characters at most."
    if data.ends_at <= data.starts_at:
        errors["ends_at"] = "The end must come after the start."
    elif not MIN_MINUTES <= (data.ends_at - data.starts_at) / timedelta(minutes=1) <= MAX_MINUTES:
        errors["ends_at"] = "A webconference lasts between 15 and 240 minutes."
    elif not within_live_hours(edition, data.starts_at, data.ends_at):
        errors["starts_at"] = "Choose a time within one of the fair's live days and hours."
    if moved and "starts_at" not in errors and data.starts_at <= clock.now():
        errors["starts_at"] = "Choose a time in the future."
    if not 1 <= data.capacity <= MAX_CAPACITY:
        errors["capacity"] = "Enter a number of seats between 1 and 5,000."
    elif data.capacity < registered:
        errors["capacity"] = "Some candidates are already registered: keep at least their seats."
    allowed = {u.id for u in await eligible_presenters(session, edition, booth)}
    chosen = data.presenter_ids
    if not 1 <= len(chosen) <= MAX_PRESENTERS or len(set(chosen)) != len(chosen):
        errors["presenters"] = "Choose one to three presenters."
    elif not set(chosen) <= allowed:
        errors["presenters"] = "Presenters are the booth's recruiters or the fair's organisers."
    if errors:
        raise Invalid("Some fields need correcting.", code="webconference.invalid", fields=errors)


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


async def schedule(
    session: AsyncSession,
    *,
    by: User,
    edition: Edition,
    booth: Booth | None = None,
    data: WebconferenceInput,
) -> Webconference:
    """Add a talk to the programme (a booth's when `booth` is given); nobody is told yet."""
    await _require_scheduler(session, by, edition, booth)
    await _check(session, edition, booth, data)
    now = clock.now()
    webconference = Webconference(
        uid=f"webconference-{uuid.uuid4()}@fair",
        sequence=0,
        edition_id=edition.id,
        booth_id=booth.id if booth else None,
        status=WebconferenceStatus.SCHEDULED.value,
        created_by_id=by.id,
        created_at=now,
    )
    _apply(webconference, data, now)
    session.add(webconference)
    await session.flush()
    await _set_presenters(session, webconference, data.presenter_ids)
    return webconference


async def update(
    session: AsyncSession, *, by: User, webconference: Webconference, data: WebconferenceInput
) -> Webconference:
    """Change a scheduled talk. A new time or title raises SEQUENCE and sends the registered
    candidates an updated invitation (and a new reminder); more seats promote waiting ones."""
    webconference = await _lock(session, webconference.id)
    await require_manager(session, by, webconference)
    if webconference.status != WebconferenceStatus.SCHEDULED:
        raise Conflict(
            "Only a scheduled webconference can be changed.", code="webconference.not_scheduled"
        )
    edition = await editions.get(session, webconference.edition_id)
    booth = await _booth(session, webconference)
    moved = (data.starts_at, data.ends_at) != (webconference.starts_at, webconference.ends_at)
    registered = await _count(session, webconference.id, RegistrationStatus.REGISTERED)
    await _check(session, edition, booth, data, registered=registered, moved=moved)
    retitled = data.title.strip() != webconference.title
    _apply(webconference, data, clock.now())
    await _set_presenters(session, webconference, data.presenter_ids)
    if moved or retitled:
        webconference.sequence += 1
        await session.flush()
        for registration in await _active(session, webconference.id):
            if moved:
                registration.reminded_at = None
                _no_late_reminder(registration, webconference)
            if registration.status == RegistrationStatus.REGISTERED:
                await _tell(session, webconference, registration, WebconferenceChange.CHANGED)
    await _promote(session, webconference)
    await session.flush()
    return webconference


async def cancel(session: AsyncSession, *, by: User, webconference: Webconference) -> None:
    """Cancel a scheduled talk: the registered get a calendar CANCEL, the waiting a message."""
    webconference = await _lock(session, webconference.id)
    await require_manager(session, by, webconference)
    _move(webconference, WebconferenceStatus.CANCELLED)
    webconference.sequence += 1
    webconference.updated_at = clock.now()
    await session.flush()
    for registration in await _active(session, webconference.id):
        await _tell(session, webconference, registration, WebconferenceChange.CANCELLED)


async def start(session: AsyncSession, *, by: User, webconference: Webconference) -> None:
    """The stage opens: the talk is live (from its start time on, until it ends)."""
    webconference = await _lock(session, webconference.id)
    await require_manager(session, by, webconference)
    _move(webconference, WebconferenceStatus.LIVE)
    webconference.started_at = webconference.updated_at = clock.now()
    await session.flush()
    _emit_edition(session, webconference)


async def end(session: AsyncSession, *, by: User, webconference: Webconference) -> None:
    webconference = await _lock(session, webconference.id)
    await require_manager(session, by, webconference)
    _move(webconference, WebconferenceStatus.ENDED)
    webconference.ended_at = webconference.updated_at = clock.now()
    # Attendance rows still open (sockets that never said goodbye) end with the talk.
    await session.execute(
        sql_update(WebconferenceAttendance)
        .where(
            WebconferenceAttendance.webconference_id == webconference.id,
            WebconferenceAttendance.left_at.is_(None),
        )
        .values(left_at=webconference.ended_at)
    )
    await session.flush()
    _emit_edition(session, webconference)


def _move(webconference: Webconference, new: WebconferenceStatus) -> None:
    current = WebconferenceStatus(webconference.status)
    if new not in WEBCONFERENCE_TRANSITIONS[current]:
        raise Conflict(
            "This webconference is %(status)s.",
            code="webconference.bad_status",
            params={"status": current.label},
        )
    webconference.status = new.value


def _apply(webconference: Webconference, data: WebconferenceInput, now: datetime) -> None:
    webconference.title = data.title.strip()
    webconference.description = data.description.strip()
    webconference.starts_at = data.starts_at
    webconference.ends_at = data.ends_at
    webconference.capacity = data.capacity
    webconference.access = data.access.value
    webconference.updated_at = now


async def _set_presenters(
    session: AsyncSession, webconference: Webconference, user_ids: Sequence[int]
) -> None:
    current = await session.scalars(
        select(WebconferencePresenter).where(
            WebconferencePresenter.webconference_id == webconference.id
        )
    )
    for presenter in current:
        await session.delete(presenter)
    await session.flush()
    for position, user_id in enumerate(user_ids):
        session.add(
            WebconferencePresenter(
                webconference_id=webconference.id, user_id=user_id, position=position
            )
        )
    await session.flush()


# Registrations ---------------------------------------------------------------------------------


async def register(
    session: AsyncSession, *, candidate: User, webconference: Webconference
) -> WebconferenceRegistration:
    """A seat if one is left, else a place on the waiting list; registering again returns the
    active registration. The registered get a calendar invitation, the waiting their place."""
    if candidate.role != Role.CANDIDATE:
        raise Forbidden(
            "Only candidates register for webconferences.", code="webconference.not_candidate"
        )
    webconference = await _lock(session, webconference.id)
    edition = await editions.get(session, webconference.edition_id)
    if not editions.visible(edition):
        raise NotFound("This webconference does not exist.", code="webconference.not_found")
    if webconference.status in OVER or webconference.ends_at <= clock.now():
        raise Conflict(
            "Registrations are closed for this webconference.", code="webconference.closed"
        )
    existing = await registration_of(session, webconference.id, candidate.id)
    if existing is not None:
        return existing
    seats = await _count(session, webconference.id, RegistrationStatus.REGISTERED)
    status = (
        RegistrationStatus.REGISTERED
        if seats < webconference.capacity
        else RegistrationStatus.WAITING
    )
    registration = WebconferenceRegistration(
        webconference_id=webconference.id,
        candidate_id=candidate.id,
        status=status.value,
        active_key=1,
        created_at=clock.now(),
    )
    _no_late_reminder(registration, webconference)
    try:
        async with session.begin_nested():
            session.add(registration)
            await session.flush()
    except IntegrityError:  # the same candidate, twice at once: the constraint decided
        found = await registration_of(session, webconference.id, candidate.id)
        if found is None:
            raise
        return found
    change = (
        WebconferenceChange.REGISTERED
        if status == RegistrationStatus.REGISTERED
        else WebconferenceChange.WAITING
    )
    await _tell(session, webconference, registration, change)
    return registration


async def unregister(
    session: AsyncSession, *, candidate: User, webconference: Webconference
) -> None:
    """Give up a seat (a calendar CANCEL; the first waiting candidate gets the seat) or a place
    on the waiting list."""
    webconference = await _lock(session, webconference.id)
    registration = await registration_of(session, webconference.id, candidate.id)
    if registration is None:
        raise Conflict("You are not registered.", code="webconference.not_registered")
    had_seat = registration.status == RegistrationStatus.REGISTERED
    _move_registration(registration, RegistrationStatus.CANCELLED)
    await session.flush()
    if had_seat:
        await _tell(session, webconference, registration, WebconferenceChange.UNREGISTERED)
    await _promote(session, webconference)


async def _promote(session: AsyncSession, webconference: Webconference) -> None:
    """Give free seats to the waiting list, first come first served (webconference locked)."""
    if webconference.status in OVER or webconference.ends_at <= clock.now():
        return
    free = webconference.capacity - await _count(
        session, webconference.id, RegistrationStatus.REGISTERED
    )
    if free <= 0:
        return
    waiting = await session.scalars(
        select(WebconferenceRegistration)
        .where(
            WebconferenceRegistration.webconference_id == webconference.id,
            WebconferenceRegistration.status == RegistrationStatus.WAITING,
        )
        .order_by(WebconferenceRegistration.id)
        .limit(free)
    )
    for registration in list(waiting):
        _move_registration(registration, RegistrationStatus.REGISTERED)
        _no_late_reminder(registration, webconference)
        await session.flush()
        await _tell(session, webconference, registration, WebconferenceChange.PROMOTED)


def _no_late_reminder(
    registration: WebconferenceRegistration, webconference: Webconference
) -> None:
    """A seat taken (or a talk moved) less than an hour before its start: no "in one hour"
    reminder follows; the registration's own mail says when it is."""
    now = clock.now()
    if webconference.starts_at - now < HOUR_BEFORE:
        registration.reminded_at = now


def _move_registration(registration: WebconferenceRegistration, new: RegistrationStatus) -> None:
    """The one writer of a registration's status after it is created; `active_key` follows
    (1 while registered or waiting, NULL once cancelled, so that a new one may be made)."""
    registration.status = new.value
    registration.active_key = None if new == RegistrationStatus.CANCELLED else 1


# The worker's round ----------------------------------------------------------------------------


async def send_reminders(session: AsyncSession, now: datetime | None = None) -> int:
    """The reminder an hour before, once per registered candidate.

    Its timestamp is written in the transaction that queues its mail: both commit or neither.
    """
    now = now or clock.now()
    due = (
        await session.execute(
            select(WebconferenceRegistration, Webconference)
            .join(Webconference, Webconference.id == WebconferenceRegistration.webconference_id)
            .where(
                WebconferenceRegistration.status == RegistrationStatus.REGISTERED,
                WebconferenceRegistration.reminded_at.is_(None),
                Webconference.status.not_in(OVER),
                Webconference.starts_at > now,
                Webconference.starts_at <= now + HOUR_BEFORE,
            )
            .order_by(WebconferenceRegistration.id)
            .with_for_update(skip_locked=True, of=WebconferenceRegistration)
        )
    ).all()
    for registration, webconference in due:
        registration.reminded_at = now
        await _tell(session, webconference, registration, WebconferenceChange.REMINDER)
    await session.flush()
    return len(due)


# The stage's doors (checked on every stage command) ---------------------------------------------


async def require_presenter(
    session: AsyncSession, user: User, webconference_id: int
) -> Webconference:
    """The webconference, if `user` presents it and its green room is open: from 15 minutes
    before its start until it ends."""
    webconference = await get(session, webconference_id)
    if user.id not in await presenters_of(session, webconference_id):
        raise Forbidden("You cannot change this webconference.", code="stage.forbidden")
    _require_not_over(webconference)
    if clock.now() < webconference.starts_at - SOON:
        raise Conflict(
            "Presenters can enter the green room 15 minutes before the start.",
            code="stage.too_early",
        )
    return webconference


async def require_viewer(session: AsyncSession, user: User, webconference_id: int) -> bool:
    """Watching needs the talk visible (`visible_to`), live, and its access (`holds_access`).
    Presenters may watch each other from the green room on. Returns whether `user` presents
    the talk."""
    webconference = await require_visible(session, user, webconference_id)
    _require_not_over(webconference)
    if user.id in await presenters_of(session, webconference_id):
        if clock.now() < webconference.starts_at - SOON:
            raise Conflict(
                "Presenters can enter the green room 15 minutes before the start.",
                code="stage.too_early",
            )
        return True
    if webconference.status != WebconferenceStatus.LIVE:
        raise Conflict(
            "The webconference has not started yet: it will show here when it does.",
            code="stage.not_started",
        )
    if not await holds_access(session, user, webconference):
        raise Forbidden(
            "This webconference is for registered candidates: register on the programme.",
            code="stage.not_registered",
        )
    return False


async def visible_to(
    session: AsyncSession, user: User | None, webconference: Webconference
) -> bool:
    """Whether `user` (None: a visitor) sees the talk at all, on its pages and through the
    socket: its presenters and those who manage it always; anyone else once its edition is
    published, and a booth's talk only while the booth is approved (`employers.is_public`)."""
    if await can_moderate(session, user, webconference):
        return True
    if webconference.booth_id is None:
        return editions.visible(await editions.get(session, webconference.edition_id))
    return employers.is_public(await employers.get_booth(session, webconference.booth_id))


async def require_visible(
    session: AsyncSession, user: User | None, webconference_id: int
) -> Webconference:
    """The talk, if `user` sees it (`visible_to`); else, as if it did not exist, NotFound."""
    webconference = await get(session, webconference_id)
    if not await visible_to(session, user, webconference):
        raise NotFound("This webconference does not exist.", code="webconference.not_found")
    return webconference


async def holds_access(session: AsyncSession, user: User, webconference: Webconference) -> bool:
    """The talk's access rule, whatever the hour (watching it live, reading its questions,
    its replay): an open talk, anyone; a "registered" talk, those with a seat, its presenters
    and those who manage it."""
    if webconference.access != WebconferenceAccess.REGISTERED:
        return True
    if await can_moderate(session, user, webconference):
        return True
    registration = await registration_of(session, webconference.id, user.id)
    return registration is not None and registration.status == RegistrationStatus.REGISTERED


async def can_moderate(
    session: AsyncSession, user: User | None, webconference: Webconference
) -> bool:
    """Its presenters, and those who manage it: they moderate its questions and may withdraw
    its recording."""
    if user is None:
        return False
    if user.id in await presenters_of(session, webconference.id):
        return True
    return await can_manage(session, user, webconference)


def _require_not_over(webconference: Webconference) -> None:
    if webconference.status == WebconferenceStatus.CANCELLED:
        raise Conflict("This webconference is cancelled.", code="stage.ended")
    if webconference.status == WebconferenceStatus.ENDED:
        raise Conflict("This webconference has ended.", code="stage.ended")


# Reads -----------------------------------------------------------------------------------------


async def get(session: AsyncSession, webconference_id: int) -> Webconference:
    found = await session.get(Webconference, webconference_id)
    if found is None:
        raise NotFound("This webconference does not exist.", code="webconference.not_found")
    return found


async def registration_of(
    session: AsyncSession, webconference_id: int, candidate_id: int
) -> WebconferenceRegistration | None:
    """The candidate's active registration (registered or waiting), if any."""
    found: WebconferenceRegistration | None = await session.scalar(
        select(WebconferenceRegistration).where(
            WebconferenceRegistration.webconference_id == webconference_id,
            WebconferenceRegistration.candidate_id == candidate_id,
            WebconferenceRegistration.active_key == 1,
        )
    )
    return found


async def waiting_position(session: AsyncSession, registration: WebconferenceRegistration) -> int:
    """1 for the first of the waiting list."""
    ahead = await session.scalar(
        select(func.count(WebconferenceRegistration.id)).where(
            WebconferenceRegistration.webconference_id == registration.webconference_id,
            WebconferenceRegistration.status == RegistrationStatus.WAITING,
            WebconferenceRegistration.id < registration.id,
        )
    )
    return int(ahead or 0) + 1


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


@dataclass
class Item:
    """One webconference as the programme shows it, with the reader's registration."""

    webconference: Webconference
    presenters: list[str]
    employer: str  # the booth's employer, for a booth's talk
    registered: int
    waiting: int
    mine: RegistrationStatus | None = None
    position: int = 0  # on the waiting list, when mine is WAITING

    @property
    def seats_left(self) -> int:
        return max(0, self.webconference.capacity - self.registered)


@dataclass
class Programme:
    live: list[Item]
    upcoming: list[tuple[date, list[Item]]]
    past: list[Item]


async def items(
    session: AsyncSession, found: Sequence[Webconference], user: User | None = None
) -> list[Item]:
    """The webconferences with presenters, employer, counts and the user's registration, in a
    fixed number of queries (plus one per waiting-list place of the user)."""
    ids = [w.id for w in found]
    if not ids:
        return []
    names: dict[int, list[str]] = {}
    for conf_id, name in await session.execute(
        select(WebconferencePresenter.webconference_id, User.name)
        .join(User, User.id == WebconferencePresenter.user_id)
        .where(WebconferencePresenter.webconference_id.in_(ids))
        .order_by(WebconferencePresenter.webconference_id, WebconferencePresenter.position)
    ):
        names.setdefault(conf_id, []).append(name)
    counts: dict[tuple[int, str], int] = {
        (conf_id, status): n
        for conf_id, status, n in await session.execute(
            select(
                WebconferenceRegistration.webconference_id,
                WebconferenceRegistration.status,
                func.count(WebconferenceRegistration.id),
            )
            .where(
                WebconferenceRegistration.webconference_id.in_(ids),
                WebconferenceRegistration.status.in_(ACTIVE),
            )
            .group_by(WebconferenceRegistration.webconference_id, WebconferenceRegistration.status)
        )
    }
    booth_ids = {w.booth_id for w in found if w.booth_id is not None}
    employer_of: dict[int, str] = {}
    if booth_ids:
        employer_of = {
            booth_id: name
            for booth_id, name in await session.execute(
                select(Booth.id, Employer.name)
                .join(Employer, Employer.id == Booth.employer_id)
                .where(Booth.id.in_(booth_ids))
            )
        }
    mine: dict[int, WebconferenceRegistration] = {}
    if user is not None:
        mine = {
            r.webconference_id: r
            for r in await session.scalars(
                select(WebconferenceRegistration).where(
                    WebconferenceRegistration.candidate_id == user.id,
                    WebconferenceRegistration.webconference_id.in_(ids),
                    WebconferenceRegistration.active_key == 1,
                )
            )
        }
    result = []
    for w in found:
        item = Item(
            webconference=w,
            presenters=names.get(w.id, []),
            employer=employer_of.get(w.booth_id or 0, ""),
            registered=counts.get((w.id, RegistrationStatus.REGISTERED.value), 0),
            waiting=counts.get((w.id, RegistrationStatus.WAITING.value), 0),
        )
        registration = mine.get(w.id)
        if registration is not None:
            item.mine = RegistrationStatus(registration.status)
            if item.mine == RegistrationStatus.WAITING:
                item.position = await waiting_position(session, registration)
        result.append(item)
    return result


async def of_edition(
    session: AsyncSession, edition_id: int, *, booth_id: int | None = None
) -> list[Webconference]:
    """The edition's webconferences by start time (only the booth's when `booth_id` is set)."""
    query = select(Webconference).where(Webconference.edition_id == edition_id)
    if booth_id is not None:
        query = query.where(Webconference.booth_id == booth_id)
    rows = await session.scalars(query.order_by(Webconference.starts_at, Webconference.id))
    return list(rows)


async def programme(
    session: AsyncSession, edition: Edition, user: User | None = None, now: datetime | None = None
) -> Programme:
    """What is live now (started by a presenter), then what is coming by day (in the
    edition's zone, those starting soon included), then the past: the talks `user` sees
    (`visible_to`; a booth's talk only while its booth is approved, or for those who run it)."""
    now = now or clock.now()
    zone = ZoneInfo(edition.timezone)
    talks = await of_edition(session, edition.id)
    approved = set(
        await session.scalars(
            select(Booth.id).where(
                Booth.edition_id == edition.id, Booth.status == BoothStatus.APPROVED
            )
        )
    )
    talks = [  # the rule itself for the few talks of booths not approved (or of a draft)
        t
        for t in talks
        if (editions.visible(edition) and t.booth_id in (None, *approved))
        or await visible_to(session, user, t)
    ]
    listed = await items(session, talks, user)
    live = [i for i in listed if is_live(i.webconference, now)]
    past = [i for i in listed if is_past(i.webconference, now)]
    days: dict[date, list[Item]] = {}
    for item in listed:
        if not is_live(item.webconference, now) and not is_past(item.webconference, now):
            days.setdefault(item.webconference.starts_at.astimezone(zone).date(), []).append(item)
    return Programme(live=live, upcoming=list(days.items()), past=past[::-1])


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


# Helpers ---------------------------------------------------------------------------------------


async def _lock(session: AsyncSession, webconference_id: int) -> Webconference:
    found: Webconference | None = await session.scalar(
        select(Webconference)
        .where(Webconference.id == webconference_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound("This webconference does not exist.", code="webconference.not_found")
    return found


async def _booth(session: AsyncSession, webconference: Webconference) -> Booth | None:
    if webconference.booth_id is None:
        return None
    return await employers.get_booth(session, webconference.booth_id)


async def _count(session: AsyncSession, webconference_id: int, status: RegistrationStatus) -> int:
    n = await session.scalar(
        select(func.count(WebconferenceRegistration.id)).where(
            WebconferenceRegistration.webconference_id == webconference_id,
            WebconferenceRegistration.status == status.value,
        )
    )
    return int(n or 0)


async def _active(session: AsyncSession, webconference_id: int) -> list[WebconferenceRegistration]:
    rows = await session.scalars(
        select(WebconferenceRegistration)
        .where(
            WebconferenceRegistration.webconference_id == webconference_id,
            WebconferenceRegistration.active_key == 1,
        )
        .order_by(WebconferenceRegistration.id)
    )
    return list(rows)


def _emit_edition(session: AsyncSession, webconference: Webconference) -> None:
    """The programme's `webconference.changed`; once live, ended or cancelled, also the
    stage's `stage.state` on the talk's own channel (viewers' pages, and the media process,
    which closes the stage of a talk that is over)."""
    payload = {"webconference_id": webconference.id, "status": webconference.status}
    channel = channels.edition(webconference.edition_id)
    events.emit(session, channel=channel, event="webconference.changed", payload=payload)
    state = STAGE_STATES.get(WebconferenceStatus(webconference.status))
    if state is not None:
        payload = {"webconference_id": webconference.id, "state": state}
        channel = channels.webconference(webconference.id)
        events.emit(session, channel=channel, event="stage.state", payload=payload)


STAGE_STATES = {
    WebconferenceStatus.LIVE: "live",
    WebconferenceStatus.ENDED: "ended",
    WebconferenceStatus.CANCELLED: "cancelled",
}


async def _tell(
    session: AsyncSession,
    webconference: Webconference,
    registration: WebconferenceRegistration,
    change: WebconferenceChange,
) -> None:
    position = (
        await waiting_position(session, registration)
        if registration.status == RegistrationStatus.WAITING
        else 0
    )
    await webconference_mail.tell(session, webconference, registration, change, position=position)
