"""Outcomes that count: returns to work after an edition, confirmed by the recruiters who
retained the candidates and reported by the candidates themselves.

A return to work is counted as France Travail counts one: a job of at least one month. A
permanent contract (CDI) counts; so does any other contract of one month or more (a CDD,
temporary or seasonal work, an apprenticeship); an internship never does, whatever its length
(it is training, not a job). `months` is None for a permanent contract and 0 for less than a
month.

Two figures, kept apart:

- `returned_to_work`: the candidates back at work *from the fair*, the funnel's last step
  ("hired"): a recruiter of a booth confirmed the hire of a candidate they retained, or the
  candidate says a booth of the edition hired them. For a booth, the recruiters' answer wins:
  a candidate's report naming a booth whose recruiters answered about that candidate is not
  read (they know whom they hired).
- `found_elsewhere`: the candidates who say they found a job of at least a month with an
  employer that had no booth in the edition (and are not counted above). The fair may have
  helped, but nobody can say so: it is shown beside the funnel, never in it.

The follow-ups (J+30, J+90, J+180 after the edition's end, `ends_at`) are mailed by the worker
(fair.follow_ups); answers may be given from the end of the edition and changed at any later
time, each recording the stage it answers (`stage_at`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased, selectinload

from fair import clock, editions, funnel_marks, permissions
from fair.enums import ApplicationStatus, BoothStatus, Contract, InterviewOutcome, Role
from fair.errors import Conflict, Forbidden, Invalid, NotYours
from fair.models import (
    Application,
    Booth,
    Edition,
    EditionCandidate,
    Employer,
    HireConfirmation,
    Interview,
    InterviewInvitation,
    JobReport,
    Offer,
    User,
)

T = TypeVar("T")

SQLColumn = ColumnElement[T] | QueryableAttribute[T]
# Days after the edition's end when recruiters and candidates are asked.
STAGES = (30, 90, 180)
MAX_MONTHS = 120


# What counts -----------------------------------------------------------------------------------


def ends_at(edition: Edition) -> datetime:
    """When an edition ends: its last live day's closing time, or the close of applications if
    later (`edition.live_days` loaded). The same moment `editions.status_at` calls it closed:
    recruiters keep answering applications until then, so a follow-up asks after it. In UTC:
    the days after it are counted in hours, as the database compares them."""
    bounds = editions.live_bounds(edition)
    end = (
        edition.applications_close_at
        if bounds is None
        else max(edition.applications_close_at, bounds[1])
    )
    return end.astimezone(UTC)


def a_job(contract: SQLColumn[str | None], months: SQLColumn[int | None]) -> ColumnElement[bool]:
    """Whether a contract counts as a return to work: a CDI, or any job but an internship of
    one month or more."""
    return or_(
        contract == Contract.CDI.value,
        and_(contract != Contract.INTERNSHIP.value, months >= 1),
    )


def counts_as_return(contract: str | None, months: int | None) -> bool:
    """`a_job` for one answer, in Python."""
    if contract == Contract.CDI:
        return True
    return contract is not None and contract != Contract.INTERNSHIP and (months or 0) >= 1


def _confirmed(edition_id: int) -> Select[int, int]:
    return select(
        HireConfirmation.booth_id.label("booth_id"),
        HireConfirmation.candidate_id.label("candidate_id"),
    ).where(
        HireConfirmation.edition_id == edition_id,
        HireConfirmation.hired.is_(True),
        a_job(HireConfirmation.contract, HireConfirmation.months),
    )


def _answered_by_booth() -> ColumnElement[bool]:
    """The booth a job report names has answered about its candidate (and so decides)."""
    other = aliased(HireConfirmation)
    return exists().where(
        other.booth_id == JobReport.booth_id, other.candidate_id == JobReport.user_id
    )


def _reported_at_booth(edition_id: int) -> Select[int | None, int]:
    return select(
        JobReport.booth_id.label("booth_id"), JobReport.user_id.label("candidate_id")
    ).where(
        JobReport.edition_id == edition_id,
        JobReport.found.is_(True),
        JobReport.booth_id.is_not(None),
        a_job(JobReport.contract, JobReport.months),
        ~_answered_by_booth(),
    )


def returns_by_booth(edition_id: int) -> Select[int, int]:
    """(booth_id, candidate_id) of each return to work from the edition, at the booth whose
    recruiters confirmed it or that the candidate named (see `returned_to_work`)."""
    both = union(_confirmed(edition_id), _reported_at_booth(edition_id)).subquery()
    return select(both.c.booth_id, both.c.candidate_id)


def returned_to_work(edition_id: int) -> Select[int]:
    """The ids (column `candidate_id`, each once) of the candidates back at work from the
    edition: a recruiter confirmed hiring them with a CDI or a contract of at least one month,
    or they reported such a job with one of the edition's booths that did not answer about
    them. The funnel's last step ("hired")."""
    pairs = returns_by_booth(edition_id).subquery()
    return select(pairs.c.candidate_id).distinct()


def found_elsewhere(edition_id: int) -> Select[int]:
    """The ids (column `candidate_id`) of the candidates who report a job of at least a month
    with an employer that had no booth in the edition, not counted by `returned_to_work`."""
    return select(JobReport.user_id.label("candidate_id")).where(
        JobReport.edition_id == edition_id,
        JobReport.found.is_(True),
        JobReport.booth_id.is_(None),
        a_job(JobReport.contract, JobReport.months),
        JobReport.user_id.not_in(returned_to_work(edition_id)),
    )


# When to ask -----------------------------------------------------------------------------------


def stage_at(edition: Edition, now: datetime | None = None) -> int | None:
    """The follow-up an answer given now belongs to: the latest stage come, or the first one
    between the edition's end and J+30; None before the end (nothing to answer yet)."""
    now = now or clock.now()
    end = ends_at(edition)
    if now < end:
        return None
    come = [stage for stage in STAGES if end + timedelta(days=stage) <= now]
    return come[-1] if come else STAGES[0]


# The recruiters' answers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """An answer about a job: hired (or found), the contract and its length in months (None
    for a CDI, 0 for less than a month)."""

    hired: bool
    contract: Contract | None = None
    months: int | None = None


@dataclass(frozen=True)
class ToConfirm:
    """One application a booth's recruiters are asked about, with their answer if any."""

    application_id: int
    candidate: str
    offer: str
    offer_contract: str
    confirmation: HireConfirmation | None


@dataclass(frozen=True)
class Task:
    """The follow-up task of a booth's page: the stage, and how many await an answer."""

    stage: int
    listed: int
    awaiting: int


def retained_condition(booth_id: int | None = None) -> ColumnElement[bool]:
    """Applications a recruiter retained: their status is hired, or an interview about them
    ended with the outcome hired."""
    interviewed = (
        select(InterviewInvitation.application_id)
        .join(Interview, Interview.invitation_id == InterviewInvitation.id)
        .where(Interview.outcome == InterviewOutcome.HIRED.value)
    )
    if booth_id is not None:
        interviewed = interviewed.where(InterviewInvitation.booth_id == booth_id)
    return or_(Application.status == ApplicationStatus.HIRED.value, Application.id.in_(interviewed))


def retained(edition_id: int) -> Select[int]:
    """The ids (column `candidate_id`) of the candidates retained in the edition (an
    application hired, or an interview's outcome hired): the in-fair status beside the
    confirmed returns to work."""
    return (
        select(Application.candidate_id)
        .where(Application.edition_id == edition_id, retained_condition())
        .distinct()
    )


async def to_confirm(session: AsyncSession, booth: Booth) -> list[ToConfirm]:
    """The applications of the booth its recruiters are asked about, by candidate name."""
    rows = await session.execute(
        select(Application.id, User.name, Offer.title, Offer.contract, HireConfirmation)
        .join(User, User.id == Application.candidate_id)
        .join(Offer, Offer.id == Application.offer_id)
        .outerjoin(HireConfirmation, HireConfirmation.application_id == Application.id)
        .where(Application.booth_id == booth.id, retained_condition(booth.id))
        .order_by(User.name, Application.id)
    )
    return [ToConfirm(*row) for row in rows.all()]


def awaiting(stage: int) -> ColumnElement[bool]:
    """No answer about the application at this stage or a later one."""
    return ~exists().where(
        HireConfirmation.application_id == Application.id, HireConfirmation.stage >= stage
    )


async def task(session: AsyncSession, booth: Booth, edition: Edition) -> Task | None:
    """The booth page's follow-up task, once the edition has ended and if the booth retained
    somebody; None otherwise."""
    stage = stage_at(edition)
    if stage is None:
        return None
    listed, waiting = (
        await session.execute(
            select(func.count(), func.count().filter(awaiting(stage))).where(
                Application.booth_id == booth.id, retained_condition(booth.id)
            )
        )
    ).one()
    return Task(stage, int(listed), int(waiting)) if listed else None


def check(answer: Answer) -> None:
    """Refuse an answer without its contract, or without a length for a contract that is not a
    CDI, naming the field to fix."""
    if not answer.hired:
        return
    if answer.contract is None:
        text = "Choose the contract."
        raise Invalid(text, code="outcome.contract", fields={"contract": text})
    if answer.contract != Contract.CDI and answer.months is None:
        text = "Enter the contract's length in months (0 for less than a month)."
        raise Invalid(text, code="outcome.months", fields={"months": text})
    if answer.months is not None and not 0 <= answer.months <= MAX_MONTHS:
        text = "Enter a length from 0 to 120 months."
        raise Invalid(text, code="outcome.months", fields={"months": text})


def _stage_now(edition: Edition) -> int:
    stage = stage_at(edition)
    if stage is None:
        raise Conflict("The follow-up opens when the edition has ended.", code="outcome.not_ended")
    return stage


def upsert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def confirm_hire(
    session: AsyncSession, *, by: User, application_id: int, answer: Answer
) -> None:
    """A recruiter of the application's booth answers whether its candidate was hired (a
    retained one: hired, or hired at an interview); a later answer replaces it and records
    its stage. Two answers at once keep one row (an upsert on the application)."""
    application = await session.get(Application, application_id)
    if application is None:
        raise NotYours("This application does not exist.")
    booth = await session.get(Booth, application.booth_id)
    assert booth is not None
    await permissions.require_application_recruiter(session, by, booth)
    edition = await editions.get(session, booth.edition_id)
    stage = _stage_now(edition)
    found = await session.scalar(
        select(Application.id).where(Application.id == application.id, retained_condition(booth.id))
    )
    if found is None:
        raise Conflict(
            "Only the candidates you retained are followed up.", code="outcome.not_retained"
        )
    check(answer)
    values = {
        "hired": answer.hired,
        "contract": answer.contract.value if answer.hired and answer.contract else None,
        "months": _months(answer),
        "stage": stage,
        "confirmed_by_id": by.id,
        "confirmed_at": clock.now(),
    }
    row = {
        "application_id": application.id,
        "edition_id": edition.id,
        "booth_id": booth.id,
        "candidate_id": application.candidate_id,
        **values,
    }
    statement = upsert(session)(HireConfirmation).values(row)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["application_id"], set_=values)
    )
    funnel_marks.mark(session, application.candidate_id, edition_id=edition.id)


def _months(answer: Answer) -> int | None:
    if not answer.hired or answer.contract == Contract.CDI:
        return None
    return answer.months


# The candidates' reports -------------------------------------------------------------------------


@dataclass(frozen=True)
class JobAnswer:
    """A candidate's answer: found a job or not yet; with whom (a booth of the edition, or an
    employer's name), the contract and its length."""

    found: bool
    booth_id: int | None = None
    employer_name: str = ""
    contract: Contract | None = None
    months: int | None = None


async def took_part(session: AsyncSession, *, edition_id: int, user: User) -> bool:
    """Whether the candidate took part in the edition (registered, or applied)."""
    registered = select(EditionCandidate.user_id).where(
        EditionCandidate.edition_id == edition_id, EditionCandidate.user_id == user.id
    )
    applied = select(Application.candidate_id).where(
        Application.edition_id == edition_id, Application.candidate_id == user.id
    )
    return await session.scalar(select(or_(exists(registered), exists(applied)))) or False


async def require_participant(session: AsyncSession, *, edition: Edition, user: User) -> None:
    """Only a candidate of the edition reports a job about it, and only their own."""
    if user.role != Role.CANDIDATE:
        raise Forbidden("This page is for candidates.")
    if not await took_part(session, edition_id=edition.id, user=user):
        raise Forbidden("You did not take part in this edition.", code="outcome.not_participant")


async def report_of(session: AsyncSession, *, edition_id: int, user: User) -> JobReport | None:
    return await session.get(JobReport, (edition_id, user.id))


async def ended_editions_of(
    session: AsyncSession, user: User
) -> list[tuple[Edition, JobReport | None]]:
    """The ended editions a candidate took part in, the latest first, with their answer."""
    registered = select(EditionCandidate.edition_id).where(EditionCandidate.user_id == user.id)
    applied = select(Application.edition_id).where(Application.candidate_id == user.id)
    found = await session.scalars(
        select(Edition)
        .where(
            Edition.published_at.is_not(None),
            or_(Edition.id.in_(registered), Edition.id.in_(applied)),
        )
        .options(selectinload(Edition.live_days))
        .order_by(Edition.applications_close_at.desc())
    )
    ended = [edition for edition in found if stage_at(edition) is not None]
    reports = {
        report.edition_id: report
        for report in await session.scalars(
            select(JobReport).where(
                JobReport.user_id == user.id,
                JobReport.edition_id.in_([edition.id for edition in ended]),
            )
        )
    }
    return [(edition, reports.get(edition.id)) for edition in ended]


async def booths_to_choose(session: AsyncSession, edition_id: int) -> list[tuple[int, str]]:
    """The edition's approved booths (id, employer name), by name: a candidate's choices."""
    rows = await session.execute(
        select(Booth.id, Employer.name)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(Booth.edition_id == edition_id, Booth.status == BoothStatus.APPROVED.value)
        .order_by(Employer.name, Booth.id)
    )
    return [(booth_id, name) for booth_id, name in rows.all()]


async def report_job(
    session: AsyncSession, *, user: User, edition: Edition, answer: JobAnswer
) -> None:
    """The candidate's own answer for the edition, replacing any earlier one (an upsert on the
    edition and the candidate); with a booth, the employer's name is kept with it."""
    await require_participant(session, edition=edition, user=user)
    stage = _stage_now(edition)
    employer = await _employer_of(session, edition, answer)
    check(Answer(answer.found, answer.contract, answer.months))
    values = {
        "found": answer.found,
        "booth_id": answer.booth_id if answer.found else None,
        "employer_name": employer if answer.found else "",
        "contract": answer.contract.value if answer.found and answer.contract else None,
        "months": _months(Answer(answer.found, answer.contract, answer.months)),
        "stage": stage,
        "answered_at": clock.now(),
    }
    statement = upsert(session)(JobReport).values(
        {"edition_id": edition.id, "user_id": user.id, **values}
    )
    await session.execute(
        statement.on_conflict_do_update(index_elements=["edition_id", "user_id"], set_=values)
    )
    funnel_marks.mark(session, user.id, edition_id=edition.id)


async def _employer_of(session: AsyncSession, edition: Edition, answer: JobAnswer) -> str:
    """The employer's name: the chosen booth's (an approved booth of the edition), or the one
    typed (one or the other)."""
    if not answer.found:
        return ""
    if answer.booth_id is None:
        name = answer.employer_name.strip()
        if not name or len(name) > 200:
            text = "Choose the employer from the list, or type its name (200 characters at most)."
            raise Invalid(text, code="outcome.employer", fields={"employer": text})
        return name
    choices = dict(await booths_to_choose(session, edition.id))
    if answer.booth_id not in choices:
        text = "Choose the employer from the list, or type its name (200 characters at most)."
        raise Invalid(text, code="outcome.employer", fields={"employer": text})
    return choices[answer.booth_id]
