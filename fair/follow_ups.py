"""The follow-up mailings after an edition (fair.outcomes): at J+30, J+90 and J+180 after its
end, its recruiters are asked about the candidates they retained and its applicants whether
they found a job (fair.outcome_mail says it), by the worker's round.

A stage's mailing to an edition is done in steps (`step`), each in its own transaction and
recorded by an EditionMailing row inserted (ON CONFLICT DO NOTHING) in the transaction that
queues its mails: first the recruiters (kind "follow_up_30:booths"), then the candidates who
applied, by blocks of BLOCK user ids ("follow_up_30:c12" for the ids 6,000 to 6,499), and last
the stage's row ("follow_up_30", its recipients the total). A step whose row exists already
(another worker's, committed first; on PostgreSQL the insert waits for it) sends nothing; a
step interrupted rolls back with its row and is done again; the next block is the one after
the last recorded. So each person gets one mail per stage, whoever runs the steps and however
often they stop, and no transaction holds more than a block's mails (500, one INSERT).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from fair import clock, mail, outcome_mail
from fair.models import (
    Application,
    Booth,
    Edition,
    EditionMailing,
    Employer,
    EmployerMember,
    JobReport,
    User,
)
from fair.outcomes import STAGES, awaiting, ends_at, retained_condition, upsert

# A stage's mailing goes out while it is the latest one come and the next is not: a worker
# stopped through a whole stage skips it rather than mailing two stages at once. After the
# last one, this long.
LAST_WINDOW = timedelta(days=30)
# Editions whose applications closed longer ago than this are never looked at again.
HORIZON = timedelta(days=730)
# The candidates of one step of a mailing: those whose user id falls in one block of this many
# ids (fixed ranges, so a step is the same whoever runs it, before or after a restart).
BLOCK = 500


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


async def step(
    session: AsyncSession, now: datetime | None = None, *, block: int = BLOCK
) -> int | None:
    """One step of the follow-up mailings due now; returns the mails it queued, or None when
    none is left to do (the worker repeats it, each step in its own transaction)."""
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
        upsert(session)(EditionMailing)
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
        .where(Application.edition_id == edition.id, retained_condition(), awaiting(stage))
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
