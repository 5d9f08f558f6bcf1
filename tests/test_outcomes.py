"""fair.outcomes and fair.outcome_figures: what counts as a return to work, the recruiters' and
candidates' answers and who may give them, the follow-up mailings at J+30, J+90 and J+180 with
the clock moved, and the organiser's figures against counts made here by hand."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    clock,
    db,
    disclosure,
    follow_ups,
    insight,
    outcome_figures,
    outcomes,
    unit_of_work,
    worker,
)
from fair.enums import Contract
from fair.errors import Conflict, Forbidden, Invalid, NotYours
from fair.models import EditionMailing, HireConfirmation, JobReport, LiveDay, OutboxMail, User
from tests import factories as f
from tests import outcome_setup as o
from tests.factories import NOON

CDI = outcomes.Answer(True, Contract.CDI)
NOT_HIRED = outcomes.Answer(False)


def hired(contract: Contract, months: int | None) -> outcomes.Answer:
    return outcomes.Answer(True, contract, months)


async def ids(session: AsyncSession, statement) -> set[int]:  # type: ignore[no-untyped-def]
    return set(await session.scalars(statement))


# What counts -----------------------------------------------------------------------------------


def test_counts_as_return() -> None:
    assert outcomes.counts_as_return("cdi", None)
    assert outcomes.counts_as_return("cdd", 1) and outcomes.counts_as_return("apprenticeship", 24)
    assert not outcomes.counts_as_return("cdd", 0)  # less than a month
    assert not outcomes.counts_as_return("internship", 6)  # training, not a job
    assert not outcomes.counts_as_return(None, 3)


def test_ends_at_and_stages() -> None:
    edition = f.Edition(
        timezone="Europe/Paris",
        applications_close_at=NOON + timedelta(days=2),
        live_days=[],
    )
    assert outcomes.ends_at(edition) == NOON + timedelta(days=2)
    # A last live day closing before applications close: the close; after it: its closing
    # time, in the edition's zone.
    edition.live_days = [LiveDay(day=f.TOMORROW, opens=time(9), closes=time(17))]
    assert outcomes.ends_at(edition) == NOON + timedelta(days=2)
    later = f.TOMORROW + timedelta(days=5)
    edition.live_days = [LiveDay(day=later, opens=time(9), closes=time(17))]
    assert outcomes.ends_at(edition) == f.day_at(later, 17)
    edition.live_days = []
    end = outcomes.ends_at(edition)
    assert outcomes.stage_at(edition, end - timedelta(seconds=1)) is None
    assert outcomes.stage_at(edition, end) == 30
    assert outcomes.stage_at(edition, end + timedelta(days=95)) == 90
    assert follow_ups.due_stage(edition, end + timedelta(days=29)) is None
    assert follow_ups.due_stage(edition, end + timedelta(days=30)) == 30
    assert follow_ups.due_stage(edition, end + timedelta(days=89)) == 30
    assert follow_ups.due_stage(edition, end + timedelta(days=90)) == 90
    assert follow_ups.due_stage(edition, end + timedelta(days=180)) == 180
    assert follow_ups.due_stage(edition, end + timedelta(days=210)) is None


async def test_returns_to_work_found_elsewhere_and_figures(session: AsyncSession) -> None:
    clock.set_now(NOON)
    edition = await f.edition(session)
    a = await o.stand(session, edition, naf="43.21A", name="Alpha")
    b = await o.stand(session, edition, naf="43.22B", name="Bravo")
    c = await o.stand(session, edition, naf="56.10A", name="Charlie")
    answers: dict[int, tuple[o.Stand, outcomes.Answer | None]] = {}
    # Alpha retains 7: 4 CDI, a CDD of 6 months, one of less than a month, one not hired.
    for answer in [CDI] * 4 + [hired(Contract.CDD, 6), hired(Contract.CDD, 0), NOT_HIRED]:
        applied = await o.apply(session, a, hired=True)
        answers[applied.id] = (a, answer)
    # Bravo retains 2: one CDD of 3 months, one not answered; and 3 more applied.
    for answer in [hired(Contract.CDD, 3), None]:
        applied = await o.apply(session, b, hired=True)
        answers[applied.id] = (b, answer)
    others_b = [await o.apply(session, b) for _ in range(3)]
    # Charlie retains 6: 5 apprenticeships of 12 months, an internship of 6 months.
    for answer in [hired(Contract.APPRENTICESHIP, 12)] * 5 + [hired(Contract.INTERNSHIP, 6)]:
        applied = await o.apply(session, c, hired=True)
        answers[applied.id] = (c, answer)
    elsewhere_people = [await o.apply(session, c) for _ in range(6)]
    await db.commit(session)

    o.after_end(edition, 31)
    for application_id, (stand_, answer) in answers.items():
        if answer is not None:
            await outcomes.confirm_hire(
                session, by=stand_.recruiter, application_id=application_id, answer=answer
            )
    candidate_of = {app.id: app.candidate_id for s in (a, b, c) for app in s.applications}
    alpha_not_hired = next(i for i, (_, ans) in answers.items() if ans == NOT_HIRED)
    alpha_cdi = next(i for i, (_, ans) in answers.items() if ans == CDI)

    async def report(candidate_id: int, answer: outcomes.JobAnswer) -> None:
        user = await session.get(User, candidate_id)
        assert user is not None
        await outcomes.report_job(session, user=user, edition=edition, answer=answer)

    # A candidate Bravo did not retain says Bravo hired them (CDI): Bravo did not answer about
    # them, so it counts. The one Alpha said it did not hire says Alpha did: Alpha decides.
    await report(others_b[0].candidate_id, outcomes.JobAnswer(True, b.booth.id, "", Contract.CDI))
    await report(
        candidate_of[alpha_not_hired], outcomes.JobAnswer(True, a.booth.id, "", Contract.CDI)
    )
    # Elsewhere: five CDDs of 2 months, one of less than a month; a CDI hire at Alpha reports
    # a job elsewhere (counted from the fair only); one candidate found nothing yet.
    for applied in elsewhere_people[:5]:
        await report(
            applied.candidate_id, outcomes.JobAnswer(True, None, "Mairie", Contract.CDD, 2)
        )
    await report(
        elsewhere_people[5].candidate_id, outcomes.JobAnswer(True, None, "Café", Contract.CDD, 0)
    )
    await report(candidate_of[alpha_cdi], outcomes.JobAnswer(True, None, "Autre", Contract.CDI))
    await report(others_b[1].candidate_id, outcomes.JobAnswer(False))
    await db.commit(session)

    # Counted by hand from what was set up above.
    def counts(answer: outcomes.Answer | None) -> bool:
        return (
            answer is not None
            and answer.hired
            and (
                answer.contract == Contract.CDI
                or (answer.contract != Contract.INTERNSHIP and (answer.months or 0) >= 1)
            )
        )

    by_recruiters = {candidate_of[i] for i, (_, ans) in answers.items() if counts(ans)}
    expected_returned = by_recruiters | {others_b[0].candidate_id}
    expected_elsewhere = {p.candidate_id for p in elsewhere_people[:5]}
    expected_retained = {candidate_of[i] for i in answers}
    assert len(by_recruiters) == 4 + 1 + 1 + 5
    assert await ids(session, outcomes.returned_to_work(edition.id)) == expected_returned
    assert await ids(session, outcomes.found_elsewhere(edition.id)) == expected_elsewhere
    assert await ids(session, outcomes.retained(edition.id)) == expected_retained

    figures = await outcome_figures.of_edition(session, edition)
    summary = figures.summary
    # The funnel's steps (fair.insight): retained counts the candidates back at work too (the
    # steps are nested), so the one Bravo hired without retaining them: 15 + 1.
    funnel = await insight.funnel(session, edition.id)
    assert (funnel.counts["retained"], funnel.counts["hired"]) == (16, 12)
    assert funnel.counts["applied"] == 15 + 3 + 6
    # The same figures as the funnel's, hidden alike (here retained is, for the funnel's
    # sake: its steps are protected together).
    assert summary.retained == funnel.figures["retained"]
    assert summary.returned == funnel.figures["hired"]
    assert summary.applicants == funnel.figures["applied"] == disclosure.Figure(24, True)
    assert summary.elsewhere == disclosure.Figure(5, True)
    # Recruiters answered 14 of the 15 retained applications: 1 unanswered hides both.
    assert [fig.value for fig in summary.recruiters.split.cells] == [14, 1]
    assert not any(fig.shown for fig in summary.recruiters.split.cells)
    assert summary.recruiters.split.total == disclosure.Figure(15, True)
    assert summary.recruiters.percent is None
    # 10 of the 24 applicants reported (2 + 5 + 1 + 1 + 1), 14 did not: both shown.
    assert [fig.value for fig in summary.candidates.split.cells] == [10, 14]
    assert summary.candidates.percent == round(100 * 10 / 24)

    # Per booth, grouped by sector (NAF division): the dashboard's rows, values counted here:
    # Alpha retained 7, back at work 5 (the CDIs and the 6-month CDD); Bravo 2 and 1 (the one
    # it did not retain counts at no booth); Charlie 6 and 5.
    assert [(row.division, row.sector) for row in figures.sectors] == [
        ("56", "Restauration"),
        ("43", "Travaux de construction spécialisés"),
    ]
    shown = {b.employer: (b.retained, b.returned) for row in figures.sectors for b in row.booths}
    assert {name: (r.value, w.value) for name, (r, w) in shown.items()} == {
        "Alpha": (7, 5),
        "Bravo": (2, 1),
        "Charlie": (6, 5),
    }
    dashboard = {
        row.employer: (row.funnel.figures["retained"], row.funnel.figures["hired"])
        for row in await insight.booth_funnels(session, edition.id, views=False)
    }
    assert shown == dashboard  # hidden alike
    assert shown["Bravo"] == (disclosure.Figure(2, False), disclosure.Figure(1, False))
    # Every answer was given at the first follow-up: 14 and 10 with the stages' total would
    # give the zeros of J+90 and J+180 away, so every figure of the split is hidden.
    hires = await session.scalar(select(func.count()).select_from(HireConfirmation))
    assert hires == 14
    assert figures.by_stage == {
        30: (disclosure.Figure(14, False), disclosure.Figure(10, False)),
        90: (disclosure.Figure(0, False), disclosure.Figure(0, False)),
        180: (disclosure.Figure(0, False), disclosure.Figure(0, False)),
    }


async def test_priority_publics_of_outcomes(session: AsyncSession) -> None:
    from fair import candidates

    clock.set_now(NOON)
    edition = await f.edition(session)
    a = await o.stand(session, edition)
    year = edition.applications_open_at.year
    # Six retained and confirmed in a CDI, five of them under 26 and two of those in a QPV.
    people = []
    for n in range(6):
        applied = await o.apply(session, a, hired=True)
        user = await session.get(User, applied.candidate_id)
        assert user is not None
        answers = candidates.PriorityAnswers(
            priority_neighbourhood=n < 2, birth_year=year - 20 if n < 5 else year - 40
        )
        await candidates.declare(session, user, consent=True, answers=answers)
        people.append(applied)
    # One more under 26, not retained, says Alpha hired them: back at work, so retained too
    # (as the funnel counts).
    late = await o.apply(session, a)
    late_user = await session.get(User, late.candidate_id)
    assert late_user is not None
    await candidates.declare(
        session, late_user, consent=True, answers=candidates.PriorityAnswers(birth_year=year - 22)
    )
    await db.commit(session)
    o.after_end(edition, 30)
    for applied in people:
        await outcomes.confirm_hire(session, by=a.recruiter, application_id=applied.id, answer=CDI)
    await outcomes.report_job(
        session,
        user=late_user,
        edition=edition,
        answer=outcomes.JobAnswer(True, a.booth.id, "", Contract.CDI),
    )
    rows = {row.key: row for row in await outcome_figures.publics(session, edition)}
    assert rows["under_26"].retained == disclosure.Figure(6, True)
    assert rows["under_26"].returned == disclosure.Figure(6, True)
    assert rows["priority_neighbourhood"].returned == disclosure.Figure(2, False)
    assert rows["senior"].returned == disclosure.Figure(0, False)
    assert rows["under_26"].elsewhere == disclosure.Figure(0, False)


# Answers and who may give them ---------------------------------------------------------------


async def test_recruiters_answer_only_for_their_retained_candidates(session: AsyncSession) -> None:
    clock.set_now(NOON)
    edition = await f.edition(session)
    a = await o.stand(session, edition)
    b = await o.stand(session, edition)
    retained = await o.apply(session, a, hired=True)
    applied = await o.apply(session, a)
    await db.commit(session)

    # Before the end, nothing to answer yet.
    with pytest.raises(Conflict) as early:
        await outcomes.confirm_hire(session, by=a.recruiter, application_id=retained.id, answer=CDI)
    assert early.value.code == "outcome.not_ended"
    assert await outcomes.task(session, a.booth, edition) is None  # no task on the booth page
    o.after_end(edition, 30)
    assert await outcomes.task(session, a.booth, edition) == outcomes.Task(30, 1, 1)
    assert await outcomes.task(session, b.booth, edition) is None  # retained nobody
    # Another booth's recruiter: as if the application did not exist.
    with pytest.raises(NotYours):
        await outcomes.confirm_hire(session, by=b.recruiter, application_id=retained.id, answer=CDI)
    with pytest.raises(Conflict) as not_retained:
        await outcomes.confirm_hire(session, by=a.recruiter, application_id=applied.id, answer=CDI)
    assert not_retained.value.code == "outcome.not_retained"
    with pytest.raises(Invalid) as no_length:
        await outcomes.confirm_hire(
            session,
            by=a.recruiter,
            application_id=retained.id,
            answer=hired(Contract.CDD, None),
        )
    assert no_length.value.fields == {
        "months": "Enter the contract's length in months (0 for less than a month)."
    }
    await outcomes.confirm_hire(
        session, by=a.recruiter, application_id=retained.id, answer=hired(Contract.CDD, 0)
    )
    found = await session.scalar(select(HireConfirmation))
    assert found is not None
    assert (found.hired, found.contract, found.months, found.stage) == (True, "cdd", 0, 30)
    assert await outcomes.task(session, a.booth, edition) == outcomes.Task(30, 1, 0)
    # Changed at the next stage: one row, its stage and contract updated (a CDI has no length).
    o.after_end(edition, 95)
    colleague = await f.colleague(session, booth_=a.booth, owner=a.recruiter)
    await outcomes.confirm_hire(
        session, by=colleague, application_id=retained.id, answer=hired(Contract.CDI, 7)
    )
    session.expunge_all()
    rows = list(await session.scalars(select(HireConfirmation)))
    assert [(r.contract, r.months, r.stage, r.confirmed_by_id) for r in rows] == [
        ("cdi", None, 90, colleague.id)
    ]
    assert await ids(session, outcomes.returned_to_work(edition.id)) == {retained.candidate_id}


async def test_candidates_report_only_their_own_job(session: AsyncSession) -> None:
    clock.set_now(NOON)
    edition = await f.edition(session)
    other_edition = await f.edition(session, title="Autre forum")
    a = await o.stand(session, edition, name="Alpha")
    b = await o.stand(session, other_edition)
    applied = await o.apply(session, a)
    stranger = await f.candidate(session, can_log_in=False)
    recruiter = a.recruiter
    await db.commit(session)
    me = await session.get(User, applied.candidate_id)
    assert me is not None
    with pytest.raises(Conflict) as early:
        await outcomes.report_job(
            session, user=me, edition=edition, answer=outcomes.JobAnswer(False)
        )
    assert early.value.code == "outcome.not_ended"
    o.after_end(edition, 40)
    with pytest.raises(Forbidden) as outsider:
        await outcomes.report_job(
            session, user=stranger, edition=edition, answer=outcomes.JobAnswer(False)
        )
    assert outsider.value.code == "outcome.not_participant"
    with pytest.raises(Forbidden):
        await outcomes.report_job(
            session, user=recruiter, edition=edition, answer=outcomes.JobAnswer(False)
        )
    # A booth of another edition is not a choice; nor is no employer at all.
    for answer in (
        outcomes.JobAnswer(True, b.booth.id, "", Contract.CDI),
        outcomes.JobAnswer(True, None, "  ", Contract.CDI),
    ):
        with pytest.raises(Invalid) as refused:
            await outcomes.report_job(session, user=me, edition=edition, answer=answer)
        assert list(refused.value.fields) == ["employer"]
    await outcomes.report_job(
        session,
        user=me,
        edition=edition,
        answer=outcomes.JobAnswer(True, a.booth.id, "ignored", Contract.SEASONAL, 3),
    )
    await outcomes.report_job(session, user=me, edition=edition, answer=outcomes.JobAnswer(False))
    o.after_end(edition, 100)
    await outcomes.report_job(
        session,
        user=me,
        edition=edition,
        answer=outcomes.JobAnswer(True, a.booth.id, "", Contract.SEASONAL, 3),
    )
    session.expunge_all()
    rows = list(await session.scalars(select(JobReport)))
    assert [(r.user_id, r.found, r.booth_id, r.contract, r.months, r.stage) for r in rows] == [
        (me.id, True, a.booth.id, "seasonal", 3, 90)
    ]
    assert rows[0].employer_name == "Alpha"  # the booth's, not the text typed
    # An edition nobody applied to: its booth listed, nothing shown.
    empty = await outcome_figures.of_edition(session, other_edition)
    assert [(b.booth_id, b.retained, b.returned) for r in empty.sectors for b in r.booths] == [
        (b.booth.id, disclosure.Figure(0, False), disclosure.Figure(0, False))
    ]
    assert empty.summary.applicants == disclosure.Figure(0, False)
    assert empty.summary.recruiters.percent is None
    assert await ids(session, outcomes.returned_to_work(edition.id)) == {me.id}


# The follow-up mailings ------------------------------------------------------------------------


async def run_round(app, block: int = follow_ups.BLOCK) -> int:  # type: ignore[no-untyped-def]
    """Steps in their own transactions until none is left, as the worker's round runs them."""
    queued = 0
    while True:

        async def step(session: AsyncSession) -> int | None:
            return await follow_ups.step(session, block=block)

        done = await unit_of_work.write(app.state.write_sessions, app.state.broadcast, step)
        if done is None:
            return queued
        queued += done


async def outbox(app) -> Counter[tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with app.state.read_sessions() as s:
        rows = await s.execute(select(OutboxMail.to_addr, OutboxMail.subject))
        return Counter((to, subject) for to, subject in rows.all())


async def test_follow_ups_at_j30_j90_j180(app, session: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    edition = await f.edition(session, title="Forum Lunel")
    a = await o.stand(session, edition)
    colleague = await f.colleague(session, booth_=a.booth, owner=a.recruiter)
    b = await o.stand(session, edition)  # retains nobody: never asked
    kept = [await o.apply(session, a, hired=True) for _ in range(2)]
    others = [await o.apply(session, b) for _ in range(3)]
    await db.commit(session)
    applicants = {
        (await session.get(User, x.candidate_id)).email  # type: ignore[union-attr]
        for x in kept + others
    }
    recruiters = {a.recruiter.email, colleague.email}
    await db.commit(session)  # (its reads end: the rounds write in between)
    before = await outbox(app)

    o.after_end(edition, 29, 23)
    assert await worker.follow_up_round(app.state) == 0
    assert await outbox(app) == before

    o.after_end(edition, 30)
    assert await worker.follow_up_round(app.state) == len(recruiters) + len(applicants)
    assert await worker.follow_up_round(app.state) == 0  # a second round sends nothing
    sent = (await outbox(app)) - before
    assert sent == Counter(
        {(to, "Forum Lunel : 2 embauches à confirmer") for to in recruiters}
        | {(to, "Forum Lunel : avez-vous trouvé un emploi ?") for to in applicants}
    )
    async with app.state.read_sessions() as s:
        mailing = await s.get(EditionMailing, (edition.id, "follow_up_30"))
        assert mailing is not None and mailing.recipients == len(recruiters) + len(applicants)

    # One hire confirmed and one candidate answered at J+30: J+90 asks again the others, and
    # the recruiters about both (a J+30 answer is confirmed again at J+90).
    await outcomes.confirm_hire(session, by=a.recruiter, application_id=kept[0].id, answer=CDI)
    await db.commit(session)
    o.after_end(edition, 89)
    assert await run_round(app) == 0
    o.after_end(edition, 90)
    answering = await session.get(User, others[0].candidate_id)
    assert answering is not None
    await outcomes.report_job(
        session, user=answering, edition=edition, answer=outcomes.JobAnswer(False)
    )
    await db.commit(session)
    before = await outbox(app)
    assert await run_round(app) == len(recruiters) + len(applicants) - 1
    sent = (await outbox(app)) - before
    assert {to for to, _ in sent} == recruiters | (applicants - {answering.email})
    assert {s for to, s in sent if to in recruiters} == {"Forum Lunel : 2 embauches à confirmer"}

    # J+180: both hires confirmed at J+180 already: the recruiters are not asked.
    o.after_end(edition, 180)
    for applied in kept:
        await outcomes.confirm_hire(session, by=colleague, application_id=applied.id, answer=CDI)
    await db.commit(session)
    before = await outbox(app)
    assert await run_round(app) == len(applicants)
    assert {to for to, _ in (await outbox(app)) - before} == applicants
    assert await run_round(app) == 0
    # Past the last window nothing more is ever sent.
    o.after_end(edition, 400)
    assert await run_round(app) == 0


async def test_follow_up_resumes_after_an_interrupted_step(app, session: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)
    edition = await f.edition(session)
    a = await o.stand(session, edition)
    people = [await o.apply(session, a) for _ in range(5)]
    await db.commit(session)
    before = await outbox(app)
    o.after_end(edition, 30)
    # The recruiters' step (nobody retained: no mail), then a block's step that dies before
    # its commit: rolled back with its row, the next step does that block again.
    assert await run_round_steps(app, 1, block=2) == 0
    async with app.state.write_sessions() as s:
        assert await follow_ups.step(s, block=2) in (1, 2)
        await s.rollback()
    assert await run_round(app, block=2) == len(people)
    sent = (await outbox(app)) - before
    emails = set()
    for applied in people:
        user = await session.get(User, applied.candidate_id)
        assert user is not None
        emails.add(user.email)
    assert Counter(to for to, _ in sent) == Counter(emails)
    # A step whose row another worker wrote first sends nothing.
    async with app.state.write_sessions() as s:
        assert await follow_ups.step(s, block=2) is None
    rows = await session.scalars(
        select(EditionMailing.kind).where(EditionMailing.edition_id == edition.id)
    )
    kinds = set(rows)
    assert "follow_up_30" in kinds and "follow_up_30:booths" in kinds
    blocks = {int(k.rsplit(":c", 1)[1]) for k in kinds if ":c" in k}
    assert blocks == {applied.candidate_id // 2 for applied in people}

    # J+90: two workers' rounds at once mail each person once.
    await db.commit(session)
    before = await outbox(app)
    o.after_end(edition, 90)
    rounds = await asyncio.gather(
        worker.follow_up_round(app.state), worker.follow_up_round(app.state)
    )
    assert sum(rounds) == len(people)
    sent = (await outbox(app)) - before
    assert sorted(to for to, _ in sent.elements()) == sorted(emails)


async def run_round_steps(app, steps: int, *, block: int) -> int:  # type: ignore[no-untyped-def]
    queued = 0
    for _ in range(steps):

        async def step(session: AsyncSession) -> int | None:
            return await follow_ups.step(session, block=block)

        queued += await unit_of_work.write(app.state.write_sessions, app.state.broadcast, step) or 0
    return queued
