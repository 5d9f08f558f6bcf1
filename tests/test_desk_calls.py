"""Booth conversations by video or phone without JavaScript (fair.web.desk, live/_conversation.html
`modes`): the forms ask, accept and refuse, and the pages show the mode, the request, and the
candidate's number to the recruiter only while they talk by phone; the desk lists who waits."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, conversations, db, queues
from tests import factories as f
from tests.conftest import csrf, login
from tests.factories import NOON
from tests.pages import text_of


def mode_badge(html: str) -> tuple[str, str]:
    """The desk's badge of the conversation's mode: (its mode, its text)."""
    found = re.search(r'data-mode-badge="(\w+)">.*?<span class="badge[^"]*">([^<]*)</span>', html)
    assert found is not None
    return found.group(1), found.group(2)


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


async def test_ask_refuse_accept_and_the_phone_number(session: AsyncSession, make_client) -> None:  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    colleague = await f.colleague(session, booth_=booth, owner=recruiter)
    candidate = await f.candidate(session, name="Awa Diallo")
    entry = await queues.join(session, candidate=candidate, booth=booth)
    await queues.take_next(session, recruiter=recruiter, booth=booth)
    conversation = await conversations.answer(session, candidate=candidate, entry=entry)
    waiter = await f.candidate(session, name="Bruno Martin")
    await queues.join(session, candidate=waiter, booth=booth)
    await db.commit(session)
    booth_url = f"/e/{edition.slug}/booths/{booth.id}"
    desk_url = f"/recruiter/booths/{booth.id}/desk"
    base = f"/conversations/{conversation.id}"
    clients = {}
    for user in (candidate, recruiter, colleague):
        client = make_client()
        client.cookies.set("lang", "en")
        await login(client, user.email, f.PASSWORD)
        clients[user.id] = client
    one, rec, other = clients[candidate.id], clients[recruiter.id], clients[colleague.id]

    async def post(client, page: str, path: str, **data: str) -> int:  # type: ignore[no-untyped-def]
        token = await csrf(client, page)
        response = await client.post(base + path, data={"csrf_token": token, **data})
        return int(response.status_code)

    html = (await rec.get(desk_url)).text
    page = text_of(html)
    assert "You are talking in writing." in page and mode_badge(html) == ("chat", "Written chat")
    assert (
        "What to do now When you have finished talking with Awa Diallo, choose the next step and "
        "end the conversation. Next step"
    ) in page
    assert "In the queue Bruno Martin since 12:00" in page  # the desk lists who waits
    assert await post(rec, desk_url, "/mode", mode="video") == 303
    page = text_of((await one.get(booth_url)).text)
    assert "asks to talk by video. Do you agree?" in page and "Accept the video call" in page
    assert "Waiting for Awa Diallo to answer." in text_of((await rec.get(desk_url)).text)
    assert await post(one, booth_url, "/request", answer="decline") == 303
    assert "You are talking in writing." in text_of((await rec.get(desk_url)).text)

    # The candidate proposes the phone instead; the recruiter accepts; the number shows to the
    # recruiter once given, and only while they talk by phone.
    assert await post(one, booth_url, "/mode", mode="phone") == 303
    assert await post(rec, desk_url, "/request", answer="accept") == 303
    html = (await rec.get(desk_url)).text
    page = text_of(html)
    assert "You are talking by phone." in page and mode_badge(html) == ("phone", "Phone")
    assert "The candidate has not given a number yet." in page
    assert await post(one, booth_url, "/phone", phone="06 12 34 56 78") == 303
    page = (await rec.get(desk_url)).text
    assert 'href="tel:0612345678"' in page and "06 12 34 56 78" in page
    # A colleague of the booth is not in the conversation: nothing for them.
    assert await post(other, desk_url, "/mode", mode="chat") == 404
    assert await post(other, desk_url, "/request", answer="accept") == 404
    assert "06 12 34 56 78" not in (await other.get(desk_url)).text
    assert await post(rec, desk_url, "/mode", mode="hd") == 422

    assert await post(one, booth_url, "/mode", mode="chat") == 303
    page = (await rec.get(desk_url)).text
    assert "06 12 34 56 78" not in page and "You are talking in writing." in text_of(page)
