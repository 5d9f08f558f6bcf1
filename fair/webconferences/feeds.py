"""Public calendars to subscribe to: an edition's programme and a booth's talks (iCalendar).

Each talk keeps its UID (`Webconference.uid`, which the candidates' own invitations only
prefix) and its SEQUENCE (raised by scheduling on each move, retitling and cancellation), so a
calendar that subscribed once updates the events it holds; a cancelled talk stays in the feed
with STATUS:CANCELLED, so calendars remove it. Only what the public sees: the talks of the
edition and of its approved booths.
"""

from __future__ import annotations

from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import calendar, structured_data
from fair import settings as fair_settings
from fair.enums import BoothStatus, WebconferenceStatus
from fair.i18n import gettext as _
from fair.models import Booth, Edition, Employer, Webconference
from fair.webconferences.listing import of_edition
from fair.webconferences.mail import link


async def programme(session: AsyncSession, edition: Edition, locale: str) -> str:
    """The edition's programme: its own talks and those of its approved booths."""
    employers = await _approved_employers(session, edition.id)
    talks = [t for t in await of_edition(session, edition.id) if t.booth_id in (None, *employers)]
    name = _("Programme: %(title)s", locale, title=edition.title)
    return _feed(talks, edition, employers, name, locale)


async def of_booth(session: AsyncSession, edition: Edition, booth: Booth, locale: str) -> str:
    """The talks of one booth (`booth.employer` loaded; the caller checked it is public)."""
    talks = await of_edition(session, edition.id, booth_id=booth.id)
    name = _("Talks: %(employer)s", locale, employer=booth.employer.name)
    return _feed(talks, edition, {booth.id: booth.employer.name}, name, locale)


async def _approved_employers(session: AsyncSession, edition_id: int) -> dict[int, str]:
    rows = await session.execute(
        select(Booth.id, Employer.name)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(Booth.edition_id == edition_id, Booth.status == BoothStatus.APPROVED.value)
    )
    return {booth_id: name for booth_id, name in rows}


def _feed(
    talks: list[Webconference],
    edition: Edition,
    employers: dict[int, str],
    name: str,
    locale: str,
) -> str:
    licence = _(
        "Data published under the %(licence)s: %(url)s",
        locale,
        licence=structured_data.LICENCE,
        url=structured_data.LICENCE_URL,
    )
    meetings = [_meeting(t, edition, employers.get(t.booth_id or 0, ""), locale) for t in talks]
    return calendar.feed(meetings, name, f"{edition.title}. {licence}")


def _meeting(talk: Webconference, edition: Edition, employer: str, locale: str) -> calendar.Meeting:
    sender = fair_settings.get().mail_from
    address = parseaddr(sender)[1] or sender
    summary = f"{talk.title} ({employer})" if employer else talk.title
    watch = _("Watch it in your browser: %(link)s", locale, link=link(talk))
    description = f"{talk.description}\n\n{watch}" if talk.description else watch
    return calendar.Meeting(
        uid=talk.uid,
        sequence=talk.sequence,
        starts_at=talk.starts_at,
        ends_at=talk.ends_at,
        zone=edition.timezone,
        summary=summary,
        description=description,
        location=link(talk),
        organizer=(edition.title, address),
        attendees=(),
        cancelled=talk.status == WebconferenceStatus.CANCELLED,
        stamp=talk.updated_at,
    )
