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

from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select, union
from sqlalchemy.orm import QueryableAttribute, aliased

from fair import clock, editions
from fair.enums import Contract
from fair.models import Edition, HireConfirmation, JobReport

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
    recruiters keep answering applications until then, so a follow-up asks after it."""
    bounds = editions.live_bounds(edition)
    if bounds is None:
        return edition.applications_close_at
    return max(edition.applications_close_at, bounds[1])


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


def _confirmed(edition_id: int) -> Select[int]:
    return select(HireConfirmation.candidate_id.label("candidate_id")).where(
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


def _reported_at_booth(edition_id: int) -> Select[int]:
    return select(JobReport.user_id.label("candidate_id")).where(
        JobReport.edition_id == edition_id,
        JobReport.found.is_(True),
        JobReport.booth_id.is_not(None),
        a_job(JobReport.contract, JobReport.months),
        ~_answered_by_booth(),
    )


def returned_to_work(edition_id: int) -> Select[int]:
    """The ids (column `candidate_id`, each once) of the candidates back at work from the
    edition: a recruiter confirmed hiring them with a CDI or a contract of at least one month,
    or they reported such a job with one of the edition's booths that did not answer about
    them. The funnel's last step ("hired")."""
    both = union(_confirmed(edition_id), _reported_at_booth(edition_id)).subquery()
    return select(both.c.candidate_id)


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
