"""The stage's pages (fair/web/stage.py) on SQLite and PostgreSQL: who enters the presenters'
stage and when, who reads the question list and what each one sees, and the player on the
webconference's page. The media and the socket commands are tests/test_stage.py's; the pages
in a browser are tests/browser/test_stage.py's."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, editions, webconferences
from fair.enums import QuestionStatus, Role, WebconferenceAccess
from fair.models import User, Webconference
from fair.webconferences import audience
from tests import factories as f
from tests.factories import NOON, talk
from tests.pages import person, text_of
from tests.statements import cold


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


async def staged(session: AsyncSession, **kw: object) -> tuple[Webconference, User, User]:
    """A talk tomorrow at 10:00 presented by an organiser, and an admin (who manages every
    edition's talks) who does not present it."""
    presenter = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=presenter)
    other = await f.user(session, Role.ADMIN)
    webconference = await webconferences.schedule(
        session, by=presenter, edition=edition, data=talk([presenter], **kw)
    )
    return webconference, presenter, other


def buttons(html: str) -> list[tuple[str, str]]:
    """(data attribute, text) of the question list's buttons, in order."""
    found = re.findall(r'<button[^>]*data-(vote|moderate)="(\d+)"[^>]*>([^<]*)</button>', html)
    return [(f"{kind}:{qid}", label) for kind, qid, label in found]


async def test_the_stage_is_for_its_presenters_from_the_green_room_on(
    session: AsyncSession, make_client, client: httpx.AsyncClient
) -> None:  # type: ignore[no-untyped-def]
    webconference, presenter, organiser = await staged(session)
    edition = await editions.get(session, webconference.edition_id)
    _booth, recruiter = await f.booth(session, edition_=edition)
    await db.commit(session)
    url = f"/webconferences/{webconference.id}/stage"

    anonymous = await client.get(url)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, f"/login?next={url}")
    for outsider in (organiser, recruiter):
        refused = await (await person(make_client, outsider)).get(url)
        assert refused.status_code == 403
        assert "Only the presenters of this webconference enter its stage." in refused.text

    me = await person(make_client, presenter)
    early = await me.get(url)
    assert early.status_code == 200
    assert 'data-stage="early"' in early.text and "stage.js" in early.text
    assert "The green room opens at Wednesday 11 March 2026, 09:45" in text_of(early.text)

    clock.set_now(webconference.starts_at - timedelta(minutes=10))
    green = await me.get(url)
    assert 'data-stage="presenter"' in green.text and 'data-state="scheduled"' in green.text
    shown = text_of(green.text)
    assert "Green room: viewers do not see or hear you yet." in shown
    assert "No question yet." in shown
    assert re.findall(r'data-action="(start|end)"( hidden)?', green.text) == [
        ("start", ""),
        ("end", " hidden"),
    ]

    await _start(session, webconference, presenter)
    live = await me.get(url)
    assert "Live: viewers see and hear you." in text_of(live.text)
    assert re.findall(r'data-action="(start|end)"( hidden)?', live.text) == [
        ("start", " hidden"),
        ("end", ""),
    ]

    await _end(session, webconference, presenter)
    ended = await me.get(url)
    assert "This webconference has ended." in text_of(ended.text)
    assert "stage.js" not in ended.text and 'data-stage="presenter"' not in ended.text


async def test_question_list_moderators_see_hidden_ones_viewers_vote(
    app, session: AsyncSession, make_client, client: httpx.AsyncClient
) -> None:  # type: ignore[no-untyped-def]
    webconference, presenter, organiser = await staged(session)
    viewers = [await f.user(session, Role.CANDIDATE, name=n) for n in ("Awa Diallo", "Léo Martin")]
    for viewer in viewers:
        await webconferences.register(session, candidate=viewer, webconference=webconference)
    unregistered = await f.user(session, Role.CANDIDATE)
    clock.set_now(webconference.starts_at)
    await webconferences.start(session, by=presenter, webconference=webconference)
    wid = webconference.id
    first = await audience.ask(session, user=viewers[0], webconference_id=wid, body="Salaire ?")
    second = await audience.ask(session, user=viewers[1], webconference_id=wid, body="Horaires ?")
    hidden = await audience.ask(session, user=viewers[1], webconference_id=wid, body="Pub !")
    answered = await audience.ask(session, user=viewers[0], webconference_id=wid, body="Lieu ?")
    await audience.vote(session, user=viewers[0], question_id=second.id)
    await audience.moderate(
        session, by=presenter, question_id=hidden.id, status=QuestionStatus.HIDDEN
    )
    await audience.moderate(
        session, by=presenter, question_id=answered.id, status=QuestionStatus.ANSWERED
    )
    await db.commit(session)
    url = f"/webconferences/{wid}/questions"

    anonymous = await client.get(url)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, f"/login?next={url}")
    refused = await (await person(make_client, unregistered)).get(url)
    assert refused.status_code == 403
    assert "This webconference is for registered candidates" in refused.text

    # The presenter (and the edition's organisers, here an admin) moderate and see hidden ones.
    for moderator in (presenter, organiser):
        page = await (await person(make_client, moderator)).get(url)
        assert page.status_code == 200
        assert "<html" not in page.text and 'data-state="live"' in page.text
        assert re.findall(r'class="question-body"[^>]*>([^<]*)<', page.text) == [
            "Horaires ?",
            "Salaire ?",
            "Lieu ?",
            "Pub !",
        ]
        assert "Léo Martin" in page.text  # moderators see full names
        assert buttons(page.text) == [
            (f"moderate:{second.id}", "Mark as answered"),
            (f"moderate:{second.id}", "Hide"),
            (f"moderate:{first.id}", "Mark as answered"),
            (f"moderate:{first.id}", "Hide"),
            (f"moderate:{answered.id}", "Open again"),
            (f"moderate:{answered.id}", "Hide"),
            (f"moderate:{hidden.id}", "Open again"),
        ]

    # A viewer: open ones by votes, then answered ones; votes on others' open questions only.
    awa = await person(make_client, viewers[0])
    page = (await awa.get(url)).text
    assert re.findall(r'class="question-body"[^>]*>([^<]*)<', page) == [
        "Horaires ?",
        "Salaire ?",
        "Lieu ?",
    ]
    assert buttons(page) == [(f"vote:{second.id}", "Upvote")]
    assert f'data-vote="{second.id}" aria-pressed="true"' in page
    shown = text_of(page)
    assert "Léo · 1 vote" in shown and "You · 0 votes" in shown and "Answered" in shown
    assert "Martin" not in page  # first names only in public

    # The list's queries do not grow with it.
    few = await selects(app, awa, url)
    for n in range(5):  # five more questions, each voted by the other viewer
        author, voter = viewers[n % 2], viewers[(n + 1) % 2]
        more = await audience.ask(session, user=author, webconference_id=wid, body=f"Q{n} ?")
        await audience.vote(session, user=voter, question_id=more.id)
    await db.commit(session)
    assert await selects(app, awa, url) == few

    # After the end, the list stays readable; nothing to press for viewers.
    await _end(session, webconference, presenter)
    page = (await awa.get(url)).text
    assert 'data-state="ended"' in page and buttons(page) == []
    assert "Lieu ?" in page and "Pub !" not in page


async def test_player_on_the_webconference_page(
    session: AsyncSession, make_client, client: httpx.AsyncClient
) -> None:  # type: ignore[no-untyped-def]
    webconference, presenter, _organiser = await staged(session)
    seated, unregistered = [await f.user(session, Role.CANDIDATE) for _ in range(2)]
    await webconferences.register(session, candidate=seated, webconference=webconference)
    open_talk, _p, _o = await staged(session, access=WebconferenceAccess.OPEN)
    await db.commit(session)
    url = f"/webconferences/{webconference.id}"

    def player(html: str) -> str:
        """The player's part of the page (it comes before the talk's details)."""
        return html.split('<section id="player"', 1)[1].split("<dl>", 1)[0]

    client.cookies.set("lang", "en")
    anonymous = player((await client.get(url)).text)
    assert 'data-can-watch="no"' in anonymous and "Log in to watch" in anonymous
    assert f'href="/login?next={url}"' in anonymous
    refused = player((await (await person(make_client, unregistered)).get(url)).text)
    assert 'data-can-watch="no"' in refused and "data-stage-form" not in refused
    assert "This webconference is for registered candidates" in refused
    viewer = await person(make_client, seated)
    page = player((await viewer.get(url)).text)
    assert 'data-can-watch="yes"' in page and 'data-stage-form="ask"' in page
    assert f'data-questions-url="/webconferences/{webconference.id}/questions"' in page
    assert "The webconference has not started yet" in text_of(page)
    assert "go to the stage" not in page
    opened = player((await viewer.get(f"/webconferences/{open_talk.id}")).text)
    assert 'data-can-watch="yes"' in opened
    mine = player((await (await person(make_client, presenter)).get(url)).text)
    assert f'href="/webconferences/{webconference.id}/stage"' in mine


async def _start(session: AsyncSession, webconference: Webconference, by: User) -> None:
    await webconferences.start(session, by=by, webconference=webconference)
    await db.commit(session)


async def _end(session: AsyncSession, webconference: Webconference, by: User) -> None:
    await webconferences.end(session, by=by, webconference=webconference)
    await db.commit(session)


async def selects(app, client: httpx.AsyncClient, url: str) -> int:  # type: ignore[no-untyped-def]
    """How many SELECTs reading `url` takes (nothing kept: tests/statements.py `cold`)."""
    with cold(app) as seen:
        response = await client.get(url)
    assert response.status_code == 200
    return len(seen)
