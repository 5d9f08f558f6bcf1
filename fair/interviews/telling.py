"""Telling both participants of every change: notice, live event, mail with its calendar.

Each change (InterviewChange) makes an in-app notice, a live `interview.changed` event on the
user channels, and an e-mail carrying an iCalendar invitation (METHOD REQUEST, or CANCEL; one
UID per interview, SEQUENCE raised on each change). All are queued in the caller's
transaction: they leave once it commits.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy.ext.asyncio import AsyncSession

from fair import calendar, channels, editions, employers, events, mail, notices
from fair import settings as fair_settings
from fair.enums import InterviewChange, InterviewMode, InterviewStatus, NoticeKind
from fair.i18n import N_
from fair.i18n import gettext as _
from fair.models import Edition, Employer, Interview, User
from fair.on_behalf import Acting

SUBJECTS = {
    InterviewChange.BOOKED: N_("Interview booked: %(employer)s, %(when)s"),
    InterviewChange.TO_CONFIRM: N_("Interview to confirm: %(employer)s, %(when)s"),
    InterviewChange.CONFIRMED: N_("Interview confirmed: %(employer)s, %(when)s"),
    InterviewChange.RESCHEDULED: N_("Interview moved: %(employer)s, %(when)s"),
    InterviewChange.CANCELLED: N_("Interview cancelled: %(employer)s, %(when)s"),
    InterviewChange.OFFERED: N_("A slot is free for you: %(employer)s, %(when)s"),
    InterviewChange.REMINDER_DAY: N_("Reminder: interview with %(employer)s, %(when)s"),
    InterviewChange.REMINDER_HOUR: N_(
        "Reminder: interview in one hour with %(employer)s, %(when)s"
    ),
}
LEADS = {
    InterviewChange.BOOKED: N_("Your interview is booked."),
    InterviewChange.TO_CONFIRM: N_("A recruiter booked an interview for you: please confirm it."),
    InterviewChange.CONFIRMED: N_("The interview is confirmed."),
    InterviewChange.RESCHEDULED: N_("The interview has moved to a new time."),
    InterviewChange.CANCELLED: N_("The interview is cancelled."),
    InterviewChange.OFFERED: N_(
        "A slot was freed and is offered to you: accept it before %(until)s."
    ),
    InterviewChange.REMINDER_DAY: N_("A reminder of your interview within the next day."),
    InterviewChange.REMINDER_HOUR: N_("Your interview starts in one hour."),
}
NOTICES = {
    InterviewChange.BOOKED.value: N_("Your interview with %(employer)s is booked."),
    InterviewChange.TO_CONFIRM.value: N_("%(employer)s booked an interview for you: confirm it."),
    InterviewChange.CONFIRMED.value: N_("Your interview with %(employer)s is confirmed."),
    InterviewChange.RESCHEDULED.value: N_("Your interview with %(employer)s has moved."),
    InterviewChange.CANCELLED.value: N_("Your interview with %(employer)s is cancelled."),
    InterviewChange.OFFERED.value: N_("A slot with %(employer)s is free for you: accept it soon."),
}
MODE_HOW = {
    InterviewMode.VIDEO: N_(
        "By video in your browser: %(link)s (the room opens 10 minutes before)."
    ),
    InterviewMode.PHONE: N_(
        "By phone: the recruiter calls the number in your profile. See %(link)s"
    ),
    InterviewMode.CHAT: N_("By written chat in your browser: %(link)s"),
}


def _when(at: datetime, zone: str, locale: str) -> str:
    return format_datetime(at.astimezone(ZoneInfo(zone)), "EEEE d MMMM HH:mm", locale=locale)


async def _context(
    session: AsyncSession, interview: Interview
) -> tuple[User, User, Employer, Edition]:
    candidate = await session.get(User, interview.candidate_id)
    recruiter = await session.get(User, interview.recruiter_id)
    booth = await employers.get_booth(session, interview.booth_id)
    edition = await editions.get(session, booth.edition_id)
    assert candidate is not None and recruiter is not None
    return candidate, recruiter, booth.employer, edition


def room_link(interview: Interview) -> str:
    return f"{fair_settings.get().base_url}/interviews/{interview.id}"


async def meeting(session: AsyncSession, interview: Interview, locale: str) -> calendar.Meeting:
    return _meeting_of(interview, locale, await _context(session, interview))


def _meeting_of(
    interview: Interview, locale: str, context: tuple[User, User, Employer, Edition]
) -> calendar.Meeting:
    """The interview as calendars see it, from the people and places `_context` read."""
    candidate, recruiter, employer, edition = context
    mode = InterviewMode(interview.mode)
    how = _(MODE_HOW[mode], locale, link=room_link(interview))
    status = InterviewStatus(interview.status)
    return calendar.Meeting(
        uid=interview.uid,
        sequence=interview.sequence,
        starts_at=interview.starts_at,
        ends_at=interview.ends_at,
        zone=edition.timezone,
        summary=_(
            "Interview: %(employer)s and %(candidate)s",
            locale,
            employer=employer.name,
            candidate=candidate.name,
        ),
        description=how,
        location=room_link(interview),
        organizer=(recruiter.name, recruiter.email),
        attendees=((candidate.name, candidate.email), (recruiter.name, recruiter.email)),
        cancelled=not status.active
        and status not in (InterviewStatus.HELD, InterviewStatus.NO_SHOW),
        stamp=interview.updated_at,
    )


async def tell(
    session: AsyncSession,
    interview: Interview,
    change: InterviewChange,
    *,
    recruiter: bool = True,
    notice: bool = True,
    live: bool = True,
    acting: Acting | None = None,
) -> None:
    """Notice, live event and mail with its calendar to the candidate (and the recruiter);
    `acting`: done by a counsellor for the candidate, which the candidate's mail says."""
    context = await _context(session, interview)
    candidate, staff, employer, edition = context
    people = [candidate] + ([staff] if recruiter else [])
    for person in people:
        locale = person.locale or "fr"
        when = _when(interview.starts_at, edition.timezone, locale)
        until = (
            _when(interview.offer_expires_at, edition.timezone, locale)
            if interview.offer_expires_at
            else ""
        )
        subject = _(SUBJECTS[change], locale, employer=employer.name, when=when)
        lines = [
            _("Hello %(name)s,", locale, name=person.name),
            "",
            _(LEADS[change], locale, until=until),
            _(
                "With: %(who)s",
                locale,
                who=candidate.name if person is staff else f"{staff.name} ({employer.name})",
            ),
            _("When: %(when)s", locale, when=when),
            _(MODE_HOW[InterviewMode(interview.mode)], locale, link=room_link(interview)),
        ]
        if interview.cancel_reason and change in (
            InterviewChange.CANCELLED,
            InterviewChange.RESCHEDULED,
        ):
            lines.append(_("Reason: %(reason)s", locale, reason=interview.cancel_reason))
        if acting is not None and person is candidate:
            lines.append(acting.line(locale))
        if person is staff and interview.accommodation:
            lines.append(_("Accommodation asked: %(need)s", locale, need=interview.accommodation))
        ics = None
        if change not in (InterviewChange.OFFERED, InterviewChange.TO_CONFIRM) or person is staff:
            ics = calendar.invitation(_meeting_of(interview, locale, context))
        await mail.queue(
            session, to=person.email, subject=subject, body="\n".join(lines) + "\n", calendar=ics
        )
        if notice:
            await notices.add(
                session,
                user_id=person.id,
                kind=NoticeKind.INTERVIEW,
                params={
                    "interview_id": interview.id,
                    "change": change.value,
                    "employer": employer.name,
                },
                link=f"/interviews/{interview.id}",
            )
        if live:
            events.emit(
                session,
                channel=channels.user(person.id),
                event="interview.changed",
                payload={
                    "interview_id": interview.id,
                    "change": change.value,
                    "status": interview.status,
                },
            )
