"""iCalendar (RFC 5545) texts for interviews: invitations, cancellations and private feeds.

Built with the `icalendar` library. Times are written in the edition's zone (Europe/Paris by
default) with its VTIMEZONE, so every calendar shows the same wall-clock time. An event keeps
one UID for its whole life; SEQUENCE rises on each change (RFC 5546), so calendars update the
event they already hold instead of adding another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

PRODID = "-//fair//interviews//FR"


@dataclass(frozen=True)
class Meeting:
    """One interview as calendars see it."""

    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    zone: str
    summary: str
    description: str
    location: str
    organizer: tuple[str, str]  # (name, e-mail)
    attendees: tuple[tuple[str, str], ...]
    cancelled: bool = False
    stamp: datetime | None = None


def _event(meeting: Meeting) -> Event:
    zone = ZoneInfo(meeting.zone)
    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", meeting.stamp or meeting.starts_at)
    event.add("dtstart", meeting.starts_at.astimezone(zone))
    event.add("dtend", meeting.ends_at.astimezone(zone))
    event.add("summary", meeting.summary)
    event.add("description", meeting.description)
    if meeting.location:
        event.add("location", meeting.location)
    event.add("status", "CANCELLED" if meeting.cancelled else "CONFIRMED")
    name, email = meeting.organizer
    organizer = vCalAddress(f"mailto:{email}")
    organizer.params["cn"] = vText(name)
    event["organizer"] = organizer
    for name, email in meeting.attendees:
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["cn"] = vText(name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=False)
    return event


def _calendar(
    method: str | None, meetings: list[Meeting], name: str = "", description: str = ""
) -> str:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", name)
    if description:
        calendar.add("x-wr-caldesc", description)
    zones = sorted({m.zone for m in meetings})
    for zone in zones:
        first = min(m.starts_at for m in meetings if m.zone == zone)
        last = max(m.ends_at for m in meetings if m.zone == zone)
        # Whole years around the meetings, so the zone carries its standard and summer rules.
        calendar.add_component(
            Timezone.from_tzid(
                zone,
                first_date=date(first.year - 1, 1, 1),
                last_date=date(last.year + 1, 12, 31),
            )
        )
    for meeting in meetings:
        calendar.add_component(_event(meeting))
    ical: bytes = calendar.to_ical()
    return ical.decode()


def invitation(meeting: Meeting) -> str:
    """A METHOD:REQUEST (or, when cancelled, METHOD:CANCEL) calendar for one meeting."""
    return _calendar("CANCEL" if meeting.cancelled else "REQUEST", [meeting])


def feed(meetings: list[Meeting], name: str, description: str = "") -> str:
    """A subscribable calendar (no METHOD) of several meetings."""
    return _calendar(None, meetings, name, description)


def method_of(text: str) -> str | None:
    """The METHOD of a calendar text (for the mail's content type)."""
    value = Calendar.from_ical(text).get("method")
    return str(value) if value is not None else None
