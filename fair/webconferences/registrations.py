"""Registrations: candidates' seats, the waiting list and the reminder an hour before.

Registering is race-safe: the webconference row is locked (`talks.lock`) while the seats are
counted, so the capacity is never exceeded; beyond it, candidates join the waiting list
(ordered by registration id), and a seat freed by an unregistration goes to the first of them.
The unique constraint (webconference_id, candidate_id, active_key) is the last guard against a
double registration.

Registered candidates receive an iCalendar invitation: one UID per registration (derived from
the webconference's UID), METHOD REQUEST on registration and on each change of time or title,
CANCEL on unregistration or cancellation; SEQUENCE is the webconference's (raised on every
mailed change), plus one once the registration is cancelled. A reminder leaves an hour before,
once: `send_reminders`, run by the worker, records it in the transaction that queues its mail.
The mails and invitations themselves are written by the mail module (`tell` here hands them on).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, editions, participants, webhooks
from fair.enums import RegistrationStatus, Role, WebconferenceChange
from fair.errors import Conflict, Forbidden, NotFound
from fair.models import User, Webconference, WebconferenceRegistration
from fair.on_behalf import Acting
from fair.webconferences import mail, talks

HOUR_BEFORE = timedelta(hours=1)
ACTIVE = (RegistrationStatus.REGISTERED.value, RegistrationStatus.WAITING.value)


async def register(
    session: AsyncSession,
    *,
    candidate: User,
    webconference: Webconference,
    acting: Acting | None = None,
) -> WebconferenceRegistration:
    """A seat if one is left, else a place on the waiting list; registering again returns the
    active registration. The registered get a calendar invitation, the waiting their place.
    `acting`: a counsellor registers the candidate (fair.counsellors checked the
    accompaniment), which the candidate's mail says."""
    if candidate.role != Role.CANDIDATE:
        raise Forbidden(
            "Only candidates register for webconferences.", code="webconference.not_candidate"
        )
    webconference = await talks.lock(session, webconference.id)
    edition = await editions.get(session, webconference.edition_id)
    if not editions.visible(edition):
        raise NotFound("This webconference does not exist.", code="webconference.not_found")
    if webconference.status in talks.OVER or webconference.ends_at <= clock.now():
        raise Conflict(
            "Registrations are closed for this webconference.", code="webconference.closed"
        )
    existing = await registration_of(session, webconference.id, candidate.id)
    if existing is not None:
        return existing
    seats = await count(session, webconference.id, RegistrationStatus.REGISTERED)
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
    no_late_reminder(registration, webconference)
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
    await participants.register(session, edition_id=edition.id, user=candidate)
    await webhooks.registration_event(session, webconference, registration)
    await tell(session, webconference, registration, change, acting=acting)
    return registration


async def unregister(
    session: AsyncSession, *, candidate: User, webconference: Webconference
) -> None:
    """Give up a seat (a calendar CANCEL; the first waiting candidate gets the seat) or a place
    on the waiting list."""
    webconference = await talks.lock(session, webconference.id)
    registration = await registration_of(session, webconference.id, candidate.id)
    if registration is None:
        raise Conflict("You are not registered.", code="webconference.not_registered")
    had_seat = registration.status == RegistrationStatus.REGISTERED
    _move(registration, RegistrationStatus.CANCELLED)
    await session.flush()
    if had_seat:
        await tell(session, webconference, registration, WebconferenceChange.UNREGISTERED)
    await promote(session, webconference)


async def promote(session: AsyncSession, webconference: Webconference) -> None:
    """Give free seats to the waiting list, first come first served (webconference locked)."""
    if webconference.status in talks.OVER or webconference.ends_at <= clock.now():
        return
    free = webconference.capacity - await count(
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
        _move(registration, RegistrationStatus.REGISTERED)
        no_late_reminder(registration, webconference)
        await session.flush()
        await tell(session, webconference, registration, WebconferenceChange.PROMOTED)


def no_late_reminder(registration: WebconferenceRegistration, webconference: Webconference) -> None:
    """A seat taken (or a talk moved) less than an hour before its start: no "in one hour"
    reminder follows; the registration's own mail says when it is."""
    now = clock.now()
    if webconference.starts_at - now < HOUR_BEFORE:
        registration.reminded_at = now


def _move(registration: WebconferenceRegistration, new: RegistrationStatus) -> None:
    """The one writer of a registration's status after it is created; `active_key` follows
    (1 while registered or waiting, NULL once cancelled, so that a new one may be made)."""
    registration.status = new.value
    registration.active_key = None if new == RegistrationStatus.CANCELLED else 1


async def tell(
    session: AsyncSession,
    webconference: Webconference,
    registration: WebconferenceRegistration,
    change: WebconferenceChange,
    *,
    acting: Acting | None = None,
) -> None:
    """The candidate hears of `change` (mail.tell), with their place on the waiting list."""
    position = (
        await waiting_position(session, registration)
        if registration.status == RegistrationStatus.WAITING
        else 0
    )
    await mail.tell(session, webconference, registration, change, position=position, acting=acting)


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
                Webconference.status.not_in(talks.OVER),
                Webconference.starts_at > now,
                Webconference.starts_at <= now + HOUR_BEFORE,
            )
            .order_by(WebconferenceRegistration.id)
            .with_for_update(skip_locked=True, of=WebconferenceRegistration)
        )
    ).all()
    for registration, webconference in due:
        registration.reminded_at = now
        await tell(session, webconference, registration, WebconferenceChange.REMINDER)
    await session.flush()
    return len(due)


# Reads -----------------------------------------------------------------------------------------


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


async def count(session: AsyncSession, webconference_id: int, status: RegistrationStatus) -> int:
    """How many of the talk's registrations are in `status`."""
    n = await session.scalar(
        select(func.count(WebconferenceRegistration.id)).where(
            WebconferenceRegistration.webconference_id == webconference_id,
            WebconferenceRegistration.status == status.value,
        )
    )
    return int(n or 0)


async def active(session: AsyncSession, webconference_id: int) -> list[WebconferenceRegistration]:
    """The talk's registrations still in force (registered or waiting), oldest first."""
    rows = await session.scalars(
        select(WebconferenceRegistration)
        .where(
            WebconferenceRegistration.webconference_id == webconference_id,
            WebconferenceRegistration.active_key == 1,
        )
        .order_by(WebconferenceRegistration.id)
    )
    return list(rows)
