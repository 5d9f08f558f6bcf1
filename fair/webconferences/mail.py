"""What candidates hear of their webconference registrations: a mail in their language, with
an iCalendar invitation (REQUEST, or CANCEL once the seat or the talk is gone) when they hold or
lose a seat, and a `webconference.changed` event on their channel. The registrations module
decides when; this module says it.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fair import calendar, channels, clock, editions, events, mail
from fair import settings as fair_settings
from fair.enums import RegistrationStatus, WebconferenceChange, WebconferenceStatus
from fair.i18n import N_
from fair.i18n import gettext as _
from fair.models import Edition, User, Webconference, WebconferenceRegistration
from fair.on_behalf import Acting

SUBJECTS = {
    WebconferenceChange.REGISTERED: N_("Webconference registration: %(title)s, %(when)s"),
    WebconferenceChange.WAITING: N_("Waiting list: %(title)s, %(when)s"),
    WebconferenceChange.PROMOTED: N_("A seat is yours: %(title)s, %(when)s"),
    WebconferenceChange.UNREGISTERED: N_("Registration cancelled: %(title)s, %(when)s"),
    WebconferenceChange.CHANGED: N_("Webconference changed: %(title)s, %(when)s"),
    WebconferenceChange.CANCELLED: N_("Webconference cancelled: %(title)s, %(when)s"),
    WebconferenceChange.REMINDER: N_("Reminder: %(title)s starts in one hour"),
}
LEADS = {
    WebconferenceChange.REGISTERED: N_("Your seat is booked."),
    WebconferenceChange.WAITING: N_(
        "The webconference is full: you are number %(position)s on the waiting list. You will "
        "receive an invitation if a seat is freed."
    ),
    WebconferenceChange.PROMOTED: N_("A seat was freed and it is yours."),
    WebconferenceChange.UNREGISTERED: N_("Your registration is cancelled."),
    WebconferenceChange.CHANGED: N_("The webconference has changed: here is its new time."),
    WebconferenceChange.CANCELLED: N_("The webconference is cancelled."),
    WebconferenceChange.REMINDER: N_("The webconference starts in one hour."),
}


def link(webconference: Webconference) -> str:
    return f"{fair_settings.get().base_url}/webconferences/{webconference.id}"


def registration_uid(webconference: Webconference, registration: WebconferenceRegistration) -> str:
    """The registration's iCalendar UID: stable for its whole life."""
    return f"r{registration.id}-{webconference.uid}"


def _when(at: datetime, zone: str, locale: str) -> str:
    from babel.dates import format_datetime

    return format_datetime(at.astimezone(ZoneInfo(zone)), "EEEE d MMMM HH:mm", locale=locale)


def meeting(
    webconference: Webconference,
    registration: WebconferenceRegistration,
    candidate: User,
    edition: Edition,
    locale: str,
) -> calendar.Meeting:
    cancelled = (
        webconference.status == WebconferenceStatus.CANCELLED
        or registration.status == RegistrationStatus.CANCELLED
    )
    bump = 1 if registration.status == RegistrationStatus.CANCELLED else 0
    sender = fair_settings.get().mail_from
    address = parseaddr(sender)[1] or sender
    return calendar.Meeting(
        uid=registration_uid(webconference, registration),
        sequence=webconference.sequence + bump,
        starts_at=webconference.starts_at,
        ends_at=webconference.ends_at,
        zone=edition.timezone,
        summary=_("Webconference: %(title)s", locale, title=webconference.title),
        description=_("Watch it in your browser: %(link)s", locale, link=link(webconference)),
        location=link(webconference),
        organizer=(edition.title, address),
        attendees=((candidate.name, candidate.email),),
        cancelled=cancelled,
        stamp=clock.now(),
    )


async def tell(
    session: AsyncSession,
    webconference: Webconference,
    registration: WebconferenceRegistration,
    change: WebconferenceChange,
    *,
    position: int = 0,
    acting: Acting | None = None,
) -> None:
    """A mail to the candidate (with the calendar when they hold or lose a seat; `position` on
    the waiting list; `acting`: done for them by a counsellor) and a live event on their
    channel."""
    candidate = await session.get(User, registration.candidate_id)
    assert candidate is not None
    edition = await editions.get(session, webconference.edition_id)
    locale = candidate.locale or "fr"
    when = _when(webconference.starts_at, edition.timezone, locale)
    lines = [
        _("Hello %(name)s,", locale, name=candidate.name),
        "",
        _(LEADS[change], locale, position=position),
        _("Webconference: %(title)s", locale, title=webconference.title),
        _("When: %(when)s", locale, when=when),
        _("Watch it in your browser: %(link)s", locale, link=link(webconference)),
    ]
    if acting is not None:
        lines.append(acting.line(locale))
    ics = None
    if registration.status != RegistrationStatus.WAITING:
        ics = calendar.invitation(meeting(webconference, registration, candidate, edition, locale))
    subject = _(SUBJECTS[change], locale, title=webconference.title, when=when)
    await mail.queue(
        session, to=candidate.email, subject=subject, body="\n".join(lines) + "\n", calendar=ics
    )
    events.emit(
        session,
        channel=channels.user(candidate.id),
        event="webconference.changed",
        payload={
            "webconference_id": webconference.id,
            "change": change.value,
            "status": registration.status,
        },
    )
