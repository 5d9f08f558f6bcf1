"""Rows written straight into an SQLite file at an old revision, for the migrations' tests
(tests/test_migrations.py, tests/test_progress.py)."""

from __future__ import annotations

import sqlite3


def insert_row(connection: sqlite3.Connection, table: str, **given: object) -> None:
    """A row of `table` with the `given` values, placeholders in its other required columns."""
    values = dict(given)
    for _cid, name, kind, notnull, default, _pk in connection.execute(
        f"PRAGMA table_info({table})"
    ):
        if name not in values and notnull and default is None:
            values[name] = 0 if kind.upper() in ("INTEGER", "BOOLEAN") else f"x{name}"
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    connection.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(values.values()))
