"""PostgreSQL's narrow copy of the offers kept in ROME order (fair.search.order): rewritten
when its order has drifted, the pages unchanged, never waiting long for the table's lock."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from fair import clock, db, worker
from fair.search import order
from tests import factories as f
from tests.statements import forget_kept

CODES = ("N4101", "F1602", "K1304", "J1501")
CSRF_VALUE = re.compile(r'(name="csrf_token" value=")[^"]*(")')


async def _interleaved(session: AsyncSession, n: int = 48) -> str:
    """An edition with `n` offers whose ROME codes take turns (as they arrive from an import)."""
    edition = await f.edition(session)
    booth, _ = await f.booth(session, edition_=edition)
    for i in range(n):
        code = CODES[i % len(CODES)]
        await f.offer(session, booth_=booth, rome_code=code, title=f"Électricien {code} {i}")
    await db.commit(session)
    return edition.slug


async def _places(app: Any) -> list[str]:
    async with app.state.engine.connect() as connection:
        rows = await connection.execute(text("SELECT rome_code FROM search_offers ORDER BY ctid"))
        return [code for (code,) in rows]


async def _out_of_order(app: Any) -> bool:
    """Whether the rows' places are not in ROME order (offers inserted with codes in turn)."""
    places = await _places(app)
    return len(set(places)) == len(CODES) and places != sorted(places)


async def _analyse(app: Any) -> None:
    async with app.state.engine.connect() as connection:
        await connection.execute(text("ANALYZE search_offers"))
        await connection.commit()


@pytest.mark.postgresql_only
async def test_a_drifted_table_is_put_in_rome_order_and_the_pages_do_not_change(
    app: Any, session: AsyncSession, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = await _interleaved(session)
    monkeypatch.setattr(order, "ORDERED_FROM_ROWS", 10)
    pages = [f"/e/{slug}/offers?q=electricien", f"/e/{slug}/offers?q=electricien&page=2"]
    before = [CSRF_VALUE.sub(r"\1\2", (await client.get(p)).text) for p in pages]
    await _analyse(app)
    rows, correlation = await order.drift(app.state.engine)
    assert rows == 48 and correlation is not None and abs(correlation) < order.DRIFTED_BELOW
    assert await _out_of_order(app)

    assert await order.keep_in_order(app.state.engine) is True
    assert await _places(app) == sorted(await _places(app))
    assert (await order.drift(app.state.engine))[1] == 1.0  # analysed after the rewrite
    assert await order.keep_in_order(app.state.engine) is False  # in order: left alone
    forget_kept(app)
    after = [CSRF_VALUE.sub(r"\1\2", (await client.get(p)).text) for p in pages]
    assert after == before
    assert "Électricien" in after[0]


@pytest.mark.postgresql_only
async def test_a_small_table_is_left_as_it_is_unless_forced(
    app: Any, session: AsyncSession
) -> None:
    await _interleaved(session)
    await _analyse(app)
    assert (await order.drift(app.state.engine))[0] < order.ORDERED_FROM_ROWS
    assert await order.keep_in_order(app.state.engine) is False
    assert await _out_of_order(app)
    assert await order.keep_in_order(app.state.engine, force=True) is True
    assert await _places(app) == sorted(await _places(app))


@pytest.mark.postgresql_only
async def test_a_busy_table_is_left_for_the_next_round_without_waiting_long(
    app: Any, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search's transaction holds the table: the rewrite gives up after LOCK_SECONDS (a
    CLUSTER waiting for its lock would hold up every search queued behind it)."""
    await _interleaved(session)
    monkeypatch.setattr(order, "LOCK_SECONDS", 0.2)
    async with app.state.engine.connect() as reader:
        await reader.execute(text("SELECT count(*) FROM search_offers"))  # its lock held
        assert await order.keep_in_order(app.state.engine, force=True) is False
    assert await _out_of_order(app)
    assert await order.keep_in_order(app.state.engine, force=True) is True


@pytest.mark.sqlite_only
async def test_nothing_is_kept_in_order_on_sqlite(app: Any, session: AsyncSession) -> None:
    await _interleaved(session, n=4)
    assert await order.keep_in_order(app.state.engine, force=True) is False


@pytest.mark.postgresql_only
async def test_the_worker_s_round_rewrites_at_night_only(
    app: Any, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By day a rewrite's lock (1.5 s at 100,000 offers) would hold a fair's searches: the
    round waits for the night's quiet hours (Paris time)."""
    await _interleaved(session)
    await _analyse(app)
    monkeypatch.setattr(order, "ORDERED_FROM_ROWS", 10)
    try:
        clock.set_now(datetime(2026, 12, 7, 14, 0, tzinfo=order.PARIS))
        assert await worker.search_order_round(app.state) == 0
        assert await _out_of_order(app)
        clock.set_now(datetime(2026, 12, 7, 3, 30, tzinfo=order.PARIS))
        assert await worker.search_order_round(app.state) == 1
        assert await _places(app) == sorted(await _places(app))
    finally:
        clock.set_now(None)
