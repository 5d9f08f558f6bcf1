"""The landing page and the booth hall kept for logged-in candidates (fair.web.browsing.shared,
fair.public_version): one render serves every candidate while what the page shows is the same,
each with their own CSRF token, id, notices link and messages; what changes the page (a booth
staffed, a queue joined, an offer published, a talk on stage, a partner) shows at the next
request. On SQLite and PostgreSQL; time moves with fair.clock."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
from itsdangerous import TimestampSigner
from prometheus_client import REGISTRY
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    branding,
    clock,
    db,
    images,
    notices,
    participants,
    queues,
    settings,
    webconferences,
)
from fair.app import create_app
from fair.enums import Role
from fair.models import Booth, Edition, User
from fair.web import kept
from tests import factories as f
from tests.conftest import CSRF_RE, login
from tests.landing_setup import booth_of, staffed, talk
from tests.pictures import picture
from tests.statements import selects

USER_ID_RE = re.compile(r'data-user-id="([^"]*)"')


async def _fair(session: AsyncSession) -> tuple[Edition, Booth, User, User]:
    """An edition open now (f.NOON), not gated, with one booth and its offer; its organiser."""
    clock.set_now(f.NOON)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth, recruiter = await booth_of(session, edition, "Garage Lanterne")
    await f.offer(session, booth_=booth, title="Soudeur ou soudeuse")
    await db.commit(session)
    return edition, booth, recruiter, organiser


def _cookie(client: httpx.AsyncClient) -> dict[str, Any]:
    """The client's session as the app signed it."""
    signer = TimestampSigner(settings.get().secret_key)
    data: dict[str, Any] = json.loads(
        base64.b64decode(signer.unsign(client.cookies["fair_session"]))
    )
    return data


def _with_message(client: httpx.AsyncClient, text: str) -> None:
    """A message waiting in the client's session (fair.web.flash), as the app would sign it."""
    data = _cookie(client)
    entry = {"message": text, "plural": "", "num": 0, "params": {}, "labels": {}}
    data["flash"] = [entry]
    signed = TimestampSigner(settings.get().secret_key).sign(
        base64.b64encode(json.dumps(data).encode())
    )
    (held,) = [c for c in client.cookies.jar if c.name == "fair_session"]
    client.cookies.set("fair_session", signed.decode(), domain=held.domain, path=held.path)


def _secrets(html: str) -> set[str]:
    """The CSRF secrets the page's masked tokens carry (fair.web.auth.csrf_token)."""
    found = set()
    for token in CSRF_RE.findall(html):
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        half = len(raw) // 2
        found.add(bytes(a ^ b for a, b in zip(raw[:half], raw[half:], strict=True)).decode())
    return found


def _later() -> None:
    """fair.clock moved past the edition's version kept for the pages (fair.web.kept)."""
    clock.set_now(clock.now() + timedelta(seconds=kept.VERSION_SECONDS))


def _live(page: httpx.Response) -> str:
    """The landing page's "Live now" section."""
    return page.text.split('id="live-title"')[1].split("</section>")[0]


async def _candidate(session: AsyncSession, make_client: Any, name: str) -> tuple[User, Any]:
    user = await f.candidate(session, name=name)
    await db.commit(session)
    client = make_client()
    await login(client, user.email, f.PASSWORD)
    await client.get("/")  # any message the log-in left is shown here
    return user, client


async def test_a_candidate_never_sees_another_candidates_token_id_notices_or_message(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    edition, _booth, _recruiter, _organiser = await _fair(session)
    mireille, first = await _candidate(session, make_client, "Mireille Lantier")
    gaston, second = await _candidate(session, make_client, "Gaston Peyrolles")
    for n in range(3):
        await notices.add(session, user_id=mireille.id, kind="test", params={"n": n})
    await db.commit(session)
    for path in (f"/e/{edition.slug}", f"/e/{edition.slug}/booths"):
        with selects(app) as rendering:
            hers = await first.get(path)
        with selects(app) as kept:
            his = await second.get(path)
        assert (hers.status_code, his.status_code) == (200, 200)
        assert len(kept) < len(rendering)  # served from what her request kept
        assert USER_ID_RE.findall(hers.text) == [str(mireille.id)]
        assert USER_ID_RE.findall(his.text) == [str(gaston.id)]
        assert _secrets(hers.text) == {_cookie(first)["csrf"]}
        assert _secrets(his.text) == {_cookie(second)["csrf"]}
        assert 'data-unread="3"' in hers.text
        assert 'data-unread="0"' in his.text and 'data-unread="3"' not in his.text
        assert "Mireille" not in his.text
        # Her message is on her page only, and that page is not kept for anyone.
        _with_message(first, "For Mireille: 7f3a.")
        assert "For Mireille: 7f3a." in (await first.get(path)).text
        again = await second.get(path)
        assert "For Mireille: 7f3a." not in again.text
        assert _secrets(again.text) == {_cookie(second)["csrf"]}
        # His own message reaches him, from the page kept or not.
        _with_message(second, "For Gaston: 9c1e.")
        assert "For Gaston: 9c1e." in (await second.get(path)).text
        assert "For Gaston: 9c1e." not in (await first.get(path)).text


async def test_what_changes_the_pages_shows_at_the_next_request(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    """Once the edition's public version kept for pages served without a unit of work is
    older than kept.VERSION_SECONDS (`_later`): the documented staleness."""
    edition, booth, recruiter, organiser = await _fair(session)
    _user, client = await _candidate(session, make_client, "Mireille Lantier")
    hall, landing = f"/e/{edition.slug}/booths", f"/e/{edition.slug}"
    for path in (hall, landing):
        await client.get(path)
    listed = f'/booths/{booth.id}">Garage Lanterne</a>'  # among the booths staffed now
    assert listed not in (await client.get(landing)).text
    before = (await client.get(hall)).text
    assert ('data-staffing="unstaffed"', 'data-waiting="0"') == (
        re.search(r'data-staffing="[a-z]+"', before)[0],  # type: ignore[index]
        re.search(r'data-waiting="[0-9]+"', before)[0],  # type: ignore[index]
    )
    await staffed(session, booth, recruiter)
    await db.commit(session)
    _later()
    shown = (await client.get(hall)).text
    assert 'data-staffing="staffed"' in shown and 'data-waiting="0"' in shown
    assert listed in (await client.get(landing)).text
    candidate = await f.user(session, Role.CANDIDATE, can_log_in=False)
    await queues.join(session, candidate=candidate, booth=booth)
    await db.commit(session)
    _later()
    assert 'data-waiting="1"' in (await client.get(hall)).text
    await queues.leave(session, candidate=candidate, booth=booth)
    await db.commit(session)
    _later()
    assert 'data-waiting="0"' in (await client.get(hall)).text
    await f.offer(session, booth_=booth, title="Carrossier ou carrossière")
    await db.commit(session)
    _later()
    assert re.search(r'class="hall-offers">2 ', (await client.get(hall)).text)
    title = "Souder sans danger"
    scheduled = await talk(session, edition, booth, recruiter, title, f.NOON)
    await db.commit(session)
    _later()
    assert title not in _live(await client.get(landing))
    await webconferences.start(session, by=recruiter, webconference=scheduled)
    await db.commit(session)
    _later()
    assert title in _live(await client.get(landing))
    logo = await images.prepare(picture((300, 150)), images.LOGO, field="logo")
    await branding.add_partner(session, edition, by=organiser, name="Pôle Sud", link="", logo=logo)
    await db.commit(session)
    _later()
    assert "Pôle Sud" in (await client.get(landing)).text
    await branding.update(
        session, edition, by=organiser, data=branding.BrandInput(colour="#1d6b35")
    )
    await db.commit(session)
    _later()
    for path in (hall, landing):
        assert "/brand.css?v=" in (await client.get(path)).text


async def test_the_pages_are_served_kept_without_a_connection_when_no_gate_is_armed(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    """No admission gate anywhere (the default): a logged-in candidate's edition page and hall
    come from the page kept for candidates all the same, before any unit of work (issue 17:
    each took a connection and three statements at an opening); the viewer's facts read once
    for the moment (fair.web.kept), then nothing; their own token, id and notices in."""
    edition, _booth, _recruiter, _organiser = await _fair(session)
    mireille, first = await _candidate(session, make_client, "Mireille Lantier")
    gaston, second = await _candidate(session, make_client, "Gaston Peyrolles")
    for n in range(2):
        await notices.add(session, user_id=gaston.id, kind="test", params={"n": n})
    for taking_part in (mireille, gaston):
        await participants.register(session, edition_id=edition.id, user=taking_part)
    await db.commit(session)
    landing, hall = f"/e/{edition.slug}", f"/e/{edition.slug}/booths"
    for path in (landing, hall):  # rendered for her the page's way, and kept
        assert USER_ID_RE.findall((await first.get(path)).text) == [str(mireille.id)]
    with _taken(app) as taken:
        page = await second.get(landing)
    # His session (then kept by the live hub) and his facts, each on a connection of its own
    # (the checkouts counted first, then the tables read), nothing else.
    assert taken == ["checkout", "checkout", "user_sessions", "notices", "edition_candidates"]
    with _taken(app) as taken:
        again = await second.get(landing)
        shown = await second.get(hall)
    assert taken == []
    for answer in (page, again, shown):
        assert answer.status_code == 200
        assert USER_ID_RE.findall(answer.text) == [str(gaston.id)]
        assert 'data-unread="2"' in answer.text
        assert _secrets(answer.text) == {_cookie(second)["csrf"]}
        assert "Mireille" not in answer.text
    # He takes part: the landing page kept for those who do (kept VIEWER_SECONDS for them).
    assert "/take-part" not in page.text and f"/e/{edition.slug}/my-fair" in page.text


@contextmanager
def _taken(app: Any) -> Iterator[list[str]]:
    """A "checkout" for each connection taken from the app's pool meanwhile, then the first
    table each SELECT read, in order."""
    seen: list[str] = []
    engine = app.state.engine.sync_engine

    def taken(*_args: Any) -> None:
        seen.append("checkout")

    event.listen(engine, "checkout", taken)
    try:
        with selects(app) as statements:
            yield seen
            seen.extend(re.findall(r"\bFROM (\w+)", s)[0] for s in statements)
    finally:
        event.remove(engine, "checkout", taken)


async def test_candidates_arriving_together_wait_for_one_render_of_a_page_not_kept_yet(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    """Nothing kept yet (or kept too long ago): the first candidate to find so renders the page
    the page's way, those arriving meanwhile wait for that render (fair.web.kept `claim`),
    not each render their own in a unit of work (issue 17: every FAIR_PAGE_CACHE_SECONDS at an
    opening, each taking a connection)."""
    edition, _booth, _recruiter, _organiser = await _fair(session)
    people = [await _candidate(session, make_client, f"Candidate {n}") for n in range(6)]
    hall = f"/e/{edition.slug}/booths"
    for _user, client in people:  # their sessions known to the live hub, nothing kept yet
        await client.get(f"/e/{edition.slug}/programme")
    app.state.pages.pages.clear()
    renders = _renders()
    pages = await asyncio.gather(*(client.get(hall) for _user, client in people))
    assert _renders() - renders == 1
    for (user, client), page in zip(people, pages, strict=True):
        assert page.status_code == 200
        assert USER_ID_RE.findall(page.text) == [str(user.id)]
        assert _secrets(page.text) == {_cookie(client)["csrf"]}
    # Kept FAIR_PAGE_CACHE_SECONDS: then rendered once again for those arriving together.
    clock.set_now(clock.now() + timedelta(seconds=settings.get().page_cache_seconds + 1))
    pages = await asyncio.gather(*(client.get(hall) for _user, client in people))
    assert _renders() - renders == 2
    assert [p.status_code for p in pages] == [200] * len(people)


def _renders() -> float:
    """Pages rendered the page's way to be kept (fair_page_cache_total's misses)."""
    return REGISTRY.get_sample_value("fair_page_cache_total", {"outcome": "miss"}) or 0.0


async def test_a_kept_page_waits_for_the_pool_rather_than_answer_busy(
    conf: settings.Settings,
) -> None:
    """The reads made for the candidates of a moment together (the live hub's sessions,
    fair.web.kept's viewers) wait past one pool timeout while single requests hold every
    connection (fair.together `patiently`): one timeout answered each of those candidates 503
    (issue 17: 2,645 edition pages "server.busy" at the 10,000-candidate opening)."""
    tight = replace(conf, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.3)
    application = create_app(tight)
    async with application.router.lifespan_context(application):
        async with application.state.read_sessions() as session:
            edition, _booth, _recruiter, _organiser = await _fair(session)
            mireille, first = await _candidate_of(application, session, "Mireille Lantier")
            gaston, second = await _candidate_of(application, session, "Gaston Peyrolles")
        landing = f"/e/{edition.slug}"
        assert USER_ID_RE.findall((await first.get(landing)).text) == [str(mireille.id)]
        held = asyncio.Event()

        async def hold() -> None:  # a single request holding the pool's one connection
            async with application.state.engine.connect() as connection:
                await connection.exec_driver_sql("SELECT 1")
                held.set()
                await asyncio.sleep(0.5)

        holding = asyncio.create_task(hold())
        await held.wait()
        page = await second.get(landing)  # his session and facts: read once it is free
        await holding
        for client in (first, second):
            await client.aclose()
        assert page.status_code == 200
        assert USER_ID_RE.findall(page.text) == [str(gaston.id)]


async def _candidate_of(app: Any, session: AsyncSession, name: str) -> tuple[User, Any]:
    user = await f.candidate(session, name=name)
    await db.commit(session)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    await login(client, user.email, f.PASSWORD)
    return user, client
