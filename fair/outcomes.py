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
(`follow_up_step`); answers may be given from the end of the edition and changed at any later
time, each recording the stage it answers (`stage_at`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased, selectinload

from fair import clock, editions, mail, outcome_mail, permissions
from fair.enums import ApplicationStatus, BoothStatus, Contract, InterviewOutcome, Role
from fair.errors import Conflict, Forbidden, Invalid, NotYours
from fair.models import (
    Application,
    Booth,
    Edition,
    EditionCandidate,
    EditionMailing,
    Employer,
    EmployerMember,
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
# A stage's mailing goes out while it is the latest one come and the next is not: a worker
# stopped through a whole stage skips it rather than mailing two stages at once. After the
# last one, this long.
LAST_WINDOW = timedelta(days=30)
# Editions whose applications closed longer ago than this are never looked at again.
HORIZON = timedelta(days=730)
# The candidates of one step of a mailing: those whose user id falls in one block of this many
# ids (fixed ranges, so a step is the same whoever runs it, before or after a restart).
BLOCK = 500
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


def due_stage(edition: Edition, now: datetime | None = None) -> int | None:
    """The stage whose mailing is due now: the latest come, while the next has not (or, for
    the last, during LAST_WINDOW); None otherwise."""
    now = now or clock.now()
    end = ends_at(edition)
    for stage, following in zip(STAGES, [*STAGES[1:], None], strict=True):
        start = end + timedelta(days=stage)
        stop = end + timedelta(days=following) if following else start + LAST_WINDOW
        if start <= now < stop:
            return stage
    return None


def mailing_kind(stage: int) -> str:
    """The EditionMailing kind of a stage's mailing, written once it is complete."""
    return f"follow_up_{stage}"


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


def _awaiting(stage: int) -> ColumnElement[bool]:
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
    listed, awaiting = (
        await session.execute(
            select(func.count(), func.count().filter(_awaiting(stage))).where(
                Application.booth_id == booth.id, retained_condition(booth.id)
            )
        )
    ).one()
    return Task(stage, int(listed), int(awaiting)) if listed else None


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


def _upsert(session: AsyncSession) -> Any:
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
    statement = _upsert(session)(HireConfirmation).values(row)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["application_id"], set_=values)
    )


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
    statement = _upsert(session)(JobReport).values(
        {"edition_id": edition.id, "user_id": user.id, **values}
    )
    await session.execute(
        statement.on_conflict_do_update(index_elements=["edition_id", "user_id"], set_=values)
    )


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


# The follow-up mailings (the worker) -------------------------------------------------------------


async def follow_up_step(
    session: AsyncSession, now: datetime | None = None, *, block: int = BLOCK
) -> int | None:
    """One step of the follow-up mailings due now; returns the mails it queued, or None when
    none is left to do (the worker repeats it, each step in its own transaction).

    A stage's mailing to an edition is done in steps, each recorded by an EditionMailing row
    inserted (ON CONFLICT DO NOTHING) in the transaction that queues its mails: first the
    recruiters (kind "follow_up_30:booths"), then the candidates who applied, by blocks of
    BLOCK user ids ("follow_up_30:c12" for the ids 6,000 to 6,499), and last the stage's row
    ("follow_up_30", its recipients the total). A step whose row already exists (another
    worker's, committed first; on PostgreSQL the insert waits for it) sends nothing; a step
    interrupted rolls back with its row and is done again; the next block is the one after the
    last recorded. So each person gets one mail per stage, whoever runs the steps and however
    often they stop, and no transaction holds more than a block's mails.
    """
    now = now or clock.now()
    for edition in await _ended(session, now):
        stage = due_stage(edition, now)
        if stage is None:
            continue
        if await session.get(EditionMailing, (edition.id, mailing_kind(stage))) is None:
            return await _next_part(session, edition, stage, now, block)
    return None


async def _ended(session: AsyncSession, now: datetime) -> list[Edition]:
    """Published editions that may have a follow-up due (their last one not complete)."""
    complete = select(EditionMailing.edition_id).where(
        EditionMailing.kind == mailing_kind(STAGES[-1])
    )
    found = await session.scalars(
        select(Edition)
        .where(
            Edition.published_at.is_not(None),
            Edition.applications_close_at <= now - timedelta(days=STAGES[0]),
            Edition.applications_close_at > now - HORIZON,
            Edition.id.not_in(complete),
        )
        .options(selectinload(Edition.live_days))
        .order_by(Edition.id)
    )
    return list(found)


async def _claim(
    session: AsyncSession, edition_id: int, kind: str, now: datetime, recipients: int = 0
) -> bool:
    """Insert a mailing's row unless it exists; whether this transaction did."""
    row = {"edition_id": edition_id, "kind": kind, "sent_at": now, "recipients": recipients}
    result = await session.execute(
        _upsert(session)(EditionMailing)
        .on_conflict_do_nothing()
        .returning(EditionMailing.edition_id),
        [row],
    )
    return result.first() is not None


async def _next_part(
    session: AsyncSession, edition: Edition, stage: int, now: datetime, block: int
) -> int:
    prefix = mailing_kind(stage)
    parts = dict(
        (
            await session.execute(
                select(EditionMailing.kind, EditionMailing.recipients).where(
                    EditionMailing.edition_id == edition.id,
                    EditionMailing.kind.like(prefix + ":%"),
                )
            )
        ).all()
    )
    if f"{prefix}:booths" not in parts:
        return await _mail_booths(session, edition, stage, now)
    blocks = [int(kind.rsplit(":c", 1)[1]) for kind in parts if ":c" in kind]
    start = (max(blocks) + 1) * block if blocks else 0
    first = await session.scalar(
        select(func.min(Application.candidate_id)).where(
            Application.edition_id == edition.id, Application.candidate_id >= start
        )
    )
    if first is None:
        await _claim(session, edition.id, prefix, now, recipients=sum(parts.values()))
        return 0
    return await _mail_block(session, edition, stage, (first // block, block), now)


async def _mail_booths(session: AsyncSession, edition: Edition, stage: int, now: datetime) -> int:
    """The recruiters of each booth with candidates awaiting an answer: one mail each."""
    kind = f"{mailing_kind(stage)}:booths"
    if not await _claim(session, edition.id, kind, now):
        return 0
    waiting = await session.execute(
        select(Application.booth_id, Employer.name, func.count())
        .join(Booth, Booth.id == Application.booth_id)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(Application.edition_id == edition.id, retained_condition(), _awaiting(stage))
        .group_by(Application.booth_id, Employer.name)
        .order_by(Application.booth_id)
    )
    counts = {booth_id: (name, int(n)) for booth_id, name, n in waiting.all()}
    recruiters = await session.execute(
        select(Booth.id, User)
        .join(EmployerMember, EmployerMember.employer_id == Booth.employer_id)
        .join(User, User.id == EmployerMember.user_id)
        .where(Booth.id.in_(counts), User.is_active.is_(True))
        .order_by(Booth.id, User.id)
    )
    end = ends_at(edition)
    messages = [
        outcome_mail.to_recruiter(
            recruiter,
            edition=edition,
            end=end,
            employer=counts[booth_id][0],
            booth_id=booth_id,
            count=counts[booth_id][1],
        )
        for booth_id, recruiter in recruiters.all()
    ]
    return await _record(session, edition.id, kind, messages)


async def _mail_block(
    session: AsyncSession, edition: Edition, stage: int, block: tuple[int, int], now: datetime
) -> int:
    """The candidates who applied, whose ids fall in the block (its number and size), and who
    have not answered at this stage already: one mail each."""
    number, size = block
    kind = f"{mailing_kind(stage)}:c{number}"
    if not await _claim(session, edition.id, kind, now):
        return 0
    applied = select(Application.candidate_id).where(
        Application.edition_id == edition.id,
        Application.candidate_id >= number * size,
        Application.candidate_id < (number + 1) * size,
    )
    answered = select(JobReport.user_id).where(
        JobReport.edition_id == edition.id, JobReport.stage >= stage
    )
    candidates = await session.scalars(
        select(User)
        .where(User.id.in_(applied), User.id.not_in(answered), User.is_active.is_(True))
        .order_by(User.id)
    )
    end = ends_at(edition)
    messages = [outcome_mail.to_candidate(c, edition=edition, end=end) for c in candidates]
    return await _record(session, edition.id, kind, messages)


async def _record(
    session: AsyncSession, edition_id: int, kind: str, messages: Sequence[outcome_mail.Message]
) -> int:
    await mail.queue_many(session, list(messages))
    mailing = await session.get(EditionMailing, (edition_id, kind))
    if mailing is not None:
        mailing.recipients = len(messages)
    await session.flush()
    return len(messages)
