"""Public browsing pages from the short cache while the fair is full (fair.web.browsing,
fair.page_cache): one render for many anonymous visitors, never a page kept for someone, each
visitor's own CSRF token, bounded. On SQLite and PostgreSQL; time moves with fair.clock."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
from itsdangerous import TimestampSigner
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession

from fair import admission, admission_gate, clock, db, offers, settings
from fair.models import Edition, Offer
from fair.page_cache import Page, PageCache
from fair.web.browsing import MARKER
from tests import factories as f
from tests.conftest import CSRF_RE, login
from tests.statements import selects


def _fresh_gate() -> None:
    admission_gate.LOCAL.editions.clear()
    admission_gate.forget()


async def _fair(
    session: AsyncSession, *, cap: int | None = 1, full: bool = True
) -> tuple[Edition, Offer]:
    """An edition open now (f.NOON), its gate armed when it has a cap, with one offer; `full`:
    its one place taken (by someone of no account here), so that its gate is engaged."""
    clock.set_now(f.NOON)
    _fresh_gate()
    edition = await f.edition(session, admission_active_cap=cap)
    booth, _recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth, title="Soudeur ou soudeuse")
    await db.commit(session)
    if cap and full:
        await _take_places(edition.id, cap)
    return edition, offer


async def _take_places(edition_id: int, cap: int) -> None:
    """The edition's `cap` places taken by people of no account here: its gate engaged."""
    caps = admission.Caps(active=cap, per_minute=0, idle=3600.0, max_waiting=10)
    for user in range(cap):
        await admission_gate.LOCAL.arrive(
            edition_id, -1 - user, now=f.NOON.timestamp(), opens=0.0, caps=caps, draw=0.0
        )


async def _rendered_each_time(app: Any, client: httpx.AsyncClient, path: str) -> bool:
    """Whether `path` asked twice is rendered the second time too (more than a version read),
    and nothing kept."""
    await client.get(path)
    with selects(app) as again:
        await client.get(path)
    return len(again) > 3 and len(app.state.pages) == 0


def _without_tokens(html: str) -> str:
    return CSRF_RE.sub('name="csrf_token" value=""', html)


async def test_anonymous_visitors_get_one_render_each_with_their_own_token(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    edition, _offer = await _fair(session)
    one, two = make_client(), make_client()
    paths = [f"/e/{edition.slug}", f"/e/{edition.slug}/booths", f"/e/{edition.slug}/offers"]
    paths.append(f"/e/{edition.slug}/programme")
    for path in paths:
        with selects(app) as first:
            rendered = await one.get(path)
        with selects(app) as again:
            kept = await one.get(path)
            other = await two.get(path)
        assert (rendered.status_code, kept.status_code, other.status_code) == (200, 200, 200)
        assert len(first) > 3, path
        # Two answers from the cache: one primary-key read each (the offers version).
        assert len(again) == 2 and all("offers_versions" in s for s in again), (path, again)
        assert _without_tokens(kept.text) == _without_tokens(rendered.text)
        assert _without_tokens(other.text) == _without_tokens(rendered.text)
        assert MARKER.decode() not in other.text
        tokens = [set(CSRF_RE.findall(r.text)) for r in (rendered, kept, other)]
        assert [len(t) for t in tokens] == [1, 1, 1]
        assert len(set.union(*tokens)) == 3  # masked afresh each time
    # Each visitor's token is theirs: it works for them, not for the other one.
    token_two = CSRF_RE.findall(other.text)[0]
    language = {"csrf_token": token_two, "lang": "en", "next": "/"}
    assert (await two.post("/language", data=language)).status_code == 303
    assert (await one.post("/language", data=language)).status_code == 403
    assert len(app.state.pages) == 4
    # In English, a page of its own.
    with selects(app) as english:
        assert "Log in" in (await two.get(paths[1])).text
    assert len(english) > 3
    assert len(app.state.pages) == 5


async def test_visitors_asking_for_a_page_being_rendered_wait_for_that_render(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    edition, _offer = await _fair(session)
    path = f"/e/{edition.slug}/booths"
    visitors = [make_client() for _ in range(5)]

    def count(outcome: str) -> float:
        found = REGISTRY.get_sample_value("fair_page_cache_total", {"outcome": outcome})
        return found or 0.0

    before = count("miss"), count("hit")
    answers = await asyncio.gather(*(visitor.get(path) for visitor in visitors))
    assert [a.status_code for a in answers] == [200] * 5
    assert len({_without_tokens(a.text) for a in answers}) == 1
    assert (count("miss") - before[0], count("hit") - before[1]) == (1, 4)
    assert app.state.pages.renders == {}


async def test_a_page_is_rendered_afresh_when_its_offers_change_or_time_passes(
    app: Any, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    edition, offer = await _fair(session)
    path = f"/e/{edition.slug}/offers"
    assert "Soudeur ou soudeuse" in (await client.get(path)).text
    await offers.update(session, offer, data=f.offer_input(title="Chaudronnier (H/F)"))
    await db.commit(session)
    with selects(app) as changed:
        assert "Chaudronnier (H/F)" in (await client.get(path)).text
    assert len(changed) > 3
    with selects(app) as within:
        await client.get(path)
    seconds = settings.get().page_cache_seconds
    clock.set_now(f.NOON + timedelta(seconds=seconds))
    with selects(app) as past:
        await client.get(path)
    assert (len(within), len(past) > 3) == (1, True)


async def test_someone_logged_in_is_never_served_an_anonymous_page_nor_theirs_anonymously(
    app: Any, session: AsyncSession, make_client: Any
) -> None:
    """A candidate's page is kept apart, for candidates (tests/test_browsing_candidates.py)."""
    edition, _offer = await _fair(session)
    path = f"/e/{edition.slug}/booths"
    anonymous = make_client()
    await anonymous.get(path)
    candidate = await f.candidate(session, name="Mireille Lantier")
    await db.commit(session)
    logged_in = make_client()
    await login(logged_in, candidate.email, f.PASSWORD)
    with selects(app) as theirs:
        mine = await logged_in.get(path)
    assert len(theirs) > 3
    assert 'action="/logout"' in mine.text
    after = await anonymous.get(path)
    assert 'action="/logout"' not in after.text
    assert sorted(key[2:3] for key in app.state.pages.pages) == [(), ("candidate",)]


async def test_a_visitor_with_a_message_waiting_gets_a_page_of_their_own(
    app: Any, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    edition, _offer = await _fair(session)
    path = f"/e/{edition.slug}/booths"
    await client.get(path)
    # A session cookie as the app signs it, with a message to show once (fair.web.flash).
    entry = {"message": "Your profile is saved.", "plural": "", "num": 0, "params": {}}
    entry["labels"] = {}
    data = base64.b64encode(json.dumps({"flash": [entry]}).encode())
    cookie = TimestampSigner(settings.get().secret_key).sign(data).decode()
    client.cookies.set("fair_session", cookie)
    with selects(app) as run:
        shown = await client.get(path)
    assert "Votre profil est enregistré." in shown.text
    assert len(run) > 3


async def test_nothing_is_cached_while_the_gate_is_armed_but_not_engaged(
    app: Any, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    """A cap and the fair open, but room to spare: visitors get the page as it is now (the
    programme's 'Live now', a booth's staffing), not one kept for others."""
    edition, _offer = await _fair(session, full=False)
    path = f"/e/{edition.slug}/booths"
    assert await _rendered_each_time(app, client, path)
    await _take_places(edition.id, 1)  # then the gate engages: the page is kept
    clock.set_now(f.NOON + timedelta(seconds=admission_gate.CACHE_SECONDS))  # read again
    await client.get(path)
    assert len(app.state.pages) == 1


async def test_nothing_is_cached_when_the_edition_is_not_gated(
    app: Any, session: AsyncSession, client: httpx.AsyncClient, conf: settings.Settings
) -> None:
    # No cap of its own, and the platform's default caps off (whatever they are).
    settings.override(replace(conf, admission_active_cap=0, admission_arrivals_per_minute=0))
    edition, _offer = await _fair(session, cap=None)
    assert await _rendered_each_time(app, client, f"/e/{edition.slug}/booths")


def test_the_cache_is_bounded_in_pages_and_bytes_least_recently_used_first() -> None:
    def page(size: int, version: str = "v1") -> Page:
        return Page(0.0, version, 200, (), b"x" * size)

    def paths(cache: PageCache) -> list[str]:
        return [path for path, _language in cache.pages]

    pages = PageCache(seconds=5.0, max_pages=3)
    for n in range(4):
        pages.put((f"/p{n}", "fr"), page(10))
    assert paths(pages) == ["/p1", "/p2", "/p3"]
    assert pages.get(("/p1", "fr"), version="v1", now=1.0) is not None  # now the most recent
    pages.put(("/p4", "fr"), page(10))
    assert paths(pages) == ["/p3", "/p1", "/p4"]
    sized = PageCache(seconds=5.0, max_pages=10, max_bytes=400)
    for n in range(5):
        sized.put((f"/p{n}", "fr"), page(100))
    assert (paths(sized), sized.bytes) == (["/p1", "/p2", "/p3", "/p4"], 400)
    sized.put(("/huge", "fr"), page(101))  # over a quarter of the bytes: not kept
    assert (paths(sized), sized.bytes) == (["/p1", "/p2", "/p3", "/p4"], 400)
    # Stale, or of another version: dropped.
    assert sized.get(("/p1", "fr"), version="v2", now=1.0) is None
    assert sized.get(("/p2", "fr"), version="v1", now=5.0) is None
    assert sized.get(("/p3", "fr"), version="v1", now=4.9) is not None
    assert (paths(sized), sized.bytes) == (["/p4", "/p3"], 200)
