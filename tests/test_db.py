"""fair.db: the engine's connections as the app opens them."""

from __future__ import annotations

from fair import db


async def test_sqlite_reads_the_database_through_a_memory_map(app, session):  # type: ignore[no-untyped-def]
    """SQLite maps the database file (fair.db.SQLITE_MMAP_BYTES): a page read past the
    connection's own cache is no read() call and copy (a cold search at 100,000 offers reads
    thousands)."""
    if app.state.engine.dialect.name != "sqlite":
        return
    connection = await session.connection()
    mapped = (await connection.exec_driver_sql("PRAGMA mmap_size")).scalar_one()
    assert mapped == db.SQLITE_MMAP_BYTES
