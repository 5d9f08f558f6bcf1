"""The funnel's steps kept per candidate (fair.insight.progress): they say what the funnel's
statements say after every kind of step, under concurrent transactions, after a bulk load's
rebuild, and once migration 0021 has filled them."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import applications, clock, db, insight, migrations
from fair.enums import ApplicationStatus
from fair.insight import progress
from fair.models import Application, BoothCandidate, EditionCandidate, User
from tests import factories as f
from tests import funnel_journeys
from tests.sqlite_rows import insert_row


@pytest.fixture(autouse=True)
def _clock(conf) -> None:  # type: ignore[no-untyped-def]
    yield
    clock.set_now(None)


async def kept(session: AsyncSession, edition_id: int, user_id: int) -> dict[str, int]:
    row = await session.get(EditionCandidate, (edition_id, user_id), populate_existing=True)
    assert row is not None
    return {s: getattr(row, f"reached_{s}") for s in progress.CANDIDATE_KEPT}


async def test_every_journey_is_kept_as_the_statements_count_it(app, session) -> None:  # type: ignore[no-untyped-def]
    built = await funnel_journeys.build(session)
    await db.commit(session)
    edition_id = built.edition.id
    async with app.state.read_sessions() as fresh:
        assert await progress.drift(fresh, edition_id) == []
        totals = await progress.totals(fresh, edition_id)
        expected = built.expected()
        assert totals == {step: expected[step] for step in insight.STEPS}
        per_booth = await progress.booth_totals(fresh, edition_id)
    expected_b = built.expected(per_booth="B")
    assert per_booth[built.booths["B"].id] == {s: expected_b[s] for s in insight.BOOTH_STEPS}


async def test_a_load_that_bypasses_the_orm_is_caught_up_by_a_rebuild(app, session) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    person = await f.candidate(session, can_log_in=False)
    await f.application(session, offer_=offer, candidate_=person)
    await db.commit(session)
    other = await f.offer(session, booth_=booth, title="Magasinier")
    now = clock.now()
    await session.execute(
        insert(Application.__table__),
        [
            {
                "offer_id": other.id,
                "booth_id": booth.id,
                "edition_id": edition.id,
                "candidate_id": person.id,
                "message": "",
                "status": ApplicationStatus.HIRED.value,
                "created_at": now,
                "status_changed_at": now,
                "status_message": "",
            }
        ],
    )
    await db.commit(session)
    assert await progress.drift(session, edition.id) != []
    await progress.rebuild(session, edition.id)
    await db.commit(session)
    assert await progress.drift(session, edition.id) == []
    assert (await kept(session, edition.id, person.id))["retained"] == 1


async def test_a_step_in_an_uncommitted_session_is_counted_by_its_own_reads(session) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    await f.application(session, offer_=offer)
    found = await insight.funnel(session, edition.id)
    assert (found.counts["registered"], found.counts["applied"]) == (1, 1)


async def test_concurrent_steps_of_one_candidate_both_count(app, session, backend) -> None:  # type: ignore[no-untyped-def]
    """Booth A's recruiter shortlists a candidate while booth B's reviews the same candidate's
    application there, in two transactions: the one that commits second computes after the
    first's commit (PostgreSQL: the row lock taken before computing), so its figures include
    the shortlisting."""
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    booth_a, recruiter_a = await f.booth(session, edition_=edition)
    booth_b, recruiter_b = await f.booth(session, edition_=edition)
    person = await f.candidate(session, can_log_in=False)
    at_a = await f.application(
        session, offer_=await f.offer(session, booth_=booth_a), candidate_=person
    )
    at_b = await f.application(
        session, offer_=await f.offer(session, booth_=booth_b), candidate_=person
    )
    await db.commit(session)
    shortlist = (at_a.id, recruiter_a.id, ApplicationStatus.SHORTLISTED)
    review = (at_b.id, recruiter_b.id, ApplicationStatus.IN_REVIEW)
    if backend == "sqlite":  # writers are serialised: one after the other
        await _move(app, *shortlist)
        await _move(app, *review)
    else:
        locked = asyncio.Event()
        first = asyncio.create_task(_move(app, *shortlist, hold=locked))
        await locked.wait()
        second = asyncio.create_task(_move(app, *review))
        await asyncio.sleep(0.3)
        assert not second.done()  # it waits on the candidate's row
        await first
        await second
    async with app.state.read_sessions() as fresh:
        assert await progress.drift(fresh, edition.id) == []
        assert (await kept(fresh, edition.id, person.id))["shortlisted"] == 1
        rows = await fresh.execute(
            select(BoothCandidate.booth_id, BoothCandidate.reached_shortlisted).where(
                BoothCandidate.user_id == person.id
            )
        )
        assert sorted(rows.all()) == sorted([(booth_a.id, 1), (booth_b.id, 0)])


async def _move(  # type: ignore[no-untyped-def]
    app, application_id: int, recruiter_id: int, new: ApplicationStatus, *, hold=None
) -> None:
    """Move an application; with `hold`, compute the kept steps (which locks the candidate's
    row), set it, and commit a moment later."""
    async with app.state.write_sessions() as session:
        application = await session.get(Application, application_id)
        recruiter = await session.get(User, recruiter_id)
        await applications.set_status(session, application, new, by=recruiter)
        if hold is not None:
            await session.run_sync(progress._catch_up)
            hold.set()
            await asyncio.sleep(0.6)
        await db.commit(session)


def test_migration_0021_fills_the_kept_steps(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0021 computes the kept steps of existing editions; downgrading drops them."""
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrations.upgrade(url, "0020")
    with sqlite3.connect(path) as connection:  # foreign keys off: parents left out
        for user_id in (7, 8):
            insert_row(connection, "users", id=user_id, email=f"u{user_id}@x.fr", role="candidate")
            insert_row(
                connection, "edition_candidates", edition_id=1, user_id=user_id,
                registered_at="2030-01-01 00:00:00",
            )  # fmt: skip
        insert_row(connection, "editions", id=1, slug="e1")
        insert_row(connection, "booths", id=3, edition_id=1, employer_id=1, status="approved")
        insert_row(
            connection, "applications", id=1, offer_id=1, booth_id=3, edition_id=1,
            candidate_id=7, status="interviewed", shortlisted_at="2030-01-02 00:00:00",
        )  # fmt: skip
    migrations.upgrade(url, "0021")
    with sqlite3.connect(path) as connection:
        names = ", ".join(f"reached_{s}" for s in progress.CANDIDATE_KEPT)
        found = connection.execute(
            f"SELECT user_id, {names} FROM edition_candidates ORDER BY user_id"
        ).fetchall()
        assert found == [(7, 1, 1, 1, 0, 0, 0, 0, 0), (8, 0, 0, 0, 0, 0, 0, 0, 0)]
        booths = connection.execute(
            "SELECT booth_id, user_id, edition_id, reached_shortlisted, reached_held"
            " FROM booth_candidates"
        ).fetchall()
        assert booths == [(3, 7, 1, 1, 0)]
    command.downgrade(migrations.config(url), "0020")
    with sqlite3.connect(path) as connection:
        names = {r[1] for r in connection.execute("PRAGMA table_info(edition_candidates)")}
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    assert "reached_active" not in names and "registered_at" in names
    assert "booth_candidates" not in tables
