"""What a page costs on PostgreSQL's wire (issue 17's surge, issue 16's searches), counted for
real through a relay that reads the protocol (tests/wire.py): a read page sends its statements
and nothing else (no pre-ping, no BEGIN, no COMMIT: fair.db), a read session that writes still
does so in a transaction, and a pooled connection PostgreSQL ended is replaced unasked."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from fair import db, settings
from fair.app import create_app
from fair.enums import Role
from fair.models import User
from fair.search import stemming
from fair.search import terms as search_terms
from tests import factories as f
from tests.conftest import PG_ADMIN, csrf, login
from tests.statements import executed
from tests.wire import Wire, idle, kinds

pytestmark = pytest.mark.postgresql_only


@contextlib.asynccontextmanager
async def through_wire(conf: settings.Settings) -> AsyncIterator[tuple[Any, Wire]]:
    """The app, its database reached through a `Wire`."""
    real = make_url(conf.database_url)
    wire = Wire((real.host or "127.0.0.1", real.port or 5432))
    await wire.start()
    application = create_app(replace(conf, database_url=wire.url(conf.database_url)))
    try:
        async with application.router.lifespan_context(application):
            # The engine's first connection, on which SQLAlchemy reads the server's settings.
            await db.ping(application.state.engine)
            yield application, wire
    finally:
        await wire.close()


async def candidate_browsing(application: Any) -> tuple[httpx.AsyncClient, str]:
    """A logged-in candidate's client, and the slug of a live edition with a booth and an
    offer."""
    async with db.unit_of_work(application.state.write_sessions) as session:
        edition = await f.edition(session)
        booth, _ = await f.booth(session, edition_=edition)
        await f.offer(session, booth_=booth)
        person = await f.candidate(session)
    transport = httpx.ASGITransport(app=application)
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    await login(client, person.email, f.PASSWORD)
    return client, edition.slug


async def test_a_read_page_sends_its_statements_and_nothing_else(conf) -> None:  # type: ignore[no-untyped-def]
    """The edition's page, its hall and an offer search, as a logged-in candidate, each seen
    twice before: every round trip runs one of the page's statements (a statement new to the
    connection is prepared first). It was five more a page: the pool's pre-ping (BEGIN, ";",
    ROLLBACK), then the read session's BEGIN and COMMIT."""
    async with through_wire(conf) as (application, wire):
        client, slug = await candidate_browsing(application)
        async with contextlib.aclosing(client):
            found = {}
            for path in (f"/e/{slug}", f"/e/{slug}/booths", f"/e/{slug}/offers?q=electricien"):
                for _ in range(2):
                    assert (await client.get(path)).status_code == 200
                with wire.counting() as trips, executed(application) as statements:
                    page = await client.get(path)
                assert page.status_code == 200
                found[path] = (idle(trips), [k for k in kinds(trips) if k != "prepare"])
                assert statements, path
                assert found[path] == ([], ["execute"] * len(statements)), (path, trips)


async def test_a_read_session_that_writes_does_so_in_a_transaction(conf) -> None:  # type: ignore[no-untyped-def]
    """Its reads go alone; its first write begins a transaction, which a rollback undoes; then
    it reads alone again."""
    count = select(func.count()).select_from(User)
    async with through_wire(conf) as (application, wire):
        async with application.state.read_sessions() as session:
            with wire.counting() as trips:
                before = await session.scalar(count)
                await f.user(session, can_log_in=False)
                await session.flush()
                inside = await session.scalar(count)
                await session.rollback()
                after = await session.scalar(count)
    assert (inside, after) == (before + 1, before)
    sent = [k for k in kinds(trips) if k != "prepare"]
    assert idle(trips) == ["begin", "rollback"], trips
    begun = kinds(trips).index("begin")
    written = next(trip for trip in trips[begun:] if trip.kind == "execute")
    assert [trip.sql.split()[0] for trip in trips[:begun] if trip.kind == "execute"][:1] == [
        "SELECT"
    ]
    assert all(t.sql.startswith("SELECT") for t in trips[:begun] if t.kind == "execute"), trips
    assert written.sql.startswith("INSERT"), trips
    assert sent[-2:] == ["rollback", "execute"], trips


async def test_what_a_read_session_asks_a_transaction_for_it_gets(conf) -> None:  # type: ignore[no-untyped-def]
    """SET LOCAL holds for the session's next statements (as the search's trigram threshold
    did, fair.search.terms), and a server-side cursor opens (the exports, fair.exports.reading):
    neither works outside a transaction."""
    async with through_wire(conf) as (application, wire):
        async with application.state.read_sessions() as session:
            with wire.counting() as trips:
                await session.execute(text("SET LOCAL pg_trgm.similarity_threshold = 0.2"))
                threshold = await session.scalar(text("SHOW pg_trgm.similarity_threshold"))
                await db.commit(session)
            series = select(func.generate_series(1, 3)).execution_options(yield_per=2)
            rows = [tuple(row) async for row in await session.stream(series)]
    assert (threshold, rows) == ("0.2", [(1,), (2,), (3,)])
    assert idle(trips) == ["begin", "commit"]


async def test_a_pooled_connection_postgresql_ended_is_replaced_unasked(conf) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL ends the pooled connections while they wait (a restart does; here
    pg_terminate_backend): the next page is served, on a new connection, with no ping."""
    database = make_url(conf.database_url).database
    admin = db.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with through_wire(conf) as (application, wire):
        client, slug = await candidate_browsing(application)
        async with contextlib.aclosing(client):
            assert (await client.get(f"/e/{slug}")).status_code == 200
            assert application.state.engine.pool.checkedin() >= 1
            try:
                async with admin.connect() as connection:
                    ended = await connection.scalar(
                        text(
                            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                            " WHERE datname = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": database},
                    )
            finally:
                await admin.dispose()
            await asyncio.sleep(0.2)  # the ends of the sockets, read by the event loop
            with wire.counting() as trips:
                page = await client.get(f"/e/{slug}")
    assert ended >= 1
    assert page.status_code == 200
    assert "connect" in kinds(trips) and idle(trips) == [], trips


async def test_a_spelling_look_up_is_its_one_statement(conf) -> None:  # type: ignore[no-untyped-def]
    """The search's look-up of the title words nearest a typo reads with pg_trgm's threshold
    lowered (0.2: "carsite" and "carist" share 0.25 of their trigrams) as its connection
    started with it (fair.db): no BEGIN, SET LOCAL and COMMIT around it (three round trips
    more, which it cost)."""
    async with through_wire(conf) as (application, wire):
        async with db.unit_of_work(application.state.write_sessions) as session:
            booth, _ = await f.booth(session, edition_=await f.edition(session))
            await f.offer(session, booth_=booth, title="Cariste")
        async with application.state.read_sessions() as session:
            with wire.counting() as trips:
                near = await search_terms.vocabulary(session, "carsite")
            threshold = await session.scalar(text("SHOW pg_trgm.similarity_threshold"))
    assert stemming.stem("cariste") in [word for word, _ in near]
    assert threshold == "0.2"
    assert [k for k in kinds(trips) if k != "prepare"] == ["execute"], trips


async def test_a_refused_form_is_read_again_in_autocommit(conf) -> None:  # type: ignore[no-untyped-def]
    """A refused form's page is read after its write transaction ended (fair.web.auth
    `release`) as a read page is: its statements alone, not in a transaction of their own
    (a BEGIN and a ROLLBACK more, which it cost)."""
    async with through_wire(conf) as (application, wire):
        async with db.unit_of_work(application.state.write_sessions) as session:
            organiser = await f.user(session, Role.ORGANISER)
            edition = await f.edition(session, by=organiser)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await login(client, organiser.email, f.PASSWORD)
            url = f"/organiser/editions/{edition.id}/webconferences"
            token = await csrf(client, url)
            with wire.counting() as trips:
                refused = await client.post(url, data={"csrf_token": token, "title": ""})
    assert refused.status_code == 422
    assert "Aucune webconférence pour le moment." in refused.text  # the programme, read again
    released = kinds(trips).index("rollback")
    assert idle(trips) == ["begin", "rollback"], trips
    assert kinds(trips)[released + 1 :].count("execute") >= 2, trips
