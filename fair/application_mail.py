"""What people hear of applications by e-mail, each in their own language (User.locale: set at
sign-up, by the language switch, and at log-in from a browser whose language was chosen).

The candidate: when the application is received, and when it moves to a status that changes
something for them (shortlisted, interview proposed, hired, not retained, with the recruiter's
message). Interview bookings, moves and cancellations are mailed by fair.interviews, so the
application's return to "interview proposed" after a cancellation is not mailed again here.
Several moves of one application in one transaction (a queue conversation that shortlists then
proposes an interview) make one mail, saying where it ended.

The booth's recruiters: a digest of the applications received since the last one, at most one
mail an hour per booth (`send_digests`, run by the worker; BoothDigest holds when the last one
went, Application.digested_at which applications it covered).

A candidate without a mailbox hears of the moves in their notices; their counsellors are told
that news awaits them, without the recruiter's message (fair.counsellor_copies).

Every mail is queued in the transaction of the change it reports (fair.mail.queue) and ends with
a transactional footer: who sent it and why. fair.applications decides when; this module says it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, counsellor_copies, mail, settings
from fair.enums import ApplicationStatus
from fair.i18n import N_, ngettext
from fair.i18n import gettext as _
from fair.models import (
    Application,
    Booth,
    BoothDigest,
    Edition,
    Employer,
    EmployerMember,
    Offer,
    OutboxMail,
    User,
)

S = ApplicationStatus
RECEIVED = "received"
SUBJECTS = {
    RECEIVED: N_("Application received: %(offer)s"),
    S.SHORTLISTED: N_("Application shortlisted: %(offer)s"),
    S.INTERVIEW_PROPOSED: N_("Interview proposed: %(offer)s"),
    S.HIRED: N_("Your application: %(offer)s"),
    S.NOT_RETAINED: N_("Your application: %(offer)s"),
}
LEADS = {
    RECEIVED: N_(
        "%(employer)s has received your application to “%(offer)s”. Employers of %(edition)s "
        "answer every application by %(deadline)s."
    ),
    S.SHORTLISTED: N_(
        "%(employer)s has shortlisted your application to “%(offer)s”. They may propose an "
        "interview to you."
    ),
    S.INTERVIEW_PROPOSED: N_(
        "%(employer)s proposes an interview about your application to “%(offer)s”. Choose a "
        "time among their free slots."
    ),
    S.HIRED: N_("Good news: %(employer)s is retaining your application to “%(offer)s”."),
    S.NOT_RETAINED: N_("%(employer)s will not take your application to “%(offer)s” further."),
}
LINKS: dict[str, tuple[str, str]] = {
    S.INTERVIEW_PROPOSED: (N_("Choose a time: %(link)s"), "/me/interviews"),
}
DEFAULT_LINK = (N_("Follow your applications: %(link)s"), "/me/applications")
DIGEST_EVERY = timedelta(hours=1)
DIGEST_LINES = 50  # beyond, the digest says how many more
_PENDING = "application_mails"


def mailed(previous: ApplicationStatus, new: ApplicationStatus) -> bool:
    """Whether the candidate is mailed when their application goes from `previous` to `new`."""
    if new == S.INTERVIEW_PROPOSED and previous == S.INTERVIEW_SCHEDULED:
        return False  # a cancelled interview: fair.interviews has mailed the cancellation
    return new in SUBJECTS


async def received(session: AsyncSession, application: Application) -> None:
    """Tell the candidate their application arrived (and when to expect an answer)."""
    await _to_candidate(session, application, RECEIVED)


async def status_changed(
    session: AsyncSession, application: Application, previous: ApplicationStatus
) -> None:
    """Tell the candidate about the move to the application's status, if it concerns them."""
    new = ApplicationStatus(application.status)
    if mailed(previous, new):
        await _to_candidate(session, application, new)


async def _to_candidate(session: AsyncSession, application: Application, what: str) -> None:
    candidate, offer, employer, edition = await _context(session, application)
    locale = candidate.locale or "fr"
    names = {"offer": offer.title, "employer": employer.name, "edition": edition.title}
    deadline = format_date(
        edition.response_deadline.astimezone(ZoneInfo(edition.timezone)), "long", locale=locale
    )
    text, path = LINKS.get(what, DEFAULT_LINK)
    lines = [_(LEADS[what], locale, deadline=deadline, **names)]
    if what in (S.HIRED, S.NOT_RETAINED) and application.status_message:
        lines += ["", _("Their message:", locale), application.status_message]
    lines += ["", _(text, locale, link=settings.get().base_url + path)]
    why = _(
        "You receive this message because you applied to “%(offer)s” at %(edition)s.",
        locale,
        **names,
    )
    body = mail.letter(locale, candidate.name, lines, sender=edition.title, why=why)
    subject = _(SUBJECTS[what], locale, **names)
    await _queue_once(session, application.id, to=candidate.email, subject=subject, body=body)
    if what != RECEIVED:  # an outcome: their counsellors hear of it when they have no mailbox
        about = {"offer": offer.title, "employer": employer.name}
        await counsellor_copies.tell(session, candidate, counsellor_copies.APPLICATION, **about)


async def _queue_once(
    session: AsyncSession, application_id: int, *, to: str, subject: str, body: str
) -> None:
    """Queue the mail, or rewrite the one this transaction already queued for the application."""
    transaction = session.sync_session.get_transaction()
    owner, queued = session.info.get(_PENDING, (None, {}))
    if owner is not transaction:
        queued = {}
        session.info[_PENDING] = (transaction, queued)
    earlier: OutboxMail | None = queued.get(application_id)
    if earlier is not None and earlier in session:  # (not undone by a rolled-back savepoint)
        earlier.subject, earlier.body = mail.one_line(subject)[: mail.SUBJECT_MAX], body
        return
    queued[application_id] = await mail.queue(session, to=to, subject=subject, body=body)


async def _context(
    session: AsyncSession, application: Application
) -> tuple[User, Offer, Employer, Edition]:
    row = (
        await session.execute(
            select(User, Offer, Employer, Edition)
            .select_from(Application)
            .join(User, User.id == Application.candidate_id)
            .join(Offer, Offer.id == Application.offer_id)
            .join(Booth, Booth.id == Application.booth_id)
            .join(Employer, Employer.id == Booth.employer_id)
            .join(Edition, Edition.id == Booth.edition_id)
            .where(Application.id == application.id)
        )
    ).one()
    return row[0], row[1], row[2], row[3]


# The recruiters' digest --------------------------------------------------------------------------


async def send_digests(session: AsyncSession, now: datetime | None = None) -> int:
    """Mail each booth's recruiters the applications received since their last digest, for the
    booths whose last digest is at least an hour old; returns how many booths were mailed.

    The applications are taken with SKIP LOCKED and marked in the transaction that queues the
    mails, so two workers or a restart never send one twice. They are marked by one UPDATE
    (ids and statuses returned), and only the DIGEST_LINES a mail lists are read with their
    names: a busy hour's thousands of applications are never loaded as objects (the soak's
    hourly digests of ~800 applications a booth grew the worker's memory by 10 %).
    """
    now = now or clock.now()
    due = (
        select(Application.id)
        .outerjoin(BoothDigest, BoothDigest.booth_id == Application.booth_id)
        .where(
            Application.digested_at.is_(None),
            or_(BoothDigest.sent_at.is_(None), BoothDigest.sent_at <= now - DIGEST_EVERY),
        )
        .with_for_update(of=Application, skip_locked=True)
    )
    marked = (
        await session.execute(
            update(Application)
            .where(Application.id.in_(due))
            .values(digested_at=now)
            .returning(Application.booth_id, Application.id, Application.status)
            .execution_options(synchronize_session=False)
        )
    ).all()
    fresh: dict[int, list[int]] = defaultdict(list)
    for booth_id, application_id, status in sorted(marked):
        if status != S.WITHDRAWN:
            fresh[booth_id].append(application_id)
    for booth_id, ids in fresh.items():
        listed = await _listed(session, ids[:DIGEST_LINES])
        await _digest(session, booth_id, listed, len(ids), now)
    await session.flush()
    return len(fresh)


async def _listed(session: AsyncSession, ids: list[int]) -> list[tuple[str, str, datetime]]:
    """(candidate's name, offer's title, received) of these applications, in their order."""
    rows = await session.execute(
        select(User.name, Offer.title, Application.created_at)
        .select_from(Application)
        .join(User, User.id == Application.candidate_id)
        .join(Offer, Offer.id == Application.offer_id)
        .where(Application.id.in_(ids))
        .order_by(Application.id)
    )
    return [(name, title, at) for name, title, at in rows]


async def _digest(
    session: AsyncSession,
    booth_id: int,
    listed: list[tuple[str, str, datetime]],
    count: int,
    now: datetime,
) -> None:
    last = await session.get(BoothDigest, booth_id)
    if last is None:
        session.add(BoothDigest(booth_id=booth_id, sent_at=now))
    else:
        last.sent_at = now
    employer, edition = (
        await session.execute(
            select(Employer, Edition)
            .join(Booth, Booth.employer_id == Employer.id)
            .join(Edition, Edition.id == Booth.edition_id)
            .where(Booth.id == booth_id)
        )
    ).one()
    recruiters = await session.scalars(
        select(User)
        .join(EmployerMember, EmployerMember.user_id == User.id)
        .where(EmployerMember.employer_id == employer.id, User.is_active.is_(True))
        .order_by(User.id)
    )
    for recruiter in recruiters:
        await _digest_to(session, recruiter, listed, count, booth_id, employer, edition)


async def _digest_to(
    session: AsyncSession,
    recruiter: User,
    listed: list[tuple[str, str, datetime]],
    count: int,
    booth_id: int,
    employer: Employer,
    edition: Edition,
) -> None:
    """`listed`: the first DIGEST_LINES of the `count` new applications."""
    locale = recruiter.locale or "fr"
    zone = ZoneInfo(edition.timezone)
    names: dict[str, Any] = {"employer": employer.name, "edition": edition.title}
    lines = [
        ngettext(
            "%(num)s new application at your booth in %(edition)s:",
            "%(num)s new applications at your booth in %(edition)s:",
            count,
            locale,
            **names,
        ),
    ]
    for candidate, title, at in listed:
        when = format_datetime(at.astimezone(zone), "d MMM HH:mm", locale=locale)
        lines.append(f"- {candidate}, “{title}”, {when}")
    if count > DIGEST_LINES:
        more = count - DIGEST_LINES
        lines.append(ngettext("and %(num)s more", "and %(num)s more", more, locale))
    link = f"{settings.get().base_url}/recruiter/booths/{booth_id}/applications"
    lines += ["", _("Read them and answer each candidate: %(link)s", locale, link=link)]
    why = _(
        "You receive this summary because you are a member of %(employer)s, which has a booth "
        "in %(edition)s. It is sent at most once an hour.",
        locale,
        **names,
    )
    body = mail.letter(locale, recruiter.name, lines, sender=edition.title, why=why)
    subject = ngettext(
        "%(num)s new application for %(employer)s",
        "%(num)s new applications for %(employer)s",
        count,
        locale,
        **names,
    )
    await mail.queue(session, to=recruiter.email, subject=subject, body=body)
