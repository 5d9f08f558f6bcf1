"""The satisfaction survey (fair.surveys): when it opens and closes, the invitation mailed once
to the people who took part, one answer per person, and the results with their suppression."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, employers, participants, surveys, worker
from fair.disclosure import Figure
from fair.enums import BoothStatus, Role
from fair.errors import Conflict, Forbidden, Invalid
from fair.models import Edition, EditionMailing, LiveDay, OutboxMail, SurveyAnswer, User
from tests import factories as f
from tests.quick import booth_of, cheap, colleague_of, edition_of

# The factories' edition at NOON (10 March 2026, Paris): live days 9 to 13 March, applications
# closing on 17 March at noon, which is therefore its end.
END = f.NOON + timedelta(days=7)
AFTER = END + timedelta(days=1)


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)


async def took_part(session: AsyncSession, edition: Edition, n: int) -> list[User]:
    people = await f.candidate_accounts(session, n)
    await participants.register_many(session, [(edition.id, p.id) for p in people])
    return people


def test_the_survey_opens_when_the_edition_ends_and_closes_30_days_later() -> None:
    edition = Edition(
        timezone="Europe/Paris",
        applications_close_at=datetime(2026, 3, 17, 12, tzinfo=f.PARIS),
        live_days=[],
    )
    assert surveys.opens_at(edition) == datetime(2026, 3, 17, 12, tzinfo=f.PARIS)
    edition.live_days = [LiveDay(day=date(2026, 3, 20), opens=time(9), closes=time(17))]
    assert surveys.opens_at(edition) == datetime(2026, 3, 20, 17, tzinfo=f.PARIS)
    assert surveys.closes_at(edition) == datetime(2026, 4, 19, 17, tzinfo=f.PARIS)


async def test_the_invitation_goes_once_to_the_candidates_and_recruiters_who_took_part(
    session: AsyncSession,
) -> None:
    edition = await edition_of(session)
    registered = await took_part(session, edition, 3)
    await f.candidate_accounts(session, 1)  # not registered: not asked
    booth, recruiter = await booth_of(session, edition)
    colleague = await colleague_of(session, booth, recruiter)
    _declined, refused = await booth_of(session, edition, approve=False)
    admin = await cheap(session, Role.ADMIN)
    requested = await employers.get_booth(session, _declined.id)
    await employers.set_status(session, requested, BoothStatus.DECLINED, by=admin, reason="Non")
    later = f.NOON + timedelta(days=20)  # another edition, over later
    other = await edition_of(
        session, title="Autre forum", applications_close_at=later, response_deadline=later
    )
    await took_part(session, other, 1)

    earlier = await session.scalar(select(func.max(OutboxMail.id))) or 0  # booth decisions
    assert await surveys.invite(session) == 0
    clock.set_now(END - timedelta(minutes=1))
    assert await surveys.invite(session) == 0
    clock.set_now(END)
    assert await surveys.invite(session) == 1
    expected = {p.email for p in [*registered, recruiter, colleague]}
    mails = list(
        await session.scalars(
            select(OutboxMail).where(OutboxMail.id > earlier).order_by(OutboxMail.id)
        )
    )
    assert {m.to_addr for m in mails} == expected and len(mails) == len(expected)
    assert refused.email not in {m.to_addr for m in mails}
    assert all(f"/e/{edition.slug}/survey" in m.body for m in mails)
    assert {m.subject for m in mails} == {f"{edition.title} : votre avis"}
    mailing = await session.get(EditionMailing, (edition.id, "survey"))
    assert mailing is not None and mailing.recipients == len(expected)

    clock.set_now(END + timedelta(days=2))
    assert await surveys.invite(session) == 0  # sent already: nothing more
    total = select(func.count()).where(OutboxMail.id > earlier)
    assert await session.scalar(total) == len(expected)


async def test_no_invitation_once_the_survey_has_closed(session: AsyncSession) -> None:
    edition = await edition_of(session)
    await took_part(session, edition, 1)
    clock.set_now(END + surveys.OPEN_FOR)
    assert await surveys.invite(session) == 0
    assert await session.scalar(select(func.count()).select_from(OutboxMail)) == 0


async def test_one_answer_per_person_changed_until_the_survey_closes(
    session: AsyncSession,
) -> None:
    edition = await edition_of(session)
    [person] = await took_part(session, edition, 1)
    booth, recruiter = await booth_of(session, edition)
    data = surveys.SurveyInput(overall=4, recommend=True, comment="Très utile")
    with pytest.raises(Conflict) as early:
        await surveys.answer(session, edition=edition, user=person, data=data)
    assert early.value.code == "survey.not_open"

    clock.set_now(AFTER)
    first = await surveys.answer(session, edition=edition, user=person, data=data)
    assert (first.role, first.booth_id, first.overall, first.ease) == ("candidate", None, 4, None)
    changed = surveys.SurveyInput(overall=2, ease=5, recommend=False)
    second = await surveys.answer(session, edition=edition, user=person, data=changed)
    assert second.id == first.id
    rows = list(await session.scalars(select(SurveyAnswer)))
    assert [(r.user_id, r.overall, r.ease, r.recommend, r.comment) for r in rows] == [
        (person.id, 2, 5, False, "")
    ]
    staffed = await surveys.answer(
        session, edition=edition, user=recruiter, data=surveys.SurveyInput(contacts=5)
    )
    assert (staffed.role, staffed.booth_id) == ("recruiter", booth.id)

    clock.set_now(END + surveys.OPEN_FOR)
    with pytest.raises(Conflict) as late:
        await surveys.answer(session, edition=edition, user=person, data=data)
    assert late.value.code == "survey.closed"


async def test_only_people_who_took_part_may_answer(session: AsyncSession) -> None:
    edition = await edition_of(session)
    await booth_of(session, edition)
    _requested, waiting = await booth_of(session, edition, approve=False)
    stranger = await f.candidate(session, can_log_in=False)
    organiser = await cheap(session, Role.ORGANISER)
    clock.set_now(AFTER)
    for user in (stranger, waiting, organiser):
        with pytest.raises(Forbidden) as refused:
            await surveys.answer(
                session, edition=edition, user=user, data=surveys.SurveyInput(overall=3)
            )
        assert refused.value.code == "survey.not_participant"


async def test_answers_out_of_range_too_long_or_empty_are_refused(session: AsyncSession) -> None:
    edition = await edition_of(session)
    [person] = await took_part(session, edition, 1)
    clock.set_now(AFTER)
    bad = surveys.SurveyInput(overall=0, organisation=6, comment="x" * (surveys.COMMENT_MAX + 1))
    with pytest.raises(Invalid) as invalid:
        await surveys.answer(session, edition=edition, user=person, data=bad)
    assert invalid.value.fields == {
        "overall": "Choose a score from 1 to 5.",
        "organisation": "Choose a score from 1 to 5.",
        "comment": "This text is too long.",
    }
    with pytest.raises(Invalid) as empty:
        await surveys.answer(session, edition=edition, user=person, data=surveys.SurveyInput())
    assert empty.value.code == "survey.empty"
    assert await session.scalar(select(func.count()).select_from(SurveyAnswer)) == 0


def hidden(*values: int) -> tuple[Figure, ...]:
    return tuple(Figure(v, False) for v in values)


async def test_results_per_role_with_small_counts_hidden(session: AsyncSession) -> None:
    edition = await edition_of(session)
    people = await took_part(session, edition, 30)
    booths = [await booth_of(session, edition) for _ in range(3)]
    clock.set_now(AFTER)
    # Candidates: overall 1 to 5 five times each and five skips; ease 3 for 26 and 5 for 4;
    # recommend yes 20, no 5, no answer 5; three comments.
    answers = []
    for i in range(len(people)):
        answers.append(
            surveys.SurveyInput(
                overall=None if i >= 25 else i // 5 + 1,
                ease=5 if i < 4 else 3,
                recommend=True if i < 20 else (False if i < 25 else None),
                comment={0: "Bien", 1: "accueil chaleureux", 2: "Trop court"}.get(i, ""),
            )
        )
    for person, data in zip(people, answers, strict=True):
        await surveys.answer(session, edition=edition, user=person, data=data)
    for _booth, recruiter in booths:
        await surveys.answer(
            session,
            edition=edition,
            user=recruiter,
            data=surveys.SurveyInput(overall=4, comment="Rien à signaler"),
        )

    candidates, recruiters = await surveys.results(session, edition.id)
    assert candidates.role == Role.CANDIDATE and recruiters.role == Role.RECRUITER
    assert candidates.answers == Figure(len(people), True)
    overall, ease, contacts, organisation = candidates.questions
    counts = [sum(1 for a in answers if a.overall == s) for s in range(1, 6)]
    skipped = sum(1 for a in answers if a.overall is None)
    assert counts == [5, 5, 5, 5, 5] and skipped == 5
    assert overall.listing.cells == tuple(Figure(n, True) for n in [*counts, skipped])
    assert overall.listing.total == Figure(30, True)
    assert overall.mean == 3.0  # every count shown
    # ease: 0, 0, 26, 0, 4 and no skip: the zeros and the 4 are hidden, 26 is shown (the hidden
    # ones can trade a person: the 4 with any zero).
    assert [sum(1 for a in answers if a.ease == s) for s in range(1, 6)] == [0, 0, 26, 0, 4]
    assert ease.listing.cells == (*hidden(0, 0), Figure(26, True), *hidden(0, 4, 0))
    assert ease.mean is None  # a count hidden
    # Nobody scored contacts or organisation: everyone skipped them, the only count shown.
    for question in (contacts, organisation):
        assert question.listing.cells == (*hidden(0, 0, 0, 0, 0), Figure(30, False))
        assert question.listing.total == Figure(30, True)
        assert question.mean is None
    assert candidates.recommend.cells == (Figure(20, True), Figure(5, True), Figure(5, True))
    assert candidates.recommend_rate == 80  # 20 of 25
    assert candidates.comments == surveys.Comments(("accueil chaleureux", "Bien", "Trop court"), 3)

    # Recruiters: three answers, every figure hidden, no comment shown.
    assert recruiters.answers == Figure(3, False)
    assert recruiters.questions[0].listing.cells == (*hidden(0, 0, 0, 3, 0), Figure(0, False))
    assert recruiters.questions[0].listing.total == Figure(3, False)
    assert recruiters.questions[0].mean is None
    assert recruiters.recommend_rate is None
    assert recruiters.comments is None


async def test_two_workers_at_once_send_the_invitation_once(
    app, session: AsyncSession, fetch
) -> None:  # type: ignore[no-untyped-def]
    edition = await edition_of(session)
    people = await took_part(session, edition, 2)
    await db.commit(session)
    clock.set_now(END + timedelta(minutes=1))
    rounds = await asyncio.gather(worker.survey_round(app.state), worker.survey_round(app.state))
    assert sorted(rounds) == [0, 1]
    assert await worker.survey_round(app.state) == 0
    mails = await fetch.scalars(
        select(OutboxMail.to_addr).where(OutboxMail.body.contains("/survey"))
    )
    assert sorted(mails) == sorted(p.email for p in people)


async def test_beyond_the_comments_shown_a_stable_random_sample(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(surveys, "COMMENTS_SHOWN", 4)
    edition = await edition_of(session)
    people = await took_part(session, edition, 6)
    clock.set_now(AFTER)
    written = [f"Avis {n}" for n in range(6)]
    for person, comment in zip(people, written, strict=True):
        data = surveys.SurveyInput(comment=comment)
        await surveys.answer(session, edition=edition, user=person, data=data)
    first, _ = await surveys.results(session, edition.id)
    assert first.comments is not None and first.comments.total == 6
    shown = first.comments.shown
    assert len(set(shown)) == 4 and set(shown) <= set(written) and list(shown) == sorted(shown)
    again, _ = await surveys.results(session, edition.id)
    assert again.comments == first.comments
