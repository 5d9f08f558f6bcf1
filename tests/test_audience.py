"""A webconference's audience (fair.webconferences.audience) on SQLite and PostgreSQL:
questions, upvotes, moderation, what each person sees, attendance and its statistics."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import chat, clock, db, webconferences
from fair.enums import QuestionStatus, Role, WebconferenceAccess, WebconferenceStatus
from fair.models import User, Webconference, WebconferenceAttendance
from fair.webconferences import audience
from tests import factories as f
from tests.factories import NOON, talk
from tests.pages import person, post, text_of
from tests.refusals import code_of


async def live_talk(
    session: AsyncSession, *, access: WebconferenceAccess = WebconferenceAccess.OPEN
) -> tuple[Webconference, User, User]:
    """A talk started by its presenter (an organiser); a second organiser of the edition who
    does not present."""
    presenter = await f.user(session, Role.ORGANISER, can_log_in=False)
    edition = await f.edition(session, by=presenter)
    webconference = await webconferences.schedule(
        session, by=presenter, edition=edition, data=talk([presenter], access=access)
    )
    clock.set_now(webconference.starts_at + timedelta(minutes=1))
    await webconferences.start(session, by=presenter, webconference=webconference)
    outsider = await f.user(session, Role.RECRUITER, can_log_in=False)
    return webconference, presenter, outsider


async def test_questions_votes_and_moderation(session: AsyncSession) -> None:
    webconference, presenter, recruiter = await live_talk(session)
    alice, bruno, chloe = await f.candidate_accounts(session, 3)
    wid = webconference.id

    first = await audience.ask(session, user=alice, webconference_id=wid, body="  Télétravail ?  ")
    second = await audience.ask(session, user=bruno, webconference_id=wid, body="Salaire ?")
    assert (first.body, first.status, first.votes) == ("Télétravail ?", "open", 0)
    assert await code_of(audience.ask(session, user=alice, webconference_id=wid, body=" ")) == (
        "qa.invalid"
    )

    # Votes: once each, taken back, never one's own; the count follows the votes.
    assert (await audience.vote(session, user=chloe, question_id=second.id)).votes == 1
    assert (await audience.vote(session, user=chloe, question_id=second.id)).votes == 1
    assert (await audience.vote(session, user=alice, question_id=second.id)).votes == 2
    taken = await audience.vote(session, user=alice, question_id=second.id, up=False)
    assert taken.votes == 1
    assert await code_of(audience.vote(session, user=bruno, question_id=second.id)) == (
        "question.own"
    )

    # Open questions by votes, then answered ones; viewers see first names only.
    views = await audience.questions(session, webconference=webconference, user=chloe)
    assert [(v.id, v.votes, v.status, v.voted, v.mine) for v in views] == [
        (second.id, 1, QuestionStatus.OPEN, True, False),
        (first.id, 0, QuestionStatus.OPEN, False, False),
    ]
    assert views[0].author == chat.first_name(bruno.name)

    # Moderators: the presenter (and organisers); a viewer or another recruiter may not.
    assert await code_of(
        audience.moderate(session, by=alice, question_id=first.id, status=QuestionStatus.HIDDEN)
    ) == ("question.forbidden")
    assert await code_of(
        audience.moderate(session, by=recruiter, question_id=first.id, status=QuestionStatus.HIDDEN)
    ) == ("question.forbidden")
    await audience.moderate(
        session, by=presenter, question_id=second.id, status=QuestionStatus.ANSWERED
    )
    await audience.moderate(
        session, by=presenter, question_id=first.id, status=QuestionStatus.HIDDEN
    )
    assert await code_of(audience.vote(session, user=chloe, question_id=second.id)) == (
        "question.closed"
    )
    seen = await audience.questions(session, webconference=webconference, user=chloe)
    assert [(v.id, v.status) for v in seen] == [(second.id, QuestionStatus.ANSWERED)]
    moderated = await audience.questions(session, webconference=webconference, user=presenter)
    assert [(v.id, v.status, v.author) for v in moderated] == [
        (second.id, QuestionStatus.ANSWERED, bruno.name),
        (first.id, QuestionStatus.HIDDEN, alice.name),
    ]
    anonymous = await audience.questions(session, webconference=webconference, user=None)
    assert [v.id for v in anonymous] == [second.id]


async def test_asking_needs_a_live_talk_and_a_seat_when_registered(
    session: AsyncSession,
) -> None:
    webconference, presenter, _ = await live_talk(session, access=WebconferenceAccess.REGISTERED)
    seated, unseated = await f.candidate_accounts(session, 2)
    await webconferences.register(session, candidate=seated, webconference=webconference)
    wid = webconference.id
    await audience.ask(session, user=seated, webconference_id=wid, body="Question")
    assert await code_of(audience.ask(session, user=unseated, webconference_id=wid, body="Q")) == (
        "stage.not_registered"
    )
    await webconferences.end(session, by=presenter, webconference=webconference)
    assert await code_of(audience.ask(session, user=seated, webconference_id=wid, body="Q")) == (
        "stage.ended"
    )


async def test_questions_share_the_chat_rate_limit(session: AsyncSession) -> None:
    webconference, _, _ = await live_talk(session)
    (alice,) = await f.candidate_accounts(session, 1)
    window, limit = chat.RATE_LIMITS[0]
    for n in range(limit):
        await audience.ask(session, user=alice, webconference_id=webconference.id, body=f"Q{n}")
    code = await code_of(
        audience.ask(session, user=alice, webconference_id=webconference.id, body="encore")
    )
    assert code == "chat.rate_limited"
    clock.set_now(clock.now() + window)
    await audience.ask(session, user=alice, webconference_id=webconference.id, body="plus tard")


async def test_attendance_per_socket_and_statistics(session: AsyncSession) -> None:
    webconference, presenter, _ = await live_talk(session)
    alice, bruno, chloe = await f.candidate_accounts(session, 3)
    await webconferences.register(session, candidate=alice, webconference=webconference)
    await webconferences.register(session, candidate=chloe, webconference=webconference)
    wid, start = webconference.id, clock.now()

    row = await audience.arrive(session, user=alice, webconference_id=wid, connection_id="a1")
    again = await audience.arrive(session, user=alice, webconference_id=wid, connection_id="a1")
    assert again.id == row.id  # watching again on the same socket keeps the row
    await audience.arrive(session, user=bruno, webconference_id=wid, connection_id="b1")
    clock.set_now(start + timedelta(minutes=10))
    assert await audience.depart(session, webconference_id=wid, connection_id="a1") == 1
    assert await audience.depart(session, webconference_id=wid, connection_id="a1") == 0
    # Alice comes back on another socket for 5 minutes; Bruno's socket never says goodbye.
    await audience.arrive(session, user=alice, webconference_id=wid, connection_id="a2")
    clock.set_now(start + timedelta(minutes=15))
    await audience.depart(session, webconference_id=wid, connection_id="a2")
    clock.set_now(start + timedelta(minutes=20))
    await webconferences.end(session, by=presenter, webconference=webconference)
    assert webconference.status == WebconferenceStatus.ENDED

    rows = (
        await session.scalars(
            select(WebconferenceAttendance)
            .where(WebconferenceAttendance.webconference_id == wid)
            .order_by(WebconferenceAttendance.id)
        )
    ).all()
    assert [(r.user_id, r.connection_id, r.left_at - r.joined_at) for r in rows] == [
        (alice.id, "a1", timedelta(minutes=10)),
        (bruno.id, "b1", timedelta(minutes=20)),
        (alice.id, "a2", timedelta(minutes=5)),
    ]
    clock.set_now(start + timedelta(hours=3))  # later readings do not grow
    assert await audience.statistics(session, webconference) == audience.Statistics(
        attendees=2,
        registered=2,
        registered_attended=1,
        total_seconds=35 * 60,
        average_seconds=35 * 60 // 2,
    )


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


async def test_the_programme_page_shows_attendance_and_ends_a_live_talk(
    session: AsyncSession,
    make_client,  # type: ignore[no-untyped-def]
    fetch,  # type: ignore[no-untyped-def]
) -> None:
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    webconference = await webconferences.schedule(
        session, by=organiser, edition=edition, data=talk([organiser])
    )
    start = webconference.starts_at + timedelta(minutes=1)
    clock.set_now(start)
    await webconferences.start(session, by=organiser, webconference=webconference)
    alice, bruno = await f.candidate_accounts(session, 2)
    await webconferences.register(session, candidate=alice, webconference=webconference)
    for viewer, socket in ((alice, "a"), (bruno, "b")):
        await audience.arrive(
            session, user=viewer, webconference_id=webconference.id, connection_id=socket
        )
    clock.set_now(start + timedelta(minutes=10))
    await audience.depart(session, webconference_id=webconference.id, connection_id="a")
    clock.set_now(start + timedelta(minutes=20))
    await db.commit(session)

    org = await person(make_client, organiser)
    url = f"/organiser/editions/{edition.id}/webconferences"
    row = re.search(
        rf'<tr data-webconference-id="{webconference.id}">.*?</tr>', (await org.get(url)).text, re.S
    )
    assert row is not None
    assert "2 viewers, 15 min on average 1 of 1 registered came" in text_of(row.group(0))
    stage_link = f'href="/webconferences/{webconference.id}/stage"'
    assert stage_link in row.group(0)  # the organiser presents it

    ended = await post(org, url, f"/webconferences/{webconference.id}/end")
    assert (ended.status_code, ended.headers["location"]) == (303, f"{url}?done=ended#programme")
    stored = await fetch.get(Webconference, webconference.id)
    assert stored.status == WebconferenceStatus.ENDED
    rows = await fetch.scalars(
        select(WebconferenceAttendance).where(WebconferenceAttendance.left_at.is_(None))
    )
    assert list(rows) == []
    page = text_of((await org.get(f"{url}?done=ended")).text)
    assert "The webconference has ended: its stage is closed." in page
    assert "2 viewers, 15 min on average" in page
    assert stage_link not in page  # over: no stage to go to
