"""The funnel's steps kept per candidate, so that the unfiltered funnel and booths' table read
one row per candidate (or per candidate and booth) instead of aggregating the edition's
applications, interviews, active days and outcomes on every request (fair.insight.figures).

What is kept: `edition_candidates.reached_<step>` for each step of `STEPS` after
"registered", and `booth_candidates`, one row per candidate and booth they applied at with
each step of `BOOTH_STEPS` after "applied": exactly what `steps.candidate_steps` and
`steps.booth_steps` say without filters, since they are computed by those statements.

How it stays true. Any flush that writes an Application, Interview, HireConfirmation or
JobReport through the ORM (whoever writes it: the owning functions, the tests' factories)
marks its candidate (`_mark`; code that writes them with a core statement marks them itself:
fair.funnel_marks); just before the transaction commits, the marked candidates'
rows are computed again, restricted to them (`_catch_up`), in the same transaction. Active days
are written by a core upsert (fair.activity.save), which raises `reached_active` itself
(fair.participants.mark_active). Loads that write with core statements (the benchmark, the
demo's history) call `rebuild` for the edition; `drift` lists what differs from the
statements, for the tests and `fair progress`.

Concurrency. On PostgreSQL the marked candidates' edition_candidates rows are locked first
(FOR UPDATE, in id order) and the figures are computed by the next statements: under READ
COMMITTED those see what a concurrent transaction about the same candidate committed while
this one waited, so neither writes figures older than the other's. SQLite serialises writers.

The listeners are installed when this module is imported: by fair.insight, which the
processes that write (the app, the worker, the command line) import.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import chain
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from fair import funnel_marks
from fair.funnel_marks import Mark
from fair.insight.steps import BOOTH_STEPS, STEPS, booth_steps, candidate_steps
from fair.models import (
    Application,
    Booth,
    BoothCandidate,
    EditionCandidate,
    HireConfirmation,
    Interview,
    JobReport,
)

# The kept steps: registration is the row itself, "applied" at a booth is the row itself.
CANDIDATE_KEPT = STEPS[1:]
BOOTH_KEPT = BOOTH_STEPS[1:]
# At most this many candidates per statement (an IN list).
CHUNK = 500


def candidate_column(step: str) -> Any:
    return getattr(EditionCandidate, f"reached_{step}")


def booth_column(step: str) -> Any:
    return getattr(BoothCandidate, f"reached_{step}")


# Reading ---------------------------------------------------------------------------------------


async def totals(session: AsyncSession, edition_id: int) -> dict[str, int]:
    """How many of the edition's registered candidates reached each step of `STEPS` (what the
    session wrote and has not committed yet included)."""
    await session.run_sync(_catch_up)
    sums = [func.coalesce(func.sum(candidate_column(s)), 0) for s in CANDIDATE_KEPT]
    found = (
        await session.execute(
            select(func.count(), *sums).where(EditionCandidate.edition_id == edition_id)
        )
    ).one()
    return {s: int(n) for s, n in zip(STEPS, found, strict=True)}


async def booth_totals(session: AsyncSession, edition_id: int) -> dict[int, dict[str, int]]:
    """Per booth where someone applied, how many candidates reached each step of
    `BOOTH_STEPS` there (what the session wrote and has not committed yet included)."""
    await session.run_sync(_catch_up)
    sums = [func.sum(booth_column(s)) for s in BOOTH_KEPT]
    rows = await session.execute(
        select(BoothCandidate.booth_id, func.count(), *sums)
        .where(BoothCandidate.edition_id == edition_id)
        .group_by(BoothCandidate.booth_id)
    )
    return {
        booth: {s: int(n) for s, n in zip(BOOTH_STEPS, found, strict=True)}
        for booth, *found in rows
    }


async def drift(session: AsyncSession, edition_id: int) -> list[str]:
    """What the kept rows say that the statements do not (empty when they agree): one line per
    candidate or candidate and booth that differs."""
    kept = select(EditionCandidate.user_id, *(candidate_column(s) for s in CANDIDATE_KEPT))
    kept = kept.where(EditionCandidate.edition_id == edition_id)
    computed = select(*candidate_steps(edition_id).subquery().c)
    per_candidate = _differences(
        {r[0]: tuple(r[1:]) for r in await session.execute(kept)},
        {r[0]: tuple(r[2:]) for r in await session.execute(computed)},
    )
    booth_kept = select(
        BoothCandidate.booth_id, BoothCandidate.user_id, *(booth_column(s) for s in BOOTH_KEPT)
    ).where(BoothCandidate.edition_id == edition_id)
    booth_computed = select(*booth_steps(edition_id).subquery().c)
    per_booth = _differences(
        {(r[0], r[1]): tuple(r[2:]) for r in await session.execute(booth_kept)},
        {(r[0], r[1]): tuple(r[3:]) for r in await session.execute(booth_computed)},
    )
    return [f"candidate {k}: {v}" for k, v in per_candidate] + [
        f"booth {b}, candidate {u}: {v}" for (b, u), v in per_booth
    ]


def _differences(
    kept: dict[Any, tuple[Any, ...]], computed: dict[Any, tuple[Any, ...]]
) -> list[tuple[Any, str]]:
    keys = sorted(set(kept) | set(computed))
    return [
        (k, f"kept {kept.get(k)}, computed {computed.get(k)}")
        for k in keys
        if kept.get(k) != computed.get(k)
    ]


# Writing ---------------------------------------------------------------------------------------


async def rebuild(session: AsyncSession, edition_id: int) -> None:
    """Compute every kept row of the edition again (after a load that bypassed the ORM)."""
    await session.run_sync(_write, edition_id, None)


def _write(session: Session, edition_id: int, users: Sequence[int] | None) -> None:
    if users is not None and session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(EditionCandidate.user_id)
            .where(EditionCandidate.edition_id == edition_id, EditionCandidate.user_id.in_(users))
            .order_by(EditionCandidate.user_id)
            .with_for_update()
        )
    for statement in statements(edition_id, users):
        session.execute(statement.execution_options(synchronize_session=False))


def statements(edition_id: int, users: Sequence[int] | None) -> tuple[Any, ...]:
    """What writes the kept rows of the edition's `users` (of all its candidates if None) from
    the funnel's statements, in order (migration 0021 fills the rows with them too)."""
    return (
        _update_candidates(edition_id, users),
        _delete_booth_rows(edition_id, users),
        _insert_booth_rows(edition_id, users),
    )


def _update_candidates(edition_id: int, users: Sequence[int] | None) -> Any:
    found = candidate_steps(edition_id, users=users).subquery("found")
    return (
        update(EditionCandidate)
        .where(
            EditionCandidate.edition_id == edition_id,
            EditionCandidate.user_id == found.c.user_id,
        )
        .values({f"reached_{s}": found.c[s] for s in CANDIDATE_KEPT})
    )


def _delete_booth_rows(edition_id: int, users: Sequence[int] | None) -> Any:
    return delete(BoothCandidate).where(
        BoothCandidate.edition_id == edition_id, *_among(BoothCandidate.user_id, users)
    )


def _insert_booth_rows(edition_id: int, users: Sequence[int] | None) -> Any:
    found = booth_steps(edition_id, users=users).subquery("found")
    columns: Select[Any] = select(
        found.c.booth_id,
        found.c.user_id,
        literal(edition_id),
        *(found.c[s] for s in BOOTH_KEPT),
    )
    names = ["booth_id", "user_id", "edition_id", *(f"reached_{s}" for s in BOOTH_KEPT)]
    return insert(BoothCandidate).from_select(names, columns)


def _among(column: Any, users: Sequence[int] | None) -> list[ColumnElement[bool]]:
    return [] if users is None else [column.in_(users)]


# Keeping up: the session's listeners -----------------------------------------------------------


# What the funnel reads of each tracked row: a change elsewhere (a digest's date, a room's
# secret) marks no one.
_READ: dict[type[Any], tuple[str, ...]] = {
    Application: ("status", "shortlisted_at", "candidate_id", "booth_id", "edition_id"),
    Interview: ("status", "candidate_id", "booth_id"),
    HireConfirmation: ("hired", "contract", "months", "candidate_id", "edition_id"),
    JobReport: ("found", "booth_id", "contract", "months"),
}


def _marks_of(session: Session) -> set[Mark]:
    found: set[Mark] = set()
    changed = (t for t in session.dirty if _read_changed(t))
    for thing in chain(session.new, changed, session.deleted):
        if isinstance(thing, Application | HireConfirmation):
            found.add((thing.edition_id, None, thing.candidate_id))
        elif isinstance(thing, Interview):
            found.add((None, thing.booth_id, thing.candidate_id))
        elif isinstance(thing, JobReport):
            found.add((thing.edition_id, None, thing.user_id))
    return found


def _read_changed(thing: object) -> bool:
    names = _READ.get(type(thing), ())
    state = inspect(thing)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "after_flush")
def _mark(session: Session, _context: Any) -> None:
    """Mark the candidates whose tracked rows this flush wrote (the session's new, dirty and
    deleted objects are still those of the flush here)."""
    marks = _marks_of(session)
    if marks:
        funnel_marks.add(session, marks)


@event.listens_for(Session, "before_commit")
def _catch_up(session: Session) -> None:
    """Compute the marked candidates' rows again: before the commit, and before reading the
    kept rows in a session that wrote. Runs inside the async session's greenlet, so the
    synchronous calls here run on its connection. A savepoint's release (begin_nested) waits
    for the transaction's own commit: a step may be followed by the candidate's registration."""
    if session.in_nested_transaction():
        return
    session.flush()
    while marks := funnel_marks.take(session):
        for edition_id, users in _by_edition(session, marks):
            for start in range(0, len(users), CHUNK):
                _write(session, edition_id, users[start : start + CHUNK])
        session.flush()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    funnel_marks.take(session)


def _by_edition(session: Session, marks: set[Mark]) -> list[tuple[int, list[int]]]:
    booths = {b for _e, b, _u in marks if b is not None}
    edition_of: dict[int, int] = {}
    if booths:
        rows = session.execute(select(Booth.id, Booth.edition_id).where(Booth.id.in_(booths)))
        edition_of = {b: e for b, e in rows}
    users: dict[int, set[int]] = defaultdict(set)
    for edition_id, booth_id, user_id in marks:
        edition = edition_id if edition_id is not None else edition_of.get(booth_id or 0)
        if edition is not None:
            users[edition].add(user_id)
    return [(e, sorted(u)) for e, u in sorted(users.items())]
