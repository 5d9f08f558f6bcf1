"""PostgreSQL's narrow copy of the offers the search reads (`search_offers`, migration 0045):
kept in step with `offers` by its triggers, read by the search's page and count statements,
each with the full-text index (fair.search.ranking.searched, fair.search.pages._indexed)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, text

from fair import db, migrations, offers, search
from fair.models import Offer
from fair.search import facets as search_facets
from fair.search import terms as search_terms
from tests import factories as f
from tests.statements import listening

COPIED = (
    "id, edition_id, booth_id, published, rome_code, rome_domain, contract, working_time,"
    " remote, latitude, longitude, open_seniors, open_under26, open_disabled, no_diploma,"
    " insertion_clause, created_at, updated_at, title_stems, search_vector::text,"
    " title_vector::text"
)


async def _rows(session: Any, table: str) -> list[Any]:
    found = await session.execute(text(f"SELECT {COPIED} FROM {table} ORDER BY id"))
    return [tuple(row) for row in found]


@pytest.mark.postgresql_only
async def test_the_narrow_copy_follows_the_offers(session):  # type: ignore[no-untyped-def]
    """Created, changed (title, publication), deleted one by one or with their booth: the
    copy holds exactly what `offers` holds of each offer, its tsvectors included."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    other, _ = await f.booth(session, edition_=edition)
    kept = await f.offer(session, booth_=booth, title="Chauffeur livreur")
    gone = await f.offer(session, booth_=booth, title="Cariste")
    await f.offer(session, booth_=other, title="Maçon")
    await db.commit(session)
    assert len(await _rows(session, "search_offers")) == 3
    assert await _rows(session, "search_offers") == await _rows(session, "offers")

    data = f.offer_input(title="Conducteur de poids lourd", contract="cdd", remote=True)
    await offers.update(session, kept, data=data)
    await offers.set_published(session, gone, False)
    await db.commit(session)
    assert await _rows(session, "search_offers") == await _rows(session, "offers")
    page = await search.search(session, edition_id=edition.id, query=search.Query(q="poids"))
    assert [h.offer.id for h in page.hits] == [kept.id]

    await session.execute(delete(Offer).where(Offer.id == gone.id))
    await session.execute(text("DELETE FROM booths WHERE id = :id"), {"id": other.id})
    await db.commit(session)
    assert [row[0] for row in await _rows(session, "search_offers")] == [kept.id]
    assert await _rows(session, "search_offers") == await _rows(session, "offers")


@pytest.mark.postgresql_only
async def test_the_matches_are_read_from_the_narrow_copy(session):  # type: ignore[no-untyped-def]
    """A search with words reads its matches from `search_offers` through its full-text index
    (the planner's sequential scan off for that statement, the setting back afterwards), the
    page's offers from `offers`; the same page as without the copy."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    for title in ("Chauffeur livreur", "Chauffeur de bus", "Cariste", "Conducteur de car"):
        await f.offer(session, booth_=booth, title=title)
    await db.commit(session)
    engine = session.bind.sync_engine
    seen: list[tuple[str, Any]] = []

    def kept(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    with listening(engine, "before_cursor_execute", kept):
        query = search.Query(q="chauffeur")
        page = await search_terms.find(session, edition_id=edition.id, query=query)
    assert sorted(h.offer.title for h in page.hits) == [
        "Chauffeur de bus",
        "Chauffeur livreur",
        "Conducteur de car",
    ]
    statements = [s for s, _ in seen]
    paged = next(i for i, s in enumerate(statements) if "WITH matches" in s)
    assert "FROM search_offers" in statements[paged]
    assert "set_config('enable_seqscan', 'off', true)" in statements[paged - 1]
    # Put back by the page's statement itself (no round trip of its own).
    assert "set_config('enable_seqscan', $" in statements[paged]
    assert not any("set_config" in s for s in statements[paged + 1 :])
    assert await session.scalar(text("SELECT current_setting('enable_seqscan')")) == "on"
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    async with raw.transaction():
        await raw.execute("SET LOCAL enable_seqscan = off")
        plan = await raw.fetch("EXPLAIN " + statements[paged], *seen[paged][1])
    shown = "\n".join(row[0] for row in plan)
    assert "Bitmap Index Scan on ix_search_offers_search_vector" in shown
    assert "Seq Scan on search_offers" not in shown


@pytest.mark.postgresql_only
async def test_the_facets_read_the_matches_ids_from_the_narrow_copy(session):  # type: ignore[no-untyped-def]
    """With a filter the page's matches are not the facets' (fair.search.facets): their ids
    are read first, from `search_offers` as the page's, then those offers by id; the same
    counts."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    for title, contract in (("Chauffeur livreur", "cdi"), ("Chauffeur de bus", "cdd"),
                            ("Conducteur de car", "cdd"), ("Cariste", "cdi")):  # fmt: skip
        await f.offer(session, booth_=booth, title=title, contract=contract)
    await db.commit(session)
    engine = session.bind.sync_engine
    seen: list[str] = []

    def kept(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    query = search.Query(q="chauffeur", contract="cdi")
    page = await search_terms.find(session, edition_id=edition.id, query=query)
    with listening(engine, "before_cursor_execute", kept):
        counts = await search_facets.count(
            session, edition_id=edition.id, query=replace(query, also=page.also), origin=None,
            shown=page,
        )  # fmt: skip
    assert [h.offer.title for h in page.hits] == ["Chauffeur livreur"]
    assert (counts.contract, counts.any["contract"], counts.capped) == (
        {"cdi": 1, "cdd": 2},
        3,
        False,
    )
    assert len(seen) == 1 and "FROM search_offers" in seen[0], seen
    assert "FROM offers WHERE" not in seen[0]


@pytest.mark.postgresql_only
@pytest.mark.parametrize("q", ["chauffeur", "zzzyx"])
async def test_the_planner_s_setting_is_put_back_by_the_statements_themselves(session, q):  # type: ignore[no-untyped-def]
    """Newest first (the page's statement, then the count's), with matches or none: each of
    the two statements reading the narrow copy follows one that turns the sequential scan
    off, and puts the setting back itself; no statement of its own does (a round trip each),
    and the setting is back afterwards."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    for title in ("Chauffeur livreur", "Chauffeur de bus", "Cariste"):
        await f.offer(session, booth_=booth, title=title)
    await db.commit(session)
    engine = session.bind.sync_engine
    seen: list[str] = []

    def kept(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    with listening(engine, "before_cursor_execute", kept):
        query = search.Query(q=q, sort="recent")
        page = await search.search(session, edition_id=edition.id, query=query)
    assert page.total == (2 if q == "chauffeur" else 0)
    narrow = [i for i, s in enumerate(seen) if "FROM search_offers" in s]
    assert len(narrow) == 2
    for i in narrow:
        assert "set_config('enable_seqscan', 'off', true)" in seen[i - 1]
        assert "set_config('enable_seqscan', $" in seen[i]
    settings = [s for s in seen if "set_config" in s]
    assert len(settings) == 4  # two turning it off, the two statements putting it back
    assert await session.scalar(text("SELECT current_setting('enable_seqscan')")) == "on"


@pytest.mark.postgresql_only
async def test_the_narrow_copy_migrates_down_and_up(session, conf):  # type: ignore[no-untyped-def]
    """0045 down: the copy, its triggers and their functions gone, the offers written without
    them; up again: the copy filled with every offer as `offers` holds it, kept again."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    await f.offer(session, booth_=booth, title="Chauffeur livreur")
    await db.commit(session)
    await session.close()
    url = conf.database_url
    await asyncio.to_thread(command.downgrade, migrations.config(url), "0044")
    named = "SELECT count(*) FROM pg_class WHERE relname = 'search_offers'"
    assert await session.scalar(text(named)) == 0
    triggers = "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'search_offers%'"
    assert await session.scalar(text(triggers)) == 0
    functions = "SELECT count(*) FROM pg_proc WHERE proname LIKE 'search_offers%'"
    assert await session.scalar(text(functions)) == 0
    await f.offer(session, booth_=booth, title="Cariste")
    await db.commit(session)
    await session.close()
    await migrations.upgrade_async(url)
    assert len(await _rows(session, "search_offers")) == 2
    assert await _rows(session, "search_offers") == await _rows(session, "offers")
    await f.offer(session, booth_=booth, title="Maçon")
    await db.commit(session)
    assert await _rows(session, "search_offers") == await _rows(session, "offers")
