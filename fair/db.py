"""The database engine and sessions, chosen by DATABASE_URL.

Domain code receives an AsyncSession and may flush, never commit; the boundary that opened the
session commits, then runs the after-commit callbacks (live events, mail delivery).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

AfterCommit = Callable[[], Awaitable[None]]


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # SQLite takes its write lock at BEGIN IMMEDIATE, so a transaction never upgrades late.
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    # asyncpg prepares every statement; after five runs PostgreSQL may switch to a generic plan
    # that ignores the actual filter values, which made filtered searches 10 times slower.
    # No JIT: our statements run in milliseconds, and an estimate past jit_above_cost (a
    # correlated EXISTS counted once per row) cost 12 to 30 ms of compiling for a 20 ms read
    # (the dashboard's outcomes summary on a 40,000-application edition).
    server_settings = {"plan_cache_mode": "force_custom_plan", "jit": "off"}
    kwargs.setdefault("connect_args", {"server_settings": server_settings})
    return create_async_engine(url, **kwargs)


async def refresh_statistics(engine: AsyncEngine) -> None:
    """Let SQLite's planner know the tables' sizes (PostgreSQL's autovacuum does this itself).

    Without statistics SQLite may drive a full-text search from the offers table and re-run
    the match for each row; a bounded ANALYZE takes a fraction of a second.
    """
    if engine.dialect.name != "sqlite":
        return
    async with engine.begin() as connection:
        await connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        await connection.exec_driver_sql("ANALYZE")


async def run_statistics(engine: AsyncEngine, *, interval: float = 3600.0) -> None:
    """Refresh the statistics now and every `interval` seconds."""
    while True:
        try:
            await refresh_statistics(engine)
        except Exception:  # a busy database: try again next round
            logging.getLogger("fair.db").exception("ANALYZE failed")
        await asyncio.sleep(interval)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, emit BEGIN (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get("fair_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def sessionmaker(engine: AsyncEngine, *, write: bool = False) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; `write=True` ones take SQLite's write lock when they begin.

    Readers never block under WAL; writers queue at BEGIN instead of failing to upgrade a read
    lock later ("database is locked").
    """
    bind = engine.execution_options(fair_write=True) if write else engine
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=True)


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the session's transaction has committed (dropped on rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


async def commit(session: AsyncSession) -> None:
    """Commit, then run the after-commit callbacks queued by domain code."""
    await session.commit()
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        await callback()


@asynccontextmanager
async def unit_of_work(
    maker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session that commits on success and rolls back on error."""
    async with maker() as session:
        try:
            yield session
        except BaseException:
            session.info.pop("after_commit", None)
            await session.rollback()
            raise
        await commit(session)
