"""Booth Q&A, the chat rate limit, mutes, reports and moderation (fair.chat, fair.moderation,
fair.web.chat, the socket's qa.* and chat.report), on SQLite and PostgreSQL, no mocks."""

from __future__ import annotations

import asyncio
import html
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    channels,
    chat,
    clock,
    conversations,
    db,
    editions,
    employers,
    events,
    moderation,
    queues,
)
from fair import settings as fair_settings
from fair.enums import MuteLength, ReportKind, Role
from fair.errors import FairError
from fair.models import Booth, ChatMute, ChatReport, Conversation, Edition, QaMessage, User
from tests import factories as f
from tests.conftest import csrf, login
from tests.factories import NOON
from tests.live_server import Server
from tests.statements import cold

QA = ReportKind.QA
TALK = ReportKind.CONVERSATION


@dataclass
class World:
    edition: Edition
    organiser: User
    booth: Booth
    recruiter: User
    camille: User  # a candidate, "Camille Martin"
    lea: User  # another candidate, "Léa Dubois"


@pytest_asyncio.fixture
async def world(conf, session: AsyncSession) -> World:  # type: ignore[no-untyped-def]
    """Noon (Paris) on a live day of a published edition with one approved booth."""
    clock.set_now(NOON)  # conf unfreezes the clock afterwards
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth, recruiter = await f.booth(session, edition_=edition)
    camille = await f.candidate(session, name="Camille Martin", email="camille@example.fr")
    lea = await f.candidate(session, name="Léa Dubois")
    return World(edition, organiser, booth, recruiter, camille, lea)


def later(seconds: float) -> None:
    clock.set_now(clock.now() + timedelta(seconds=seconds))


async def refused(awaitable) -> FairError:  # type: ignore[no-untyped-def]
    with pytest.raises(FairError) as raised:
        await awaitable
    return raised.value


async def code_of(awaitable) -> str:  # type: ignore[no-untyped-def]
    return (await refused(awaitable)).code


async def talk(session: AsyncSession, w: World, candidate: User) -> Conversation:
    """A conversation between the booth's recruiter and `candidate`, through the queue."""
    await queues.join(session, candidate=candidate, booth=w.booth)
    entry = await queues.take_next(session, recruiter=w.recruiter, booth=w.booth)
    assert entry is not None and entry.candidate_id == candidate.id
    return await conversations.answer(session, candidate=candidate, entry=entry)


# The Q&A ---------------------------------------------------------------------------------------


async def test_ask_and_answer_are_stored_and_shown_by_first_name(
    session: AsyncSession, world: World
) -> None:
    w = world
    events.take(session)
    question = await chat.ask(session, candidate=w.camille, booth=w.booth, body="  Télétravail ? ")
    later(60)
    reply = await chat.answer(session, recruiter=w.recruiter, question=question, body="Oui, 2 j.")
    channel = channels.booth(w.booth.id)
    assert [(e.channel, e.event, e.payload) for e in events.take(session)] == [
        (
            channel,
            "qa.posted",
            {"booth_id": w.booth.id, "question_id": question.id, "message_id": question.id},
        ),
        (
            channel,
            "qa.posted",
            {"booth_id": w.booth.id, "question_id": question.id, "message_id": reply.id},
        ),
    ]
    stored = await session.execute(
        select(QaMessage.question_id, QaMessage.author_id, QaMessage.body).order_by(QaMessage.id)
    )
    assert stored.all() == [
        (None, w.camille.id, "Télétravail ?"),
        (question.id, w.recruiter.id, "Oui, 2 j."),
    ]
    employer = w.booth.employer.name
    assert await chat.booth_threads(session, w.booth) == [
        chat.QaView(
            id=question.id,
            booth_id=w.booth.id,
            question_id=None,
            author_id=w.camille.id,
            author="Camille",
            employer=employer,
            body="Télétravail ?",
            created_at=NOON,
            removed=False,
            answers=(
                chat.QaView(
                    id=reply.id,
                    booth_id=w.booth.id,
                    question_id=question.id,
                    author_id=w.recruiter.id,
                    author=employer,
                    employer=employer,
                    body="Oui, 2 j.",
                    created_at=NOON + timedelta(seconds=60),
                    removed=False,
                ),
            ),
        )
    ]


async def test_body_is_stripped_and_holds_1_to_1000_characters(
    session: AsyncSession, world: World
) -> None:
    w = world
    for body in ("", "   \n "):
        error = await refused(chat.ask(session, candidate=w.camille, booth=w.booth, body=body))
        assert (error.code, error.fields) == (
            "qa.invalid",
            {"body": "Write your message before sending it."},
        )
    error = await refused(chat.ask(session, candidate=w.camille, booth=w.booth, body="x" * 1001))
    assert (error.code, error.params) == ("qa.invalid", {"length": 1001})
    question = await chat.ask(session, candidate=w.camille, booth=w.booth, body=" " + "é" * 1000)
    assert question.body == "é" * 1000


async def test_who_may_ask_and_answer(session: AsyncSession, world: World) -> None:
    w = world
    other_booth, other_recruiter = await f.booth(session, edition_=w.edition)
    question = await chat.ask(session, candidate=w.camille, booth=w.booth, body="Horaires ?")
    colleague = await f.colleague(session, booth_=w.booth, owner=w.recruiter)

    assert await code_of(chat.ask(session, candidate=w.recruiter, booth=w.booth, body="?")) == (
        "qa.forbidden"
    )
    for outsider in (other_recruiter, w.lea, w.organiser):
        code = await code_of(
            chat.answer(session, recruiter=outsider, question=question, body="Non")
        )
        assert code == "fair.forbidden", outsider.role
    reply = await chat.answer(session, recruiter=colleague, question=question, body="9h-17h")
    code = await code_of(chat.answer(session, recruiter=colleague, question=reply, body="Re"))
    assert code == "qa.not_found"
    assert [q.id for q in await chat.booth_threads(session, other_booth)] == []


async def test_closed_booths_and_editions_take_no_questions(
    session: AsyncSession, world: World
) -> None:
    w = world
    pending, _ = await f.booth(session, edition_=w.edition, approve=False)
    code = await code_of(chat.ask(session, candidate=w.camille, booth=pending, body="?"))
    assert code == "qa.closed"
    # A closed edition still takes questions; an archived one no longer does.
    question = await chat.ask(session, candidate=w.camille, booth=w.booth, body="Encore là ?")
    clock.set_now(NOON + timedelta(days=30))
    assert editions.status_at(w.edition).value == "closed"
    await chat.ask(session, candidate=w.lea, booth=w.booth, body="Et après ?")
    await editions.archive(session, w.edition)
    code = await code_of(chat.ask(session, candidate=w.camille, booth=w.booth, body="?"))
    assert code == "qa.closed"
    code = await code_of(chat.answer(session, recruiter=w.recruiter, question=question, body="Oui"))
    assert code == "qa.closed"


# The rate limit --------------------------------------------------------------------------------


async def test_rate_limit_counts_questions_and_conversation_messages(
    session: AsyncSession, world: World
) -> None:
    w = world
    conversation = await talk(session, w, w.camille)
    for n in range(7):
        await chat.ask(session, candidate=w.camille, booth=w.booth, body=f"Question {n}")
        later(2)
    await conversations.send_message(
        session, user=w.camille, conversation=conversation, body="Merci"
    )
    later(2)  # 8 messages in the last 16 s: the 9th must wait until the first is 30 s old
    error = await refused(chat.ask(session, candidate=w.camille, booth=w.booth, body="Encore"))
    assert (error.code, error.status, error.params) == ("chat.rate_limited", 429, {"seconds": 14})
    assert (
        error.message == "You are sending messages too quickly. Try again in %(seconds)s seconds."
    )
    code = await code_of(
        conversations.send_message(
            session, user=w.camille, conversation=conversation, body="Allô ?"
        )
    )
    assert code == "chat.rate_limited"
    # Other people are not slowed down.
    await chat.ask(session, candidate=w.lea, booth=w.booth, body="Moi aussi")
    later(13)
    assert await code_of(chat.ask(session, candidate=w.camille, booth=w.booth, body="Encore")) == (
        "chat.rate_limited"
    )
    later(1)
    await chat.ask(session, candidate=w.camille, booth=w.booth, body="Encore")
    code = await code_of(chat.ask(session, candidate=w.camille, booth=w.booth, body="Et encore"))
    assert code == "chat.rate_limited"


async def test_rate_limit_per_hour(session: AsyncSession, world: World) -> None:
    w = world
    (_window, per_hour) = chat.RATE_LIMITS[1]
    for n in range(per_hour):
        await chat.ask(session, candidate=w.camille, booth=w.booth, body=f"Question {n}")
        later(17)  # two messages in any 30 s: only the hourly limit can be reached
    error = await refused(chat.ask(session, candidate=w.camille, booth=w.booth, body="Encore"))
    # The first message was sent 200 × 17 s = 3,400 s ago: one more fits in 200 s.
    assert (error.code, error.params) == ("chat.rate_limited", {"minutes": 4})
    later(199)
    assert await code_of(chat.ask(session, candidate=w.camille, booth=w.booth, body="Encore")) == (
        "chat.rate_limited"
    )
    later(1)
    await chat.ask(session, candidate=w.camille, booth=w.booth, body="Encore")


async def ask_in_own_session(app, candidate: User, booth_id: int) -> str:  # type: ignore[no-untyped-def]
    async with app.state.write_sessions() as session:
        booth = await employers.get_booth(session, booth_id)
        try:
            await chat.ask(session, candidate=candidate, booth=booth, body="Vite !")
        except FairError as error:
            await session.rollback()
            return error.code
        await db.commit(session)
        return "ok"


async def test_rate_limit_holds_under_concurrent_posts(app, session, fetch, world) -> None:  # type: ignore[no-untyped-def]
    w = world
    for n in range(6):
        await chat.ask(session, candidate=w.camille, booth=w.booth, body=f"Question {n}")
    await db.commit(session)
    results = await asyncio.gather(
        *(ask_in_own_session(app, w.camille, w.booth.id) for _ in range(6))
    )
    assert sorted(results) == ["chat.rate_limited"] * 4 + ["ok"] * 2
    stored = await fetch.scalars(select(QaMessage.id).where(QaMessage.author_id == w.camille.id))
    assert len(stored) == 8


# Mutes -----------------------------------------------------------------------------------------


async def test_mute_blocks_qa_and_conversations_and_unmute_restores(
    session: AsyncSession, world: World
) -> None:
    w = world
    conversation = await talk(session, w, w.camille)
    question = await chat.ask(session, candidate=w.lea, booth=w.booth, body="Salaire ?")
    await moderation.mute(
        session,
        by=w.organiser,
        edition=w.edition,
        user_id=w.camille.id,
        length=MuteLength.MINUTES_15,
        reason="Insultes",
    )
    error = await refused(chat.ask(session, candidate=w.camille, booth=w.booth, body="Hé"))
    assert (error.code, error.status, error.params) == (
        "chat.muted",
        403,
        {"until": "10/03/2026 12:15"},  # the day and time in the current language (French)
    )
    code = await code_of(
        conversations.send_message(session, user=w.camille, conversation=conversation, body="Hé")
    )
    assert code == "chat.muted"
    # The recruiter still writes in the conversation; others still ask.
    await conversations.send_message(
        session, user=w.recruiter, conversation=conversation, body="Bonjour"
    )
    await chat.ask(session, candidate=w.lea, booth=w.booth, body="Contrat ?")
    assert await moderation.active_mutes(session, by=w.organiser, edition=w.edition) == [
        moderation.MuteView(
            w.camille.id, "Camille Martin", NOON + timedelta(minutes=15), "Insultes", NOON
        )
    ]

    later(15 * 60)  # the mute ran out
    await chat.ask(session, candidate=w.camille, booth=w.booth, body="Pardon")
    assert await moderation.active_mutes(session, by=w.organiser, edition=w.edition) == []

    await moderation.mute(
        session,
        by=w.organiser,
        edition=w.edition,
        user_id=w.recruiter.id,
        length=MuteLength.UNTIL_UNMUTED,
    )
    later(7 * 24 * 3600)
    error = await refused(
        chat.answer(session, recruiter=w.recruiter, question=question, body="Selon profil")
    )
    assert (error.code, error.params) == ("chat.muted", {})
    code = await code_of(
        conversations.send_message(
            session, user=w.recruiter, conversation=conversation, body="Là ?"
        )
    )
    assert code == "chat.muted"
    assert await moderation.unmute(
        session, by=w.organiser, edition=w.edition, user_id=w.recruiter.id
    )
    assert not await moderation.unmute(
        session, by=w.organiser, edition=w.edition, user_id=w.recruiter.id
    )
    await chat.answer(session, recruiter=w.recruiter, question=question, body="Selon profil")
    rows = await session.execute(
        select(ChatMute.user_id, ChatMute.muted_by_id, ChatMute.lifted_by_id).order_by(ChatMute.id)
    )
    assert rows.all() == [
        (w.camille.id, w.organiser.id, None),
        (w.recruiter.id, w.organiser.id, w.organiser.id),
    ]


async def test_mutes_belong_to_one_edition_and_its_moderators(
    session: AsyncSession, world: World
) -> None:
    w = world
    other_organiser = await f.user(session, Role.ORGANISER)
    other = await f.edition(session, by=other_organiser)
    other_booth, _ = await f.booth(session, edition_=other)
    code = await code_of(
        moderation.mute(
            session,
            by=other_organiser,
            edition=w.edition,
            user_id=w.camille.id,
            length=MuteLength.DAY,
        )
    )
    assert code == "fair.forbidden"
    for outsider in (other_organiser, w.recruiter, w.camille):
        assert await code_of(moderation.active_mutes(session, by=outsider, edition=w.edition)) == (
            "fair.forbidden"
        )
    await moderation.mute(
        session, by=other_organiser, edition=other, user_id=w.camille.id, length=MuteLength.DAY
    )
    # Muted in the other edition only.
    await chat.ask(session, candidate=w.camille, booth=w.booth, body="Ici ça va")
    assert await code_of(
        chat.ask(session, candidate=w.camille, booth=other_booth, body="Là non")
    ) == ("chat.muted")
    admin = await f.user(session, Role.ADMIN)
    for moderator in (w.organiser, admin):
        code = await code_of(
            moderation.mute(
                session, by=admin, edition=w.edition, user_id=moderator.id, length=MuteLength.DAY
            )
        )
        assert code == "chat.cannot_mute"


# Removal and reports ---------------------------------------------------------------------------


async def test_removal_is_soft_and_shown_as_a_placeholder(
    session: AsyncSession, world: World
) -> None:
    w = world
    question = await chat.ask(session, candidate=w.camille, booth=w.booth, body="Spam spam")
    kept = await chat.ask(session, candidate=w.lea, booth=w.booth, body="Vraie question")
    other_organiser = await f.user(session, Role.ORGANISER)
    await f.edition(session, by=other_organiser)
    code = await code_of(
        moderation.remove(session, by=other_organiser, kind=QA, message_id=question.id)
    )
    assert code == "fair.forbidden"
    assert await code_of(
        moderation.remove(session, by=w.recruiter, kind=QA, message_id=question.id)
    ) == ("fair.forbidden")
    events.take(session)
    later(5)
    assert await moderation.remove(session, by=w.organiser, kind=QA, message_id=question.id)
    assert not await moderation.remove(session, by=w.organiser, kind=QA, message_id=question.id)
    assert [(e.event, e.payload) for e in events.take(session)] == [
        (
            "qa.deleted",
            {"booth_id": w.booth.id, "question_id": question.id, "message_id": question.id},
        )
    ]
    row = await session.get(QaMessage, question.id)
    assert row is not None
    assert (row.body, row.deleted_at, row.deleted_by_id) == (
        "Spam spam",
        NOON + timedelta(seconds=5),
        w.organiser.id,
    )
    public = await chat.booth_threads(session, w.booth)
    assert [(q.id, q.author, q.body, q.removed) for q in public] == [
        (kept.id, "Léa", "Vraie question", False),
        (question.id, "", "", True),
    ]
    moderated = await moderation.edition_threads(session, by=w.organiser, edition=w.edition)
    assert [(q.author, q.body, q.removed) for q in moderated] == [
        ("Léa Dubois", "Vraie question", False),
        ("Camille Martin", "Spam spam", True),
    ]
    code = await code_of(chat.answer(session, recruiter=w.recruiter, question=question, body="Non"))
    assert code == "qa.removed"


async def test_reports_once_per_user_and_message(session: AsyncSession, world: World) -> None:
    w = world
    question = await chat.ask(session, candidate=w.camille, booth=w.booth, body="Arnaque !")
    code = await code_of(
        moderation.report(session, user=w.camille, kind=QA, message_id=question.id)
    )
    assert code == "chat.own_message"
    await moderation.report(
        session, user=w.lea, kind=QA, message_id=question.id, reason=" Propos faux "
    )
    code = await code_of(moderation.report(session, user=w.lea, kind=QA, message_id=question.id))
    assert code == "chat.already_reported"
    later(10)
    await moderation.report(session, user=w.recruiter, kind=QA, message_id=question.id)
    error = await refused(
        moderation.report(
            session, user=w.organiser, kind=QA, message_id=question.id, reason="x" * 501
        )
    )
    assert (error.code, list(error.fields)) == ("chat.invalid", ["reason"])
    assert await moderation.reported_by(session, user=w.lea, ids=[question.id, 999]) == {
        question.id
    }
    assert await moderation.open_reports(session, by=w.organiser, edition=w.edition) == [
        moderation.Reported(
            moderation.ReportedMessage(
                QA,
                question.id,
                w.camille.id,
                "Camille Martin",
                w.booth.employer.name,
                "Arnaque !",
                NOON,
                False,
            ),
            (
                moderation.ReportLine("Léa Dubois", "Propos faux", NOON),
                moderation.ReportLine(w.recruiter.name, "", NOON + timedelta(seconds=10)),
            ),
        )
    ]
    assert await code_of(moderation.report(session, user=w.lea, kind=QA, message_id=9999)) == (
        "qa.not_found"
    )


async def test_conversation_reports_show_only_the_reported_message(
    session: AsyncSession, world: World
) -> None:
    w = world
    conversation = await talk(session, w, w.camille)
    await conversations.send_message(
        session, user=w.camille, conversation=conversation, body="Bonjour"
    )
    rude = await conversations.send_message(
        session, user=w.recruiter, conversation=conversation, body="Message déplacé"
    )
    await conversations.send_message(
        session, user=w.camille, conversation=conversation, body="Pardon ?"
    )
    code = await code_of(moderation.report(session, user=w.lea, kind=TALK, message_id=rude.id))
    assert code == "chat.not_found"
    await moderation.report(
        session, user=w.camille, kind=TALK, message_id=rude.id, reason="Déplacé"
    )
    reports = await moderation.open_reports(session, by=w.organiser, edition=w.edition)
    assert [(r.message.kind, r.message.id, r.message.author, r.message.body) for r in reports] == [
        (TALK, rude.id, w.recruiter.name, "Message déplacé")
    ]
    assert [(line.reporter, line.reason) for line in reports[0].reports] == [
        ("Camille Martin", "Déplacé")
    ]

    # Removed and the recruiter muted for an hour: both participants are told, by ids.
    events.take(session)
    settled = await moderation.resolve(
        session,
        by=w.organiser,
        kind=TALK,
        message_id=rude.id,
        remove_message=True,
        mute_length=MuteLength.HOUR,
    )
    assert settled == 1
    payload = {"conversation_id": conversation.id, "message_id": rude.id}
    queued = [(e.channel, e.event, e.payload) for e in events.take(session)]
    assert sorted(queued) == sorted(
        (channels.user(u.id), "conversation.message_deleted", payload)
        for u in (w.camille, w.recruiter)
    )
    assert rude.deleted_by_id == w.organiser.id
    assert await moderation.open_reports(session, by=w.organiser, edition=w.edition) == []
    mute = await chat.active_mute(session, user_id=w.recruiter.id, edition_id=w.edition.id)
    assert mute is not None and mute.until == NOON + timedelta(hours=1)
    rows = await session.execute(select(ChatReport.resolution, ChatReport.resolved_by_id))
    assert rows.all() == [("removed", w.organiser.id)]
    code = await code_of(moderation.report(session, user=w.camille, kind=TALK, message_id=rude.id))
    assert code == "chat.removed"


async def test_dismissing_and_other_editions_organisers(
    session: AsyncSession, world: World
) -> None:
    w = world
    question = await chat.ask(session, candidate=w.camille, booth=w.booth, body="Question ?")
    await moderation.report(session, user=w.lea, kind=QA, message_id=question.id)
    other_organiser = await f.user(session, Role.ORGANISER)
    await f.edition(session, by=other_organiser)
    for call in (
        moderation.open_reports(session, by=other_organiser, edition=w.edition),
        moderation.resolve(
            session, by=other_organiser, kind=QA, message_id=question.id, remove_message=True
        ),
        moderation.edition_threads(session, by=other_organiser, edition=w.edition),
    ):
        assert await code_of(call) == "fair.forbidden"
    assert (
        await moderation.resolve(
            session, by=w.organiser, kind=QA, message_id=question.id, remove_message=False
        )
        == 1
    )
    assert await moderation.open_reports(session, by=w.organiser, edition=w.edition) == []
    assert question.deleted_at is None
    assert await chat.active_mute(session, user_id=w.camille.id, edition_id=w.edition.id) is None
    rows = await session.execute(select(ChatReport.resolution))
    assert rows.scalars().all() == ["dismissed"]


# Pages -----------------------------------------------------------------------------------------


def text_of(markup: str) -> str:
    """The page's visible text, tags removed, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))


def qa_section(markup: str) -> str:
    start = markup.index('<section class="qa"')
    return markup[start : markup.index("</section>", start)]


async def client_of(make_client, user: User | None) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    client = make_client()
    client.cookies.set("lang", "en")
    if user is not None:
        await login(client, user.email, f.PASSWORD)
    return client


async def test_question_through_the_page_is_escaped_and_private(
    session: AsyncSession, world: World, make_client
) -> None:  # type: ignore[no-untyped-def]
    w = world
    await db.commit(session)
    page = f"/e/{w.edition.slug}/booths/{w.booth.id}"
    camille = await client_of(make_client, w.camille)
    token = await csrf(camille, page)
    attack = '<script>alert("x")</script> & <b>bold</b>'
    response = await camille.post(
        f"{page}/questions", data={"csrf_token": token, "booth_id": w.booth.id, "body": attack}
    )
    assert response.status_code == 303, response.text
    question = await session.scalar(select(QaMessage).order_by(QaMessage.id.desc()))
    assert question is not None and question.body == attack
    assert response.headers["location"] == f"{page}#qa-{question.id}"

    anonymous = await client_of(make_client, None)
    markup = (await anonymous.get(page)).text
    section = qa_section(markup)
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in section
    )
    assert "<script>alert" not in markup and "<b>bold" not in markup
    assert "Camille" in section
    for private in ("Martin", "camille@example.fr"):
        assert private not in markup
    assert 'data-command="qa.ask"' not in section and "Log in to ask a question" in section
    assert f'href="/login?next=%2Fe%2F{w.edition.slug}%2Fbooths%2F{w.booth.id}"' in section
    assert (
        f'id="booth-qa" data-live-panel="qa" data-follow="booth:{w.booth.id}" '
        'data-refresh-on="qa.posted qa.deleted"' in section
    )


async def test_refused_question_is_shown_again_with_its_error(
    session: AsyncSession, world: World, make_client
) -> None:  # type: ignore[no-untyped-def]
    w = world
    await db.commit(session)
    page = f"/e/{w.edition.slug}/booths/{w.booth.id}"
    camille = await client_of(make_client, w.camille)
    token = await csrf(camille, page)
    response = await camille.post(f"{page}/questions", data={"csrf_token": token, "body": "  "})
    assert response.status_code == 422
    section = qa_section(response.text)
    assert (
        '<p class="field-error" id="qa-ask-error" data-form-error role="alert">'
        "Write your message before sending it.</p>" in section
    )
    assert 'aria-invalid="true"' in section
    too_long = "<i>" + "x" * 1000
    response = await camille.post(f"{page}/questions", data={"csrf_token": token, "body": too_long})
    assert response.status_code == 422
    section = qa_section(response.text)
    assert "Your message has 1003 characters: 1,000 at most." in section
    assert f">&lt;i&gt;{'x' * 1000}</textarea>" in section  # kept, escaped
    assert await session.scalar(select(QaMessage.id)) is None

    # Too fast: 429, with when to retry.
    for n in range(8):
        response = await camille.post(
            f"{page}/questions", data={"csrf_token": token, "body": f"Q{n}"}
        )
        assert response.status_code == 303
    response = await camille.post(f"{page}/questions", data={"csrf_token": token, "body": "Q9"})
    assert response.status_code == 429
    assert "Try again in 30 seconds." in text_of(qa_section(response.text))


async def test_answer_report_and_moderation_pages(
    session: AsyncSession, world: World, make_client, fetch
) -> None:  # type: ignore[no-untyped-def]
    w = world
    question = await chat.ask(session, candidate=w.camille, booth=w.booth, body="Du télétravail ?")
    _other_booth, stranger = await f.booth(session, edition_=w.edition)
    await db.commit(session)
    page = f"/e/{w.edition.slug}/booths/{w.booth.id}"

    recruiter = await client_of(make_client, w.recruiter)
    token = await csrf(recruiter, page)
    assert 'data-command="qa.answer"' in (await recruiter.get(page)).text
    response = await recruiter.post(
        f"{page}/answers",
        data={"csrf_token": token, "question_id": question.id, "body": "Deux jours par semaine"},
    )
    assert response.status_code == 303
    other = await client_of(make_client, stranger)
    token = await csrf(other, page)
    assert 'data-command="qa.answer"' not in (await other.get(page)).text
    response = await other.post(
        f"{page}/answers", data={"csrf_token": token, "question_id": question.id, "body": "Moi"}
    )
    assert response.status_code == 403

    lea = await client_of(make_client, w.lea)
    token = await csrf(lea, page)
    report = {"csrf_token": token, "kind": "qa", "message_id": question.id, "reason": "Hors sujet"}
    response = await lea.post(f"{page}/reports", data=report)
    assert (response.status_code, response.headers["location"]) == (303, f"{page}#qa-{question.id}")
    assert "You reported this message to the moderators." in (await lea.get(page)).text
    response = await lea.post(f"{page}/reports", data=report)
    assert response.status_code == 409
    assert "You have already reported this message." in qa_section(response.text)

    organiser = await client_of(make_client, w.organiser)
    moderation_page = f"/organiser/editions/{w.edition.id}/moderation"
    text = text_of((await organiser.get(moderation_page)).text)
    assert "Open reports (1)" in text and "Léa Dubois" in text and "Hors sujet" in text
    assert "Camille Martin" in text and "Du télétravail ?" in text
    outsider = await client_of(make_client, await _organiser_elsewhere(session))
    assert (await outsider.get(moderation_page)).status_code == 403

    token = await csrf(organiser, moderation_page)
    response = await organiser.post(
        f"{moderation_page}/resolve",
        data={
            "csrf_token": token,
            "kind": "qa",
            "message_id": question.id,
            "verdict": "remove",
            "mute": "24h",
        },
    )
    assert (response.status_code, response.headers["location"]) == (303, moderation_page)
    assert "The report was settled." in text_of((await organiser.get(moderation_page)).text)
    public = qa_section((await lea.get(page)).text)
    assert "Message removed by the moderators" in public and "Du télétravail ?" not in public
    assert "Deux jours par semaine" in public  # the answer stays
    text = text_of((await organiser.get(moderation_page)).text)
    assert "Open reports (0)" in text and "Muted people (1)" in text
    camille = await client_of(make_client, w.camille)
    section = qa_section((await camille.get(page)).text)
    assert "The moderators have muted you in this fair" in section
    assert 'data-command="qa.ask"' not in section

    response = await organiser.post(
        f"{moderation_page}/unmute", data={"csrf_token": token, "user_id": w.camille.id}
    )
    assert response.status_code == 303
    assert 'data-command="qa.ask"' in (await camille.get(page)).text
    response = await organiser.post(
        f"{moderation_page}/mute",
        data={"csrf_token": token, "user_id": w.organiser.id, "length": "1h"},
    )
    assert response.status_code == 409
    assert "The fair's moderators cannot be muted." in html.unescape(response.text)
    mutes = await fetch.scalars(select(ChatMute.user_id))
    assert mutes == [w.camille.id]


async def _organiser_elsewhere(session: AsyncSession) -> User:
    organiser = await f.user(session, Role.ORGANISER)
    await f.edition(session, by=organiser)
    await db.commit(session)
    return organiser


async def test_booth_page_queries_do_not_grow_with_questions(
    app, session: AsyncSession, world: World, make_client
) -> None:  # type: ignore[no-untyped-def]
    w = world
    await db.commit(session)
    page = f"/e/{w.edition.slug}/booths/{w.booth.id}"
    lea = await client_of(make_client, w.lea)

    async def queries() -> list[str]:
        with cold(app) as seen:
            assert (await lea.get(page)).status_code == 200
        return seen

    async def add(n: int) -> None:
        for _ in range(n):
            asker = await f.user(session, Role.CANDIDATE)
            question = await chat.ask(session, candidate=asker, booth=w.booth, body="Q ?")
            await chat.answer(session, recruiter=w.recruiter, question=question, body="R.")
            later(5)  # the recruiter stays under the rate limit
        await db.commit(session)

    await add(1)
    few = await queries()
    await add(10)
    many = await queries()
    assert len(many) == len(few), many


# The socket (tests/live_server.py's server: uvicorn in a thread, SQLite, memory broadcaster) -----


async def send(ws: Any, frame: list[Any], seen: list[dict[str, Any]]) -> list[Any]:
    """Send a command and return its reply; events read meanwhile go to `seen`."""
    await ws.send(json.dumps(frame))
    async with asyncio.timeout(3):
        while True:
            got = json.loads(await ws.recv())
            if got[0] == "event":
                if got[2]["event"] != "heartbeat":
                    seen.append(got[2])
            elif got[1] == frame[1]:
                return list(got)


async def next_event(ws: Any, seen: list[dict[str, Any]]) -> dict[str, Any]:
    if seen:
        return seen.pop(0)
    async with asyncio.timeout(3):
        while True:
            got = json.loads(await ws.recv())
            if got[0] == "event" and got[2]["event"] != "heartbeat":
                return dict(got[2])


async def test_qa_and_reports_through_the_socket(server: Server) -> None:
    fair_settings.override(server.conf)
    clock.set_now(None)
    engine = db.create_engine(server.conf.database_url)
    try:
        async with db.sessionmaker(engine, write=True)() as session:
            edition = await f.edition(session)
            booth, recruiter = await f.booth(session, edition_=edition)
            _other, stranger = await f.booth(session, edition_=edition)
            candidate = await f.candidate(session, name="Camille Martin")
            other = await f.candidate(session)
            await session.commit()
        cookies = {}
        async with httpx.AsyncClient(base_url=server.url) as client:
            for user in (candidate, recruiter, stranger, other):
                client.cookies.clear()
                await login(client, user.email, f.PASSWORD)
                cookies[user.id] = f"fair_session={client.cookies['fair_session']}"

        def connect(user: User) -> Any:
            return websockets.connect(
                server.ws, additional_headers={"Cookie": cookies[user.id]}, origin=server.url
            )

        mine: list[dict[str, Any]] = []
        theirs: list[dict[str, Any]] = []
        async with connect(candidate) as cws, connect(recruiter) as rws, connect(stranger) as sws:
            channel = channels.booth(booth.id)
            assert await send(rws, ["subscribe", 1, {"channel": channel}], theirs) == [
                "success",
                1,
                {"channel": channel},
            ]
            bad = await send(cws, ["qa.ask", 2, {"booth_id": booth.id}], mine)
            assert (bad[0], bad[2]["code"]) == ("error", "live.bad_message")
            empty = await send(cws, ["qa.ask", 3, {"booth_id": booth.id, "body": " "}], mine)
            assert (empty[0], empty[2]["code"]) == ("error", "qa.invalid")
            asked = await send(
                cws, ["qa.ask", 4, {"booth_id": booth.id, "body": "Horaires ?"}], mine
            )
            question_id = asked[2]["question_id"]
            assert asked == ["success", 4, {"booth_id": booth.id, "question_id": question_id}]
            assert await next_event(rws, theirs) == {
                "event": "qa.posted",
                "booth_id": booth.id,
                "question_id": question_id,
                "message_id": question_id,
            }
            refused = await send(
                sws, ["qa.answer", 5, {"question_id": question_id, "body": "Moi"}], []
            )
            assert (refused[0], refused[2]["code"]) == ("error", "fair.forbidden")
            answered = await send(
                rws, ["qa.answer", 6, {"question_id": question_id, "body": "9h-17h"}], theirs
            )
            answer_id = answered[2]["message_id"]
            assert answered == [
                "success",
                6,
                {"booth_id": booth.id, "question_id": question_id, "message_id": answer_id},
            ]
            assert (await next_event(rws, theirs))["message_id"] == answer_id

            report = {"kind": "qa", "message_id": answer_id, "reason": "Faux"}
            done = await send(cws, ["chat.report", 7, report], mine)
            assert done == ["success", 7, {"kind": "qa", "message_id": answer_id, "reported": True}]
            again = await send(cws, ["chat.report", 8, report], mine)
            assert (again[0], again[2]["code"]) == ("error", "chat.already_reported")
            own = await send(rws, ["chat.report", 9, report], theirs)
            assert (own[0], own[2]["code"]) == ("error", "chat.own_message")
            odd = await send(cws, ["chat.report", 10, {**report, "kind": "mail"}], mine)
            assert (odd[0], odd[2]["code"]) == ("error", "live.bad_message")
            talk_report = {"kind": "conversation", "message_id": 12345}
            missing = await send(cws, ["chat.report", 11, talk_report], mine)
            assert (missing[0], missing[2]["code"]) == ("error", "chat.not_found")
            for n in range(7):  # 8 messages in all: the 9th is refused, with when to retry
                body = {"booth_id": booth.id, "body": f"Q{n}"}
                assert (await send(cws, ["qa.ask", 20 + n, body], mine))[0] == "success"
            limited = await send(cws, ["qa.ask", 30, {"booth_id": booth.id, "body": "Q"}], mine)
            assert (limited[0], limited[2]["code"]) == ("error", "chat.rate_limited")
        async with connect(other) as ows:
            anyone = await send(ows, ["chat.report", 12, report], [])
            assert anyone[0] == "success"
    finally:
        await engine.dispose()
