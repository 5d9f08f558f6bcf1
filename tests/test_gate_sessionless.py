"""Pages decided before any database connection is taken while a fair is full (issue 17:
fair.web.gate `decide`, fair.web.browsing `shared`, fair.web.kept): a held candidate's page
goes to the waiting page, the edition's page and hall are served from the page kept for
candidates, the held status never takes a unit of work, and a revoked session is not served.
Connections checked out of the pool and statements are counted exactly. On SQLite and
PostgreSQL, with the line of this process and the line in the real Redis. Time moves with
fair.clock."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from itsdangerous import TimestampSigner
from prometheus_client import REGISTRY
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from fair import admission_gate, clock, db, notices, participants, settings
from fair.app import create_app
from fair.models import Edition, User
from fair.web import middleware
from tests import factories as f
from tests.conftest import CSRF_RE, csrf, login
from tests.statements import selects

REDIS = "redis://127.0.0.1:6379/0"


@pytest_asyncio.fixture(params=["memory", "redis"])
async def app(request: pytest.FixtureRequest, conf: settings.Settings) -> AsyncIterator[object]:
    """The app with the line of this process, or with the line in the real Redis (a
    namespace of this test's own)."""
    namespace = f"test-sessionless-{secrets.token_hex(4)}"
    if request.param == "redis":
        conf = replace(conf, broadcast_url=REDIS, broadcast_namespace=namespace)
    application = create_app(conf)
    try:
        async with application.router.lifespan_context(application):
            yield application
    finally:
        if request.param == "redis":
            redis = aioredis.from_url(REDIS)
            keys = [k async for k in redis.scan_iter(f"{namespace}:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()


@pytest.fixture(autouse=True)
def _fresh_gate() -> None:
    admission_gate.LOCAL.editions.clear()
    admission_gate.forget()


@contextmanager
def checkouts(app: Any) -> Iterator[list[str]]:
    """The tables read meanwhile on the app's engine, in order, and a "checkout" for each
    connection taken from its pool."""
    seen: list[str] = []
    engine = app.state.engine.sync_engine

    def taken(*_args: Any) -> None:
        seen.append("checkout")

    event.listen(engine, "checkout", taken)
    try:
        with selects(app) as statements:
            yield seen
            seen.extend(_table(s) for s in statements)
    finally:
        event.remove(engine, "checkout", taken)


def _table(statement: str) -> str:
    """The first table a statement reads."""
    return str(re.findall(r"\bFROM (\w+)", statement)[0])


async def _person(session: AsyncSession, make_client: Any, edition: Edition) -> tuple[Any, User]:
    candidate = await f.candidate(session)
    await participants.register(session, edition_id=edition.id, user=candidate)
    await db.commit(session)
    client = make_client()
    await login(client, candidate.email, f.PASSWORD)
    return client, candidate


async def _full_fair(
    session: AsyncSession, make_client: Any
) -> tuple[Edition, tuple[Any, User], tuple[Any, User]]:
    """An edition open now with one active place (a booth and an offer: its pages are kept),
    taken by the first candidate; the second one held, having asked for their place once."""
    clock.set_now(f.NOON)
    edition = await f.edition(session, admission_active_cap=1)
    booth, _recruiter = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth)
    await db.commit(session)
    first = await _person(session, make_client, edition)
    second = await _person(session, make_client, edition)
    assert (await first[0].get(f"/e/{edition.slug}/my-fair")).status_code == 200
    status = await second[0].get(f"/e/{edition.slug}/waiting/status")
    assert (status.json()["admitted"], status.json()["position"]) == (False, 1)
    return edition, first, second


async def test_a_held_candidate_s_page_sends_them_to_the_waiting_page_without_a_connection(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    edition, _first, (second, _) = await _full_fair(session, make_client)
    mine = f"/e/{edition.slug}/my-fair"
    with checkouts(app) as taken:
        held = await second.get(mine)
    assert (held.status_code, held.headers["location"]) == (
        303,
        f"/e/{edition.slug}/waiting?next={mine}",
    )
    assert taken == []
    # A script asking for JSON gets a 503 with Retry-After, likewise.
    with checkouts(app) as taken:
        held = await second.get(mine, headers={"accept": "application/json"})
    assert (held.status_code, held.headers["retry-after"], taken) == (503, "15", [])
    assert held.json()["error"]["code"] == "admission.waiting"


async def test_the_held_status_takes_no_unit_of_work_after_the_gates_are_read_again(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    """Past admission_gate.CACHE_SECONDS the armed editions are read again: by one ask on a
    session of its own (one connection, the editions and their live days), not in a unit of
    work reading the session."""
    edition, _first, (second, _) = await _full_fair(session, make_client)
    status = f"/e/{edition.slug}/waiting/status"
    clock.set_now(f.NOON + timedelta(seconds=admission_gate.CACHE_SECONDS + 1))
    with checkouts(app) as taken:
        answer = await second.get(status)
    assert (answer.json()["admitted"], answer.json()["position"]) == (False, 1)
    assert taken == ["checkout", "editions", "live_days"]
    with checkouts(app) as taken:
        assert (await second.get(status)).json()["position"] == 1
    assert taken == []


async def test_the_edition_s_page_and_hall_are_served_kept_without_a_connection(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    """While the gate is engaged, a logged-in candidate's edition page and hall come from the
    page kept for candidates: their own token, id and unread notices put in, the viewer's
    facts read once for the moment (fair.web.kept), then nothing."""
    edition, (first, her), (second, him) = await _full_fair(session, make_client)
    for n in range(2):
        await notices.add(session, user_id=him.id, kind="test", params={"n": n})
    await db.commit(session)
    landing, hall = f"/e/{edition.slug}", f"/e/{edition.slug}/booths"
    for path in (landing, hall):  # rendered for the first, and kept
        assert f'data-user-id="{her.id}"' in (await first.get(path)).text
    with checkouts(app) as taken:
        page = await second.get(landing)
    # His unread notices (counted in the users' statement) and his part in the edition.
    assert taken == ["checkout", "notices", "edition_candidates"]
    with checkouts(app) as taken:
        again = await second.get(landing)
        shown = await second.get(hall)
    assert taken == []
    for answer in (page, again, shown):
        assert answer.status_code == 200
        assert f'data-user-id="{him.id}"' in answer.text
        assert 'data-unread="2"' in answer.text
        assert _secrets(answer.text) == {_session(second)["csrf"]}
    # He takes part: the page kept for those who do (no "I take part" form, his fair's link).
    assert "/take-part" not in page.text and f"/e/{edition.slug}/my-fair" in page.text
    # What a page of hers reads the page's way shows on her kept pages at once: her notices
    # counted there (2), then read (0).
    for n in range(2):
        await notices.add(session, user_id=her.id, kind="test", params={"n": n})
    await db.commit(session)
    assert 'data-unread="0"' in (await first.get(landing)).text  # kept VIEWER_SECONDS
    assert (await first.get("/me/notices")).status_code == 200
    assert 'data-unread="2"' in (await first.get(landing)).text
    token = await csrf(first, "/me/notices")
    assert (await first.post("/me/notices", data={"csrf_token": token})).status_code == 303
    assert (await first.get("/me/notices")).status_code == 200
    assert 'data-unread="0"' in (await first.get(landing)).text


async def test_one_who_does_not_take_part_is_read_again_and_seen_taking_part_at_once(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    """Only taking part is kept (a registration is never undone): one who does not is read
    each time they are served a kept page, so joining anywhere shows at once."""
    edition, _first, _second = await _full_fair(session, make_client)
    landing = f"/e/{edition.slug}"
    newcomer = await f.candidate(session)
    await db.commit(session)
    client = make_client()
    await login(client, newcomer.email, f.PASSWORD)
    assert f"/e/{edition.slug}/take-part" in (await client.get(landing)).text  # rendered, kept
    with checkouts(app) as taken:
        page = await client.get(landing)
    assert f"/e/{edition.slug}/take-part" in page.text
    assert f'data-user-id="{newcomer.id}"' in page.text
    assert taken == ["checkout", "notices", "edition_candidates"]
    await participants.register(session, edition_id=edition.id, user=newcomer)
    await db.commit(session)
    page = await client.get(landing)
    assert f"/e/{edition.slug}/take-part" not in page.text
    assert f"/e/{edition.slug}/my-fair" in page.text


def _session(client: httpx.AsyncClient) -> dict[str, Any]:
    """The client's session as the app signed it."""
    signer = TimestampSigner(settings.get().secret_key)
    data: dict[str, Any] = json.loads(
        base64.b64decode(signer.unsign(client.cookies["fair_session"]))
    )
    return data


def _secrets(html: str) -> set[str]:
    """The CSRF secrets the page's masked tokens carry (fair.web.auth.csrf_token)."""
    found = set()
    for token in CSRF_RE.findall(html):
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        half = len(raw) // 2
        found.add(bytes(a ^ b for a, b in zip(raw[:half], raw[half:], strict=True)).decode())
    return found


async def test_a_revoked_session_is_not_served_from_the_kept_pages(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    """The session the hub keeps is dropped once revoked (its accounts channel): a copy of
    the cookie gets the page as anyone sees it, not the candidate's."""
    edition, (first, _), (second, him) = await _full_fair(session, make_client)
    landing = f"/e/{edition.slug}"
    assert (await first.get(landing)).status_code == 200  # kept
    assert f'data-user-id="{him.id}"' in (await second.get(landing)).text
    copy = make_client()
    copy.cookies.update(second.cookies)
    token = await csrf(second, "/")
    assert (await second.post("/logout", data={"csrf_token": token})).status_code == 303
    page = await copy.get(landing)
    assert page.status_code == 200
    assert f'data-user-id="{him.id}"' not in page.text


def _asked(route: str) -> float:
    labels = {"method": "GET", "route": route, "status": "200"}
    return REGISTRY.get_sample_value("fair_http_requests_total", labels) or 0.0


async def test_the_waiting_page_s_script_is_answered_past_the_stack(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    """The script's ask (JSON) is answered by fair.web.admission's Shortcut, right inside
    fair.web.ops (its id and count), past the rest of the stack (issue 17: ~630 asks a second
    in the 10,000-candidate surge): the session read and never written back, the security
    headers, the reader's language; a page's ask (HTML) goes the stack's way, as before."""
    edition, _first, (second, _) = await _full_fair(session, make_client)
    status, json_asked = f"/e/{edition.slug}/waiting/status", {"accept": "application/json"}
    route = "/e/{slug}/waiting/status"
    before = _asked(route)
    second.cookies.set("lang", "en")
    with checkouts(app) as taken:
        answer = await second.get(status, headers=json_asked)
    assert taken == []
    assert (answer.status_code, answer.json()["position"], answer.json()["floor"]) == (
        200,
        1,
        True,
    )
    assert answer.json()["place_text"] == "You are number 1 in line, out of 1."
    assert "set-cookie" not in answer.headers
    headers = {k: answer.headers[k] for k in ("cache-control", "x-frame-options")}
    assert headers == {"cache-control": "no-store", "x-frame-options": "DENY"}
    assert answer.headers["content-security-policy"] == middleware.CSP
    assert len(answer.headers["x-request-id"]) == 32
    assert _asked(route) == before + 1
    # A page's ask (HTML), the stack's way, as before.
    page_way = await second.get(status)
    assert page_way.json()["position"] == 1
    # No session: the stack's way too (the page's 401, as before).
    found = await make_client().get(status, headers=json_asked)
    assert (found.status_code, found.json()["error"]["code"]) == (401, "auth.required")


async def test_held_candidates_asking_at_once_are_read_exempt_together(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    """Whether a held candidate is exempt (an interview soon) is read once a minute each:
    for those asking at the same moment, in one statement on one connection (fair.web.kept
    `exempt`; one connection each emptied the pool at the 10,000-candidate surge's opening)."""
    edition, _first, (second, _) = await _full_fair(session, make_client)
    third, _ = await _person(session, make_client, edition)
    status, json_asked = f"/e/{edition.slug}/waiting/status", {"accept": "application/json"}
    assert (await third.get(status, headers=json_asked)).json()["position"] == 2
    later = f.NOON + timedelta(seconds=admission_gate.EXEMPT_SECONDS + 1)
    clock.set_now(later)
    await admission_gate.armed_now(app.state.read_sessions, later)  # read again, apart
    for who in (second, third):  # their sessions, kept by the live hub as a page reads them
        assert (await who.get(status, headers=json_asked)).status_code == 200
    clock.set_now(later + timedelta(seconds=admission_gate.EXEMPT_SECONDS + 1))
    await admission_gate.armed_now(app.state.read_sessions, clock.now())
    with checkouts(app) as taken:
        answers = await asyncio.gather(
            *(who.get(status, headers=json_asked) for who in (second, third))
        )
    assert sorted(a.json()["position"] for a in answers) == [1, 2]
    assert taken.count("interviews") == 1, taken


@pytest.mark.postgresql_only
async def test_an_open_page_is_served_kept_while_the_pool_is_short_before_the_line_is_pressed(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    """An opening's first seconds: the gate armed, not engaged yet (the line is pressed by
    arrivals that come after the edition's page and hall), and every connection of the pool
    taken: the hall is served from the page kept for candidates (the viewer's facts read on
    one connection of the overflow), not rendered in a unit of work waiting for one (issue 17:
    19 "server.busy" on the hall in the 10,000-candidate surge's first seconds)."""
    clock.set_now(f.NOON)
    edition = await f.edition(session, admission_active_cap=100)
    booth, _recruiter = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth)
    await db.commit(session)
    (first, her), (second, him) = [await _person(session, make_client, edition) for _ in "ab"]
    hall, status = f"/e/{edition.slug}/booths", f"/e/{edition.slug}/waiting/status"
    assert f'data-user-id="{her.id}"' in (await first.get(hall)).text  # rendered, kept
    assert (await second.get(status)).json()["admitted"] is True  # let in: not pressed
    engine = app.state.engine
    taken = [await engine.connect() for _ in range(engine.sync_engine.pool.size())]
    try:
        with checkouts(app) as read:
            page = await second.get(hall)
    finally:
        for connection in taken:
            await connection.close()
    assert page.status_code == 200 and f'data-user-id="{him.id}"' in page.text
    assert read == ["checkout", "notices", "edition_candidates"]
    # Nothing has read the armed editions yet in this process (the held status does, after
    # these pages): read by the page, on a connection of its own, and the page served kept.
    admission_gate.forget()
    taken = [await engine.connect() for _ in range(engine.sync_engine.pool.size())]
    try:
        with checkouts(app) as read:
            page = await second.get(hall)
    finally:
        for connection in taken:
            await connection.close()
    assert page.status_code == 200 and f'data-user-id="{him.id}"' in page.text
    assert read == ["checkout", "editions", "live_days"]
    # With connections to spare, the page kept as at any time (fair.web.auth `_kept_candidate`):
    # the viewer and the version known from the reads above, nothing read.
    with checkouts(app) as read:
        assert (await second.get(hall)).status_code == 200
    assert read == []


@pytest.mark.postgresql_only
async def test_the_script_s_ask_is_answered_busy_when_every_connection_is_taken(
    app: Any, conf: settings.Settings, session: AsyncSession, make_client: Any
) -> None:
    """What the shortcut's answer raises is answered as the stack answers it: every
    connection taken (here while the armed editions are read again), a 503 with Retry-After,
    never a 500."""
    edition, _first, (second, _) = await _full_fair(session, make_client)
    small = create_app(replace(conf, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.2))
    async with small.router.lifespan_context(small):
        transport = httpx.ASGITransport(app=small)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as him:
            him.cookies = second.cookies
            admission_gate.forget()  # the armed editions to read again
            connection = await small.state.engine.connect()
            try:
                status = f"/e/{edition.slug}/waiting/status"
                answer = await him.get(status, headers={"accept": "application/json"})
            finally:
                await connection.close()
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "5")
    assert answer.json()["error"]["code"] == "server.busy"
