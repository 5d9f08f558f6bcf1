"""A pooled connection PostgreSQL ends between its checkout and the request's first statement
(a restart, pg_terminate_backend, before the event loop read the end of its socket): the
request is answered on another connection, once, when nothing it asked was done and no
handler of an unsafe request has begun (fair.web.auth `page`, fair.db `lost_unused`, `again`).
It was the 503 "briefly unavailable". The connection is ended for real
(tests/lost_connection.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests import factories as f
from tests.conftest import csrf, login
from tests.lost_connection import ending

pytestmark = pytest.mark.postgresql_only


async def a_live_edition(app: Any) -> tuple[str, str]:
    """The slug and name of a live edition with a booth and an offer, and a candidate's email."""
    async with app.state.write_sessions() as session:
        edition = await f.edition(session)
        booth, _ = await f.booth(session, edition_=edition)
        await f.offer(session, booth_=booth)
        person = await f.candidate(session)
        await session.commit()
    return edition.slug, person.email


async def warm(client: httpx.AsyncClient, path: str) -> None:
    """The page asked until the pool keeps connections that served it."""
    for _ in range(2):
        assert (await client.get(path)).status_code == 200


async def test_a_logged_in_page_is_read_again_on_another_connection(app, client) -> None:  # type: ignore[no-untyped-def]
    """The user's session record is the first statement: lost, then asked again."""
    slug, email = await a_live_edition(app)
    await login(client, email, f.PASSWORD)
    await warm(client, f"/e/{slug}")
    with ending(app) as ended:
        page = await client.get(f"/e/{slug}")
    assert (len(ended), page.status_code) == (1, 200)
    assert 'action="/logout"' in page.text


async def test_an_anonymous_page_is_read_again_on_another_connection(app, client) -> None:  # type: ignore[no-untyped-def]
    """No session record to read: the page's own first statement is lost, the page read again."""
    slug, _ = await a_live_edition(app)
    await warm(client, f"/e/{slug}/booths")
    with ending(app) as ended:
        page = await client.get(f"/e/{slug}/booths")
    assert (len(ended), page.status_code) == (1, 200)


async def test_a_form_is_sent_again_before_its_handler_began(app, client) -> None:  # type: ignore[no-untyped-def]
    """A logged-in user's log-out: the session record read first was lost, nothing done yet."""
    slug, email = await a_live_edition(app)
    await login(client, email, f.PASSWORD)
    token = await csrf(client, f"/e/{slug}")
    with ending(app) as ended:
        sent = await client.post("/logout", data={"csrf_token": token})
    assert (len(ended), sent.status_code) == (1, 303)
    assert 'action="/logout"' not in (await client.get(f"/e/{slug}")).text


async def test_an_unsafe_handler_is_never_run_twice(app, client) -> None:  # type: ignore[no-untyped-def]
    """An anonymous log-in: its handler's first statement was lost; the handler may have
    counted the attempt, so the form is not sent again: the 503 "briefly unavailable"."""
    _, email = await a_live_edition(app)
    token = await csrf(client)
    with ending(app) as ended:
        sent = await client.post(
            "/login", data={"csrf_token": token, "email": email, "password": f.PASSWORD}
        )
    assert (len(ended), sent.status_code) == (1, 503)
    assert sent.headers["retry-after"]
