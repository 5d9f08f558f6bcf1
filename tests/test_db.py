"""fair.db: the engine's connections as the app opens them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from fair import db


@contextmanager
def _trips(driver: Any) -> Iterator[list[object]]:
    """The calls run on an aiosqlite connection's thread inside the block."""
    trips: list[object] = []
    execute = driver._execute

    async def counted(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        trips.append(fn)
        return await execute(fn, *args, **kwargs)

    driver._execute = counted
    try:
        yield trips
    finally:
        del driver._execute


async def _pooled(app: Any) -> tuple[Any, Any]:
    """A connection of the app's pool, and its aiosqlite connection (`_trips`)."""
    connection = await app.state.engine.connect()
    return connection, (await connection.get_raw_connection()).driver_connection


@pytest.mark.sqlite_only
async def test_sqlite_reads_the_database_through_a_memory_map(app, session):  # type: ignore[no-untyped-def]
    """SQLite maps the database file (fair.db.SQLITE_MMAP_BYTES): a page read past the
    connection's own cache is no read() call and copy (a cold search at 100,000 offers reads
    thousands)."""
    connection = await session.connection()
    mapped = (await connection.exec_driver_sql("PRAGMA mmap_size")).scalar_one()
    assert mapped == db.SQLITE_MMAP_BYTES


@pytest.mark.sqlite_only
async def test_a_sqlite_statement_is_one_trip_to_the_connections_thread(app, session):  # type: ignore[no-untyped-def]
    """aiosqlite runs each call on the connection's thread; a statement (executed, its rows
    fetched, its cursor closed) is one call there (fair.sqlite_hop), not four."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    with _trips(driver) as trips:
        rows = (await connection.exec_driver_sql("SELECT 1 UNION ALL SELECT 2")).all()
    assert [tuple(row) for row in rows] == [(1,), (2,)]
    assert len(trips) == 1


@pytest.mark.sqlite_only
async def test_a_sqlite_transaction_begins_in_the_trip_of_its_first_statement(app):  # type: ignore[no-untyped-def]
    """The BEGIN of a transaction goes to aiosqlite's thread with its first statement
    (fair.sqlite_hop.defer_begin): a read is two trips, the statement and the COMMIT."""
    engine = app.state.engine
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        with _trips(driver) as trips:
            async with connection.begin():
                assert not driver._conn.in_transaction  # not sent yet
                rows = (await connection.exec_driver_sql("SELECT 1")).all()
                assert driver._conn.in_transaction
    assert [tuple(row) for row in rows] == [(1,)]
    assert len(trips) == 2


@pytest.mark.sqlite_only
async def test_a_sqlite_read_given_back_to_the_pool_is_two_trips(app):  # type: ignore[no-untyped-def]
    """A read page's connection, given back after its COMMIT, is reset by the pool with a
    rollback that has nothing to roll back: it does not go to aiosqlite's thread
    (fair.sqlite_hop.Connection._idle), so a read is its statement and its COMMIT."""
    connection, driver = await _pooled(app)
    with _trips(driver) as trips:
        async with connection.begin():
            rows = (await connection.exec_driver_sql("SELECT 1")).all()
        await connection.close()  # back to the pool, reset
    assert [tuple(row) for row in rows] == [(1,)]
    assert len(trips) == 2


@pytest.mark.sqlite_only
async def test_a_sqlite_connection_given_back_in_a_transaction_is_rolled_back(app):  # type: ignore[no-untyped-def]
    """What a connection given back to the pool had not committed is rolled back there, in a
    trip of its own (a transaction is under way: fair.sqlite_hop.Connection._idle)."""
    connection, driver = await _pooled(app)
    with _trips(driver) as trips:
        await connection.exec_driver_sql("CREATE TABLE never_kept (x INTEGER)")
        assert driver._conn.in_transaction
        await connection.close()  # back to the pool, reset
    assert len(trips) == 2
    assert not driver._conn.in_transaction
    async with app.state.engine.connect() as other:
        found = await other.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'never_kept'"
        )
        assert found.scalar_one() == 0
