"""A talk's life: scheduled by an organiser (for the edition) or a booth's recruiter (for their
approved booth), changed, cancelled, started and ended on stage.

`_move` is the one writer of a webconference's status, along WEBCONFERENCE_TRANSITIONS. A change
of time or title raises the talk's SEQUENCE and sends the registered candidates an updated
invitation; cancelling sends a calendar CANCEL (the registrations module tells them). Starting
and ending publish `webconference.changed` on the edition's channel and `stage.state` on the
talk's own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, clock, editions, events
from fair.enums import (
    WEBCONFERENCE_TRANSITIONS,
    RegistrationStatus,
    WebconferenceAccess,
    WebconferenceChange,
    WebconferenceStatus,
)
from fair.errors import Conflict, Invalid
from fair.models import (
    Booth,
    Edition,
    User,
    Webconference,
    WebconferenceAttendance,
    WebconferencePresenter,
)
from fair.webconferences import registrations, rules, talks

MIN_MINUTES, MAX_MINUTES = 15, 240
MAX_CAPACITY = 5000
MAX_PRESENTERS = 3
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
STAGE_STATES = {
    WebconferenceStatus.LIVE: "live",
    WebconferenceStatus.ENDED: "ended",
    WebconferenceStatus.CANCELLED: "cancelled",
}


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
    elif not talks.within_live_hours(edition, data.starts_at, data.ends_at):
        errors["starts_at"] = "Choose a time within one of the fair's live days and hours."
    if moved and "starts_at" not in errors and data.starts_at <= clock.now():
        errors["starts_at"] = "Choose a time in the future."
    if not 1 <= data.capacity <= MAX_CAPACITY:
        errors["capacity"] = "Enter a number of seats between 1 and 5,000."
    elif data.capacity < registered:
        errors["capacity"] = "Some candidates are already registered: keep at least their seats."
    allowed = {u.id for u in await rules.eligible_presenters(session, edition, booth)}
    chosen = data.presenter_ids
    if not 1 <= len(chosen) <= MAX_PRESENTERS or len(set(chosen)) != len(chosen):
        errors["presenters"] = "Choose one to three presenters."
    elif not set(chosen) <= allowed:
        errors["presenters"] = "Presenters are the booth's recruiters or the fair's organisers."
    if errors:
        raise Invalid("Some fields need correcting.", code="webconference.invalid", fields=errors)


async def schedule(
    session: AsyncSession,
    *,
    by: User,
    edition: Edition,
    booth: Booth | None = None,
    data: WebconferenceInput,
) -> Webconference:
    """Add a talk to the programme (a booth's when `booth` is given); nobody is told yet."""
    await rules.require_scheduler(session, by, edition, booth)
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
    webconference = await talks.lock(session, webconference.id)
    await rules.require_manager(session, by, webconference)
    if webconference.status != WebconferenceStatus.SCHEDULED:
        raise Conflict(
            "Only a scheduled webconference can be changed.", code="webconference.not_scheduled"
        )
    edition = await editions.get(session, webconference.edition_id)
    booth = await talks.booth_of(session, webconference)
    moved = (data.starts_at, data.ends_at) != (webconference.starts_at, webconference.ends_at)
    registered = await registrations.count(session, webconference.id, RegistrationStatus.REGISTERED)
    await _check(session, edition, booth, data, registered=registered, moved=moved)
    retitled = data.title.strip() != webconference.title
    _apply(webconference, data, clock.now())
    await _set_presenters(session, webconference, data.presenter_ids)
    if moved or retitled:
        webconference.sequence += 1
        await session.flush()
        for registration in await registrations.active(session, webconference.id):
            if moved:
                registration.reminded_at = None
                registrations.no_late_reminder(registration, webconference)
            if registration.status == RegistrationStatus.REGISTERED:
                change = WebconferenceChange.CHANGED
                await registrations.tell(session, webconference, registration, change)
    await registrations.promote(session, webconference)
    await session.flush()
    return webconference


async def cancel(session: AsyncSession, *, by: User, webconference: Webconference) -> None:
    """Cancel a scheduled talk: the registered get a calendar CANCEL, the waiting a message."""
    webconference = await talks.lock(session, webconference.id)
    await rules.require_manager(session, by, webconference)
    _move(webconference, WebconferenceStatus.CANCELLED)
    webconference.sequence += 1
    webconference.updated_at = clock.now()
    await session.flush()
    for registration in await registrations.active(session, webconference.id):
        change = WebconferenceChange.CANCELLED
        await registrations.tell(session, webconference, registration, change)


async def start(session: AsyncSession, *, by: User, webconference: Webconference) -> None:
    """The stage opens: the talk is live (from its start time on, until it ends)."""
    webconference = await talks.lock(session, webconference.id)
    await rules.require_manager(session, by, webconference)
    _move(webconference, WebconferenceStatus.LIVE)
    webconference.started_at = webconference.updated_at = clock.now()
    await session.flush()
    _emit_edition(session, webconference)


async def end(session: AsyncSession, *, by: User, webconference: Webconference) -> None:
    webconference = await talks.lock(session, webconference.id)
    await rules.require_manager(session, by, webconference)
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
