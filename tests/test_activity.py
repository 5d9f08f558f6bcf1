"""Page views and active candidates (fair.activity): counted in memory by the public booth and
offer pages, written by a round (never in the request), and the dashboard's figures."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from fair import activity, clock, db, offers, worker
from fair.activity import Views
from fair.app import create_app
from fair.enums import Role
from fair.models import ActiveDay, PageView, User
from fair.tally import Taken, Tally
from tests import factories as f
from tests.conftest import login
from tests.statements import listening

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PARIS_DAY = f.NOON.date()


def browser(app: Any) -> httpx.AsyncClient:
    """A client that looks like a person's browser (httpx's own user agent is a script's)."""
    transport = httpx.ASGITransport(app=app)
    headers = {"user-agent": BROWSER}
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)


async def fair_with_offer(session: Any) -> tuple[Any, Any, Any, Any]:
    """A published edition (its organiser), an approved booth (its recruiter) with an offer."""
    clock.set_now(f.NOON)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth, recruiter = await f.booth(session, edition_=edition)
    offer = await f.offer(session, booth_=booth)
    await db.commit(session)
    return edition, booth, offer, (organiser, recruiter)


async def rows(fetch: Any) -> set[tuple[int, int | None, date, int]]:
    found = await fetch.scalars(select(PageView))
    return {(v.booth_id, v.offer_id, v.day, v.views) for v in found}


async def active_rows(fetch: Any) -> set[tuple[int, int, date]]:
    found = await fetch.scalars(select(ActiveDay))
    return {(a.edition_id, a.user_id, a.day) for a in found}


async def test_views_are_tallied_in_memory_and_added_to_the_days_rows_by_the_round(
    app, session, fetch
):  # type: ignore[no-untyped-def]
    edition, booth, offer, _staff = await fair_with_offer(session)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement.split()[0].upper())

    async with browser(app) as visitor:
        with listening(app.state.engine.sync_engine, "before_cursor_execute", seen):
            for path in (f"/e/{edition.slug}/booths/{booth.id}", f"/offers/{offer.id}") * 2:
                assert (await visitor.get(path)).status_code == 200
    # The pages only read; the views wait in memory, once per page for this browser today.
    assert statements and set(statements) <= {"SELECT", "BEGIN", "ROLLBACK", "COMMIT"}
    assert await rows(fetch) == set()
    assert app.state.activity.views == {
        (edition.id, booth.id, None, PARIS_DAY): 1,
        (edition.id, booth.id, offer.id, PARIS_DAY): 1,
    }

    assert await worker.activity_round(app.state) == 2
    assert await rows(fetch) == {(booth.id, None, PARIS_DAY, 1), (booth.id, offer.id, PARIS_DAY, 1)}
    assert app.state.activity.views == {}
    assert await worker.activity_round(app.state) == 0  # nothing waiting: no transaction

    async with browser(app) as other, browser(app) as third:
        await other.get(f"/e/{edition.slug}/booths/{booth.id}")
        await third.get(f"/e/{edition.slug}/booths/{booth.id}")
        await third.get(f"/offers/{offer.id}")
    await worker.activity_round(app.state)
    # The upsert adds to the day's existing rows.
    assert await rows(fetch) == {(booth.id, None, PARIS_DAY, 3), (booth.id, offer.id, PARIS_DAY, 2)}

    clock.set_now(f.NOON + timedelta(days=1))
    async with browser(app) as visitor:
        await visitor.get(f"/offers/{offer.id}")
    await worker.activity_round(app.state)
    assert (booth.id, offer.id, PARIS_DAY + timedelta(days=1), 1) in await rows(fetch)


async def test_the_day_is_the_editions_local_day(app, session, fetch):  # type: ignore[no-untyped-def]
    edition, booth, _offer, _staff = await fair_with_offer(session)
    clock.set_now(datetime.fromisoformat("2026-03-10T23:30:00+00:00"))  # 00:30 in Paris
    async with browser(app) as visitor:
        await visitor.get(f"/e/{edition.slug}/booths/{booth.id}")
    await worker.activity_round(app.state)
    assert await rows(fetch) == {(booth.id, None, date(2026, 3, 11), 1)}


async def test_bots_prefetches_and_heads_are_not_views(app, session, client):  # type: ignore[no-untyped-def]
    edition, booth, offer, _staff = await fair_with_offer(session)
    booth_page = f"/e/{edition.slug}/booths/{booth.id}"
    agents = [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0)",
        "facebookexternalhit/1.1",
        "curl/8.5.0",
        "",
    ]
    for agent in agents:
        assert (await client.get(booth_page, headers={"user-agent": agent})).status_code == 200
    assert (await client.get(f"/offers/{offer.id}")).status_code == 200  # python-httpx
    async with browser(app) as visitor:
        await visitor.get(booth_page, headers={"sec-purpose": "prefetch"})
        await visitor.get(f"/offers/{offer.id}", headers={"purpose": "prefetch"})
        assert (await visitor.head(booth_page)).status_code == 200
    assert app.state.activity.views == {}
    assert activity.is_bot("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0")
    assert not activity.is_bot(BROWSER)
    cubot = "Mozilla/5.0 (Linux; Android 11; CUBOT X30) AppleWebKit/537.36 Chrome/120.0 Mobile"
    assert not activity.is_bot(cubot)  # a cheap phone's browser
    assert activity.is_bot(
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    )


async def test_only_visitors_and_candidates_count_and_candidates_become_active(app, session, fetch):  # type: ignore[no-untyped-def]
    edition, booth, offer, (organiser, recruiter) = await fair_with_offer(session)
    candidate = await f.candidate(session)
    await db.commit(session)
    pages = (f"/e/{edition.slug}/booths/{booth.id}", f"/offers/{offer.id}")
    for person in (organiser, recruiter):  # the edition's organiser, the booth's recruiter
        async with browser(app) as staff:
            await login(staff, person.email, f.PASSWORD)
            for path in pages:
                assert (await staff.get(path)).status_code == 200
    assert app.state.activity.views == {}
    for role in Role:  # any staff account: other booths' recruiters, administrators too
        user = User(id=1, role=role.value)
        counted = activity.counts(user, user_agent=BROWSER, prefetch=False)
        assert counted == (role == Role.CANDIDATE), role
    async with browser(app) as visitor:
        await login(visitor, candidate.email, f.PASSWORD)
        for path in pages * 2:
            assert (await visitor.get(path)).status_code == 200
    async with browser(app) as anonymous:
        await anonymous.get(pages[0])
    await worker.activity_round(app.state)
    assert await rows(fetch) == {(booth.id, None, PARIS_DAY, 2), (booth.id, offer.id, PARIS_DAY, 1)}
    assert await active_rows(fetch) == {(edition.id, candidate.id, PARIS_DAY)}


async def test_unpublished_booths_and_offers_are_not_counted(app, session):  # type: ignore[no-untyped-def]
    edition, booth, offer, _staff = await fair_with_offer(session)
    pending, _recruiter = await f.booth(session, edition_=edition, approve=False)
    hidden = await f.offer(session, booth_=booth)
    await offers.set_published(session, hidden, False)
    await db.commit(session)
    async with browser(app) as visitor:
        assert (await visitor.get(f"/e/{edition.slug}/booths/{pending.id}")).status_code == 404
        assert (await visitor.get(f"/offers/{hidden.id}")).status_code == 404
    assert app.state.activity.views == {}


async def test_no_address_nor_browser_is_stored(app):  # type: ignore[no-untyped-def]
    def columns(connection):  # type: ignore[no-untyped-def]
        found = inspect(connection)
        return {name: {c["name"] for c in found.get_columns(name)} for name in TABLES}

    TABLES = ("page_views", "active_days")
    async with app.state.engine.connect() as connection:
        found = await connection.run_sync(columns)
    assert found == {
        "page_views": {"id", "edition_id", "booth_id", "offer_id", "day", "views"},
        "active_days": {"edition_id", "user_id", "day"},
    }


async def test_stopping_the_app_writes_what_is_left(conf, session, fetch):  # type: ignore[no-untyped-def]
    edition, booth, _offer, _staff = await fair_with_offer(session)
    await session.close()
    # A web process of a scaled-out fair: the background loops are the worker's, yet this
    # process writes its own views, here when it stops.
    other = create_app(replace(conf, background_tasks=False))
    async with other.router.lifespan_context(other):
        async with browser(other) as visitor:
            await visitor.get(f"/e/{edition.slug}/booths/{booth.id}")
        assert other.state.activity.views != {}
    assert await rows(fetch) == {(booth.id, None, PARIS_DAY, 1)}


async def test_a_failed_round_gives_the_views_back_and_gone_pages_are_skipped(app, session, fetch):  # type: ignore[no-untyped-def]
    edition, booth, offer, _staff = await fair_with_offer(session)
    gone = await f.offer(session, booth_=booth)
    await db.commit(session)
    tally: Tally = app.state.activity
    tally.view((edition.id, booth.id, offer.id, PARIS_DAY), browser=None, candidate_id=None)
    tally.view((edition.id, booth.id, gone.id, PARIS_DAY), browser=None, candidate_id=None)
    tally.view((edition.id, booth.id, None, PARIS_DAY), browser=None, candidate_id=10**9)
    await session.delete(await session.get(type(gone), gone.id))
    await db.commit(session)

    broken = app.state.write_sessions
    app.state.write_sessions = None  # every write fails
    try:
        await worker.activity_round(app.state)
    except Exception:
        pass
    finally:
        app.state.write_sessions = broken
    assert len(tally.views) == 3 and tally.active == {(edition.id, 10**9, PARIS_DAY)}

    # The deleted offer's view and the unknown candidate are skipped; the rest is written.
    assert await worker.activity_round(app.state) == 2
    assert await rows(fetch) == {(booth.id, None, PARIS_DAY, 1), (booth.id, offer.id, PARIS_DAY, 1)}
    assert await active_rows(fetch) == set()


def test_the_tally_is_bounded() -> None:
    tally = Tally(max_pages=2, max_active=1, max_seen=4)
    a, b, c = ((1, 1, offer, PARIS_DAY) for offer in (None, 5, 6))
    assert tally.view(a, browser=None, candidate_id=7)
    assert tally.view(b, browser=None, candidate_id=8)  # a second active candidate: dropped
    assert tally.full.is_set()
    assert not tally.view(c, browser=None, candidate_id=None)  # a third page: dropped
    assert tally.view(a, browser=None, candidate_id=None)  # a page it holds still counts
    assert tally.views == {a: 2, b: 1} and tally.active == {(1, 7, PARIS_DAY)}
    assert tally.dropped == 2

    taken = tally.take()
    assert not tally.full.is_set() and tally.views == {} and tally.active == set()
    tally.view(c, browser=None, candidate_id=None)
    tally.restore(taken)  # within the limits: `b` no longer fits
    assert tally.views == {c: 1, a: 2} and tally.dropped == 2 + 1

    # Each browser counts once per page and day; the marks that say so stay bounded too.
    seen = Tally(max_seen=4)
    for n in range(10):
        assert seen.view(a, browser=f"b{n}", candidate_id=None)
        assert not seen.view(a, browser=f"b{n}", candidate_id=None)
        assert len(seen._seen) + len(seen._seen_before) <= 4
    assert seen.views == {a: 10}
    assert seen.view(a, browser="b0", candidate_id=None)  # forgotten long ago: counted again


async def test_figures_match_counts_made_here(app, session, fetch):  # type: ignore[no-untyped-def]
    clock.set_now(f.NOON)
    edition = await f.edition(session)
    other_edition = await f.edition(session)
    booths = [(await f.booth(session, edition_=edition))[0] for _ in range(3)]
    elsewhere, _recruiter = await f.booth(session, edition_=other_edition)
    offer_of = {b.id: [(await f.offer(session, booth_=b)).id for _ in range(2)] for b in booths}
    people = [await f.candidate(session, can_log_in=False) for _ in range(6)]
    await db.commit(session)

    rng = random.Random(12)
    days = [PARIS_DAY + timedelta(days=n) for n in range(3)]
    events = []  # (day, booth, offer or None, candidate or None)
    for _ in range(400):
        booth = rng.choice(booths)
        page = rng.choice([None, *offer_of[booth.id]])
        someone = rng.choice([None, None, *people])
        events.append((rng.choice(days), booth.id, page, someone.id if someone else None))
    for half in (events[:200], events[200:]):  # two rounds: the second adds to the first's rows
        tally = Tally()
        for day, booth_id, page, who in half:
            tally.view((edition.id, booth_id, page, day), browser=None, candidate_id=who)
        tally.view(
            (other_edition.id, elsewhere.id, None, days[0]), browser=None, candidate_id=10**9
        )
        async with db.unit_of_work(app.state.write_sessions) as writing:
            await activity.save(writing, tally.take())

    views = Counter((d, b, o) for d, b, o, _who in events)
    active = {(d, who) for d, _b, _o, who in events if who is not None}
    async with app.state.read_sessions() as reading:
        daily = await activity.daily_views(reading, edition.id)
        assert [(v.day, v.booth_id, v.offer_id, v.views) for v in daily] == sorted(
            ((d, b, o, n) for (d, b, o), n in views.items()), key=lambda r: (r[0], r[1], r[2] or 0)
        )
        assert await activity.views_per_day(reading, edition.id) == {
            day: Views(
                sum(n for (d, _b, o), n in views.items() if d == day and o is None),
                sum(n for (d, _b, o), n in views.items() if d == day and o is not None),
            )
            for day in sorted({d for d, _b, _o in views})
        }
        first = booths[0].id
        assert await activity.views_per_day(reading, edition.id, booth_id=first) == {
            day: Views(
                views[(day, first, None)], sum(views[(day, first, o)] for o in offer_of[first])
            )
            for day in sorted({d for d, b, _o in views if b == first})
        }
        assert await activity.views_per_booth(reading, edition.id) == {
            b.id: Views(
                sum(n for (_d, bb, o), n in views.items() if bb == b.id and o is None),
                sum(n for (_d, bb, o), n in views.items() if bb == b.id and o is not None),
            )
            for b in booths
        }
        per_offer = Counter()
        for (_d, _b, o), n in views.items():
            if o is not None:
                per_offer[o] += n
        assert await activity.views_per_offer(reading, edition.id) == dict(per_offer)
        assert await activity.views_per_offer(reading, edition.id, booth_id=first) == {
            o: per_offer[o] for o in offer_of[first] if o in per_offer
        }
        assert await activity.active_candidates(reading, edition.id) == len({w for _d, w in active})
        assert await activity.active_per_day(reading, edition.id) == dict(
            sorted(Counter(d for d, _w in active).items())
        )
        ids = set(await reading.scalars(activity.active_ids(edition.id)))
        assert ids == {w for _d, w in active}
        assert await activity.active_candidates(reading, other_edition.id) == 0  # no such candidate
    total = await fetch.scalar(
        select(func.sum(PageView.views)).where(PageView.edition_id == edition.id)
    )
    assert total == len(events)


def test_an_empty_take_is_falsy() -> None:
    assert not Taken()


async def test_a_full_tally_wakes_the_round_at_once(app, session, fetch):  # type: ignore[no-untyped-def]
    edition, booth, offer, _staff = await fair_with_offer(session)
    app.state.activity = Tally(max_pages=1)
    writer = asyncio.create_task(worker.run_activity(app.state, interval=3600))
    try:
        async with browser(app) as visitor:
            await visitor.get(f"/e/{edition.slug}/booths/{booth.id}")  # the tally is full
        for _ in range(500):  # the round runs now, not in an hour
            if await rows(fetch):
                break
            await asyncio.sleep(0.01)
        assert await rows(fetch) == {(booth.id, None, PARIS_DAY, 1)}
        assert app.state.activity.views == {}
    finally:
        await worker.stop([writer])


async def test_one_row_per_page_and_day(app, session):  # type: ignore[no-untyped-def]
    edition, booth, offer, _staff = await fair_with_offer(session)
    for page in (None, offer.id):
        row = {"edition_id": edition.id, "booth_id": booth.id, "offer_id": page, "views": 1}
        async with app.state.write_sessions() as writing:
            writing.add_all([PageView(**row, day=PARIS_DAY), PageView(**row, day=PARIS_DAY)])
            with pytest.raises(IntegrityError):
                await writing.flush()
        async with db.unit_of_work(app.state.write_sessions) as writing:  # another day: fine
            writing.add_all([PageView(**row, day=PARIS_DAY), PageView(**row, day=date(2026, 3, 9))])
