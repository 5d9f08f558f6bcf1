"""PostgreSQL's narrow copy of the offers (`search_offers`) kept in ROME order (issue 16).

A broad word's matches are read row by row for their tier (`title_stems`, `title_vector`), and
its rows are wide (927 bytes on average at 100,000 offers, 740 of them `search_vector`): about
eight a page, so in the order offers arrive in, "caces" widened visited 4,107 of the table's
12,149 pages for its 5,680 matches (9 of its page statement's 16 ms). An offer's words follow
its job: rewritten in the order of `rome_code` (CLUSTER on its index), a trade's matches sit on
neighbouring pages, and bench/search.py's PostgreSQL widened p95 went from 23.8–25.5 ms to
14.9–15.8 (chauffeur p50 23–25 → 13–14), full text from 15.0–16.8 to 10.9–12.3, at 100,000
offers; the pages themselves do not change (their order is by score and id, never by place).

New and edited offers go to the table's end, so the order drifts: `keep_in_order` (the worker's
hourly round, fair.worker, in the night's QUIET_HOURS) rewrites it when the planner's
statistics say the order has drifted (`rome_code`'s correlation under DRIFTED_BELOW) and the
table is big enough for it to matter (ORDERED_FROM_ROWS). CLUSTER locks the table while it
rewrites it (about 1.5 s at 100,000 offers: searches and offer writes wait, none fails; by day,
at a fair's opening, that wait would fill the connection pool): it waits at most LOCK_SECONDS
for the lock, then gives up until the next round (a waiting CLUSTER would hold up every search
behind it). A day's imports are searched in their arrival order until the next night: at
100,000 offers all out of order, PostgreSQL widened p95 ~24 ms instead of ~17. SQLite's
full-text index is ordered by its own rowids: nothing to do there.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

ORDERED_FROM_ROWS = 10_000
DRIFTED_BELOW = 0.9  # rome_code's correlation with the rows' places (1: in order)
LOCK_SECONDS = 2.0
REWRITE_SECONDS = 600  # the statement's own limit (the app's connections have a short one)
LOCK_NOT_AVAILABLE = "55P03"
QUIET_HOURS = range(1, 6)  # from 01:00 to 05:59, Paris time: no fair is live
PARIS = ZoneInfo("Europe/Paris")


def quiet(moment: datetime) -> bool:
    """Whether `moment` falls in the night's QUIET_HOURS, when the table may be rewritten."""
    return moment.astimezone(PARIS).hour in QUIET_HOURS


_DRIFT = text(
    "SELECT c.reltuples, s.correlation FROM pg_class AS c"
    " LEFT JOIN pg_stats AS s ON s.schemaname = current_schema()"
    " AND s.tablename = 'search_offers' AND s.attname = 'rome_code'"
    " WHERE c.oid = 'search_offers'::regclass"
)


async def drift(engine: AsyncEngine) -> tuple[float, float | None]:
    """The table's rows and `rome_code`'s correlation, as the last ANALYZE saw them (None:
    never analysed)."""
    async with engine.connect() as connection:
        rows, correlation = (await connection.execute(_DRIFT)).one()
    return float(rows), None if correlation is None else float(correlation)


async def keep_in_order(engine: AsyncEngine, *, force: bool = False) -> bool:
    """Rewrite `search_offers` in ROME order if it has drifted (or `force`), then analyse it;
    whether it did. Gives up (False, logged) when the table's lock is not had within
    LOCK_SECONDS."""
    if engine.dialect.name != "postgresql":
        return False
    rows, correlation = await drift(engine)
    drifted = correlation is not None and abs(correlation) < DRIFTED_BELOW
    if not force and (rows < ORDERED_FROM_ROWS or not drifted):
        return False
    async with engine.connect() as connection:
        try:
            async with connection.begin():
                lock_ms, rewrite_ms = round(LOCK_SECONDS * 1000), REWRITE_SECONDS * 1000
                await connection.exec_driver_sql(f"SET LOCAL lock_timeout = {lock_ms}")
                await connection.exec_driver_sql(f"SET LOCAL statement_timeout = {rewrite_ms}")
                await connection.exec_driver_sql(
                    "CLUSTER search_offers USING ix_search_offers_rome_code"
                )
                await connection.exec_driver_sql("ANALYZE search_offers")
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            log.info("search_offers not put in ROME order: its lock was busy (next round)")
            return False
    log.info("search_offers put in ROME order (%d rows, correlation was %s)", rows, correlation)
    return True
