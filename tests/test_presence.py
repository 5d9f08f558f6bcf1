"""Booth presence (fair.presence) on SQLite and PostgreSQL, and the hall page that shows it."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from fair import channels, clock, db, events, presence, queues
from fair.errors import FairError
from fair.events import Event
from fair.models import Booth, User
from tests import factories as f
from tests.factories import NOON


@pytest.fixture(autouse=True)
def _noon(conf) -> None:  # type: ignore[no-untyped-def]
    clock.set_now(NOON)


def staffing_events(booth: Booth, staffed: bool, waiting: int = 0) -> list[Event]:
    """The same `booth.staffing` event on the edition's channel (hall) and the booth's."""
    payload = {"booth_id": booth.id, "staffed": staffed, "waiting": waiting}
    return [
        Event(channels.edition(booth.edition_id), "booth.staffing", payload),
        Event(channels.booth(booth.id), "booth.staffing", payload),
    ]


async def test_staff_unstaff_events_and_staffing(session: AsyncSession) -> None:
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    other_booth, _ = await f.booth(session, edition_=edition)
    colleague = await f.colleague(session, booth_=booth, owner=recruiter)
    await queues.join(session, candidate=await f.candidate(session), booth=booth)
    events.take(session)

    await presence.staff(session, recruiter=recruiter, booth=booth, connection_id="a")
    assert events.take(session) == staffing_events(booth, True, 1)
    # A second socket, or staffing again: no change, no event.
    await presence.staff(session, recruiter=colleague, booth=booth, connection_id="b")
    await presence.staff(session, recruiter=recruiter, booth=booth, connection_id="a")
    assert events.take(session) == []
    assert await presence.staffing(session, edition.id) == {
        booth.id: (True, 1),
        other_booth.id: (False, 0),
    }

    assert await presence.unstaff(session, connection_id="a") is True
    assert events.take(session) == []  # the colleague still staffs it
    assert await presence.unstaff(session, connection_id="b", booth_id=other_booth.id) is False
    assert await presence.unstaff(session, connection_id="b", booth_id=booth.id) is True
    assert events.take(session) == staffing_events(booth, False, 1)
    assert await presence.unstaff(session, connection_id="b") is False
    assert events.take(session) == []
    assert await presence.staffing(session, edition.id) == {
        booth.id: (False, 1),
        other_booth.id: (False, 0),
    }


async def test_expire_removes_stale_presence(session: AsyncSession) -> None:
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    colleague = await f.colleague(session, booth_=booth, owner=recruiter)
    await presence.staff(session, recruiter=recruiter, booth=booth, connection_id="dead")
    await presence.staff(session, recruiter=colleague, booth=booth, connection_id="alive")
    events.take(session)

    clock.set_now(NOON + timedelta(seconds=60))
    await presence.touch(session, connection_id="alive")
    clock.set_now(NOON + timedelta(seconds=91))
    assert await presence.expire(session) == []  # "alive" still staffs it
    assert events.take(session) == []
    assert await presence.staffing(session, edition.id) == {booth.id: (True, 0)}

    clock.set_now(NOON + timedelta(seconds=151))
    assert await presence.expire(session) == [booth.id]
    assert events.take(session) == staffing_events(booth, False)
    assert await presence.staffing(session, edition.id) == {booth.id: (False, 0)}


async def test_only_the_booths_recruiters_staff_it(session: AsyncSession) -> None:
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    other_booth, stranger = await f.booth(session, edition_=edition)
    candidate: User = await f.candidate(session)
    events.take(session)  # the set-up's own events (the booth approvals' unread notices)
    for someone in (stranger, candidate):
        with pytest.raises(FairError) as raised:
            await presence.staff(session, recruiter=someone, booth=booth, connection_id="x")
        assert raised.value.code == "fair.forbidden"
    assert events.take(session) == []
    assert await presence.staffing(session, edition.id) == {
        booth.id: (False, 0),
        other_booth.id: (False, 0),
    }


def staffing_texts(html: str) -> list[str]:
    return re.findall(r'<p class="staffing" data-staffing="\w+">([^<]*)</p>', html)


async def test_hall_shows_staffing_during_live_hours(
    app, session: AsyncSession, client: httpx.AsyncClient
) -> None:  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    await presence.staff(session, recruiter=recruiter, booth=booth, connection_id="a")
    await db.commit(session)
    url = f"/e/{edition.slug}/booths"

    response = await client.get(url)
    assert response.status_code == 200
    assert staffing_texts(response.text) == ["Recruteur présent"]
    assert f'data-edition-id="{edition.id}"' in response.text
    client.cookies.set("lang", "en")
    assert staffing_texts((await client.get(url)).text) == ["Staffed now"]

    async with app.state.write_sessions() as writer:
        await presence.unstaff(writer, connection_id="a")
        await db.commit(writer)
    assert staffing_texts((await client.get(url)).text) == ["No recruiter at the moment"]

    clock.set_now(NOON.replace(day=20))  # after the live days: nothing about staffing
    text = (await client.get(url)).text
    assert staffing_texts(text) == [] and "data-edition-id" not in text
