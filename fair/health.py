"""Health checks of an edition (issue 12 item 7): what an organiser should fix or chase before
and during the fair, each check a function returning the items concerned, and the reminder by
mail to the recruiters of the booths concerned.

The checks (each one or two queries whatever the number of booths):

- `no_offer`: approved booths with no published offer.
- `no_slots`: approved booths with no interview slot (withdrawn slots do not count).
- `no_login`: approved booths none of whose recruiters ever logged in. Accounts have no
  "last log-in" column; every log-in writes a `user_sessions` row, kept (revoked) after
  log-out, so "ever logged in" is "has a session row".
- `no_staffing`: approved booths with some slots but none on one of the live days still to come
  (today included). Booth presence (fair.presence) is live only, nothing is planned in it; what
  a booth plans for a live day is its interview slots, so "staffing planned" for a day is at
  least one slot starting that day in the edition's time zone. Booths with no slot at all are
  `no_slots`' items, not repeated here.
- `offer_place`: published offers of approved booths whose ROME code is missing or not a ROME
  code, or whose commune is missing or unknown to fair.geo (older or imported offers: the
  offer form refuses both).
- `talk_presenter`: talks to come or live with no active presenter (a presenter's account
  deleted or deactivated).
- `talk_hours`: talks to come that no longer fit in a live day's hours (the live days were
  changed after the talk was scheduled).
- `pending_booths`: booth requests waiting for a decision for more than `PENDING_AFTER` (3 days).

A reminder (`remind`) mails the active recruiters of the booths a check names (booth checks,
offers, and booths' talks; organisers' own talks and booth requests are the organisers' to fix),
records a HealthReminder, and is refused for the same check within `REMIND_EVERY` (24 h).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, geo, mail, permissions, rome, settings, webconferences
from fair.enums import BoothStatus, WebconferenceStatus
from fair.errors import Conflict, Invalid
from fair.i18n import N_, day
from fair.i18n import gettext as _
from fair.models import (
    Booth,
    Edition,
    Employer,
    EmployerMember,
    HealthReminder,
    InterviewSlot,
    Offer,
    User,
    UserSession,
    Webconference,
    WebconferencePresenter,
)

PENDING_AFTER = timedelta(days=3)
REMIND_EVERY = timedelta(hours=24)
APPROVED = BoothStatus.APPROVED.value
COMING = (WebconferenceStatus.SCHEDULED.value, WebconferenceStatus.LIVE.value)


@dataclass(frozen=True)
class Item:
    """What a check names: a booth, an offer or a talk (`id`), what to call it, its booth and
    employer (None for an organisers' talk), and the check's details."""

    id: int
    label: str
    booth_id: int | None = None
    employer: str = ""
    days: tuple[date, ...] = ()  # no_staffing: the live days without a slot
    since: datetime | None = None  # pending_booths: when the booth was requested


Check = Callable[[AsyncSession, Edition], Awaitable[list[Item]]]


def _approved(edition_id: int) -> list[ColumnElement[bool]]:
    return [Booth.edition_id == edition_id, Booth.status == APPROVED]


async def _booths(
    session: AsyncSession, edition: Edition, *conditions: ColumnElement[bool]
) -> list[Item]:
    """The edition's approved booths meeting `conditions`, by employer name."""
    rows = await session.execute(
        select(Booth.id, Employer.name)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(*_approved(edition.id), *conditions)
        .order_by(Employer.name, Booth.id)
    )
    return [Item(id=b, label=name, booth_id=b, employer=name) for b, name in rows.all()]


async def no_offer(session: AsyncSession, edition: Edition) -> list[Item]:
    published = exists().where(Offer.booth_id == Booth.id, Offer.published.is_(True))
    return await _booths(session, edition, ~published)


def _has_slot() -> ColumnElement[bool]:
    return exists().where(InterviewSlot.booth_id == Booth.id, InterviewSlot.withdrawn_at.is_(None))


async def no_slots(session: AsyncSession, edition: Edition) -> list[Item]:
    return await _booths(session, edition, ~_has_slot())


async def no_login(session: AsyncSession, edition: Edition) -> list[Item]:
    logged_in = (
        exists()
        .where(EmployerMember.employer_id == Booth.employer_id)
        .where(exists().where(UserSession.user_id == EmployerMember.user_id))
    )
    return await _booths(session, edition, ~logged_in)


def coming_days(edition: Edition, now: datetime | None = None) -> list[date]:
    """The live days from today on, in the edition's time zone (`live_days` loaded)."""
    today = (now or clock.now()).astimezone(ZoneInfo(edition.timezone)).date()
    return [d.day for d in edition.live_days if d.day >= today]


async def no_staffing(session: AsyncSession, edition: Edition) -> list[Item]:
    days = coming_days(edition)
    if not days:
        return []
    zone = ZoneInfo(edition.timezone)
    start = datetime.combine(days[0], datetime.min.time(), zone)
    end = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), zone)
    slotted = await _booths(session, edition, _has_slot())
    rows = await session.execute(
        select(InterviewSlot.booth_id, InterviewSlot.starts_at)
        .join(Booth, Booth.id == InterviewSlot.booth_id)
        .where(
            *_approved(edition.id),
            InterviewSlot.withdrawn_at.is_(None),
            InterviewSlot.starts_at >= start,
            InterviewSlot.starts_at < end,
        )
    )
    planned: dict[int, set[date]] = defaultdict(set)
    for booth_id, starts_at in rows.all():
        planned[booth_id].add(starts_at.astimezone(zone).date())
    found = []
    for item in slotted:
        missing = tuple(d for d in days if d not in planned[item.id])
        if missing:
            found.append(Item(item.id, item.label, item.booth_id, item.employer, days=missing))
    return found


def _misplaced(offer: Offer) -> bool:
    code = offer.rome_code.strip()
    if not code or not rome.CODE_RE.match(code):
        return True
    return not offer.commune.strip() or geo.find(offer.commune, offer.postcode) is None


async def offer_place(session: AsyncSession, edition: Edition) -> list[Item]:
    rows = await session.execute(
        select(Offer, Employer.name)
        .join(Booth, Booth.id == Offer.booth_id)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(*_approved(edition.id), Offer.published.is_(True))
        .order_by(Employer.name, Offer.title, Offer.id)
    )
    return [
        Item(id=o.id, label=o.title, booth_id=o.booth_id, employer=name)
        for o, name in rows.all()
        if _misplaced(o)
    ]


async def _talks(
    session: AsyncSession,
    edition: Edition,
    statuses: tuple[str, ...],
    *conditions: ColumnElement[bool],
) -> list[tuple[Webconference, str | None]]:
    rows = await session.execute(
        select(Webconference, Employer.name)
        .outerjoin(Booth, Booth.id == Webconference.booth_id)
        .outerjoin(Employer, Employer.id == Booth.employer_id)
        .where(
            Webconference.edition_id == edition.id,
            Webconference.status.in_(statuses),
            *conditions,
        )
        .order_by(Webconference.starts_at, Webconference.id)
    )
    return [(talk, name) for talk, name in rows.all()]


def _talk_item(talk: Webconference, employer: str | None) -> Item:
    return Item(id=talk.id, label=talk.title, booth_id=talk.booth_id, employer=employer or "")


async def talk_presenter(session: AsyncSession, edition: Edition) -> list[Item]:
    presented = exists().where(
        WebconferencePresenter.webconference_id == Webconference.id,
        User.id == WebconferencePresenter.user_id,
        User.is_active.is_(True),
    )
    found = await _talks(session, edition, COMING, ~presented)
    return [_talk_item(talk, name) for talk, name in found]


async def talk_hours(session: AsyncSession, edition: Edition) -> list[Item]:
    scheduled = (WebconferenceStatus.SCHEDULED.value,)
    found = await _talks(session, edition, scheduled, Webconference.ends_at > clock.now())
    return [
        _talk_item(talk, name)
        for talk, name in found
        if not webconferences.within_live_hours(edition, talk.starts_at, talk.ends_at)
    ]


async def pending_booths(session: AsyncSession, edition: Edition) -> list[Item]:
    rows = await session.execute(
        select(Booth.id, Booth.requested_at, Employer.name)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(
            Booth.edition_id == edition.id,
            Booth.status == BoothStatus.REQUESTED.value,
            Booth.requested_at < clock.now() - PENDING_AFTER,
        )
        .order_by(Booth.requested_at, Booth.id)
    )
    return [
        Item(id=b, label=name, booth_id=b, employer=name, since=at) for b, at, name in rows.all()
    ]


# The checks in the page's order, and those whose items' recruiters may be reminded.
CHECKS: dict[str, Check] = {
    "no_offer": no_offer,
    "no_slots": no_slots,
    "no_login": no_login,
    "no_staffing": no_staffing,
    "offer_place": offer_place,
    "talk_presenter": talk_presenter,
    "talk_hours": talk_hours,
    "pending_booths": pending_booths,
}
REMINDABLE = frozenset(CHECKS) - {"pending_booths"}


async def run(session: AsyncSession, edition: Edition) -> dict[str, list[Item]]:
    """Every check's items, in the page's order."""
    return {key: await check(session, edition) for key, check in CHECKS.items()}


async def last_reminders(session: AsyncSession, edition_id: int) -> dict[str, HealthReminder]:
    """The latest reminder of each check of the edition."""
    rows = await session.scalars(
        select(HealthReminder)
        .where(HealthReminder.edition_id == edition_id)
        .order_by(HealthReminder.sent_at, HealthReminder.id)
    )
    return {reminder.check: reminder for reminder in rows}


# The reminder ----------------------------------------------------------------------------------


async def remind(
    session: AsyncSession, *, edition: Edition, check: str, by: User
) -> HealthReminder:
    """Mail the active recruiters of the booths `check` names about their booth's items, and
    record the reminder. Refuses an organiser of another edition (permissions), a check with no
    reminder (Invalid), a second reminder of the check within 24 h, and a check that names no
    booth (Conflict). The edition's row is locked first, so two organisers clicking at once
    send one reminder.
    """
    await permissions.require_organiser(session, by, edition)
    if check not in REMINDABLE:
        raise Invalid("This check has no reminder.", code="health.no_reminder")
    await session.execute(select(Edition.id).where(Edition.id == edition.id).with_for_update())
    now = clock.now()
    last = (await last_reminders(session, edition.id)).get(check)
    if last is not None and now - last.sent_at < REMIND_EVERY:
        raise Conflict(
            "A reminder for this check was already sent less than 24 hours ago.",
            code="health.reminded_recently",
        )
    items = await CHECKS[check](session, edition)
    by_booth: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        if item.booth_id is not None:
            by_booth[item.booth_id].append(item)
    recipients = await _recruiters(session, set(by_booth))
    if not recipients:
        raise Conflict("No recruiter is concerned by this check now.", code="health.nobody")
    messages = [
        _reminder(person, edition, check, booth_id, by_booth[booth_id])
        for person, booth_id in recipients
    ]
    await mail.queue_many(session, messages)
    reminder = HealthReminder(
        edition_id=edition.id, check=check, recipients=len(messages), sent_by_id=by.id, sent_at=now
    )
    session.add(reminder)
    await session.flush()
    return reminder


async def _recruiters(session: AsyncSession, booth_ids: set[int]) -> list[tuple[User, int]]:
    if not booth_ids:
        return []
    rows = await session.execute(
        select(User, Booth.id)
        .join(EmployerMember, EmployerMember.user_id == User.id)
        .join(Booth, Booth.employer_id == EmployerMember.employer_id)
        .where(Booth.id.in_(booth_ids), User.is_active.is_(True))
        .order_by(Booth.id, User.id)
    )
    return [(user, booth_id) for user, booth_id in rows.all()]


LEADS = {
    "no_offer": N_(
        "Your booth at %(edition)s has no published offer yet: candidates have nothing to apply to."
    ),
    "no_slots": N_(
        "Your booth at %(edition)s has no interview slot: candidates cannot book an interview "
        "with you."
    ),
    "no_login": N_(
        "Nobody from %(employer)s has logged in to prepare the booth at %(edition)s yet."
    ),
    "no_staffing": N_("Your booth at %(edition)s has no interview slot on these live days:"),
    "offer_place": N_(
        "Some offers of your booth at %(edition)s lack a ROME job code or a known commune, so "
        "candidates searching by job or place miss them:"
    ),
    "talk_presenter": N_("These talks of your booth at %(edition)s have no presenter any more:"),
    "talk_hours": N_(
        "These talks of your booth at %(edition)s are no longer within the fair's live hours:"
    ),
}


def _reminder(
    person: User, edition: Edition, check: str, booth_id: int, items: list[Item]
) -> tuple[str, str, str]:
    locale = person.locale or "fr"
    employer = items[0].employer
    lines = [_(LEADS[check], locale, edition=edition.title, employer=employer)]
    if check == "no_staffing":
        lines += [f"- {day(d, 'full', locale)}" for d in items[0].days]
    elif check in ("offer_place", "talk_presenter", "talk_hours"):
        lines += [f"- {item.label}" for item in items]
    link = f"{settings.get().base_url}/recruiter/booths/{booth_id}"
    lines += ["", _("Prepare your booth: %(link)s", locale, link=link)]
    why = _(
        "You receive this reminder from the organisers of %(edition)s because you are a member "
        "of %(employer)s, which has a booth there.",
        locale,
        edition=edition.title,
        employer=employer,
    )
    body = mail.letter(locale, person.name, lines, sender=edition.title, why=why)
    subject = _("%(edition)s: your booth needs you", locale, edition=edition.title)
    return person.email, subject, body
