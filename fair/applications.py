"""Applications and their status model (see enums.APPLICATION_TRANSITIONS).

`set_status` is the only function that changes an application's status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from fair import (
    application_mail,
    candidates,
    channels,
    clock,
    editions,
    employers,
    endorsements,
    events,
    notices,
    participants,
    permissions,
    webhooks,
)
from fair.enums import (
    APPLICATION_TRANSITIONS,
    CANDIDATE_MOVES,
    UNANSWERED_STATUSES,
    ApplicationStatus,
    NoticeKind,
    Role,
)
from fair.errors import Conflict, Forbidden, Invalid, NotFound
from fair.i18n import gettext as _
from fair.models import Application, ApplicationEvent, Booth, Employer, Offer, User

MAX_MESSAGE = 5000
DEFAULT_DECLINE = (
    "Thank you for your interest in this offer. After careful review, we will not take your "
    "application further this time. We wish you every success in your search."
)


async def apply(
    session: AsyncSession, *, candidate: User, offer: Offer, message: str
) -> Application:
    """A candidate applies to an offer, during the application window, once per offer (a
    withdrawn application may be submitted again, see `_apply_again`).

    The candidate is mailed that it was received (fair.application_mail); the booth's recruiters
    hear of it in their next hourly digest.
    """
    if candidate.role != Role.CANDIDATE:
        raise Forbidden("Only candidates can apply to offers.")
    edition = await editions.get(session, offer.edition_id)
    if not editions.applications_open(edition):
        raise Conflict(
            "Applications for this edition are closed: you can no longer apply.",
            code="application.window_closed",
        )
    if len(message) > MAX_MESSAGE:
        text = "Your message is too long (5,000 characters at most)."
        raise Invalid(text, code="application.invalid", fields={"message": text})
    profile = await candidates.profile(session, candidate)
    if profile.cv_file_id is None:
        text = "Add your CV (a PDF) before applying."
        raise Invalid(text, code="application.cv_required", fields={"cv": text})
    existing = await _existing(session, offer.id, candidate.id)
    if existing is not None:
        return await _apply_again(session, candidate, existing, message, profile.cv_file_id)
    now = clock.now()
    application = Application(
        offer_id=offer.id,
        booth_id=offer.booth_id,
        edition_id=offer.edition_id,
        candidate_id=candidate.id,
        message=message.strip(),
        cv_file_id=profile.cv_file_id,
        status=ApplicationStatus.SUBMITTED.value,
        created_at=now,
        status_changed_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(application)
            await session.flush()
    except IntegrityError as exc:  # a concurrent double submit: the unique constraint decides
        raise Conflict(
            "You have already applied to this offer.", code="application.duplicate"
        ) from exc
    await participants.register(session, edition_id=offer.edition_id, user=candidate, at=now)
    await application_mail.received(session, application)
    await webhooks.application_event(session, "application.submitted", application)
    return application


async def _apply_again(
    session: AsyncSession, candidate: User, application_id: int, message: str, cv_file_id: int
) -> Application:
    """A withdrawn application is submitted again: the same row, whose history (its
    ApplicationEvents) keeps the withdrawal; anything else is a duplicate."""
    application = await session.get(Application, application_id, with_for_update=True)
    assert application is not None
    if application.status != ApplicationStatus.WITHDRAWN:
        raise Conflict("You have already applied to this offer.", code="application.duplicate")
    application.message = message.strip()
    application.cv_file_id = cv_file_id
    application.status_message = ""
    application.digested_at = None  # in the recruiters' next digest again
    await set_status(session, application, ApplicationStatus.SUBMITTED, by=candidate)
    await application_mail.received(session, application)
    await webhooks.application_event(session, "application.submitted", application)
    return application


async def of_offer_for(session: AsyncSession, user: User, offer_id: int) -> Application | None:
    """The user's application to the offer, whatever its status."""
    found: Application | None = await session.scalar(
        select(Application).where(
            Application.offer_id == offer_id, Application.candidate_id == user.id
        )
    )
    return found


def withdrawn(application: Application) -> bool:
    return application.status == ApplicationStatus.WITHDRAWN


async def _existing(session: AsyncSession, offer_id: int, candidate_id: int) -> int | None:
    return await session.scalar(
        select(Application.id).where(
            Application.offer_id == offer_id, Application.candidate_id == candidate_id
        )
    )


S = ApplicationStatus
# The statuses of an application shortlisted or further on: the first move into one of them
# sets `shortlisted_at` (fair.insight's "shortlisted" step).
FROM_SHORTLIST = frozenset(
    {S.SHORTLISTED, S.INTERVIEW_PROPOSED, S.INTERVIEW_SCHEDULED, S.INTERVIEWED, S.NO_SHOW, S.HIRED}
)


async def set_status(
    session: AsyncSession,
    application: Application,
    new: ApplicationStatus,
    *,
    by: User,
    message: str = "",
) -> None:
    """Move an application to `new`; the only writer of Application.status.

    Checks who may make the move (the candidate only withdraws, or applies again; recruiters,
    whose booth membership the caller has checked, make the others) and the transition. Records an
    ApplicationEvent (and `shortlisted_at` on the first move into `FROM_SHORTLIST`), and tells
    the candidate: an in-app notice on every move by the employer,
    an e-mail, sent after commit, on the moves that concern them (application_mail.mailed:
    shortlisted, interview proposed, hired, not retained; several moves in one transaction make
    one mail), and a live "application.status" event on channels.user(candidate), published
    after commit, on every move by the employer; and an "application.status_changed" webhook
    delivery for the booth's and the edition's endpoints (fair.webhooks), in this transaction;
    and, for an application put forward by a counsellor, a notice and a mail to them
    (fair.endorsements).
    """
    current = ApplicationStatus(application.status)
    if by.role == Role.CANDIDATE:
        permissions.require_own_application(by, application)
        if new not in CANDIDATE_MOVES:
            raise Forbidden("You cannot change this application.")
    elif new == ApplicationStatus.WITHDRAWN:
        raise Forbidden("Only the candidate can withdraw an application.")
    elif current == ApplicationStatus.WITHDRAWN:
        raise Forbidden("Only the candidate can apply again.")
    if new not in APPLICATION_TRANSITIONS[current]:
        raise Conflict(
            "This application cannot go from “%(current)s” to “%(new)s”.",
            code="application.bad_transition",
            params={"current": current.label, "new": new.label},
        )
    if len(message) > MAX_MESSAGE:
        text = "Your message is too long (5,000 characters at most)."
        raise Invalid(text, code="application.invalid", fields={"message": text})
    now = clock.now()
    application.status = new.value
    application.status_changed_at = now
    if new in FROM_SHORTLIST and application.shortlisted_at is None:
        application.shortlisted_at = now
    if new.final:
        application.status_message = message.strip()
    session.add(
        ApplicationEvent(
            application_id=application.id,
            from_status=current.value,
            to_status=new.value,
            by_user_id=by.id,
            created_at=now,
        )
    )
    await session.flush()
    await webhooks.application_event(
        session, "application.status_changed", application, previous=current.value
    )
    if by.role != Role.CANDIDATE:
        await _tell_candidate(session, application, new)
        await application_mail.status_changed(session, application, current)
    await endorsements.status_changed(session, application, new)


async def _tell_candidate(
    session: AsyncSession, application: Application, new: ApplicationStatus
) -> None:
    candidate = await session.get(User, application.candidate_id)
    offer = await session.get(Offer, application.offer_id)
    assert candidate is not None and offer is not None
    employer = await session.scalar(
        select(Employer)
        .join(Booth, Booth.employer_id == Employer.id)
        .where(Booth.id == application.booth_id)
    )
    assert employer is not None
    params = {"status": new.value, "offer": offer.title, "employer": employer.name}
    events.emit(
        session,
        channel=channels.user(candidate.id),
        event="application.status",
        payload={"application_id": application.id, "status": new.value, "label": new.label},
    )
    await notices.add(  # after: its notices.unread event follows the status
        session,
        user_id=candidate.id,
        kind=NoticeKind.APPLICATION_STATUS,
        params=params,
        link="/me/applications",
    )


async def decline_many(
    session: AsyncSession, *, by: User, booth: Booth, ids: list[int], message: str
) -> int:
    """Decline several of a booth's applications with one courteous message; returns how many."""
    if not ids:
        raise Invalid("Select at least one application.", code="application.none_selected")
    rows = await session.scalars(
        select(Application).where(Application.booth_id == booth.id, Application.id.in_(ids))
    )
    done = 0
    for application in rows:
        current = ApplicationStatus(application.status)
        if ApplicationStatus.NOT_RETAINED in APPLICATION_TRANSITIONS[current]:
            text = message.strip() or _(DEFAULT_DECLINE, (await _locale_of(session, application)))
            await set_status(
                session, application, ApplicationStatus.NOT_RETAINED, by=by, message=text
            )
            done += 1
    return done


async def _locale_of(session: AsyncSession, application: Application) -> str:
    return (
        await session.scalar(select(User.locale).where(User.id == application.candidate_id)) or "fr"
    )


async def get(session: AsyncSession, application_id: int) -> Application:
    found = await session.scalar(
        select(Application)
        .where(Application.id == application_id)
        .options(selectinload(Application.offer), selectinload(Application.candidate))
    )
    if found is None:
        raise NotFound("This application does not exist.")
    return found


async def of_recruiter(
    session: AsyncSession, user: User, application_id: int
) -> tuple[Application, Booth]:
    """The application and its booth, if `user` recruits for the booth's employer
    (permissions.require_application_recruiter); else, as if it did not exist, NotFound."""
    application = await get(session, application_id)
    booth = await employers.get_booth(session, application.booth_id)
    await permissions.require_application_recruiter(session, user, booth)
    return application, booth


async def of_owner(session: AsyncSession, user: User, application_id: int) -> Application:
    """The candidate's own application (permissions.require_own_application); else NotFound."""
    application = await get(session, application_id)
    permissions.require_own_application(user, application)
    return application


async def of_candidate(session: AsyncSession, user: User) -> list[tuple[Application, str]]:
    rows = await session.execute(
        select(Application, Employer.name)
        .join(Booth, Booth.id == Application.booth_id)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(Application.candidate_id == user.id)
        .options(selectinload(Application.offer))
        .order_by(Application.created_at.desc())
    )
    return [(a, name) for a, name in rows.all()]


async def applied_offer_ids(session: AsyncSession, user: User, offer_ids: list[int]) -> set[int]:
    if not offer_ids:
        return set()
    rows = await session.scalars(
        select(Application.offer_id).where(
            Application.candidate_id == user.id, Application.offer_id.in_(offer_ids)
        )
    )
    return set(rows)


async def pipeline(
    session: AsyncSession,
    *,
    booth: Booth,
    offer_id: int | None = None,
    status: ApplicationStatus | None = None,
    candidate_id: int | None = None,
) -> list[Application]:
    query = (
        select(Application)
        .where(Application.booth_id == booth.id)
        .options(selectinload(Application.offer), selectinload(Application.candidate))
        .order_by(Application.created_at)
    )
    if offer_id is not None:
        query = query.where(Application.offer_id == offer_id)
    if status is not None:
        query = query.where(Application.status == status.value)
    if candidate_id is not None:
        query = query.where(Application.candidate_id == candidate_id)
    return list(await session.scalars(query))


async def counts_by_status(session: AsyncSession, booth: Booth) -> dict[str, int]:
    rows = await session.execute(
        select(Application.status, func.count())
        .where(Application.booth_id == booth.id)
        .group_by(Application.status)
    )
    return {status: n for status, n in rows.all()}


@dataclass
class Unanswered:
    booth_id: int
    employer: str
    count: int
    oldest: datetime


async def unanswered(session: AsyncSession, edition_id: int) -> list[Unanswered]:
    """Per booth, the applications still without an answer (submitted or in review)."""
    rows = await session.execute(
        select(
            Booth.id, Employer.name, func.count(Application.id), func.min(Application.created_at)
        )
        .join(Booth, Booth.id == Application.booth_id)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(
            Application.edition_id == edition_id,
            Application.status.in_([s.value for s in UNANSWERED_STATUSES]),
        )
        .group_by(Booth.id, Employer.name)
        .order_by(func.count(Application.id).desc(), Employer.name)
    )
    return [Unanswered(b, name, int(n), oldest) for b, name, n, oldest in rows.all()]


async def count_in_edition(session: AsyncSession, edition_id: int) -> int:
    query = select(func.count(Application.id)).where(Application.edition_id == edition_id)
    return int(await session.scalar(query) or 0)


@dataclass(frozen=True)
class Listed:
    """An application as a booth's applicant tracking system reads it (fair.api.partners)."""

    application: Application
    candidate_name: str
    candidate_email: str
    offer_title: str
    offer_external_id: str


async def of_booth_after(
    session: AsyncSession, booth_id: int, *, after: int | None, limit: int
) -> list[Listed]:
    """The booth's applications by id, those after the id `after` (None: from the first), at
    most `limit`, with the candidate's name and e-mail and the offer's title and reference.
    The caller has checked that the asker may read them."""
    statement = (
        select(Application, User.name, User.email, Offer.title, Offer.external_id)
        .join(User, User.id == Application.candidate_id)
        .join(Offer, Offer.id == Application.offer_id)
        .where(Application.booth_id == booth_id)
        .order_by(Application.id)
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(Application.id > after)
    return [Listed(*row) for row in (await session.execute(statement)).all()]
