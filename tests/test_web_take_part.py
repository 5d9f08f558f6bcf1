"""A candidate takes part in an edition from its page (fair.participants through the edition
page's button); the page then says so; staff and visitors see no button."""

from __future__ import annotations

from sqlalchemy import select

from fair import db
from fair.enums import Role
from fair.models import EditionCandidate
from tests import factories as f
from tests.pages import as_user, post, text


async def test_a_candidate_takes_part_once_and_the_page_says_so(client, session, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    candidate = await f.candidate(session)
    page = f"/e/{edition.slug}"
    await db.commit(session)
    client.cookies.set("lang", "en")
    anonymous = text((await client.get(page)).text)
    assert "Create your candidate account to take part" in anonymous
    await as_user(client, session, user=candidate)
    assert "I take part in this edition" in text((await client.get(page)).text)
    taken = await post(client, page, f"{page}/take-part")
    assert (taken.status_code, taken.headers["location"]) == (303, page)
    shown = text((await client.get(page)).text)
    assert "You take part in this edition." in shown
    assert "I take part in this edition" not in shown
    again = await client.post(f"{page}/take-part", data={"csrf_token": "x"})
    assert again.status_code == 403  # CSRF checked
    rows = await fetch.scalars(select(EditionCandidate))
    assert [(r.edition_id, r.user_id) for r in rows] == [(edition.id, candidate.id)]


async def test_staff_see_no_button_and_may_not_take_part(client, session, fetch):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    page = f"/e/{edition.slug}"
    await as_user(client, session, Role.RECRUITER)
    shown = text((await client.get(page)).text)
    assert "take part" not in shown
    refused = await post(client, "/account/sessions", f"{page}/take-part")
    assert refused.status_code == 403  # a valid CSRF token: refused for the role
    assert list(await fetch.scalars(select(EditionCandidate))) == []
