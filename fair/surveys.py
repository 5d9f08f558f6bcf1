"""The satisfaction survey of an edition (issue 12 item 6): who is asked, when, their answers,
and the results organisers read.

When: the survey opens when the edition ends (`opens_at`: fair.outcomes.ends_at, the later of
the applications' close and the last live day's close, the moment the J+30 follow-up counts
from) and closes `OPEN_FOR` (30 days) later. Until it closes a person may change their answer;
after, it stays as it was.

Who: the candidates who took part in the edition (registered, fair.participants, or applied:
fair.outcomes.took_part) and the recruiters of its approved booths (members of the booth's
employer). `invite` mails them a link once per edition, run by the worker: the EditionMailing
row (kind "survey") is written in the transaction that queues the mails, so two workers or a
restart never send it twice.

What: four scores from 1 to 5 (overall, ease of use, the contacts made, the organisation), each
may be skipped; "would you recommend it" (yes, no, or no answer); a comment of at most
`COMMENT_MAX` characters. One answer per person and edition: the unique constraint is the last
guard, and `answer` writes through an upsert on it, so a double submission keeps one row.

Results (`results`): per role, for each question the count of each score and of those who
skipped it, through fair.disclosure.listing (below 5 hidden, secondary suppression); a mean
only when the role has at least 5 answers and no count of the question is hidden (a mean with
its total can reveal a hidden count: 2 hidden people and a known sum of their scores); the
share who would recommend only when both the yes and no counts are shown. Comments are shown
to organisers only from 5 answers of the role, without name, booth or date, in alphabetical
order (not in the order they came, which would tie them to people seen answering); they may
still name people, which the page says. Beyond COMMENTS_SHOWN, a random sample of them.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from fair import clock, disclosure, mail, outcomes, settings
from fair.disclosure import Figure, Listing
from fair.enums import BoothStatus, Role
from fair.errors import Conflict, Forbidden, Invalid
from fair.i18n import day
from fair.i18n import gettext as _
from fair.models import (
    Application,
    Booth,
    Edition,
    EditionCandidate,
    EditionMailing,
    EmployerMember,
    SurveyAnswer,
    User,
)

OPEN_FOR = timedelta(days=30)
COMMENT_MAX = 2000
COMMENTS_SHOWN = 300  # a page of 14,000 comments is read by nobody: beyond, a random sample
MAILING = "survey"
ROLES = (Role.CANDIDATE, Role.RECRUITER)
SCORES = ("overall", "ease", "contacts", "organisation")
SCALE = range(1, 6)
# Editions whose applications closed longer ago are not looked at by the round: their survey has
# closed unless their live days came eleven months after the close (none does).
LOOK_BACK = timedelta(days=365)


@dataclass
class SurveyInput:
    """One person's answers; a score or `recommend` left None was skipped."""

    overall: int | None = None
    ease: int | None = None
    contacts: int | None = None
    organisation: int | None = None
    recommend: bool | None = None
    comment: str = ""


# When ------------------------------------------------------------------------------------------


def opens_at(edition: Edition) -> datetime:
    """When the survey opens: when the edition ends, as the follow-ups count it
    (fair.outcomes.ends_at: the last live day's close, or the applications' close if later).
    Needs `edition.live_days` loaded."""
    return outcomes.ends_at(edition)


def closes_at(edition: Edition) -> datetime:
    """OPEN_FOR after the opening, by the edition's clocks (the same hour across a change of
    summer time)."""
    return opens_at(edition).astimezone(ZoneInfo(edition.timezone)) + OPEN_FOR


def is_open(edition: Edition, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return edition.published_at is not None and opens_at(edition) <= now < closes_at(edition)


# Who -------------------------------------------------------------------------------------------


async def respondent(
    session: AsyncSession, edition: Edition, user: User
) -> tuple[Role, int | None]:
    """The role in which `user` answers the edition's survey, and their booth for a recruiter;
    Forbidden for anyone who did not take part (staff, other candidates and recruiters)."""
    if user.role == Role.CANDIDATE:
        if await outcomes.took_part(session, edition_id=edition.id, user=user):
            return Role.CANDIDATE, None
    elif user.role == Role.RECRUITER:
        booth_id = await session.scalar(
            _recruiter_booths(edition.id).where(EmployerMember.user_id == user.id).limit(1)
        )
        if booth_id is not None:
            return Role.RECRUITER, booth_id
    raise Forbidden(
        "This survey is for the candidates and recruiters who took part in the edition.",
        code="survey.not_participant",
    )


def _recruiter_booths(edition_id: int) -> Select[int]:
    return (
        select(Booth.id)
        .join(EmployerMember, EmployerMember.employer_id == Booth.employer_id)
        .where(Booth.edition_id == edition_id, Booth.status == BoothStatus.APPROVED.value)
    )


async def participants(session: AsyncSession, edition_id: int) -> list[Person]:
    """The active accounts asked to answer: the candidates who took part (registered, or
    applied: fair.outcomes.took_part), the approved booths' recruiters (plain rows: an edition
    may have tens of thousands)."""
    candidates = select(EditionCandidate.user_id).where(EditionCandidate.edition_id == edition_id)
    applicants = select(Application.candidate_id).where(Application.edition_id == edition_id)
    recruiters = (
        select(EmployerMember.user_id)
        .join(Booth, Booth.employer_id == EmployerMember.employer_id)
        .where(Booth.edition_id == edition_id, Booth.status == BoothStatus.APPROVED.value)
    )
    rows = await session.execute(
        select(User.email, User.name, User.locale)
        .where(User.is_active.is_(True), User.id.in_(candidates.union(applicants, recruiters)))
        .order_by(User.id)
    )
    return [Person(email, name, locale or "fr") for email, name, locale in rows.all()]


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    locale: str


# The invitation --------------------------------------------------------------------------------


async def invite(session: AsyncSession, now: datetime | None = None) -> int:
    """Mail the survey's link to the people of every edition whose survey is open and was not
    sent yet; returns how many editions were mailed (the worker's round).

    The EditionMailing row is inserted first (nothing when it exists): a second worker meets
    the row, waiting for the first one's commit on PostgreSQL, and sends nothing.
    """
    now = now or clock.now()
    sent = select(EditionMailing.edition_id).where(EditionMailing.kind == MAILING)
    due = await session.scalars(
        select(Edition)
        .where(
            Edition.published_at.is_not(None),
            Edition.applications_close_at <= now,  # the end is never before it
            Edition.applications_close_at > now - LOOK_BACK,
            Edition.id.not_in(sent),
        )
        .options(selectinload(Edition.live_days))
        .order_by(Edition.id)
    )
    mailed = 0
    for edition in list(due):
        if is_open(edition, now) and await _claim(session, edition.id, now):
            mailed += 1
            await _mail_edition(session, edition)
    return mailed


async def _claim(session: AsyncSession, edition_id: int, now: datetime) -> bool:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    row = {"edition_id": edition_id, "kind": MAILING, "sent_at": now, "recipients": 0}
    result = await session.execute(
        insert(EditionMailing).on_conflict_do_nothing().returning(EditionMailing.edition_id),
        [row],
    )
    return result.first() is not None


async def _mail_edition(session: AsyncSession, edition: Edition) -> None:
    people = await participants(session, edition.id)
    link = settings.get().base_url + f"/e/{edition.slug}/survey"
    texts: dict[str, tuple[str, str]] = {}  # the same words for everyone of one language
    messages = []
    for person in people:
        if person.locale not in texts:
            texts[person.locale] = _invitation(person.locale, edition, link)
        subject, rest = texts[person.locale]
        hello = _("Hello %(name)s,", person.locale, name=person.name)
        messages.append((person.email, subject, f"{hello}\n\n{rest}"))
    await mail.queue_many(session, messages)
    mailing = await session.get(EditionMailing, (edition.id, MAILING))
    if mailing is not None:
        mailing.recipients = len(messages)
    await session.flush()


def _invitation(locale: str, edition: Edition, link: str) -> tuple[str, str]:
    """The subject, and the body after its greeting, in `locale`."""
    closes = closes_at(edition).astimezone(ZoneInfo(edition.timezone))
    lines = [
        _(
            "%(edition)s is over. Would you tell us how it went for you? Four questions and a "
            "comment, two minutes at most.",
            locale,
            edition=edition.title,
        ),
        "",
        _("Answer the survey: %(link)s", locale, link=link),
        _(
            "You may change your answer until %(date)s.",
            locale,
            date=day(closes.date(), "long", locale),
        ),
    ]
    why = _(
        "You receive this message because you took part in %(edition)s.",
        locale,
        edition=edition.title,
    )
    body = "\n".join(lines) + "\n" + mail.footer(locale, sender=edition.title, why=why)
    return _("How was %(edition)s?", locale, edition=edition.title), body


async def mailing(session: AsyncSession, edition_id: int) -> EditionMailing | None:
    """When the invitation went and to how many people (None: not yet)."""
    return await session.get(EditionMailing, (edition_id, MAILING))


# Answers ---------------------------------------------------------------------------------------


async def answer_of(session: AsyncSession, edition_id: int, user: User) -> SurveyAnswer | None:
    found: SurveyAnswer | None = await session.scalar(
        select(SurveyAnswer).where(
            SurveyAnswer.edition_id == edition_id, SurveyAnswer.user_id == user.id
        )
    )
    return found


def check(data: SurveyInput) -> None:
    """Refuse scores outside 1 to 5, a comment too long, or an answer with nothing in it."""
    errors = {}
    for name in SCORES:
        value = getattr(data, name)
        if value is not None and value not in SCALE:
            errors[name] = "Choose a score from 1 to 5."
    if len(data.comment) > COMMENT_MAX:
        errors["comment"] = "This text is too long."
    if errors:
        raise Invalid("Some fields need correcting.", code="survey.invalid", fields=errors)
    if all(getattr(data, name) is None for name in SCORES) and (
        data.recommend is None and not data.comment
    ):
        raise Invalid("Answer at least one question.", code="survey.empty")


async def answer(
    session: AsyncSession, *, edition: Edition, user: User, data: SurveyInput
) -> SurveyAnswer:
    """Save `user`'s answer to the edition's survey, or replace their earlier one.

    Refuses someone who did not take part (Forbidden), a survey not open yet or closed
    (Conflict), and invalid answers (Invalid). One row per person: an upsert on the unique
    (edition, user) constraint, so two submissions at once leave one answer.
    """
    role, booth_id = await respondent(session, edition, user)
    now = clock.now()
    if now < opens_at(edition):
        raise Conflict("The survey opens when the edition is over.", code="survey.not_open")
    if now >= closes_at(edition):
        raise Conflict("The survey is closed.", code="survey.closed")
    check(data)
    values: dict[str, Any] = {
        "role": role.value,
        "booth_id": booth_id,
        **{name: getattr(data, name) for name in SCORES},
        "recommend": data.recommend,
        "comment": data.comment,
        "answered_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(SurveyAnswer).values(edition_id=edition.id, user_id=user.id, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["edition_id", "user_id"], set_=values)
    )
    found = await answer_of(session, edition.id, user)
    assert found is not None
    await session.refresh(found)
    return found


# Results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionResult:
    """One score question for one role: counts of 1 to 5 then of "no answer", and the mean
    (one decimal) when it may be shown."""

    key: str
    listing: Listing
    mean: float | None


@dataclass(frozen=True)
class Comments:
    """The comments shown (all, or a sample of COMMENTS_SHOWN) and how many there are."""

    shown: tuple[str, ...]
    total: int


@dataclass(frozen=True)
class RoleResults:
    role: Role
    answers: Figure
    questions: tuple[QuestionResult, ...]
    recommend: Listing  # yes, no, no answer
    recommend_rate: int | None  # percent of yes among yes and no, when both are shown
    comments: Comments | None  # None: fewer than 5 answers, not shown


async def results(session: AsyncSession, edition_id: int) -> tuple[RoleResults, ...]:
    """The survey's results per role (candidates, then recruiters), protected as the module
    docstring says: one grouped query for every count, one for the comments when shown."""
    counts = await _counts(session, edition_id)
    found = []
    for role in ROLES:
        tally = counts.get(role.value, {})
        by_value: Counter[Any] = tally.get("recommend", Counter())
        total = sum(by_value.values())
        answers = disclosure.single(total)
        questions = tuple(_question(name, tally.get(name, Counter()), total) for name in SCORES)
        yes_no = [by_value.get(True, 0), by_value.get(False, 0), by_value.get(None, 0)]
        listing = disclosure.listing(yes_no)
        rate = None
        if listing.cells[0].shown and listing.cells[1].shown and yes_no[0] + yes_no[1]:
            rate = round(100 * yes_no[0] / (yes_no[0] + yes_no[1]))
        comments = await _comments(session, edition_id, role) if answers.shown else None
        found.append(RoleResults(role, answers, questions, listing, rate, comments))
    return tuple(found)


async def _counts(session: AsyncSession, edition_id: int) -> dict[str, dict[str, Counter[Any]]]:
    """{role: {question: {value: people}}}, from one scan grouped by every answer at once (at
    most 6 x 6 x 6 x 6 x 3 groups per role, whatever the number of answers)."""
    columns = [getattr(SurveyAnswer, name) for name in (*SCORES, "recommend")]
    rows = await session.execute(
        select(SurveyAnswer.role, *columns, func.count())
        .where(SurveyAnswer.edition_id == edition_id)
        .group_by(SurveyAnswer.role, *columns)
    )
    counts: dict[str, dict[str, Counter[Any]]] = {}
    for role, *values, n in rows.all():
        tally = counts.setdefault(role, {})
        for name, value in zip((*SCORES, "recommend"), values, strict=True):
            tally.setdefault(name, Counter())[value] += int(n)
    return counts


def _question(key: str, by_score: dict[Any, int], total: int) -> QuestionResult:
    counts = [by_score.get(score, 0) for score in SCALE]
    listing = disclosure.listing([*counts, total - sum(counts)])
    return QuestionResult(key, listing, mean(counts, listing.cells[:5], total))


def mean(counts: Sequence[int], shown: Sequence[Figure], total: int) -> float | None:
    """The mean score to one decimal, when the role has at least THRESHOLD answers and every
    count of the question is shown (else it could give a hidden one away)."""
    scored = sum(counts)
    if disclosure.small(total) or not scored or not all(f.shown for f in shown):
        return None
    points = sum(score * n for score, n in zip(SCALE, counts, strict=True))
    tenths = (20 * points + scored) // (2 * scored)  # rounded half up
    return tenths / 10


async def _comments(session: AsyncSession, edition_id: int, role: Role) -> Comments:
    """The role's comments in alphabetical order; beyond COMMENTS_SHOWN, that many drawn at
    random (the same draw on every reading while no answer changes)."""
    found = list(
        await session.scalars(
            select(SurveyAnswer.comment)
            .where(
                SurveyAnswer.edition_id == edition_id,
                SurveyAnswer.role == role.value,
                SurveyAnswer.comment != "",
            )
            .order_by(SurveyAnswer.id)
        )
    )
    shown = found
    if len(found) > COMMENTS_SHOWN:
        shown = random.Random(edition_id).sample(found, COMMENTS_SHOWN)
    return Comments(tuple(sorted(shown, key=lambda text: (text.casefold(), text))), len(found))
